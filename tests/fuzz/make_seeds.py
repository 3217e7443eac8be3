#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (corpus/<target>/): small valid inputs of each format, plus a few
hostile values, from which libFuzzer mutates. Run from anywhere; rerun after a format change and commit."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, dtype="F32", metadata=None):
    """tensors: [(name, shape)], zero data; the layout save_safetensors writes (header padded to 8 bytes)."""
    width = 4 if dtype == "F32" else 2
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, shape in tensors:
        n = width
        for s in shape:
            n *= s
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + bytes(offset)


# The fuzz target's Llama: vocab 16, dim 8, 1 block, 2 heads (head_dim 4), 1 KV head, FFN 16, untied.
V, D, F, KV = 16, 8, 16, 4
layer = "model.layers.0."
llama = [("model.embed_tokens.weight", [V, D]), (layer + "input_layernorm.weight", [D]),
         (layer + "self_attn.q_proj.weight", [D, D]), (layer + "self_attn.k_proj.weight", [KV, D]),
         (layer + "self_attn.v_proj.weight", [KV, D]), (layer + "self_attn.o_proj.weight", [D, D]),
         (layer + "post_attention_layernorm.weight", [D]), (layer + "mlp.gate_proj.weight", [F, D]),
         (layer + "mlp.up_proj.weight", [F, D]), (layer + "mlp.down_proj.weight", [D, F]),
         ("model.norm.weight", [D]), ("lm_head.weight", [V, D])]
put("safetensors", "f32", safetensors(llama, "F32", {"format": "pt"}))
put("safetensors", "bf16", safetensors(llama, "BF16"))
put("safetensors", "wrong_shape", safetensors([("model.embed_tokens.weight", [D, V])] + llama[1:]))

# Token files: 6 bytes of parameters (dtype, vocab, B*16, T*4, world+1 | rank<<3), then the ids.
put("token_file", "uint16_1rank", bytes([0, V, 0, 16, 16, 2]) + struct.pack("<40H", *[i % V for i in range(40)]))
put("token_file", "uint32_rank1of2", bytes([1, V, 0, 16, 8, 3 | 1 << 3]) + struct.pack("<40I", *[i % V for i in range(40)]))
put("token_file", "id_outside", bytes([0, V, 0, 16, 16, 2]) + struct.pack("<20H", *[V] * 20))

# Checkpoints: a shard file (as write_shard_file writes it) and a metadata.json (as engine_checkpoint writes it).
shard = safetensors([("unit.0.param", [6])], "F32", {"format": "awsdt-fsdp-shard"})
put("checkpoint", "shard", shard)
put("checkpoint", "metadata.json", json.dumps({
    "format": "awsdt-fsdp-checkpoint", "version": 1, "step": 2, "shards": 1, "tensor_parallel": 1,
    "files": [{"name": "shard_00000_of_00001.safetensors", "bytes": len(shard)}], "units": [], "model": {}}))

for case in sorted(os.listdir(os.path.join(ROOT, "test_cases"))):
    path = os.path.join(ROOT, "test_cases", case, "test_case.json")
    if os.path.exists(path):
        put("manifest", case + ".json", open(path, "rb").read())

# Catalog: the first byte picks the file (0 instances.json, 1 env/efa.json, 2 env/rdma.json).
for i, name in enumerate(["instances.json", "env/efa.json", "env/rdma.json"]):
    put("catalog", name.replace("/", "_"), bytes([i]) + open(os.path.join(ROOT, "architectures", name), "rb").read())

put("profile", "full.yaml", """profiles:
  p:
    cluster: slurm
    instance_type: p4d.24xlarge
    partition: p4d
    account: ml
    time: "02:00:00"
    nodes: 2
    tasks_per_node: 8
    retries: 1
    launcher: mpirun
    env: {NCCL_DEBUG: INFO, A: "it's $(x)"}
    mounts: [/fsx:/fsx]
""")
put("profile", "eks.yaml", "profiles:\n  p: {cluster: eks, container: repo/img:1, namespace: ml, mounts: ['pvc:c:/d']}\n")

sbatch = open(os.path.join(ROOT, "architectures", "slurm", "sbatch.sh.mustache"), "rb").read()
put("templates", "builtin", sbatch + b"\0")
put("templates", "partial", b"#!/bin/bash\n{{>part}}\n{{#env}}export {{{name}}}={{value}}\n{{/env}}\0echo {{job_name}}\n")

# --env value, --mount, --extra, benchmark argument (first byte 0..3), then the value.
for i, v in enumerate(["it's", "$(touch /tmp/awsdt_pwned)", "`id`", "a\nb", "caf\xc3\xa9", "--x=$HOME", "\\"]):
    put("escape", f"env{i}", bytes([0]) + v.encode())
    put("escape", f"arg{i}", bytes([3]) + v.encode())
put("escape", "mount", bytes([1]) + b"/fsx:/fsx")
put("escape", "mount_jobdir", bytes([1]) + b"/fsx/awsdt/jobs/fuzz:/fsx/awsdt/jobs/fuzz")
put("escape", "extra", bytes([2]) + b"--exclusive=user")
put("escape", "extra_newline", bytes([2]) + b"--comment=a\nrm -rf /")
