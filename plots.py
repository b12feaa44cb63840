"""plots.py: every figure smf-mini draws (matplotlib, imported only when a figure is drawn).

`plot_frontiers`: task accuracy against each forgetting probe, one point per setting, each
method's Pareto frontier (python eval.py --compare). `plot_stream`: retention curves of a
stream of stages (--compare on --sequence runs). compare.py computes what they show.

`plot_run`: one run as a picture (`python eval.py RUN --plot`; train.py draws it at the end),
from the files a run folder already holds (nothing is recomputed, no model is loaded):
- every run: the training loss per step (log.jsonl), and the gradient norm beside it;
- SMF: the memory rows read, selected and moved per step, one line per memory layer
  (log.jsonl's "rows"), and how far the changed rows moved from their start (rows.json's
  quantiles of each changed row's L2 distance, drawn as the share of changed rows within a
  distance);
- a stream (--sequence K): each stage's held-out task accuracy after every stage (stream.json:
  row l is the evaluation after stage l, row 0 the base model), the loss coloured by stage.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import common
from stats import FORGET_UNIT, pareto

COLORS = {"smf": "tab:green", "lora": "tab:blue", "full": "tab:red", "retrofit": "tab:purple"}


def _place_labels(ax, pts: list[tuple[float, float, str, str, float]]) -> None:
    """Number each point, trying offsets around it until the number's box overlaps neither a
    number already placed nor any point (boxes in display pixels: works on a symlog axis too)."""
    offsets = [(5, 4), (5, -12), (-15, 4), (-15, -12), (5, 14), (-15, 14), (5, -22), (-15, -22), (14, -4), (-25, -4),
               (16, 12), (-27, 12), (16, -20), (-27, -20)]
    s = ax.figure.dpi / 72  # points -> pixels
    centres = [tuple(ax.transData.transform((x, y))) for x, y, *_ in pts]
    boxes = [(px, py, p[4] * s, p[4] * s) for (px, py), p in zip(centres, pts)]  # (centre x, centre y, width, height): the points and rings

    def free(b):
        return all(abs(b[0] - q[0]) * 2 >= b[2] + q[2] or abs(b[1] - q[1]) * 2 >= b[3] + q[3] for q in boxes)

    for (x, y, text, color, _), (px, py) in zip(pts, centres):
        w, h = 5.5 * len(text) * s, 8 * s
        cands = [(dx, dy, (px + dx * s + w / 2, py + dy * s + h / 2, w, h)) for dx, dy in offsets]
        dx, dy, box = next((c for c in cands if free(c[2])), cands[0])
        boxes.append(box)
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=8, color=color, weight="bold")


def _plot_panel(ax, groups: list[dict], probe: str, mark: set) -> list[tuple[float, float, str, str, float]]:
    """One probe: each method's Pareto frontier as a line with 95% error bars both ways,
    dominated settings as faint points, every point numbered, the marked setting ringed."""
    ax.axhline(0, color="black", lw=0.8, ls="--")
    ax.plot([groups[0]["summary"]["task_acc"]["base"]], [0], marker="*", ms=13, color="black", ls="none", zorder=4)
    if probe == "wiki_ppl" and max(abs(g["summary"][probe]["ci"][1]) for g in groups) > 25:  # one far point must not flatten the rest
        ax.set_yscale("symlog", linthresh=5)
    labels = []
    for method in sorted({g["method"] for g in groups}):
        gs = [g for g in groups if g["method"] == method]
        xy = [(g["summary"]["task_acc"]["value"], g["summary"][probe]["forgetting"]) for g in gs]
        front = set(pareto(xy))
        c = COLORS.get(method, "tab:gray")
        for i, (g, (x, y)) in enumerate(zip(gs, xy)):
            xl, xh = g["summary"]["task_acc"]["ci"]
            yl, yh = g["summary"][probe]["ci"]
            on = i in front
            ax.errorbar([x], [y], xerr=[[x - xl], [xh - x]], yerr=[[y - yl], [yh - y]], color=c, alpha=1 if on else 0.3,
                        marker="o", ms=5 if on else 4, mfc=c if on else "white", capsize=2, lw=1 if on else 0.8, zorder=3 if on else 2)
            ringed = bool(mark & set(r["name"] for r in g["runs"]))
            if ringed:
                ax.plot([x], [y], marker="o", ms=15, mfc="none", mec="black", mew=1.5, ls="none", zorder=5)
            labels.append((x, y, str(g["number"]), c if on else "gray", 17 if ringed else 9))  # last: the marker's size in points
        fx = sorted(xy[i] for i in front)
        ax.plot([p[0] for p in fx], [p[1] for p in fx], color=c, lw=1.8, zorder=3)
    ax.set_xlabel("task accuracy, held-out phrasings (learning)")
    ax.set_ylabel(f"{probe}: {FORGET_UNIT[probe]} (forgetting)")
    ax.grid(alpha=0.3)
    ax.set_title(probe + (" (symlog axis)" if ax.get_yscale() == "symlog" else ""))
    return sorted(labels)


def _legend_lines(groups: list[dict], mark: set) -> list[tuple[str, str]]:
    """The numbered legend beside the panels: (text, colour) per setting."""
    lines = [("*  base model (forgetting 0)", "black")]
    for g in groups:
        ring = "  (o default)" if mark & set(r["name"] for r in g["runs"]) else ""
        seeds = ",".join(map(str, g["summary"]["seeds"]))
        lines.append((f"{g['number']:>2}  {g['label']}  [seeds {seeds}]{ring}", COLORS.get(g["method"], "tab:gray")))
    return lines


def plot_frontiers(groups: list[dict], probes: list[str], notes: list[str], split: str, path: str, boot: str = "items", mark=frozenset(), sources=None) -> None:
    """Task accuracy (x) against each forgetting probe in `probes` (y, 0 = the base model; notes:
    why any probe was left out, compare._plotted_probes), one panel per probe, a numbered legend as a table beside them and a caption naming the runs."""
    import matplotlib  # only where a plot is drawn: importing it takes ~1 s

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after matplotlib.use: no display needed

    for i, g in enumerate(groups, 1):
        g["number"] = i
    legend = _legend_lines(groups, set(mark))
    rows = (len(probes) + 2) // 2  # the panels and the legend, two per row
    fig = plt.figure(figsize=(13, 4.9 * rows + 0.8))
    axes = list(fig.subplots(rows, 2).flat)
    labels = [_plot_panel(ax, groups, probe, set(mark)) for ax, probe in zip(axes, probes)]
    for ax in axes[len(probes):]:
        ax.axis("off")
    box = axes[len(probes)]
    for i, (text, color) in enumerate(legend):
        box.text(0, 1 - i * min(0.06, 1 / len(legend)), text, color=color, fontsize=8.5, family="monospace", va="top", transform=box.transAxes)
    over = "items" if boot == "items" else "seeds, then items"
    fig.suptitle(f"learning vs forgetting, {split} split (better = right and low)")
    caption = [f"Each point: one setting, mean over its seeds; bars: 95% bootstrap intervals over {over}.",
               "Line: each method's Pareto frontier (no other setting of that method learns more and forgets less); "
               "faint: dominated settings" + ("; ring: the default setting." if mark else "."),
               "Runs: " + ", ".join(f"{d}/ ({n})" for d, n in (sources or {}).items()) + (". " + "; ".join(notes) + "." if notes else "")]
    fig.text(0.01, 0.005, "\n".join(caption), fontsize=8, va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.8 / (4.9 * rows + 0.8), 1, 1))
    for ax, pts in zip(axes, labels):  # numbers placed once the layout is final, in its pixels
        _place_labels(ax, pts)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with common.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    print(f"plot written to {path}")


def stream_plot_path(plot_path: str) -> str:
    """Where --compare draws the retention curves: beside --plot, as <name>-stream.png."""
    return str(Path(plot_path).with_name(Path(plot_path).stem + "-stream.png"))


def plot_stream(report: dict, path: str) -> None:
    """Retention curves: stage 1's held-out accuracy after each stage, and each probe's drift
    from the base model after each stage, one line per setting, 95% intervals as bars."""
    import matplotlib  # only where a plot is drawn: importing it takes ~1 s

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after matplotlib.use: no display needed

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    panels = [("retention_stage1", "stage 1 held-out accuracy"), ("wiki_ppl", "WikiText perplexity change (%)"),
              ("world_acc", "real facts: accuracy points lost"), ("gk_acc", "general knowledge: accuracy points lost")]
    styles = ["-", "--", ":", "-."]
    for n, g in enumerate(report["groups"]):
        s, c = g["summary"], COLORS.get(g["method"], "tab:gray")
        ls = styles[sum(h["method"] == g["method"] for h in report["groups"][:n]) % len(styles)]
        for ax, (key, _) in zip(axes.flat, panels):
            pts = s["retention_stage1"] if key == "retention_stage1" else [{"value": 0.0, "ci": (0.0, 0.0)}] + s["probes"][key]
            xs = np.arange(len(pts)) + (n - (len(report["groups"]) - 1) / 2) * 0.04  # a small offset keeps the bars apart
            ys = [p["value"] for p in pts]
            err = [[y - p["ci"][0] for y, p in zip(ys, pts)], [p["ci"][1] - y for y, p in zip(ys, pts)]]
            ax.errorbar(xs, ys, yerr=err, color=c, ls=ls, marker="o", ms=4, capsize=3, label=f"{g['label']} ({s['n_runs']} seed(s))")
    K = max(g["summary"]["sequence"] for g in report["groups"])
    for ax, (key, ylabel) in zip(axes.flat, panels):
        ax.set_xticks(range(K + 1), ["base"] + [str(l) for l in range(1, K + 1)])
        ax.set_xlabel("after training stage")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if key != "retention_stage1":
            ax.axhline(0, color="black", lw=0.8, ls="--")
    axes[0, 0].axhline(0.25, color="gray", lw=0.8, ls=":", label="chance (4 options)")
    axes[0, 0].set_ylim(0, 1)
    titles = ["retention: accuracy on stage 1's facts (higher = kept)", "WikiText perplexity (0 = base; higher = forgot)",
              "real facts probe (0 = base; higher = forgot)", "general-knowledge probe (0 = base; higher = forgot)"]
    for ax, title in zip(axes.flat, titles):
        ax.set_title(title, fontsize=11)
    handles, labels = axes[0, 0].get_legend_handles_labels()  # below the panels: a legend inside one hides points
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=3)
    over = "items" if report["bootstrap"] == "items" else "seeds, then items"
    fig.suptitle(f"Learning a stream of {K} stages of new facts: what is kept ({report['split']} split; "
                 f"bars: 95% bootstrap intervals over {over})")
    fig.tight_layout(rect=(0, 0.03 + 0.022 * ((len(labels) + 2) // 3), 1, 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with common.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    print(f"retention plot written to {path}")


# ---------------------------------------------------------------- one run as a picture

ROW_KINDS = ("read", "selected", "moved")


def read_log(run_dir: Path) -> list[dict]:
    """log.jsonl's step rows (lines that are not JSON objects with a step are skipped)."""
    f = run_dir / "log.jsonl"
    rows = []
    for line in f.read_text().splitlines() if f.exists() else []:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if isinstance(r, dict) and "step" in r and "loss" in r:
            rows.append(r)
    return rows


