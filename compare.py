"""compare.py: many finished runs side by side (`python eval.py --compare RUN...`).

Runs that differ only in their seed form a group (one point); each group gets its mean and
95% bootstrap intervals (`summarize`: over items, or with --bootstrap seeds-items over seeds
and then items); along each method's Pareto frontier, forgetting is read off at matched
learning levels (`frontier_table`); on dev runs the written rule picks each method's setting
(`choose_settings`). Streams (train.py --sequence K) get their own report (`stream_report`).
The tables print here and are written as JSON and Markdown with --summary; plots.py draws.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import common
import plots
import progress
from settings import with_added_settings
from stats import (at_level, average_accuracy, average_forgetting, backward_transfer, bootstrap, bootstrap_columns,
                   bootstrap_seeds_items, forgetting_per_stage, matrix_from_items, pareto, perplexity_change, points_lost)


# ---------------------------------------------------------------- the numbers a run reports


# Each metric: (what it measures, higher is better?). "task" metrics measure learning,
# "probe" metrics forgetting. eval.py's suites make them; the comparisons below read them.


#
# Each metric: (what it measures, higher is better?). "task" metrics measure learning,
# "probe" metrics forgetting.
METRICS = {
    "task_acc": ("task", True), "task_seen_acc": ("task", True), "task_nll": ("task", False),
    "wiki_ppl": ("probe", False), "world_acc": ("probe", True), "gk_acc": ("probe", True),
    "medmcqa_acc": ("task", True),
    "wikitext_word_ppl": ("probe", False), "wikitext_byte_ppl": ("probe", False), "wikitext_bits_per_byte": ("probe", False),
    "wikitext_ppl": ("probe", False), "triviaqa_em": ("probe", True), "triviaqa_acc": ("probe", True),
}


HEADLINE = {"tiny": ("task_acc", "wiki_ppl", "world_acc", "gk_acc"),
            "harness": ("medmcqa_acc", "wikitext_word_ppl", "triviaqa_em"),
            "paper": ("medmcqa_acc", "wikitext_ppl", "triviaqa_acc")}


# tiny metric -> the key of its per-item outcomes in results["base"|"trained"]["items"]
ITEMS = {"task_acc": "task", "task_seen_acc": "task_seen", "wiki_ppl": "wiki", "world_acc": "world", "gk_acc": "gk"}
STREAM_PROBES = ("wiki_ppl", "world_acc", "gk_acc")  # the probes of a stream's rows


# ---------------------------------------------------------------- one group of runs: means and intervals


def _forgetting_stat(metric: str):
    """statistic over per-seed arrays of (base, trained) item pairs -> forgetting."""
    if metric == "wiki_ppl":  # rows: [loglik_base, tokens, loglik_trained, tokens]
        return lambda gs: float(np.mean([perplexity_change(g[:, 0].sum(), g[:, 2].sum(), g[:, 1].sum()) for g in gs]))
    return lambda gs: float(np.mean([points_lost(g[:, 0].mean(), g[:, 1].mean()) for g in gs]))  # rows: [base, trained]


def _pairs(metric: str, base: dict, trained: dict) -> np.ndarray:
    b, t = base["items"][ITEMS[metric]], trained["items"][ITEMS[metric]]
    if len(b) != len(t):
        raise ValueError(f"{metric}: base and trained results have different item counts ({len(b)} vs {len(t)}).")
    if metric == "wiki_ppl":
        return np.array([[bl, bn, tl, tn] for (bl, bn), (tl, tn) in zip(b, t)], dtype=np.float64)
    return np.array([b, t], dtype=np.float64).T


BOOTSTRAPS = ("items", "seeds-items")


def summarize(runs: list[dict], reps: int = 2000, boot: str = "items") -> dict:
    """Mean over seeds and a 95% interval for every tiny headline metric of a group of runs
    (the same settings, one run per seed). Learning (task_acc): accuracy, items resampled
    within each seed. Forgetting (probes): change from the base model, items resampled
    paired across base and trained and across seeds (every seed shares the probe items).
    boot="items" resamples items only (stats.bootstrap: the noise of the finite item sets);
    boot="seeds-items" first resamples the seeds, then the items within each drawn seed
    (stats.bootstrap_seeds_items: training noise between seeds included)."""
    if boot not in BOOTSTRAPS:
        raise ValueError(f"unknown bootstrap {boot!r}; choose one of {', '.join(BOOTSTRAPS)}.")
    bootstrap_fn = bootstrap if boot == "items" else bootstrap_seeds_items
    out: dict = {"seeds": [r.get("seed") for r in runs], "n_runs": len(runs), "bootstrap": boot}
    for metric in HEADLINE["tiny"]:
        if metric == "task_acc":
            groups = [np.array(r["trained"]["items"]["task"], dtype=np.float64) for r in runs]
            stat = lambda gs: float(np.mean([g.mean() for g in gs]))
            out[metric] = {"value": stat(groups), "ci": bootstrap_fn(groups, stat, reps, paired=False),
                           "base": float(np.mean([r["base"]["task_acc"] for r in runs])),
                           "per_seed": [float(g.mean()) for g in groups], "n_items": int(sum(len(g) for g in groups))}
        else:
            groups = [_pairs(metric, r["base"], r["trained"]) for r in runs]
            stat = _forgetting_stat(metric)
            out[metric] = {"forgetting": stat(groups), "ci": bootstrap_fn(groups, stat, reps, paired=True),
                           "base": runs[0]["base"][metric], "trained": float(np.mean([r["trained"][metric] for r in runs])),
                           "per_seed": [stat([g]) for g in groups], "n_items": len(groups[0])}
    return out


# ---------------------------------------------------------------- comparing runs along frontiers


LEVELS = (0.4, 0.5, 0.6, 0.7, 0.8)


# Config keys that do not change a tiny-protocol run's training or numbers: they never split
# a group (seeds are pooled; the last three were added later and only matter for MedMCQA or
# the retrofit, so older runs without them still group with newer ones). init_memory's path
# differs from seed to seed (each seed has its own retrofit), so it is replaced by whether
# there was one: "from_retrofit" (_group_settings).
GROUP_IGNORE = ("seed", "train_seconds", "resolved_steps", "name", "init_memory", "train_rows", "retrofit_docs", "retrofit_epochs")


def results_problem(r) -> str | None:
    """Why a results.json cannot be compared (None: it can): not an object, no base or trained
    numbers, or item lists that do not give the numbers beside them (a cut or edited file)."""
    if not isinstance(r, dict):
        return f"its results.json holds a {type(r).__name__}, not an object"
    if r.get("kind") == "stream":
        return stream_problem(r)
    for part in ("base", "trained"):
        if not isinstance(r.get(part), dict) or not isinstance(r[part].get("items"), dict):
            return f"its results.json has no {part} results with items"
    if "protocol" not in r:
        return "its results.json does not name its protocol"
    b, t = r["base"]["items"], r["trained"]["items"]
    try:
        for metric, key in ITEMS.items():
            if metric not in r["trained"] or key not in t:
                continue
            if key in b and len(b[key]) != len(t[key]):
                return f"its base and trained {key} item lists differ in length ({len(b[key])} vs {len(t[key])})"
            if metric == "wiki_ppl":
                got = math.exp(-sum(ll for ll, _ in t[key]) / sum(n for _, n in t[key]))
            else:
                got = float(np.mean(t[key]))
            if not math.isclose(got, r["trained"][metric], rel_tol=1e-6, abs_tol=1e-9):
                return (f"its trained {key} items give {metric} {got:.4g}, not the {r['trained'][metric]:.4g} it reports "
                        "(a cut or edited file)")
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return "its results.json has item lists of the wrong form"
    return None


def _read_results(run_dirs) -> list[dict]:
    """Every finished run's results.json with its config; unreadable, malformed or inconsistent
    ones are skipped by name, and a run given twice counts once."""
    rows, seen = [], set()
    for d in progress.bar_over(list(map(Path, run_dirs)), "reading runs", unit="run"):
        if d.resolve() in seen:
            print(f"skipping {d}: given more than once (a run counts once)")
            continue
        seen.add(d.resolve())
        f, c = d / "results.json", d / "config.json"
        odd = [p.name for p in (f, c) if os.path.lexists(p) and not p.is_file()]
        if odd:  # a FIFO or a folder in its place: never opened (a FIFO would block)
            print(f"skipping {d}: its {odd[0]} is not a regular file")
            continue
        if not f.is_file() or not c.is_file():
            print(f"skipping {d}: no results.json (not a finished, evaluated run)")
            continue
        try:
            r, cfg = json.loads(f.read_text()), json.loads(c.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            print(f"skipping {d}: its results.json or config.json is not valid JSON")
            continue
        except OSError as e:
            print(f"skipping {d}: its results.json or config.json cannot be read ({e.strerror})")
            continue
        problem = results_problem(r) or (None if isinstance(cfg, dict) and "method" in cfg and "lr" in cfg
                                         else "its config.json has no method and lr")
        if problem:
            print(f"skipping {d}: {problem}")
            continue
        cfg = with_added_settings(cfg)
        rows.append(dict(r, name=d.name, cfg=cfg, seed=cfg.get("seed"), split=r.get("trained", r).get("split", cfg.get("split", "test"))))
    return rows


def group_runs(rows: list[dict]) -> list[dict]:
    """Runs that differ only in their seed form one group (one point of a frontier)."""
    groups: dict[str, dict] = {}
    for r in rows:
        settings = _group_settings(r["cfg"])
        g = groups.setdefault(json.dumps(settings, sort_keys=True, default=str),
                              {"method": r["cfg"]["method"], "lr": r["cfg"]["lr"], "steps": r["cfg"].get("steps"),
                               "cfg": r["cfg"], "settings": settings, "runs": []})
        g["runs"].append(r)
    out = list(groups.values())
    for g in out:
        # the label names lr and steps, and any other setting that differs between this
        # method's groups (e.g. "smf lr=2000 steps=60 top_t=1000"), so that no two rows look alike
        same = [h["settings"] for h in out if h["method"] == g["method"]]
        varied = sorted(k for k in set().union(*same) if k not in LABEL_SKIP and len({json.dumps(c.get(k), default=str) for c in same}) > 1)
        extra = "".join(f" {k}={_label_value(g['settings'].get(k))}" for k in varied)
        g["label"] = f"{g['method']} lr={g['lr']:g} steps={g['steps']}{extra}"
        g["runs"].sort(key=lambda r: r["seed"])
    return out


# Settings that only one method reads: a full-finetuning run made when the preset's SMF step cap
# or SMF learning rate was different is still the same full-finetuning setting.
SMF_ONLY = ("top_t", "rule", "fold_background", "smf_optimizer", "row_step_cap", "min_read_ratio", "scale_lr", "memory_layers", "memory_slots", "memory_heads", "memory_topk",
            "memory_key_dim", "memory_mode", "background", "background_docs", "background_max_length")


LORA_ONLY = ("lora_r", "lora_alpha", "lora_dropout")


LR_KEYS = ("smf_lr", "lora_lr", "full_lr", "retrofit_lr")  # the run's own one is in "lr"


def _group_settings(cfg: dict) -> dict:
    """The settings that make two runs the same point (everything but the seed and the like, and
    the settings of other methods)."""
    m = cfg.get("method")
    drop = set(GROUP_IGNORE) | set(LR_KEYS) | (set() if m in ("smf", "retrofit") else set(SMF_ONLY)) | (set() if m == "lora" else set(LORA_ONLY))
    out = {k: v for k, v in cfg.items() if k not in drop}
    if m == "smf":  # SMF from a retrofitted memory is another method than SMF from a fresh one
        out["from_retrofit"] = bool(cfg.get("init_memory"))
    return out


# settings never named in a group's label (besides those _group_settings drops): lr and steps, always named, and records
LABEL_SKIP = {"lr", "steps", "data_sources", "eval_protocol"}


def _label_value(v) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def frontier_table(groups: list[dict], levels=LEVELS) -> dict:
    """For every method and probe: forgetting at each matched learning level, interpolated
    along the method's frontier (stats.pareto over its groups' means), interval bounds
    interpolated the same way (an approximation, said where printed). None: not reached."""
    out: dict = {}
    for method in sorted({g["method"] for g in groups}):
        gs = [g for g in groups if g["method"] == method]
        out[method] = {}
        for probe in HEADLINE["tiny"][1:]:
            pts = [(g["summary"]["task_acc"]["value"], g["summary"][probe]["forgetting"]) for g in gs]
            front = [gs[i] for i in pareto(pts)]
            xs = [g["summary"]["task_acc"]["value"] for g in front]
            cell = {}
            for L in levels:
                mid = at_level(xs, [g["summary"][probe]["forgetting"] for g in front], L)
                lo = at_level(xs, [g["summary"][probe]["ci"][0] for g in front], L)
                hi = at_level(xs, [g["summary"][probe]["ci"][1] for g in front], L)
                cell[str(L)] = None if mid is None else {"forgetting": mid, "ci": (lo, hi)}
            out[method][probe] = {"levels": cell, "frontier": [g["label"] for g in front],
                                  "max_task_acc": max(g["summary"]["task_acc"]["value"] for g in gs)}
    return out


TARGET = 0.8  # the high learning level settings are chosen for (on dev runs only)


def choose_settings(groups: list[dict], target: float = TARGET) -> dict:
    """The settings rule, applied to DEV runs only: for each method, among its settings whose
    task accuracy reaches `target`, the one that forgets least on the perplexity probe
    (wiki_ppl); if none reaches it, the one that learns most. Returns {method: label}."""
    out = {}
    for method in sorted({g["method"] for g in groups}):
        gs = [g for g in groups if g["method"] == method]
        hit = [g for g in gs if g["summary"]["task_acc"]["value"] >= target]
        pick = min(hit, key=lambda g: g["summary"]["wiki_ppl"]["forgetting"]) if hit else max(gs, key=lambda g: g["summary"]["task_acc"]["value"])
        out[method] = {"label": pick["label"], "lr": pick["lr"], "steps": pick["steps"], "reached_target": bool(hit)}
    return out


def table_cells(report: dict) -> list[tuple[list[str], list[list[str]]]]:
    """The two --compare tables as (header, rows) of strings, from a compare() report: one
    row per group of runs, then each method's forgetting at the matched learning levels.
    compare() prints them; markdown_tables() writes the same cells for a README."""
    probes = HEADLINE["tiny"][1:]
    g0 = report["groups"][0]["summary"]
    head1 = ["settings", "seeds", "task_acc [95%]", *(f"{p} forgetting [95%]" for p in probes)]
    rows1 = [["base model", "-", f"{g0['task_acc']['base']:.3f}", *(f"{g0[p]['base']:.4g} (base value)" for p in probes)]]
    for g in report["groups"]:
        sm = g["summary"]
        lo, hi = sm["task_acc"]["ci"]
        rows1.append([g["label"], ",".join(map(str, sm["seeds"])), f"{sm['task_acc']['value']:.3f} [{lo:.3f}, {hi:.3f}]",
                      *(f"{sm[p]['forgetting']:+.1f} [{sm[p]['ci'][0]:+.1f}, {sm[p]['ci'][1]:+.1f}]" for p in probes)])
    head2 = ["probe", "method", *(f"at task_acc {L}" for L in report["levels"])]
    rows2 = []
    for p in probes:
        for m, by_probe in report["frontier"].items():
            cells = [by_probe[p]["levels"][str(L)] for L in report["levels"]]
            rows2.append([p, m, *("not reached" if c is None else f"{c['forgetting']:+.1f} [{c['ci'][0]:+.1f}, {c['ci'][1]:+.1f}]" for c in cells)])
    return [(head1, rows1), (head2, rows2)]


def markdown_tables(report: dict) -> str:
    """The two --compare tables in Markdown (for a README), from a compare() report."""
    lines = []
    for head, rows in table_cells(report):
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows), ""]
    return "\n".join(lines[:-1]) + "\n"


def compare(run_dirs, plot_path: str = "runs/compare.png", levels=LEVELS, out_json: str | None = None,
            boot: str = "items", mark=()) -> dict:
    """Group the runs (same settings, several seeds), summarise each group with 95%
    intervals (`boot`: "items", or "seeds-items" to resample seeds too), print one table of
    the groups and one of each method's forgetting at matched learning, and draw the
    frontier plot (the groups holding a run named in `mark` are ringed as the default
    setting). Tiny-protocol runs of one split only."""
    with progress.phase(f"--compare: {len(run_dirs)} runs read and summarised"):
        report, groups = compare_report(run_dirs, levels, boot)
    if report.get("kind") == "stream":
        print_stream_report(report)
        plots.plot_stream(report, plots.stream_plot_path(plot_path))
    else:
        print_report(report)
        probes, notes = _plotted_probes(groups)
        plots.plot_frontiers(groups, probes, notes, report["split"], plot_path, boot=boot, mark=set(mark), sources=report["sources"])
    if out_json:
        common.write_json(out_json, report)
        with common.atomic_path(str(out_json).removesuffix(".json") + ".md") as tmp:
            Path(tmp).write_text(stream_markdown(report) if report.get("kind") == "stream" else markdown_tables(report))
        print(f"summary written to {out_json} (and the tables as Markdown beside it)")
    return report


def compare_report(run_dirs, levels=LEVELS, boot: str = "items") -> tuple[dict, list[dict]]:
    """The numbers of --compare without printing or plotting: (report, groups)."""
    rows = _read_results(run_dirs)
    if not rows:
        raise SystemExit("error: none of the given folders holds a finished, evaluated run (runs/<name>/results.json).")
    if any(r.get("kind") == "stream" for r in rows):  # streams (train.py --sequence K): their own report
        return stream_report(rows, run_dirs, boot), []
    kinds = sorted({(r["protocol"], r["split"]) for r in rows})
    if len(kinds) > 1:
        raise SystemExit(f"error: these runs mix protocols or splits ({', '.join(f'{p}/{s}' for p, s in kinds)}); compare one at a time.")
    protocol, split = kinds[0]
    if protocol != "tiny":
        raise SystemExit(f"error: --compare draws frontiers for tiny-protocol runs; these are {protocol}. Use `python eval.py RUN` per run.")
    groups = group_runs(rows)
    for g in progress.bar_over(groups, "intervals per group", unit="group"):
        g["summary"] = summarize(g["runs"], boot=boot)
    groups.sort(key=lambda g: (g["method"], g["lr"], g["steps"] or 0))
    chosen = choose_settings(groups) if split == "dev" else None
    sources: dict[str, int] = {}
    for d in {Path(x).resolve(): Path(x) for x in run_dirs}.values():  # a run given twice counts once
        sources[d.parent.as_posix()] = sources.get(d.parent.as_posix(), 0) + 1
    report = {"protocol": protocol, "split": split, "bootstrap": boot, "sources": sources, "levels": list(levels),
              "frontier": frontier_table(groups, levels), "chosen": chosen,
              "groups": [{"label": g["label"], "method": g["method"], "lr": g["lr"], "steps": g["steps"],
                          "runs": [r["name"] for r in g["runs"]], "summary": g["summary"]} for g in groups]}
    return report, groups


def print_report(report: dict) -> None:
    """The two --compare tables (and, on dev runs, the settings the rule chooses) on the terminal."""
    con = Console()
    over = "items" if report.get("bootstrap", "items") == "items" else "seeds, then items within each seed"
    titles = (f"runs compared (tiny protocol, {report['split']} split; mean over seeds, 95% bootstrap interval over {over})",
              "forgetting at matched learning (interpolated along each method's frontier, interval bounds too)")
    for title, (head, rows) in zip(titles, table_cells(report)):
        t = Table(title=title)
        for i, c in enumerate(head):
            t.add_column(c, justify="left" if i < 2 else "right")
        for r in rows:
            t.add_row(*r)
        con.print(t)
        if title == titles[0]:
            con.print("forgetting: wiki_ppl in % perplexity increase, world_acc and gk_acc in accuracy points lost (positive = forgot).")
    if report.get("chosen"):
        con.print(f"settings chosen on these dev runs (task_acc >= {TARGET}, then least wiki_ppl forgetting; else most learning):")
        for m, c in report["chosen"].items():
            con.print(f"  {m}: {c['label']}" + ("" if c["reached_target"] else f" (no setting reached {TARGET})"))


def _plotted_probes(groups: list[dict]) -> tuple[list[str], list[str]]:
    """The probes that are one probe across these groups (the same base value in every group),
    and a note for each left out (e.g. an earlier form of the general-knowledge probe)."""
    keep, notes = [], []
    for probe in HEADLINE["tiny"][1:]:
        bases = sorted({round(g["summary"][probe]["base"], 4) for g in groups})
        if len(bases) == 1:
            keep.append(probe)
        else:
            notes.append(f"{probe} left out: its base value differs between runs ({', '.join(map(str, bases))}), so they used different probes")
    return keep, notes


# ---------------------------------------------------------------- comparing streams (--compare on --sequence runs)


def stream_problem(r: dict) -> str | None:
    """Why a stream's results.json cannot be compared (None: it can): its matrix must be what
    its per-item outcomes give (a cut or edited file is skipped by name)."""
    try:
        rows, K = r["stages"], r["sequence"]
        if len(rows) != K + 1 or any(len(row["items"]["task"]) != K for row in rows):
            return f"its stream results do not hold {K + 1} rows of {K} stages"
        if not np.allclose(matrix_from_items([row["items"]["task"] for row in rows]), np.array(r["R"]), atol=1e-9):
            return "its accuracy matrix is not what its per-item outcomes give (a cut or edited file)"
        if any(len({len(row["items"][k]) for row in rows}) != 1 for k in ("world", "gk", "wiki")):
            return "its probe item lists differ in length between rows"
    except (KeyError, TypeError, ValueError, IndexError):
        return "its stream results have the wrong form"
    return None


def stream_columns(results: dict) -> list[np.ndarray]:
    """A stream's per-item outcomes as one array per stage (column), shape (items, K+1 rows)."""
    rows = [r["items"]["task"] for r in results["stages"]]
    return [np.array([row[j] for row in rows], dtype=np.float64).T for j in range(len(rows[0]))]


