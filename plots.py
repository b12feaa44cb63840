"""plots.py: one run as a picture (`python eval.py RUN --plot`).

From the files a run folder already holds (nothing is recomputed, no model is loaded):
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

import common

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
