"""Rebuild every results table in docs/ from the raw runs in results/.

Each table in docs/*.md sits between two markers,

    <!-- table: NAME -->
    ...
    <!-- /table -->

and TABLES below says, for each NAME, which run folders make each row. The numbers are
computed by compare.py's own machinery (`compare.summarize`, `compare.compare_report`,
`compare.markdown_tables`): means over seeds and 95% bootstrap intervals with 2,000 draws.
tests/test_docs_tables.py rebuilds every table and checks that docs/ holds exactly that,
so prose tables and raw results cannot drift apart.

    python scripts/build_docs_tables.py            # rewrite the tables in docs/ in place
    python scripts/build_docs_tables.py --check    # exit 1 and name the tables that differ
    python scripts/build_docs_tables.py --print NAME
    python scripts/build_docs_tables.py --figures  # also redraw docs/figures/ (eval.py --compare --plot)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import compare
import eval  # noqa: E402  (the project's root on the path first)
import numpy as np  # noqa: E402

R = "results/"
CMP_T, CMP_D, SAT_T, SAT_D = R + "comparison/test/", R + "comparison/dev/", R + "saturation/test/", R + "saturation/dev/"
CAP, ROB, TOPT = R + "recipe/step-cap/dev/", R + "recipe/robustness/test/", R + "recipe/top-t/dev/"
RULE, RULE_T, OVER = R + "recipe/ranking-rule/dev/", R + "recipe/ranking-rule/test/", R + "recipe/over-read/dev/"
TWO, SCALE, BG, MCQ = R + "recipe/two-stage/dev/", R + "recipe/output-scale/dev/", R + "recipe/background-docs/dev/", R + "mcq-task/"
PRESET_DEV = TOPT + "smf-dev-lr8000-cap5-topt1000-st60-s*"  # the default, 60 steps, dev
THEN_DEV = CAP + "smf-dev-lr4000-cap5-st60-s*"  # top-t 2000, lr 4000, cap 5
PRESET_TEST = ROB + "smf-test-lr8000-cap5-topt1000-st60-s*"
THEN_TEST = ROB + "smf-test-lr4000-cap5-st60-s*"

MD, MT = R + "stream/matched/dev/", R + "stream/matched/test/"  # the stream at matched learning (PROTOCOL.md there)
# name -> kind and rows (label, globs); "groups": one row per label (its runs must be one setting)
TABLES: dict[str, dict] = {
    "stream-matched-dev": {"kind": "stream", "boot": "items", "rows": [  # the amended dev grid (PROTOCOL.md), finished runs
        ("SMF lr 8000 (preset), fixed background", [MD + "smf-s0"]),
        ("SMF lr 8000, background folded after each stage", [MD + "smf-fold-s0"]),
        ("full lr 3e-5", [MD + "full-lr3e-5-s0"]),
        ("LoRA lr 1e-3 (preset)", [MD + "lora-lr1e-3-s0"])]},
    "stream-matched-dev-rows": {"kind": "stream-rows", "rows": [  # every evaluation row made, stopped runs too
        ("SMF lr 8000, fixed background", MD + "smf-s0"),
        ("SMF lr 8000, background folded after each stage", MD + "smf-fold-s0"),
        ("full lr 3e-5 (stopped after two stages, PROTOCOL.md)", MD + "full-lr3e-5-s0-stopped"),
        ("LoRA lr 1e-3 (stopped by the deadline)", MD + "lora-lr1e-3-s0-stopped")]},
    "comparison-test": {"kind": "compare", "runs": [CMP_T + "*"], "boot": "seeds-items", "part": 0},
    "comparison-test-items": {"kind": "compare", "runs": [CMP_T + "*"], "boot": "items", "part": 0},
    "comparison-test-matched": {"kind": "compare", "runs": [CMP_T + "*"], "boot": "items", "part": 1,
                                "levels": (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)},
    "comparison-dev": {"kind": "compare", "runs": [CMP_D + "*"], "boot": "items", "part": 0},
    "seed-spread-test": {"kind": "seeds", "runs": [CMP_T + "*", SAT_T + "*", ROB + "*"]},
    "saturation-dev": {"kind": "groups", "rows": [
        ("SMF lr 2000, 180 steps (comparison sweep)", [CMP_D + "smf-dev-lr2000-st180-s0"]),
        ("SMF lr 2000, 540 steps", [SAT_D + "smf-dev-lr2000-st540-s0"]),
        ("SMF lr 2000, 1,080 steps", [SAT_D + "smf-dev-lr2000-st1080-s0"]),
        ("full lr 3e-5, 180 steps (comparison sweep)", [CMP_D + "full-dev-lr3e-05-st180-s0"]),
        ("full lr 3e-5, 360 steps", [SAT_D + "full-dev-lr3e-05-st360-s0"]),
        ("SMF lr 4000 + cap 5, top-t 2000, 180 steps", [SAT_D + "smf-dev-lr4000-cap5-st180-s0"]),
        ("SMF lr 4000 + cap 5, top-t 2000, 540 steps", [SAT_D + "smf-dev-lr4000-cap5-st540-s0"]),
        ("SMF default (top-t 1000, lr 8000, cap 5), 540 steps", [SAT_D + "smf-dev-lr8000-cap5-topt1000-st540-s*"])]},
    "saturation-dev-matched": {"kind": "compare", "runs": [CMP_D + "*", SAT_D + "smf-dev-lr2000-*", SAT_D + "full-*", SAT_D + "smf-dev-lr4000-*"],
                               "boot": "items", "part": 1, "levels": (0.4, 0.5, 0.6, 0.7, 0.75, 0.8), "probes": ("wiki_ppl",)},
    "saturation-test": {"kind": "groups", "rows": [
        ("**SMF default (top-t 1000, lr 8000), 540 steps**", [SAT_T + "smf-test-lr8000-cap5-topt1000-st540-s*"]),
        ("SMF top-t 2000, lr 4000 (the second default), 540 steps", [SAT_T + "smf-test-lr4000-cap5-st540-s*"]),
        ("full lr 3e-5, 180 steps", [CMP_T + "full-test-lr3e-05-st180-s*"]),
        ("full lr 3e-5, 360 steps", [SAT_T + "full-test-lr3e-05-st360-s*"])]},
    "saturation-test-matched": {"kind": "compare", "runs": [CMP_T + "*", SAT_T + "*", ROB + "*"], "boot": "items", "part": 1,
                                "levels": (0.5, 0.6, 0.7, 0.75, 0.8), "probes": ("wiki_ppl",), "methods": ("full", "smf")},
    "step-cap-dev": {"kind": "groups", "rows": [
        ("lr 2000, no cap (the first default)", [CMP_D + "smf-dev-lr2000-st60-s0", CAP + "smf-dev-lr2000-st60-s[12]"]),
        ("lr 4000, no cap", [CMP_D + "smf-dev-lr4000-st60-s0", CAP + "smf-dev-lr4000-st60-s[12]"]),
        ("lr 2000, cap 5", [CAP + "smf-dev-lr2000-cap5-st60-s0"]),
        ("**lr 4000, cap 5** (the second default)", [THEN_DEV]),
        ("lr 4000, cap 5, seed 0 alone", [CAP + "smf-dev-lr4000-cap5-st60-s0"]),
        ("lr 4000, cap 15", [CAP + "smf-dev-lr4000-cap15-st60-s0"])]},
    "top-t-dev": {"kind": "groups", "rows": [
        ("top-t 2000, lr 4000 (the second default)", [THEN_DEV]),
        ("its top-t x2 (4000)", [TOPT + "smf-dev-lr4000-cap5-topt4000-st60-s0"]),
        ("**top-t 1000, lr 8000 (the default)**", [PRESET_DEV]),
        ("its lr x0.5 (4000)", [TOPT + "smf-dev-lr4000-cap5-topt1000-st60-s0"]),
        ("its lr x2 (16000)", [TOPT + "smf-dev-lr16000-cap5-topt1000-st60-s0"]),
        ("its top-t x0.5 (500)", [TOPT + "smf-dev-lr8000-cap5-topt500-st60-s0"]),
        ("its top-t x2 (2000)", [TOPT + "smf-dev-lr8000-cap5-topt2000-st60-s0"]),
        ("top-t 2000, lr 4000, **540 steps**", [SAT_D + "smf-dev-lr4000-cap5-st540-s0"]),
        ("top-t 1000, lr 8000, **540 steps**", [SAT_D + "smf-dev-lr8000-cap5-topt1000-st540-s0"])]},
    "robustness-then-test": {"kind": "groups", "rows": [
        ("**second default: lr 4000, cap 5, top-t 2000**", [THEN_TEST]),
        ("lr x0.5 (2000)", [ROB + "smf-test-lr2000-cap5-st60-s*"]),
        ("lr x2 (8000)", [ROB + "smf-test-lr8000-cap5-st60-s*"]),
        ("top-t x0.5 (1000)", [ROB + "smf-test-lr4000-cap5-topt1000-st60-s*"]),
        ("top-t x2 (4000)", [ROB + "smf-test-lr4000-cap5-topt4000-st60-s*"]),
        ("first default: lr 2000, no cap", [CMP_T + "smf-test-lr2000-st60-s*"]),
        ("lr 4000, no cap", [CMP_T + "smf-test-lr4000-st60-s*"])]},
    "robustness-test": {"kind": "groups", "rows": [
        ("**default: top-t 1000, lr 8000, cap 5**", [PRESET_TEST]),
        ("lr x0.5 (4000)", [ROB + "smf-test-lr4000-cap5-topt1000-st60-s*"]),
        ("lr x2 (16000)", [ROB + "smf-test-lr16000-cap5-topt1000-st60-s*"]),
        ("top-t x0.5 (500)", [ROB + "smf-test-lr8000-cap5-topt500-st60-s*"]),
        ("top-t x2 (2000)", [ROB + "smf-test-lr8000-cap5-st60-s*"]),
        ("(second default: top-t 2000, lr 4000)", [THEN_TEST]),
        ("(its top-t x2: 4000)", [ROB + "smf-test-lr4000-cap5-topt4000-st60-s*"])]},
    "over-read-dev": {"kind": "groups", "rows": [
        ("top-t 4000", [TOPT + "smf-dev-lr4000-cap5-topt4000-st60-s0"]),
        ("top-t 4000, R = 1", [OVER + "smf-dev-lr4000-cap5-topt4000-rr1-st60-s0"]),
        ("top-t 4000, R = 2", [OVER + "smf-dev-lr4000-cap5-topt4000-rr2-st60-s0"]),
        ("top-t 2000, R = 1", [OVER + "smf-dev-lr4000-cap5-rr1-st60-s0"])]},
    "ranking-rule-dev": {"kind": "groups", "rows": [
        ("**TF-IDF (default), 60 steps**", [PRESET_DEV]),
        ("KL, 60 steps", [RULE + "smf-dev-rulekl-st60-s*"]),
        ("TF, 60 steps", [RULE + "smf-dev-ruletf-st60-s*"]),
        ("random, 60 steps", [RULE + "smf-dev-rulerandom-st60-s*"]),
        ("**TF-IDF (default), 540 steps**", [SAT_D + "smf-dev-lr8000-cap5-topt1000-st540-s*"]),
        ("random, 540 steps", [RULE + "smf-dev-rulerandom-st540-s*"])]},
    "ranking-rule-test": {"kind": "groups", "rows": [
        ("TF-IDF (default), 540 steps", [SAT_T + "smf-test-lr8000-cap5-topt1000-st540-s[01]"]),
        ("random rows, 540 steps", [RULE_T + "smf-test-rulerandom-st540-s*"])]},
    "background-docs-dev": {"kind": "groups", "rows": [
        ("IDF from 64 documents (default), 60 steps", [TOPT + "smf-dev-lr8000-cap5-topt1000-st60-s0"]),
        ("IDF from 272 documents, 60 steps", [BG + "smf-dev-bg272-st60-s0"]),
        ("IDF from 64 documents (default), 540 steps", [SAT_D + "smf-dev-lr8000-cap5-topt1000-st540-s0"]),
        ("IDF from 272 documents, 540 steps", [BG + "smf-dev-bg272-st540-s0"])]},
    "output-scale-dev": {"kind": "groups", "rows": [
        ("default (no scale), 60 steps", [TOPT + "smf-dev-lr8000-cap5-topt1000-st60-s0"]),
        ("scale lr 0.003, 60 steps", [SCALE + "smf-dev-scale3e-3-st60-s0"]),
        ("scale lr 0.01, 60 steps", [SCALE + "smf-dev-scale1e-2-st60-s0"]),
        ("scale lr 0.03, 60 steps", [SCALE + "smf-dev-scale3e-2-st60-s0"]),
        ("default (no scale), 540 steps", [SAT_D + "smf-dev-lr8000-cap5-topt1000-st540-s0"]),
        ("scale lr 0.01, 540 steps", [SCALE + "smf-dev-scale1e-2-st540-s0"])]},
    "two-stage-dev": {"kind": "groups", "rows": [
        ("retrofit alone (stage 1)", [TWO + "retrofit-dev-s0b"]),
        ("retrofit, then SMF top-t 2000, lr 4000", [TWO + "smf-dev-retrofit-lr4000-cap5-st60-s0"]),
        ("retrofit, then SMF top-t 1000, lr 8000 (the default)", [TWO + "smf-dev-retrofit-lr8000-cap5-topt1000-st60-s0"]),
        ("retrofit, then SMF top-t 1000, lr 1000", [TWO + "smf-dev-retrofit-lr1000-cap5-topt1000-st60-s0"]),
        ("fresh memory, SMF default (for comparison)", [TOPT + "smf-dev-lr8000-cap5-topt1000-st60-s0"]),
        ("fresh memory, SMF top-t 2000, lr 8000", [TOPT + "smf-dev-lr8000-cap5-topt2000-st60-s0"])]},
    "mcq-task": {"kind": "groups", "seen": True, "rows": [
        ("**SMF, the default (top-t 1000, lr 8000)**", [MCQ + "mcq-smf-default-t1000"]),
        ("SMF, the second default (top-t 2000, lr 4000)", [MCQ + "mcq-smf-default"]),
        ("LoRA (lr 1e-3)", [MCQ + "mcq-lora-default"]),
        ("full (lr 1e-4)", [MCQ + "mcq-full-default"])]},
    "mcq-views-dev": {"kind": "groups", "seen": True, "rows": [
        ("question, statement; 2 epochs (60 steps; the earlier default)", [MCQ + "dev/qs-e2"]),
        ("question, statement; 4 epochs (120 steps)", [MCQ + "dev/qs-e4"]),
        ("+ shuffled; 2 epochs (90 steps)", [MCQ + "dev/qss-e2"]),
        ("+ shuffled; 4 epochs (180 steps)", [MCQ + "dev/qss-e4"]),
        ("**+ shuffled, bare; 2 epochs (120 steps): chosen**", [MCQ + "dev/all-e2"]),
        ("+ shuffled, bare; 4 epochs (240 steps)", [MCQ + "dev/all-e4"])]},
    "mcq-views-test": {"kind": "groups", "seen": True, "rows": [
        ("**SMF, the default: all four views, 2 epochs (120 steps)**", [MCQ + "test/smf-default", MCQ + "test/smf-default-s1"]),
        ("SMF, question and statement, 60 steps (the earlier default)", [MCQ + "test/smf-before", MCQ + "test/smf-before-s1"]),
        ("full (lr 1e-4), all four views, 2 epochs", [MCQ + "test/full-default"]),
        ("LoRA (lr 1e-3), all four views, 2 epochs", [MCQ + "test/lora-default"])]},
    "harness": {"kind": "harness", "file": R + "harness/check-62-pages.json"},
}

_summarize = compare.summarize


def _cached_summarize(runs: list[dict], reps: int = 2000, boot: str = "items") -> dict:
    """compare.summarize, computed once per set of runs in this process (several tables share settings)."""
    key = (tuple((r["name"], json.dumps(r["cfg"], sort_keys=True, default=str)) for r in runs), reps, boot)
    if key not in _CACHE:
        _CACHE[key] = _summarize(runs, reps, boot)
    return _CACHE[key]


_CACHE: dict = {}

# the figures in docs/, each drawn by eval.py --compare --plot over these runs (--figures redraws them)
FIGURES = {
    "docs/figures/frontier-test.png": {"runs": [CMP_T + "*", SAT_T + "*", PRESET_TEST], "boot": "seeds-items",
                                       "mark": ["smf-test-lr8000-cap5-topt1000-st60-s0"]},
    "docs/figures/frontier-dev.png": {"runs": [CMP_D + "*", SAT_D + "*", PRESET_DEV], "boot": "items",
                                      "mark": ["smf-dev-lr8000-cap5-topt1000-st60-s0"]},
}

MARK = re.compile(r"<!-- table: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /table -->", re.S)
_SUMMARIES: dict = {}


def _runs(patterns: list[str]) -> list[str]:
    out = sorted({p for pat in patterns for p in glob(str(ROOT / pat))})
    if not out:
        raise SystemExit(f"error: no run folder matches {patterns}; the table's rows name folders under results/.")
    return out


def _summary(patterns: list[str], boot: str = "items") -> dict:
    """compare.summarize over the runs the patterns match (checked to be one setting), cached."""
    key = (tuple(patterns), boot)
    if key not in _SUMMARIES:
        rows = compare._read_results(_runs(patterns))
        groups = compare.group_runs(rows)
        if len(groups) != 1:
            raise SystemExit(f"error: {patterns} match {len(groups)} settings ({', '.join(g['label'] for g in groups)}), not one.")
        _SUMMARIES[key] = (_cached_summarize(groups[0]["runs"], boot=boot), rows)
    return _SUMMARIES[key]


def _rel(d: str) -> str:
    """A run folder's parent as the docs name it: relative to the repository."""
    return Path(d).relative_to(ROOT).as_posix() if Path(d).is_absolute() else d


