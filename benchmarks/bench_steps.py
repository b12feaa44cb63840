"""Benchmark: one optimizer step of each method on the same batch, side by side.

    python benchmarks/bench_steps.py                       # CPU, offline SmolLM2-135M, tiny preset's batch
    python benchmarks/bench_steps.py --device cuda --bf16  # a GPU, bf16 autocast (what the GPU script runs)
    python benchmarks/bench_steps.py --device cuda --bf16 --preset paper --model Qwen/Qwen2.5-0.5B-Instruct  # needs the hub

Prints, per method: the median step time over --repeats interleaved rounds (SMF, LoRA,
full, SMF, LoRA, full, ... so that a machine busy with something else slows all of them
alike), tokens per second, and on CUDA the peak GPU memory of a step; then the ratios
SMF / full and SMF / LoRA, with the goals (<= 0.6 and <= 0.8) beside them.

A step is exactly what train.py does: train.train_step (forward and backward of every
micro-batch) then train.apply_update (SMF: select rows, clip, move them; others: clip,
Adam). SMF ranks rows by term frequency here ('tf'), so that no background pass is
needed; ranking 16K rows by TF-IDF instead costs well under a millisecond more.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import common  # noqa: E402
import data  # noqa: E402
import distributed  # noqa: E402
import settings  # noqa: E402
import train  # noqa: E402

GOALS = {"full": 0.6, "lora": 0.8}  # the goals: SMF's step at most 0.6x full's and 0.8x LoRA's


def build(method: str, preset: str, model_name: str | None, device: torch.device):
    flags = ["--method", method, "--preset", preset, "--rule", "tf"] + (["--model", model_name] if model_name else [])
    cfg = train.resolve_config(train.build_parser().parse_args(flags))
    torch.manual_seed(0)
    model, tok = common.load_model(cfg["model"], device=device)
    model.config.use_cache = False
    model, opt, _ = train.setup_method(model, tok, cfg, device, progress=False)
    model.train()
    return cfg, model, tok, opt


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast, as train.py --bf16")
    p.add_argument("--preset", default="tiny", choices=sorted(train.PRESETS))
    p.add_argument("--model", help="model (default: the preset's)")
    p.add_argument("--methods", default="smf,lora,full")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds; the median is reported")
    a = p.parse_args(argv)
    device = settings.pick_device(a.device)
    methods = a.methods.split(",")
    runs = {m: build(m, a.preset, a.model, device) for m in methods}
    cfg0, _, tok0, _ = runs[methods[0]]
    examples = data.load_examples(cfg0)
    batch = train.batch_schedule(len(examples), [len(x) + len(y) for x, y in examples], cfg0, 1)[0]  # step 1's micro-batches
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=a.bf16)
    times = {m: [] for m in methods}
    peaks, tokens = {}, 0
    for r in range(a.repeats + 1):  # round 0 warms up (allocations, optimizer state) and is not timed
        for m in methods:
            cfg, model, tok, opt = runs[m]
            cfg["bf16"] = a.bf16
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
            sync(device)
            t0 = time.perf_counter()
            _, tokens = train.train_step(model, opt, tok, examples, batch, cfg, device, autocast, distributed.Solo(device))
            train.apply_update(model, opt, cfg, distributed.Solo(device))
            sync(device)
            if r:
                times[m].append(time.perf_counter() - t0)
            if device.type == "cuda":
                peaks[m] = max(peaks.get(m, 0), torch.cuda.max_memory_allocated() - base)

    from rich.console import Console
    from rich.table import Table

    med = {m: statistics.median(times[m]) for m in methods}
    title = (f"one optimizer step, {cfg0['model']} ({a.preset} preset: {cfg0['batch_size']}x{cfg0['grad_accum']} examples, "
             f"{tokens} tokens), {device.type}{' bf16' if a.bf16 else ' fp32'}, median of {a.repeats} interleaved rounds")
    t = Table(title=title)
    for c in ("method", "step (s)", "min-max (s)", "tokens/s") + (("peak GPU MB (step)",) if peaks else ()):
        t.add_column(c, justify="left" if c == "method" else "right")
    for m in methods:
        row = [m, f"{med[m]:.3f}", f"{min(times[m]):.3f}-{max(times[m]):.3f}", f"{tokens / med[m]:,.0f}"]
        t.add_row(*row + ([f"{peaks[m] / 2**20:,.0f}"] if peaks else []))
    Console().print(t)
    if "smf" in med:
        for other, goal in GOALS.items():
            if other in med:
                ratio = med["smf"] / med[other]
                print(f"SMF / {other} step time: {ratio:.2f} (goal <= {goal}: {'met' if ratio <= goal else 'not met'})")
    if peaks:
        print("Peak GPU MB (step): the step's own peak above what was allocated before it (model weights of all "
              "methods stay resident; optimizer state counts once it exists).")


if __name__ == "__main__":
    main()
