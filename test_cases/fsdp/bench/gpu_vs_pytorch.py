#!/usr/bin/env python3
"""awsdt-fsdp against PyTorch on one GPU, same model, same batch, in one run.

Trains the same Llama shapes first with awsdt-fsdp (--device cuda, one rank through NCCL), then with a plain
PyTorch loop written here from the Llama architecture (nothing shared with awsdt): fp32 parameters, bf16
autocast as PyTorch AMP trains, scaled_dot_product_attention (causal, grouped-query: flash or cuDNN kernels),
fused AdamW, clipping at 1.0. The shapes are read back from awsdt's result document, so both train exactly the
same model; tokens/s are medians over the steps after the first two. Prints both, their MFU against the peak
awsdt used (6·N + 12·L·d·T FLOPs per token for both), and the ratio.

    python3 test_cases/fsdp/bench/gpu_vs_pytorch.py [--exe build-gpu/bin/awsdt-fsdp] [--model llama3_2_1b]
        [--layers 4] [--seq-len 2048] [--batch 4] [--steps 12] [--attention auto|chunked|flash]
        [--awsdt-json FILE]   (an awsdt-fsdp result document to compare with, instead of running it)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_awsdt(args, out_json):
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT="29541", RANK="0", WORLD_SIZE="1",
               LOCAL_RANK="0")
    cmd = [args.exe, "--device", "cuda", "--model", args.model, "--n-layers", str(args.layers), "--seq-len",
           str(args.seq_len), "--micro-batch-size", str(args.batch), "--steps", str(args.steps), "--log-every",
           str(args.steps), "--attention", args.attention, "--output", out_json]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)
    with open(out_json) as f:
        return json.load(f)


def run_pytorch(cfg, steps):
    import torch
    import torch.nn.functional as F

    dev = torch.device("cuda")
    V, C, L = cfg["vocab_size"], cfg["dim"], cfg["n_layers"]
    NH, NKV, FF = cfg["n_heads"], cfg["n_kv_heads"], cfg["ffn_dim"]
    B, T, hd = cfg["micro_batch_size"], cfg["seq_len"], cfg["dim"] // cfg["n_heads"]

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm, self.mlp_norm = torch.nn.RMSNorm(C, eps=1e-5), torch.nn.RMSNorm(C, eps=1e-5)
            self.wq = torch.nn.Linear(C, NH * hd, bias=False)
            self.wk = torch.nn.Linear(C, NKV * hd, bias=False)
            self.wv = torch.nn.Linear(C, NKV * hd, bias=False)
            self.wo = torch.nn.Linear(NH * hd, C, bias=False)
            self.w_gate = torch.nn.Linear(C, FF, bias=False)
            self.w_up = torch.nn.Linear(C, FF, bias=False)
            self.w_down = torch.nn.Linear(FF, C, bias=False)

        def forward(self, x, cos, sin):
            h = self.attn_norm(x)
            q = self.wq(h).view(B, T, NH, hd).transpose(1, 2)
            k = self.wk(h).view(B, T, NKV, hd).transpose(1, 2)
            v = self.wv(h).view(B, T, NKV, hd).transpose(1, 2)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
            try:
                a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            except TypeError:  # PyTorch before 2.5: repeat the kv heads
                a = F.scaled_dot_product_attention(q, k.repeat_interleave(NH // NKV, 1),
                                                   v.repeat_interleave(NH // NKV, 1), is_causal=True)
            x = x + self.wo(a.transpose(1, 2).reshape(B, T, C))
            h = self.mlp_norm(x)
            return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))

    def rotate(x, cos, sin):  # rotate-half RoPE, as transformers' LlamaForCausalLM
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin

    class Llama(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(V, C)
            self.blocks = torch.nn.ModuleList(Block() for _ in range(L))
            self.norm = torch.nn.RMSNorm(C, eps=1e-5)
            self.head = torch.nn.Linear(C, V, bias=False)
            if cfg["tied_embeddings"]:
                self.head.weight = self.embed.weight

        def forward(self, tokens, targets, cos, sin):
            x = self.embed(tokens)
            for b in self.blocks:
                x = b(x, cos, sin)
            logits = self.head(self.norm(x))
            return F.cross_entropy(logits.float().view(-1, V), targets.view(-1))

    torch.manual_seed(0)
    model = Llama().to(dev)
    for p in model.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.02)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    inv = 1.0 / (500000.0 ** (torch.arange(0, hd, 2, device=dev).float() / hd))
    ang = torch.outer(torch.arange(T, device=dev).float(), inv)
    cos, sin = torch.cat((ang.cos(), ang.cos()), -1), torch.cat((ang.sin(), ang.sin()), -1)
    times = []
    for step in range(steps):
        tokens = torch.randint(0, V, (B, T), device=dev)
        targets = torch.randint(0, V, (B, T), device=dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(tokens, targets, cos, sin)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        if step == 0:
            print(f"pytorch step 1 | Loss: {loss.item():.4f}", flush=True)
    return B * T / statistics.median(times[2:] if len(times) > 3 else times), torch.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default="build-gpu/bin/awsdt-fsdp")
    ap.add_argument("--model", default="llama3_2_1b")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--attention", default="auto")
    ap.add_argument("--awsdt-json", help="compare with this awsdt-fsdp result document instead of running it")
    args = ap.parse_args()
    if args.awsdt_json:
        with open(args.awsdt_json) as f:
            doc = json.load(f)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            doc = run_awsdt(args, os.path.join(tmp, "awsdt.json"))
    cfg, summary = doc["config"], doc["summary"]
    ours = summary["median_tokens_per_s"]
    peak = summary.get("gpu_peak_bf16_tflops") or 0.0
    theirs, version = run_pytorch(cfg, args.steps)
    fpt = cfg["flops_per_token"]

    def mfu(tps):
        return f"{100 * tps * fpt / (peak * 1e12):.1f}%" if peak else "n/a (peak unknown)"

    print(f"# {args.model} with {cfg['n_layers']} layers, batch {cfg['micro_batch_size']} x {cfg['seq_len']} tokens, "
          f"one GPU ({cfg.get('gpu', '?')})")
    print(f"awsdt-fsdp ({cfg.get('attention', '?')} attention): {ours:10.1f} tokens/s  MFU {mfu(ours)}")
    print(f"PyTorch {version} eager (AMP bf16, SDPA, fused AdamW): {theirs:10.1f} tokens/s  MFU {mfu(theirs)}")
    print(f"ratio awsdt / PyTorch: {ours / theirs:.3f}")


if __name__ == "__main__":
    sys.exit(main())