def _note(rows: list[dict], boot: str) -> str:
    n = rows[0]["trained"]["n"]
    over = "items" if boot == "items" else "seeds, then items within each seed"
    return (f"Per seed: {n['task']} task items, {n['wiki_docs']} WikiText documents, {n['world']} world facts, {n['gk']} "
            f"general-knowledge items; {rows[0]['split']} split; 95% bootstrap intervals over {over} (2,000 draws); "
            "forgetting: WikiText perplexity change in %, accuracy points lost (positive = forgot).")


def groups_table(spec: dict) -> str:
    probes = compare.HEADLINE["tiny"][1:]
    seen = spec.get("seen", False)
    head = ["setting", "seeds", "task_acc [95%]", *(["training questions"] if seen else []),
            "wiki_ppl % [95%]", "world_acc points lost [95%]", "gk_acc points lost [95%]"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, patterns in spec["rows"]:
        sm, rows = _summary(patterns)
        t = sm["task_acc"]
        cells = [label, ",".join(map(str, sm["seeds"])), f"{t['value']:.3f} [{t['ci'][0]:.3f}, {t['ci'][1]:.3f}]"]
        if seen:
            cells.append(f"{sum(r['trained']['task_seen_acc'] for r in rows) / len(rows):.3f}")
        cells += [f"{sm[p]['forgetting']:+.1f} [{sm[p]['ci'][0]:+.1f}, {sm[p]['ci'][1]:+.1f}]" for p in probes]
        lines.append("| " + " | ".join(cells) + " |")
    base = rows[0]["base"]
    lines += ["", f"*Base model (seed {rows[0]['seed']}): task_acc {base['task_acc']:.3f}, wiki_ppl {base['wiki_ppl']:.2f}, world_acc {base['world_acc']:.3f}, "
                  f"gk_acc {base['gk_acc']:.3f}. " + _note(rows, "items") + "*"]
    return "\n".join(lines) + "\n"


def compare_table(spec: dict) -> str:
    """One of eval --compare's two tables (part 0: the settings, 1: matched learning), as it writes them."""
    runs = _runs(spec["runs"])
    report, _ = compare.compare_report(runs, spec.get("levels", compare.LEVELS), spec["boot"])
    head, rows = compare.table_cells(report)[spec["part"]]
    if spec["part"] == 1:
        rows = [r for r in rows if r[0] in spec.get("probes", compare.HEADLINE["tiny"][1:]) and r[1] in spec.get("methods", (r[1],))]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows)]
    src = ", ".join(f"`{_rel(d)}/` ({n} runs)" for d, n in report["sources"].items())
    over = "items" if spec["boot"] == "items" else "seeds, then items within each seed"
    if spec["part"] == 0:
        out += ["", f"*Runs: {src}. " + _note(compare._read_results(runs[:1]), spec["boot"]) + "*"]
    else:
        out += ["", f"*Runs: {src}; each method's Pareto frontier of settings, interpolated at each task accuracy (never "
                    f"extrapolated: 'not reached'); interval bounds interpolated the same way, from intervals over {over}.*"]
    return "\n".join(out) + "\n"