def _json(path: Path):
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (ValueError, OSError):
        return None


def _loss_panel(ax, log: list[dict], stream: bool) -> None:
    if stream:
        for stage in sorted({r.get("stage", 1) for r in log}):
            part = [r for r in log if r.get("stage", 1) == stage]
            ax.plot([r["step"] for r in part], [r["loss"] for r in part], lw=1, label=f"stage {stage}")
        ax.legend(fontsize=7, ncol=2)
    else:
        ax.plot([r["step"] for r in log], [r["loss"] for r in log], lw=1, color="C0")
    ax.set(xlabel="step", ylabel="training loss", title="loss per step")
    ax.grid(alpha=0.3)


def _grad_panel(ax, log: list[dict]) -> None:
    pts = [(r["step"], r["grad_norm"]) for r in log if isinstance(r.get("grad_norm"), (int, float))]
    ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1, color="C1")
    ax.set(xlabel="step", ylabel="gradient norm", title="gradient norm per step")
    ax.grid(alpha=0.3)


def _rows_panel(ax, log: list[dict], kinds: tuple[str, ...], title: str) -> None:
    layers = sorted({int(k) for r in log for k in r.get("rows", {})})
    styles = {"read": "-", "selected": "--", "moved": "-"}
    for j, layer in enumerate(layers):
        for kind in kinds:
            pts = [(r["step"], r["rows"][str(layer)][kind]) for r in log if str(layer) in r.get("rows", {})]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], styles[kind], lw=1, color=f"C{j}",
                    label=f"layer {layer}" if kind == kinds[-1] else None)  # one entry per layer (colour)
    ax.set(xlabel="step", ylabel="rows per step", title=title)
    ax.legend(fontsize=7, ncol=4, loc="lower center")
    ax.grid(alpha=0.3)


