"""Benchmark: what one optimizer step sends between processes, and step time on 1 and 2 processes.

    python benchmarks/bench_distributed.py                  # tiny preset (offline SmolLM2-135M), 6 steps each
    python benchmarks/bench_distributed.py --steps 4 --methods smf,full --out /tmp/dist.json

1. Bytes per optimizer step, from tensor sizes (the preset's model and memory, no training):
   SMF sums each memory layer's read counts (slots x 4 bytes) and its selected rows'
   gradients (top-t x value width x 4 bytes); LoRA and full finetuning (and retrofit) sum
   every trainable gradient; every method also sums 4 control numbers (token count, loss,
   tokens, stop flag; 8 bytes each).
2. Measured: each method trained for --steps steps with --no-eval, on one process at
   --batch-size 2B and on two (torchrun, gloo, one thread each) at --batch-size B: the same
   global batches. Printed: what the code actually all-reduced per step (the "comm_bytes"
   that train.py logs on several processes, by kind) and the median step time (from the
   log's times, first step left out).

These are payload sizes: a ring all-reduce of P bytes over N processes sends 2 (N-1)/N x P
bytes from each process (P for N = 2).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import common  # noqa: E402
import memory  # noqa: E402
import settings  # noqa: E402
import train  # noqa: E402

CONTROL = 4 * 8  # n_loss; loss, tokens; stop flag (float64 each)


def expected_bytes(method: str, preset: str) -> dict[str, int]:
    """Per optimizer step, by kind, from the sizes of the tensors the code sums."""
    cfg = dict(train.PRESETS[preset], method=method, init_memory=None, rule="tf")
    cfg["lr"] = cfg[f"{method}_lr"]
    model, tok = common.load_model(cfg["model"])
    if method == "smf":
        mcfg = settings.memory_config(cfg)
        dv = mcfg.value_dim or model.config.hidden_size
        layers = len(mcfg.layers)
        return {"counts": layers * mcfg.slots * 4, "rows": layers * cfg["top_t"] * dv * 4, "control": CONTROL}
    model, _, _ = train.setup_method(model, tok, cfg, torch.device("cpu"), progress=False)
    grads = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return {"grads": grads, "control": CONTROL}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measured(method: str, procs: int, batch: int, steps: int, runs_dir: Path) -> dict:
    """Train `steps` steps on `procs` processes; the median step time and the bytes logged per step."""
    flags = ["train.py", "--method", method, "--steps", str(steps), "--batch-size", str(batch), "--no-eval",
             "--runs-dir", str(runs_dir), "--name", f"{method}-{procs}"]
    launch = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs), "--master_addr", "127.0.0.1",
               "--master_port", str(free_port())] if procs > 1 else [sys.executable])
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(launch + flags, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: {method} on {procs} process(es) failed: {done.stderr.strip().splitlines()[-1:]}")
    log = [json.loads(x) for x in (runs_dir / f"{method}-{procs}" / "log.jsonl").read_text().splitlines()]
    times = [b["time"] - a["time"] for a, b in zip(log, log[1:])]  # step 1 (warm-up) left out
    sent = log[-1].get("comm_bytes", {})
    return {"step_s": round(statistics.median(times), 3), "comm_bytes": sent, "loss": [r["loss"] for r in log]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="tiny", choices=sorted(train.PRESETS))
    p.add_argument("--methods", default="smf,lora,full")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--no-measure", action="store_true", help="only the sizes (seconds; nothing is trained)")
    p.add_argument("--out", help="also write the figures as JSON to this file")
    a = p.parse_args(argv)
    methods = a.methods.split(",")
    batch = train.PRESETS[a.preset]["batch_size"]
    report = {"preset": a.preset, "steps": a.steps, "global_batch": batch, "methods": {}}
    print(f"Bytes summed per optimizer step ({a.preset} preset), from tensor sizes:")
    for m in methods:
        exp = expected_bytes(m, a.preset)
        report["methods"][m] = {"expected_bytes": exp}
        print(f"  {m:5} {sum(exp.values()) / 1e6:10.3f} MB  " + ", ".join(f"{k} {v:,}" for k, v in exp.items()))
    if not a.no_measure:
        print(f"\nMeasured ({a.steps} steps, global batch {batch}; 1 process at batch {batch}, 2 at {batch // 2} each; one thread each):")
        with tempfile.TemporaryDirectory() as tmp:
            for m in methods:
                one = measured(m, 1, batch, a.steps, Path(tmp))
                two = measured(m, 2, batch // 2, a.steps, Path(tmp))
                report["methods"][m] |= {"one_process": one, "two_processes": two}
                print(f"  {m:5} step {one['step_s']:.2f} s (1 process) / {two['step_s']:.2f} s (2 processes); "
                      f"all-reduced per step: " + ", ".join(f"{k} {v:,}" for k, v in two["comm_bytes"].items()), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
