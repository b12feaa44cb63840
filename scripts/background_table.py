"""The background-corpus comparison: one row per background, mean over seeds with 95% intervals,
and the choice by the rule written in results/background/dev/CHOICE.md before the runs.

    python scripts/background_table.py results/background/dev [--json OUT.json]

Reads every run folder under the given folder (config.json + results.json), groups them by
--background, and summarises each group with compare.summarize (items resampled within seeds; the
per-seed values are printed too, since two seeds cannot give a seed interval). The score is
(WikiText perplexity change in % + world-fact points lost + general-knowledge points lost) / 3.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common  # noqa: E402
import inputs  # noqa: E402
import settings  # noqa: E402
import compare  # noqa: E402

PROBES = ("wiki_ppl", "world_acc", "gk_acc")


def groups(folder: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for d in sorted(p for p in folder.iterdir() if (p / "results.json").exists()):
        cfg = inputs.check(inputs.json_file, d / "config.json", dict, "rerun that run, or move it out of the folder")
        r = inputs.check(inputs.json_file, d / "results.json", dict, "rerun that run, or move it out of the folder") | {"seed": cfg.get("seed")}
        out.setdefault(cfg["background"], []).append(r)
    return out


def choose(summary: dict[str, dict]) -> str:
    """The rule of CHOICE.md, as written: among backgrounds within 0.05 of the best mean task
    accuracy, the lowest mean score; but if the lowest two scores are within 1.0 of each
    other, pydoc (no change without a clear difference)."""
    best_acc = max(s["task_acc"]["value"] for s in summary.values())
    ok = {b: s for b, s in summary.items() if s["task_acc"]["value"] >= best_acc - 0.05}
    ranked = sorted(ok, key=lambda b: ok[b]["score"])
    if len(ranked) > 1 and ok[ranked[1]]["score"] - ok[ranked[0]]["score"] <= 1.0:
        return "pydoc"
    return ranked[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("folder")
    p.add_argument("--json", help="also write the summary here")
    a = p.parse_args(argv)
    inputs.check(inputs.folder, a.folder, fix="give the folder holding the runs")
    if a.json:
        settings.check_output_file(a.json, "--json")
    summary = {}
    for bg, runs in groups(Path(a.folder)).items():
        s = compare.summarize(runs)
        s["score"] = sum(s[m]["forgetting"] for m in PROBES) / 3
        summary[bg] = s
    if not summary:
        raise SystemExit(f"error: no finished runs (results.json) under {a.folder}.")
    print("| background | seeds | task accuracy [95%] | WikiText change % [95%] | world facts lost [95%] | general knowledge lost [95%] | score |")
    print("|---|---|---|---|---|---|---|")
    for bg, s in summary.items():
        cells = [f"{s['task_acc']['value']:.3f} [{s['task_acc']['ci'][0]:.3f}, {s['task_acc']['ci'][1]:.3f}]"]
        cells += [f"{s[m]['forgetting']:+.1f} [{s[m]['ci'][0]:+.1f}, {s[m]['ci'][1]:+.1f}] (per seed {', '.join(f'{v:+.1f}' for v in s[m]['per_seed'])})"
                  for m in PROBES]
        print(f"| {bg} | {len(s['seeds'])} | " + " | ".join(cells) + f" | {s['score']:+.2f} |")
    items = {m: summary[next(iter(summary))][m]["n_items"] for m in ("task_acc",) + PROBES}
    print(f"\nitems: {items}; choice by the rule: {choose(summary)}")
    if a.json:
        common.write_json(a.json, {"summary": summary, "choice": choose(summary), "items": items})
    return 0


if __name__ == "__main__":
    sys.exit(main())