# rows.json's move quantiles (runs.MOVE_QUANTILES) and the share of changed rows each stands for
MOVE_SHARES = {"min": 0.0, "p10": 0.1, "p25": 0.25, "median": 0.5, "p75": 0.75, "p90": 0.9, "p99": 0.99, "max": 1.0}


def _moves_panel(ax, rows: dict) -> None:
    """rows.json's quantiles of each changed row's L2 distance from its start, per layer: the
    share of changed rows that moved at most a distance (an empirical CDF through the quantiles)."""
    for j, (layer, r) in enumerate(sorted(rows.get("layers", {}).items(), key=lambda kv: int(kv[0]))):
        q = r.get("move_l2") or {}
        pts = sorted((q[k], share) for k, share in MOVE_SHARES.items() if k in q)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, lw=1.2, color=f"C{j}",
                    label=f"layer {layer}: {r['rows_changed']:,} of {r['slots']:,} rows changed")
    cap = rows.get("row_step_cap")
    title = "how far the changed rows moved" + (f" (cap {cap:g} per step)" if cap else "")
    ax.set(xlabel="L2 distance of a changed row from its start", ylabel="share of changed rows", title=title, ylim=(0, 1.02))
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def _stream_panel(ax, stream: list[dict]) -> None:
    """Each stage's task accuracy (a line) after every stage (x; 0 = the base model)."""
    stream = sorted(stream, key=lambda r: r["after_stage"])
    k = len(stream[-1]["task_acc"])
    xs = [r["after_stage"] for r in stream]
    for s in range(k):
        ax.plot(xs, [r["task_acc"][s] for r in stream], marker="o", lw=1.2, label=f"stage {s + 1}'s facts")
        ax.axvline(s + 1, color="0.85", lw=0.6, zorder=0)
    ax.set(xlabel="after stage (0 = base model)", ylabel="held-out task accuracy", title="each stage's accuracy after every stage",
           xticks=xs, ylim=(0, 1))
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def default_path(run_dir) -> Path:
    return Path(run_dir) / "run.png"