def seeds_table(spec: dict) -> str:
    """Per-seed task accuracy of every setting run on several seeds: how far seeds move a run."""
    report, groups = compare.compare_report(_runs(spec["runs"]), boot="items")
    lines = ["| setting | task_acc per seed (0, 1, 2) | spread (max - min) |", "|---|---|---|"]
    bases = {r["seed"]: r["base"]["task_acc"] for g in groups for r in g["runs"]}
    lines.append(f"| base model (each seed is another invented world) | {', '.join(f'{bases[s]:.3f}' for s in sorted(bases))} | "
                 f"{max(bases.values()) - min(bases.values()):.3f} |")
    spreads = []
    for g in (g for g in groups if len(g["runs"]) > 1):
        ps = g["summary"]["task_acc"]["per_seed"]
        spreads.append(max(ps) - min(ps))
        lines.append(f"| {g['label']} | {', '.join(f'{v:.3f}' for v in ps)} | {spreads[-1]:.3f} |")
    src = ", ".join(f"`{_rel(d)}/`" for d in report["sources"])
    lines += ["", f"*{len(spreads)} settings run on 2-3 seeds (runs: {src}); 240 task items per seed. Spread between seeds: "
                  f"median {sorted(spreads)[len(spreads) // 2]:.3f}, largest {max(spreads):.3f}.*"]
    return "\n".join(lines) + "\n"