def _probe_drift(runs: list[dict], metric: str, row: int, bootstrap_fn, reps: int) -> dict:
    """A probe's change from the base row to `row` (% perplexity, or points lost), mean over
    seeds, with its 95% interval (items paired between the two rows)."""
    groups = [_pairs(metric, r["stages"][0], r["stages"][row]) for r in runs]
    stat = _forgetting_stat(metric)
    return {"value": stat(groups), "ci": bootstrap_fn(groups, stat, reps, paired=True)}


def summarize_stream(runs: list[dict], reps: int = 2000, boot: str = "items") -> dict:
    """A group of stream runs (one per seed): the mean matrix; ACC, BWT and average forgetting,
    and stage 1's accuracy after each stage, with 95% intervals (stats.bootstrap_columns: each
    stage's items redrawn on their own; with boot="seeds-items" the seeds first); and each
    probe's drift from the base model after each stage."""
    cols = [stream_columns(r) for r in runs]
    Rs = [np.array(r["R"], dtype=np.float64) for r in runs]
    seeds_too = boot == "seeds-items"

    def summary(fn) -> dict:
        return {"value": float(np.mean([fn(R) for R in Rs])), "per_seed": [fn(R) for R in Rs],
                "ci": bootstrap_columns(cols, lambda ms: float(np.mean([fn(m) for m in ms])), reps, seeds_too)}

    out = {"seeds": [r.get("seed") for r in runs], "n_runs": len(runs), "bootstrap": boot, "sequence": Rs[0].shape[1],
           "n_items": [len(c) for c in cols[0]], "R": np.mean(Rs, axis=0).tolist(),
           "acc": summary(average_accuracy), "bwt": summary(backward_transfer), "avg_forgetting": summary(average_forgetting),
           "forgetting": np.mean([forgetting_per_stage(R) for R in Rs], axis=0).tolist(),
           "retention_stage1": [summary(lambda R, l=l: float(R[l, 0])) for l in range(len(Rs[0]))]}
    fn = bootstrap if boot == "items" else bootstrap_seeds_items
    out["probes"] = {p: [_probe_drift(runs, p, l, fn, reps) for l in range(1, len(Rs[0]))] for p in STREAM_PROBES}
    return out


