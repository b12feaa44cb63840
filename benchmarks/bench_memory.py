"""Benchmark: the memory layer against the MLP it sits beside, and the sparse update.

    python benchmarks/bench_memory.py            # CPU; about a minute on two cores
    python benchmarks/bench_memory.py --device cuda

Prints, at the offline model's width (d=576, MLP 1536):
- forward+backward time of one memory layer (16K slots) and of a SmolLM2 MLP, same tokens;
- the time of one sparse optimizer step (select top-t + update) at 16K and 262K slots:
  it should not grow with the slot count, since only t rows move;
- the peak memory of each measurement (CPU: peak RSS growth of a fresh process; CUDA: peak allocated).
Each measurement runs in its own process so that peaks do not mix.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def _peak_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, slots: int, tokens: int, device: str, repeats: int) -> dict:
    import torch

    import memory
    import common
    import smf_mini

    dev = torch.device(device)
    torch.manual_seed(0)
    d = 576
    base_peak = _peak_mb(dev)
    x = torch.randn(1, tokens, d, device=dev, requires_grad=True)

    def timed(fn):
        fn()  # warm-up
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / repeats * 1000

    if kind == "mlp":
        from transformers.models.llama.modeling_llama import LlamaMLP
        from transformers import LlamaConfig

        mlp = LlamaMLP(LlamaConfig(hidden_size=d, intermediate_size=1536)).to(dev)
        ms = timed(lambda: mlp(x).sum().backward())
    elif kind == "memory":
        mem = memory.ProductKeyMemory(d, memory.MemoryConfig(slots=slots, heads=4, topk=16, key_dim=256)).to(dev)
        ms = timed(lambda: mem(x).sum().backward())
    else:  # sparse step: counts + select + update of t rows, values-only gradient as in SMF
        model = common.tiny_random_model("llama", hidden_size=d, intermediate_size=64, num_hidden_layers=1,
                                    num_attention_heads=9, num_key_value_heads=3).to(dev)
        memory.attach_memory(model, memory.MemoryConfig(slots=slots, heads=4, topk=16, key_dim=256, layers=[0]))
        model.to(dev)
        opt = smf_mini.SparseValueUpdate(model, t=500, rule="tf", optimizer=kind.split("-")[1], lr=0.1)
        mem = memory.memory_layers(model)[0]
        h = torch.randn(1, tokens, d, device=dev)
        mem(h).sum().backward()
        opt.observe(None)

        # The dense gradient table comes from backward (embedding_bag); it is made once here so
        # that the timing is the optimizer step itself: count, rank, gather t rows, update them.
        grad = torch.full_like(mem.values.weight, 1e-3)

        def one_step():
            opt.counts[0] += memory.count_reads(mem, None)
            mem.values.weight.grad = grad
            opt.select()
            opt.step()

        ms = timed(one_step)
    return {"kind": kind, "slots": slots, "tokens": tokens, "ms": round(ms, 2), "peak_mb": round(_peak_mb(dev) - base_peak, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--tokens", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--one", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        kind, slots = a.one.split(":")
        print(json.dumps(measure(kind, int(slots), a.tokens, a.device, a.repeats)))
        return
    jobs = [("mlp", 0), ("memory", 16_384), ("memory", 262_144), ("step-sgd", 16_384), ("step-sgd", 262_144),
            ("step-adamw", 16_384), ("step-adamw", 262_144)]
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"memory layer benchmark ({a.device}, {a.tokens} tokens, d=576, heads 4, k 16, top-t 500)")
    for c in ("what", "slots", "ms", "peak MB"):
        t.add_column(c, justify="right" if c != "what" else "left")
    names = {"mlp": "SmolLM2 MLP fwd+bwd", "memory": "memory layer fwd+bwd", "step-sgd": "sparse step (sgd)",
             "step-adamw": "sparse step (row-wise adam)"}
    for kind, slots in jobs:
        out = subprocess.run([sys.executable, __file__, "--one", f"{kind}:{slots}", "--device", a.device,
                              "--tokens", str(a.tokens), "--repeats", str(a.repeats)], capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(out.stderr)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        t.add_row(names[kind], f"{slots:,}" if slots else "-", f"{r['ms']:.1f}", f"{r['peak_mb']:.0f}")
    Console().print(t)
    print("Peak MB: CPU = growth of the process's peak RSS during the measurement; CUDA = peak allocated.")


if __name__ == "__main__":
    main()