def plot_run(run_dir, path=None, name: str | None = None) -> Path:
    """Draw the run in `run_dir` into `path` (default RUN/run.png, written atomically); returns the path.
    A folder without a training log ends in one sentence."""
    run_dir = Path(run_dir)
    cfg = _json(run_dir / "config.json")
    log = read_log(run_dir)
    if not isinstance(cfg, dict) or not log:
        raise SystemExit(f"error: {run_dir} has no readable config.json and log.jsonl with steps, so there is nothing to draw; "
                         "give a run folder that train.py wrote.")
    path = Path(path) if path else default_path(run_dir)
    stream = _json(run_dir / "stream.json") if cfg.get("sequence") else None
    rows = _json(run_dir / "rows.json")
    smf = any("rows" in r for r in log)
    import matplotlib  # only where a plot is drawn: importing it takes ~1 s

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after matplotlib.use: no display needed

    panels = 2 + (2 if smf else 0) + (1 if stream else 0) + (1 if smf and rows else 0)
    cols = 2 if panels <= 4 else 3
    nrows = -(-panels // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.6 * nrows), squeeze=False)
    axes = list(axes.flat)
    _loss_panel(axes.pop(0), log, bool(cfg.get("sequence")))
    if stream:
        _stream_panel(axes.pop(0), stream)
    if smf:
        _rows_panel(axes.pop(0), log, ("read",), "memory rows read per step")
        _rows_panel(axes.pop(0), log, ("selected", "moved"), "rows selected (dashed) and moved per step")
        if rows:
            _moves_panel(axes.pop(0), rows)
    _grad_panel(axes.pop(0), log)
    for ax in axes:  # panels left over in the grid
        ax.axis("off")
    title = f"{name or run_dir.name}: {cfg.get('method')} on {Path(str(cfg.get('model'))).name}, {len(log)} steps"
    fig.suptitle(title + (f", {cfg['sequence']} stages" if cfg.get("sequence") else ""), fontsize=11)
    fig.tight_layout()
    with common.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