def stream_report(rows: list[dict], run_dirs, boot: str = "items") -> dict:
    """--compare on streams: the runs grouped by setting (seeds pooled), each summarised."""
    if not all(r.get("kind") == "stream" for r in rows):
        raise SystemExit("error: these runs mix streams (train.py --sequence) and single-task runs; compare one kind at a time.")
    splits = sorted({r["split"] for r in rows})
    if len(splits) > 1:
        raise SystemExit(f"error: these streams mix splits ({', '.join(splits)}); compare one split at a time.")
    groups = group_runs(rows)
    groups.sort(key=lambda g: (g["method"], g["cfg"].get("replay", 0.0), g["lr"], g["steps"] or 0))
    sources: dict[str, int] = {}
    for d in {Path(x).resolve(): Path(x) for x in run_dirs}.values():
        sources[d.parent.as_posix()] = sources.get(d.parent.as_posix(), 0) + 1
    return {"kind": "stream", "protocol": "tiny", "split": splits[0], "bootstrap": boot, "sources": sources,
            "groups": [{"label": g["label"], "method": g["method"], "replay": g["cfg"].get("replay", 0.0), "runs": [r["name"] for r in g["runs"]],
                        "summary": summarize_stream(g["runs"], boot=boot)} for g in groups]}


def _ci(d: dict, fmt: str = ".3f") -> str:
    return f"{d['value']:{fmt}} [{d['ci'][0]:{fmt}}, {d['ci'][1]:{fmt}}]"