def harness_table(spec: dict) -> str:
    r = json.loads((ROOT / spec["file"]).read_text())
    names = {"medmcqa_acc": "MedMCQA acc (100 rows)", "triviaqa_em": "TriviaQA exact match (100 rows)",
             "wikitext_word_ppl": f"WikiText word perplexity (all {r['wikitext_pages']['count']} test documents)",
             "wikitext_byte_ppl": "WikiText byte perplexity", "wikitext_bits_per_byte": "WikiText bits per byte"}
    lines = ["| metric | lm-eval | smf-mini |", "|---|---|---|"]
    lines += [f"| {names[k]} | {r['lm_eval'][k]:g} | {r['smf_mini'][k]:g} |" for k in names]
    lines += ["", f"*From `{spec['file']}`: `{r['command']}`; {r['model']}; {r['date']}, {r['machine']}.*"]
    return "\n".join(lines) + "\n"


def stream_table(spec: dict) -> str:
    """Streams (train.py --sequence), one row per setting (its runs: one per seed): L, the mean
    accuracy on each stage just after learning it; ACC, BWT, average forgetting; stage 1 just
    after it was learned and at the end, and the share of its gain over the base model kept;
    the probes' drift after the last stage. compare.summarize_stream's intervals (items, or seeds
    then items); L's interval the same way."""
    from stats import bootstrap_columns

    def cell(x, f="{:.3f}"):
        return f"{f.format(x['value'])} [{f.format(x['ci'][0])}, {f.format(x['ci'][1])}]"

    boot = spec.get("boot", "items")
    head = ["setting", "seeds", "L (just after learning)", "ACC", "BWT", "avg forgetting", "stage 1: base / after it / end",
            "stage-1 gain kept", "WikiText % at the end", "world pts lost", "gk pts lost"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    note = None
    for label, patterns in spec["rows"]:
        found = sorted({p for pat in patterns for p in glob(str(ROOT / pat))})
        runs = compare._read_results(found) if found else []
        if not runs:  # a run of the protocol's grid that was not made (or did not finish)
            lines.append(f"| {label} | not run | " + " | ".join([""] * (len(head) - 2)) + " |")
            continue
        sm = compare.summarize_stream(runs, 2000, boot)

        cols = [compare.stream_columns(r) for r in runs]

        def diag(m):
            return float(np.mean([m[s + 1, s] for s in range(m.shape[1])]))

        Rs = [np.array(r["R"]) for r in runs]
        L = {"value": float(np.mean([diag(R) for R in Rs])),
             "ci": bootstrap_columns(cols, lambda ms: float(np.mean([diag(m) for m in ms])), 2000, boot == "seeds-items")}
        R = np.array(sm["R"])
        gain = R[1, 0] - R[0, 0]
        kept = f"{(R[-1, 0] - R[0, 0]) / gain:.0%}" if gain > 0 else "no gain"
        p = sm["probes"]
        lines.append("| " + " | ".join([
            label, ",".join(map(str, sm["seeds"])), cell(L), cell(sm["acc"]), cell(sm["bwt"], "{:+.3f}"),
            cell(sm["avg_forgetting"], "{:+.3f}"), f"{R[0, 0]:.3f} / {R[1, 0]:.3f} / {cell(sm['retention_stage1'][-1])}", kept,
            cell(p["wiki_ppl"][-1], "{:+.1f}"), cell(p["world_acc"][-1], "{:+.1f}"), cell(p["gk_acc"][-1], "{:+.1f}")]) + " |")
        note = note or (runs[0], sm)
    if note:
        r, sm = note
        n = r["stages"][0]["n"]
        over = "items" if boot == "items" else "seeds, then items within each seed"
        lines += ["", f"*{sm['sequence']} stages, {sm['n_items'][0]} held-out questions per stage; probes: {n['world']} world "
                      f"facts, {n['gk']} general-knowledge items, {n['wiki_docs']} WikiText documents; {r['split']} split; "
                      f"95% bootstrap intervals over {over} (2,000 draws). Stage-1 gain kept: (R[K,1] - R[0,1]) / "
                      "(R[1,1] - R[0,1]) of the mean matrix. Probes: perplexity change in %, accuracy points lost.*"]
    return "\n".join(lines) + "\n"


def stream_rows_table(spec: dict) -> str:
    """The evaluation rows a stream has made (its stream.json), finished or not: one line per
    row (base model, then after each trained stage) with every stage's held-out accuracy and the
    probes, as train.py printed them. For runs stopped before their last stage."""
    lines = []
    for label, path in spec["rows"]:
        f = ROOT / path / "stream.json"
        if not f.is_file():
            lines += [f"*{label}: not run.*", ""]
            continue
        rows = json.loads(f.read_text())
        K = len(rows[0]["task_acc"])
        head = ["after", *(f"stage {j + 1}" for j in range(K)), "wiki_ppl", "world_acc", "gk_acc"]
        lines += [f"*{label}* (`{path}/stream.json`, {len(rows) - 1} of {K} stages evaluated)", "",
                  "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            name = "base" if r["after_stage"] == 0 else f"stage {r['after_stage']}"
            lines.append("| " + " | ".join([name, *(f"{a:.3f}" for a in r["task_acc"]), f"{r['wiki_ppl']:.3f}",
                                            f"{r['world_acc']:.3f}", f"{r['gk_acc']:.3f}"]) + " |")
        lines.append("")
    return "\n".join(lines)


BUILDERS = {"stream-rows": stream_rows_table, "groups": groups_table, "compare": compare_table, "seeds": seeds_table, "harness": harness_table,
            "stream": stream_table}


def build(name: str) -> str:
    """One table's Markdown. While it is built, compare.compare_report's calls to compare.summarize
    go through the cache (several tables share settings); eval is restored afterwards."""
    spec = TABLES[name]
    compare.summarize = _cached_summarize
    try:
        return BUILDERS[spec["kind"]](spec)
    finally:
        compare.summarize = _summarize


def docs_files() -> list[Path]:
    return sorted((ROOT / "docs").glob("*.md"))


def update(path: Path, check: bool = False) -> list[str]:
    """Rewrite the marked tables of one file (or, with check, only list those that differ)."""
    text = path.read_text()
    differ = []

    def fill(m):
        if m["name"] not in TABLES:
            raise SystemExit(f"error: {path.name} marks a table {m['name']!r} that scripts/build_docs_tables.py does not know.")
        new = build(m["name"])
        if new != m["body"]:
            differ.append(f"{path.name}: {m['name']}")
        return f"<!-- table: {m['name']} -->\n{new}<!-- /table -->"

    new_text = MARK.sub(fill, text)
    if not check and new_text != text:
        path.write_text(new_text)
    return differ


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Rebuild the results tables in docs/ from results/.", allow_abbrev=False)
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table in docs/ differs from its rebuild")
    p.add_argument("--print", dest="name", help="print one table (a NAME from TABLES)")
    p.add_argument("--figures", action="store_true", help="also redraw the figures in docs/figures/ (eval.py --compare --plot)")
    a = p.parse_args(argv)
    if a.figures:
        for path, spec in FIGURES.items():
            compare.compare([Path(r).relative_to(ROOT) for r in _runs(spec["runs"])], str(ROOT / path), boot=spec["boot"], mark=spec["mark"])
    if a.name:
        if a.name not in TABLES:
            raise SystemExit(f"error: unknown table {a.name!r}; known: {', '.join(TABLES)}.")
        print(build(a.name), end="")
        return 0
    differ = [d for f in docs_files() for d in update(f, a.check)]
    for d in differ:
        print(("differs: " if a.check else "rewritten: ") + d)
    return 1 if a.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
