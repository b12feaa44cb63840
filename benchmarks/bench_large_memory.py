"""Benchmark: SMF with one large memory (262,144 or 1,048,576 rows per layer) on a CPU, phase by phase.

    OMP_NUM_THREADS=1 python benchmarks/bench_large_memory.py            # three configurations, ~15 min on 2 cores
    OMP_NUM_THREADS=1 python benchmarks/bench_large_memory.py --configs 262144:4 --steps 4

Each configuration (rows per memory : memory layers) runs in a fresh process, on the real
code path of `train.py --preset sparse --split dev` (the offline SmolLM2-135M, the fictional
task, TF-IDF ranking, SGD with the row step cap, 4 heads x top-k 16 = 64 reads per token),
in five phases:

  attach      load the model and attach the memory (the value table is built as zeros),
  background  document frequencies over --background-docs documents (not the cache),
  train       --steps optimizer steps (forward, backward, select, update),
  save        memory.safetensors (rows only) and state.pt (rows only) as a run writes them,
  eval        the dev evaluation suite on its first --eval-limit items of each set.

It prints, per configuration: the peak resident memory of each phase (VmHWM, reset at each
phase's start, so a phase's peak is its own; the model and the table stay resident
throughout), the median time of one optimizer step and of its select+update part, the rows
read / selected / moved per step and layer (smf_mini.SparseValueUpdate.step's record), the distinct rows changed after
the last step, and the checkpoint sizes. Raw results go to --out (JSON). Layer 4 is the middle
of the entity-token layers 2-8 where the tiny preset writes facts (train.py, preset notes).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def _status_mb(field: str) -> float:
    """A /proc/self/status field in MB (Linux): VmRSS now, VmHWM the peak since the last reset."""
    with open("/proc/self/status") as f:
        line = next(l for l in f if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets this process's peak RSS (VmHWM)
        f.write("5")


class Phase:
    """Times a phase and records its own peak resident memory (MB) into `out`."""

    def __init__(self, out: dict, name: str):
        self.out, self.name = out, name

    def __enter__(self):
        _reset_peak()
        self.t0 = time.time()

    def __exit__(self, *exc):
        self.out[self.name] = {"seconds": round(time.time() - self.t0, 2), "peak_rss_mb": round(_status_mb("VmHWM")),
                               "rss_after_mb": round(_status_mb("VmRSS"))}


def setup(slots: int, layers: str, args):
    """(cfg, model, tok, optimizer, phases): the sparse preset at this size, attached and with background."""
    import torch

    import common
    import data
    import memory
    import settings
    import smf_mini
    import train

    cfg = train.resolve_config(train.build_parser().parse_args(
        ["--preset", "sparse", "--split", "dev", "--memory-slots", str(slots), "--memory-layers", layers,
         "--background-docs", str(args.background_docs), "--eval-limit", str(args.eval_limit)]))
    phases: dict = {}
    torch.manual_seed(cfg["seed"])
    with Phase(phases, "attach"):
        model, tok = common.load_model(cfg["model"], device=torch.device("cpu"))
        model.config.use_cache = False
        memory.attach_memory(model, settings.memory_config(cfg), seed=cfg["seed"])
    with Phase(phases, "background"):
        bg = smf_mini.collect_background(model, tok, data.background_docs(cfg), cfg["background_max_length"], progress=False)
    opt = smf_mini.SparseValueUpdate(model, cfg["top_t"], cfg["rule"], cfg["smf_optimizer"], cfg["lr"], bg,
                                     seed=cfg["seed"], row_step_cap=cfg["row_step_cap"])
    return cfg, model, tok, opt, phases


def one(slots: int, layers: str, args) -> dict:
    """All five phases of one configuration (run in its own process)."""
    import torch

    import checkpoints
    import data
    import distributed
    import eval as evaluation
    import memory
    import settings
    import train

    cfg, model, tok, opt, phases = setup(slots, layers, args)
    examples = data.load_examples(cfg)
    schedule = train.batch_schedule(len(examples), [len(p) + len(c) for p, c in examples], cfg, args.steps)
    device = torch.device("cpu")
    step_s, update_s, per_step = [], [], []
    model.train()
    with Phase(phases, "train"):
        for step in range(args.steps):
            opt.param_groups[0]["lr"] = train.lr_at(step, cfg["steps"], cfg)
            t0 = time.time()
            train.train_step(model, opt, tok, examples, schedule[step], cfg, device, torch.autocast("cpu", enabled=False), distributed.Solo(device))
            t1 = time.time()
            _, rows = train.apply_update(model, opt, cfg, distributed.Solo(device))
            step_s.append(time.time() - t0)
            update_s.append(time.time() - t1)
            per_step.append(rows)
    with tempfile.TemporaryDirectory() as d, Phase(phases, "save"):
        checkpoints.save_memory(model, os.path.join(d, "memory.safetensors"), rows_only=True)
        checkpoints.write_state(Path(d), {"step": args.steps, "trainable": checkpoints.trainable_state(model, cfg),
                                   "optimizer": opt.state_dict(), "rng": torch.get_rng_state(), "log": []})
        sizes = {f: os.path.getsize(os.path.join(d, f)) for f in ("memory.safetensors", "state.pt")}
    changed = {str(i): int(checkpoints.changed_rows(m.values.weight.detach()).numel()) for i, m in memory.memory_layers(model).items()}
    model.eval()
    with Phase(phases, "eval"):
        res = evaluation.run_suite(model, tok, cfg, settings.default_protocol(cfg), cfg["eval_limit"], None)
    return {"slots": slots, "layers": layers, "heads": cfg["memory_heads"], "topk": cfg["memory_topk"], "top_t": cfg["top_t"],
            "steps": args.steps, "phases": phases, "step_s_median": statistics.median(step_s),
            "select_update_s_median": statistics.median(update_s), "rows_per_step": per_step, "rows_changed": changed,
            "bytes": sizes, "eval": {k: res[k] for k in ("task_acc", "wiki_ppl") if k in res}}


def _child(slots: int, layers: str, args) -> dict:
    flags = ["--one", f"{slots}:{layers}", "--steps", str(args.steps), "--background-docs", str(args.background_docs),
             "--eval-limit", str(args.eval_limit)]
    out = subprocess.run([sys.executable, __file__, *flags], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"error: the {slots}-row run failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    lines = ["rows/layer  layers  phase peaks MB (attach/background/train/save/eval)  s/step  select+update s  "
             "read/selected/moved per step (mean, per layer)  rows changed  memory.safetensors  state.pt"]
    for r in results:
        ph = "/".join(str(r["phases"][p]["peak_rss_mb"]) for p in ("attach", "background", "train", "save", "eval"))
        layer_ids = r["layers"].split(",")
        rsm = "; ".join("/".join(f"{statistics.mean(s[i][k] for s in r['rows_per_step'] if i in s):.0f}"
                                 for k in ("read", "selected", "moved")) for i in layer_ids)
        lines.append(f"{r['slots']:>10,}  {r['layers']:>6}  {ph:>46}  {r['step_s_median']:6.2f}  {r['select_update_s_median']:15.3f}  "
                     f"{rsm:>46}  {sum(r['rows_changed'].values()):>12,}  {r['bytes']['memory.safetensors'] / 2**20:15.2f} MB  "
                     f"{r['bytes']['state.pt'] / 2**20:6.2f} MB")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="262144:4,1048576:4,1048576:4+6",
                   help="comma-separated ROWS:LAYERS, layers joined by + (default: 262144:4,1048576:4,1048576:4+6)")
    p.add_argument("--steps", type=int, default=8, help="optimizer steps per configuration (default 8)")
    p.add_argument("--background-docs", type=int, default=16, help="background documents (default 16)")
    p.add_argument("--eval-limit", type=int, default=10, help="items per evaluation set (default 10)")
    p.add_argument("--out", default="results/sparse/bench/bench_large_memory.json", help="raw results (JSON)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        slots, layers = args.one.split(":")
        print(json.dumps(one(int(slots), layers.replace("+", ","), args)))
        return
    results = []
    for c in args.configs.split(","):
        slots, layers = c.split(":")
        t0 = time.time()
        results.append(_child(int(slots), layers, args) | {"wall_s": round(time.time() - t0, 1)})
        print(f"{c}: done in {results[-1]['wall_s']} s", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": "2-core CPU, 24 GB, fp32", "command": " ".join(sys.argv),
                                          "results": results}, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