def stream_tables(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each --compare table on streams: one matrix per setting, then
    the summaries side by side."""
    tables = []
    for g in report["groups"]:
        s = g["summary"]
        head = ["after", *(f"stage {j + 1}" for j in range(s["sequence"])), "wiki_ppl %", "world_acc pts lost", "gk_acc pts lost"]
        rows = [["base", *(f"{x:.3f}" for x in s["R"][0]), "0", "0", "0"]]
        for l in range(1, s["sequence"] + 1):
            rows.append([f"stage {l}", *(f"{x:.3f}" for x in s["R"][l]),
                         *(_ci(s["probes"][p][l - 1], "+.1f") for p in STREAM_PROBES)])
        tables.append((f"{g['label']} (seeds {','.join(map(str, s['seeds']))}; {s['n_items'][0]} items per stage): "
                       "held-out accuracy per stage (columns) after each stage (rows), mean over seeds", head, rows))
    head = ["setting", "seeds", "ACC", "BWT", "avg forgetting", "stage 1 at the end", "wiki_ppl % at the end"]
    rows = [[g["label"], str(g["summary"]["n_runs"]), _ci(g["summary"]["acc"]), _ci(g["summary"]["bwt"], "+.3f"),
             _ci(g["summary"]["avg_forgetting"], "+.3f"), _ci(g["summary"]["retention_stage1"][-1]),
             _ci(g["summary"]["probes"]["wiki_ppl"][-1], "+.1f")] for g in report["groups"]]
    over = "items" if report["bootstrap"] == "items" else "seeds, then items within each seed"
    tables.append((f"streams compared ({report['split']} split; mean over seeds, 95% bootstrap interval over {over})", head, rows))
    return tables


def print_stream_report(report: dict) -> None:
    con = Console()
    for title, head, rows in stream_tables(report):
        t = Table(title=title)
        for i, c in enumerate(head):
            t.add_column(c, justify="left" if i == 0 else "right")
        for r in rows:
            t.add_row(*r)
        con.print(t)
    con.print("ACC: mean final accuracy over stages; BWT: mean change of each earlier stage from just after it was learned "
              "to the end (negative = forgot); forgetting: best earlier accuracy minus final (positive = forgot).")


def stream_markdown(report: dict) -> str:
    """The --compare tables on streams as Markdown (written beside --summary)."""
    out = []
    for title, head, rows in stream_tables(report):
        out += [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows), ""]
    return "\n".join(out)
