"""The evaluation of a finished default run, phase by phase: where its time goes.

    python benchmarks/bench_eval.py runs/tiny-smf [--out items.json] [--profile prof.txt]

Evaluates the run's base model (never from the cache: the first run on a machine computes
it) and its trained model with the run's own protocol, timing each phase (model loading, and
per model the task, the task's training phrasing, world facts, general knowledge, WikiText),
and prints them beside the run's training time (config.json's train_seconds: model loading,
background pass and the training steps). --out writes every number and per-item outcome of
both evaluations, so two versions of the code can be checked to give identical results
(`--compare A.json B.json`). --profile writes cProfile's top functions of the whole evaluation.
The phases are timed by wrapping the scoring functions eval.py's suites call, so the script
measures any version of eval.py that calls them (the one before a speed change, too).
Run it alone on the machine: other work changes the times.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

import common  # noqa: E402
import eval  # noqa: E402,A004  (our evaluation module)

PHASES = ("task (held-out phrasings)", "task (training phrasing)", "world facts", "general knowledge", "WikiText")


def timed_suite(model, tok, cfg: dict, who: str, times: dict) -> dict:
    """eval.run_suite on the tiny protocol, each scoring call timed under its phase's name."""
    calls = iter(PHASES)
    wrapped = {}
    for name in ("choice_accuracy", "perplexity"):
        fn = getattr(eval, name)

        def timer(*a, _fn=fn, **k):
            phase = next(calls)
            t0 = time.perf_counter()
            out = _fn(*a, **k)
            times[f"{who}: {phase}"] = time.perf_counter() - t0
            return out

        wrapped[name] = fn
        setattr(eval, name, timer)
    try:
        t0 = time.perf_counter()
        r = eval.run_suite(model, tok, cfg, "tiny")
        times[f"{who}: whole suite"] = time.perf_counter() - t0
    finally:
        for name, fn in wrapped.items():
            setattr(eval, name, fn)
    return r


def outcomes(r: dict) -> dict:
    """Every number of a suite except its time."""
    return {k: v for k, v in r.items() if k != "seconds"}


def compare_files(a: str, b: str) -> int:
    A, B = (json.loads(Path(p).read_text()) for p in (a, b))
    same = True
    for who in ("base", "trained"):
        for k in sorted(set(A[who]) | set(B[who])):
            if A[who].get(k) != B[who].get(k):
                same = False
                print(f"{who} {k}: differs")
    items = sum(len(v) for who in ("base", "trained") for v in A[who]["items"].values())
    print(("identical" if same else "NOT identical") + f": every number and per-item outcome of both models ({items} item outcomes)")
    return 0 if same else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", nargs="?", help="a finished run folder of the offline default (tiny protocol)")
    p.add_argument("--out", help="write both evaluations' numbers and per-item outcomes here (JSON)")
    p.add_argument("--profile", help="write cProfile's top 40 functions (by own time) here")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="check two --out files for identical results")
    a = p.parse_args()
    if a.compare:
        return compare_files(*a.compare)
    if not a.run:
        p.error("give a run folder (or --compare A B)")
    times: dict[str, float] = {}
    prof = cProfile.Profile() if a.profile else None
    t0 = time.perf_counter()
    model, tok, cfg = eval.load_run(a.run)
    times["load trained model"] = time.perf_counter() - t0
    if eval.default_protocol(cfg) != "tiny":
        raise SystemExit("error: bench_eval.py measures the offline default's (tiny protocol) evaluation; give such a run.")
    t0 = time.perf_counter()
    base, base_tok = common.load_model(cfg["model"])
    times["load base model"] = time.perf_counter() - t0
    if prof:
        prof.enable()
    rb = timed_suite(base, base_tok, cfg, "base", times)
    del base
    rt = timed_suite(model, tok, cfg, "trained", times)
    if prof:
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(40)
        Path(a.profile).write_text(s.getvalue())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); run {a.run} ({cfg['method']}, {cfg.get('resolved_steps')} steps)")
    for k, v in times.items():
        print(f"  {k:45s} {v:7.1f} s")
    evaluation = times["base: whole suite"] + times["trained: whole suite"]
    print(f"  {'evaluation, base and trained (first run)':45s} {evaluation:7.1f} s")
    print(f"  {'evaluation, trained only (base cached)':45s} {times['trained: whole suite']:7.1f} s")
    if cfg.get("train_seconds") is not None:
        print(f"  {'the run training (config.json train_seconds)':45s} {cfg['train_seconds']:7.1f} s")
    if a.out:
        common.write_json(a.out, {"run": a.run, "times": times, "base": outcomes(rb), "trained": outcomes(rt)})
        print(f"numbers and per-item outcomes written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
