"""Benchmark: the memory layer against the MLP it sits beside, its gradient's memory, the sparse step.

    python benchmarks/bench_memory.py                 # CPU; about two minutes on two cores
    python benchmarks/bench_memory.py --device cuda

At the offline model's width (d=576, MLP 1536; memory: 4 heads, k=16, key dim 256) it prints:
1. forward+backward time of one memory layer (16K slots) and of a SmolLM2 MLP on the same
   tokens, measured interleaved (MLP, memory, MLP, memory, ...; median of --repeats), as a
   ratio, in two regimes: "SMF" (the MLP frozen, the memory's value table the only trained
   tensor, gradient to the input kept, as inside an SMF model) and "dense" (every weight of
   both trained, as in full finetuning or the retrofit). Goal: <= 0.6.
2. peak memory of one SMF-regime forward+backward at 16K, 262K and 1M slots, with the value
   gradient as a dense (slots, dv) table and as the sparse rows-read gradient SMF uses
   (memory.RowsReadGrad); counted above the memory layer's own weights.
3. the time of one sparse optimizer step (count reads, rank, update t=500 rows) at 16K and
   262K slots: it should not grow with the slot count.
Measurements 2 and 3 each run in a fresh process so that peaks do not mix.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

D, FFN = 576, 1536
MEM = dict(heads=4, topk=16, key_dim=256)


def _status_mb(field: str) -> float:
    """A /proc/self/status field in MB (Linux): VmRSS now, VmHWM the peak since the last reset."""
    with open("/proc/self/status") as f:
        line = next(l for l in f if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _reset_peak(device) -> float:
    """Start a new peak; returns the memory in use now (MB)."""
    import torch

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated() / 2**20
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets this process's peak RSS (VmHWM)
        f.write("5")
    return _status_mb("VmRSS")


def _peak_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return _status_mb("VmHWM")


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def layer_ratios(tokens: int, device: str, repeats: int) -> dict:
    """Median fwd+bwd ms of the MLP and the memory layer, interleaved, in both regimes."""
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaMLP

    import memory

    dev = torch.device(device)
    torch.manual_seed(0)
    mlp = LlamaMLP(LlamaConfig(hidden_size=D, intermediate_size=FFN)).to(dev)
    mem = memory.ProductKeyMemory(D, memory.MemoryConfig(slots=16_384, **MEM)).to(dev)
    x = torch.randn(1, tokens, D, device=dev, requires_grad=True)
    out = {}
    for regime in ("smf", "dense"):
        for p in mlp.parameters():
            p.requires_grad_(regime == "dense")
        for p in mem.parameters():
            p.requires_grad_(regime == "dense")
        mem.values.weight.requires_grad_(True)
        mem.sparse_grad = regime == "smf"
        ms = {"mlp": [], "memory": []}
        for r in range(repeats + 1):  # round 0 warms up
            for name, layer in (("mlp", mlp), ("memory", mem)):
                _sync(dev)
                t0 = time.perf_counter()
                layer(x).sum().backward()
                _sync(dev)
                if r:
                    ms[name].append((time.perf_counter() - t0) * 1000)
                for p in list(layer.parameters()) + [x]:
                    p.grad = None
        out[regime] = {k: statistics.median(v) for k, v in ms.items()}
    return out


def peak(slots: int, sparse: bool, tokens: int, device: str) -> dict:
    """Peak memory of one SMF-regime fwd+bwd above the layer's own weights."""
    import torch

    import memory

    dev = torch.device(device)
    torch.manual_seed(0)
    mem = memory.ProductKeyMemory(D, memory.MemoryConfig(slots=slots, **MEM)).to(dev)
    for p in mem.parameters():
        p.requires_grad_(False)
    mem.values.weight.requires_grad_(True)
    mem.sparse_grad = sparse
    x = torch.randn(1, tokens, D, device=dev, requires_grad=True)
    _sync(dev)
    base = _reset_peak(dev)
    mem(x).sum().backward()
    _sync(dev)
    return {"slots": slots, "sparse": sparse, "peak_mb": round(_peak_mb(dev) - base, 1)}


