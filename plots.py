"""plots.py: every figure smf-mini draws (matplotlib, imported only when a figure is drawn).

`plot_frontiers`: task accuracy against each forgetting probe, one point per setting, each
method's Pareto frontier (python eval.py --compare). `plot_stream`: retention curves of a
stream of stages (--compare on --sequence runs). compare.py computes what they show.
"""
from __future__ import annotations

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
