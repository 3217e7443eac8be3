#!/usr/bin/env python3
"""awsdt-megatron train on GPUs against awsdt-fsdp and against itself (tools/gpu-check.sh runs it).

    gpu_train_check.py --fsdp FSDP.json --tp1 MEGATRON_TP1.json [--tpn MEGATRON_TPN.json] [--mfu-tolerance 0.05]
                       [--loss-tolerance 0.02]

--fsdp and --tp1 are the result documents (--output) of awsdt-fsdp and of awsdt-megatron train --tp 1 on the same
GPU, model and batch: their median MFU must agree within --mfu-tolerance (relative; issue 21 asks 5%), and their
losses step by step within --loss-tolerance (both are the same bf16 CUDA engine, so they should be equal).
--tpn is awsdt-megatron train at TP N over N GPUs of one node with the same global batch: its losses must follow
TP 1's within --loss-tolerance (bf16 collectives sum in another order, so not bit for bit). Prints one line per
figure and exits 1 when any check fails.
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        doc = json.load(f)
    losses = [row["loss"] for row in doc.get("rows", [])]
    mfu = doc.get("summary", {}).get("median_mfu")
    return doc, losses, mfu


def compare_losses(name, want, got, tol):
    n = min(len(want), len(got))
    if n == 0:
        print(f"{name}: no losses to compare")
        return False
    worst = max(abs(g - w) / max(abs(w), 1e-12) for w, g in zip(want[:n], got[:n]))
    ok = worst <= tol
    print(f"{name}: {n} steps, worst relative loss difference {worst:.2e} (tolerance {tol:g}): "
          f"{'ok' if ok else 'FAILED'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fsdp", required=True)
    ap.add_argument("--tp1", required=True)
    ap.add_argument("--tpn")
    ap.add_argument("--mfu-tolerance", type=float, default=0.05)
    ap.add_argument("--loss-tolerance", type=float, default=0.02)
    a = ap.parse_args()
    ok = True
    _, fsdp_losses, fsdp_mfu = load(a.fsdp)
    _, tp1_losses, tp1_mfu = load(a.tp1)
    if fsdp_mfu is None or tp1_mfu is None:
        print(f"MFU: unknown (fsdp {fsdp_mfu}, megatron TP 1 {tp1_mfu}): the GPU's peak is not in the catalog")
        ok = False
    else:
        ratio = tp1_mfu / fsdp_mfu
        within = abs(ratio - 1) <= a.mfu_tolerance
        print(f"MFU: awsdt-fsdp {fsdp_mfu:.2f}%, awsdt-megatron train --tp 1 {tp1_mfu:.2f}% "
              f"(ratio {ratio:.3f}, tolerance ±{a.mfu_tolerance:.0%}): {'ok' if within else 'FAILED'}")
        ok &= within
    ok &= compare_losses("losses, megatron TP 1 vs fsdp", fsdp_losses, tp1_losses, a.loss_tolerance)
    if a.tpn:
        doc, tpn_losses, tpn_mfu = load(a.tpn)
        tp = doc.get("config", {}).get("tensor_parallel")
        print(f"MFU at TP {tp}: {tpn_mfu if tpn_mfu is None else f'{tpn_mfu:.2f}%'}")
        ok &= compare_losses(f"losses, megatron TP {tp} vs TP 1", tp1_losses, tpn_losses, a.loss_tolerance)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
