#!/usr/bin/env python3
"""awsdt-megatron's GEMMs on one GPU against cuBLASLt as PyTorch calls it (torch.matmul, bf16), side by side.

For each per-rank GEMM of Llama-3 70B's layer at TP 8 (sequence 8192), run on one GPU as a TP-1 ag_gemm:
  T_gemm (awsdt, cuBLASLt through awsdt's engine) against torch.matmul on the same shape   (target >= 0.85)
  the pipelined method's GEMMs in 4 chunks against the unchunked GEMM                        (target loss <= 10%)
Usage: gpu_gemm_vs_torch.py --exe build-gpu/bin/awsdt-megatron [--iters 50]
"""
import argparse
import json
import os
import subprocess
import tempfile

import torch

# (role, M, N, K) of the per-rank GEMMs: qkv and fc1 (column-parallel), proj and fc2 (their inputs' shards).
SHAPES = [("qkv", 8192, 1280, 8192), ("fc1", 8192, 7168, 8192), ("proj_in", 8192, 8192, 1024),
          ("fc2_in", 8192, 8192, 3584)]


def torch_us(m, n, k, iters):
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(5):
        torch.matmul(a, b)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(iters):
        torch.matmul(a, b)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) * 1e3 / iters


def awsdt_rows(exe, m, n, k, iters):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT="29541", RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
        subprocess.run([exe, "gemm", "--bootstrap", "env", "--backend", "nccl", "--pattern", "ag_gemm",
                        "--method", "serial,pipelined", "--chunks", "4", "--shape", f"{m}x{n}x{k}", "-n", str(iters),
                        "-w", "5", "-J", out], check=True, env=env)
        return {r["method"]: r for r in json.load(open(out))["rows"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--iters", type=int, default=50)
    args = p.parse_args()
    print(f"device: {torch.cuda.get_device_name()}")
    for role, m, n, k in SHAPES:
        rows = awsdt_rows(args.exe, m, n, k, args.iters)
        ours, ref = rows["serial"]["t_gemm_us"], torch_us(m, n, k, args.iters)
        split = rows["pipelined"]["t_gemm_split_us"]
        tflops = 2 * m * n * k / ours / 1e6
        print(f"{role:8s} {m}x{n}x{k}: awsdt T_gemm {ours:9.1f} us ({tflops:6.1f} TFLOP/s), torch.matmul {ref:9.1f} us: "
              f"ratio torch/awsdt {ref / ours:.3f} (target >= 0.85); 4 chunks {split:9.1f} us: loss "
              f"{100 * (split / ours - 1):+.1f}% (target <= 10%)")


if __name__ == "__main__":
    main()