def step_time(kind: str, slots: int, tokens: int, device: str, repeats: int) -> dict:
    """Time of count + select + update of t=500 rows, the gradient given (as SMF gets it: sparse)."""
    import torch

    import common
    import memory
    import smf_mini

    dev = torch.device(device)
    torch.manual_seed(0)
    model = common.tiny_random_model("llama", hidden_size=D, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=9, num_key_value_heads=3).to(dev)
    memory.attach_memory(model, memory.MemoryConfig(slots=slots, layers=[0], **MEM))
    model.to(dev)
    opt = smf_mini.SparseValueUpdate(model, t=500, rule="tf", optimizer=kind, lr=0.1)
    mem = memory.memory_layers(model)[0]
    mem(torch.randn(1, tokens, D, device=dev)).sum().backward()
    grad = mem.values.weight.grad  # sparse: the rows read by these tokens
    ms = []
    for r in range(repeats + 1):
        _sync(dev)
        t0 = time.perf_counter()
        opt.counts[0] += memory.count_reads(mem, None)
        mem.values.weight.grad = grad
        opt.select()
        opt.step()
        _sync(dev)
        if r:
            ms.append((time.perf_counter() - t0) * 1000)
    return {"kind": kind, "slots": slots, "ms": round(statistics.median(ms), 2)}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--tokens", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--slots", default="16384,262144,1048576", help="slot counts for the peak-memory table")
    p.add_argument("--one", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        what, *rest = a.one.split(":")
        if what == "peak":
            r = peak(int(rest[0]), rest[1] == "sparse", a.tokens, a.device)
        else:
            r = step_time(rest[0], int(rest[1]), a.tokens, a.device, a.repeats)
        print(json.dumps(r))
        return
    from rich.console import Console
    from rich.table import Table

    con = Console()
    lr = layer_ratios(a.tokens, a.device, a.repeats)
    t = Table(title=f"1. fwd+bwd, {a.tokens} tokens, d={D} ({a.device}, median of {a.repeats} interleaved)")
    for c in ("regime", "MLP ms", "memory ms (16K slots)", "memory / MLP", "goal <= 0.6"):
        t.add_column(c, justify="left" if c == "regime" else "right")
    for regime, r in lr.items():
        ratio = r["memory"] / r["mlp"]
        t.add_row(regime, f"{r['mlp']:.1f}", f"{r['memory']:.1f}", f"{ratio:.2f}", "met" if ratio <= 0.6 else "not met")
    con.print(t)

    t = Table(title=f"2. peak memory of one SMF fwd+bwd ({a.tokens} tokens), above the layer's weights")
    for c in ("slots", "value table MB", "dense gradient: peak MB", "sparse gradient: peak MB"):
        t.add_column(c, justify="right")
    for slots in [int(s) for s in a.slots.split(",")]:
        d, s = (_child(["--one", f"peak:{slots}:{kind}", "--device", a.device, "--tokens", str(a.tokens)])
                for kind in ("dense", "sparse"))
        t.add_row(f"{slots:,}", f"{slots * D * 4 / 2**20:,.0f}", f"{d['peak_mb']:,.0f}", f"{s['peak_mb']:,.0f}")
    con.print(t)

    t = Table(title="3. one sparse optimizer step (count, rank, update t=500 rows)")
    for c in ("optimizer", "slots", "ms"):
        t.add_column(c, justify="right")
    for kind in ("sgd", "adamw"):
        for slots in (16_384, 262_144):
            r = _child(["--one", f"step:{kind}:{slots}", "--device", a.device, "--tokens", str(a.tokens), "--repeats", str(a.repeats)])
            t.add_row(kind, f"{slots:,}", f"{r['ms']:.1f}")
    con.print(t)
    print("Peak MB: CPU = the process's peak RSS during the measurement minus its RSS before (Linux); CUDA = peak allocated minus allocated before.")


if __name__ == "__main__":
    main()
