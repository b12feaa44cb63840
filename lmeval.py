"""lmeval.py: a trained run on any task of EleutherAI's lm-evaluation-harness.

`python eval.py RUN --lm-eval TASK[,TASK...] [--limit N] [--lm-eval-include DIR]` asks the
harness to score the run's base model and its trained model (SMF: the base model with its
trained memory; LoRA: the adapter on the base model; full: the saved weights) on the tasks,
named as the harness names them. The model objects are handed to the harness's own HF model
class (lm_eval.models.huggingface.HFLM), so the prompts, metrics and standard errors are the
harness's, not ours. It prints base, trained and the change for every metric with the
harness's standard errors, and writes the harness's output for both models into the run
folder (`lm-eval-<tasks>.json`, written atomically).

Tasks the two papers report, for users with access to the model hub (the harness downloads
their data): `nq_open` (NaturalQuestions), `gsm8k` and `hellaswag` (the SMF paper), and
`triviaqa` (the seed paper; it also reports WikiText: `wikitext`). With `--lm-eval-include DIR`
the harness also reads task YAML files from DIR, which is how a task runs offline (a YAML
whose `dataset_path: json` points at a local JSON Lines file).

The harness is an optional dependency (requirements-lmeval.txt): nothing else in the toolkit
imports it, and without it `--lm-eval` ends in one sentence saying how to install it. This
file needs nothing from eval.py: it takes model objects and a tokenizer.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import common

INSTALL = "pip install -r requirements-lmeval.txt"
PAPER_TASKS = {"nq_open": "NaturalQuestions, open answers (SMF paper)", "gsm8k": "grade-school maths (SMF paper)",
               "hellaswag": "sentence endings (SMF paper)", "triviaqa": "TriviaQA (seed paper)"}
BATCH_SIZE = 8  # sequences per forward pass the harness is given


def harness():
    """The lm_eval package, or one sentence saying how to install it."""
    try:
        import lm_eval  # optional (requirements-lmeval.txt): only --lm-eval needs it, and importing it takes seconds
        from lm_eval.models.huggingface import HFLM  # noqa: F401  (the class the models are handed to; checked here, early)
    except ImportError:
        raise SystemExit(f"error: --lm-eval needs EleutherAI's lm-evaluation-harness, which is not installed; "
                         f"install it with: {INSTALL}") from None
    return lm_eval


def parse_tasks(text: str) -> list[str]:
    """'a, b,c' -> ['a', 'b', 'c'] (order kept, repeats dropped); an empty list is refused."""
    names = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise SystemExit("error: --lm-eval got no task name; give the harness's task names, as in: --lm-eval hellaswag,gsm8k.")
    return names


def task_manager(include: str | None, names: list[str] = ()):
    """The harness's task index, with the task YAML files under `include` added. When every
    task named is one of `include`'s, only that folder is indexed (seconds faster than the
    harness's thousands of task files)."""
    from lm_eval.tasks import TaskManager  # optional package: see harness()

    if include:
        local = TaskManager(include_path=include, include_defaults=False)
        if names and all(n in local.all_tasks for n in names):
            return local
        return TaskManager(include_path=include)
    return TaskManager()


def check_tasks(names: list[str], include: str | None):
    """Every task name known to the harness (with `include`'s files), checked before any model
    loads. Returns the task manager to evaluate with."""
    harness()
    if include is not None and not Path(include).is_dir():
        raise SystemExit(f"error: --lm-eval-include {include} is not a folder; give the folder that holds your task YAML files.")
    tm = task_manager(include, names)
    known = set(tm.all_tasks)
    unknown = [n for n in names if n not in known]
    if unknown:
        where = f" or in {include}" if include else " (add your own task's folder with --lm-eval-include DIR)"
        raise SystemExit(f"error: the harness has no task {unknown[0]!r}{where}; list its tasks with: python -m lm_eval ls tasks.")
    return tm


def run_harness(model, tok, names: list[str], tm, limit: int | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """The harness's results for one model object on the tasks: its `results` (metrics and
    their standard errors per task), `n-samples`, `versions`, `n-shot` and `configs`, as JSON."""
    lm_eval = harness()
    from lm_eval.models.huggingface import HFLM  # optional package: see harness()

    was = model.training
    model.eval()
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=batch_size)
    out = lm_eval.simple_evaluate(model=lm, tasks=names, limit=limit, task_manager=tm, log_samples=False)
    model.train(was)
    keep = {k: out[k] for k in ("results", "n-samples", "versions", "n-shot", "configs", "higher_is_better") if k in out}
    return json.loads(json.dumps(keep, default=str))  # plain JSON (the configs hold functions and paths)


def metric_rows(base: dict, trained: dict) -> list[dict]:
    """One row per (task, metric): base and trained values with the harness's standard errors,
    and the change (trained - base; its standard error from both, as independent samples)."""
    rows = []
    for task, res in trained["results"].items():
        for key, value in res.items():
            if not isinstance(value, (int, float)) or "_stderr" in key or key in ("alias", "sample_len"):
                continue
            metric, _, filt = key.partition(",")
            se_key = f"{metric}_stderr,{filt}" if filt else f"{metric}_stderr"
            b = base["results"].get(task, {}).get(key)
            b_se, t_se = base["results"].get(task, {}).get(se_key), res.get(se_key)
            se = [x if isinstance(x, (int, float)) and math.isfinite(x) else None for x in (b_se, t_se)]
            change = None if b is None else value - b
            ch_se = math.sqrt(se[0] ** 2 + se[1] ** 2) if None not in se else None
            rows.append({"task": task, "metric": metric, "filter": filt or None, "base": b, "base_stderr": se[0],
                         "trained": value, "trained_stderr": se[1], "change": change, "change_stderr": ch_se})
    return rows


def _pm(v, se) -> str:
    if v is None:
        return "-"
    f = (lambda x: f"{x:.4f}") if abs(v) < 1000 else (lambda x: f"{x:.1f}")
    return f(v) + (f" ({f(se)})" if se is not None else "")


def print_rows(rows: list[dict], title: str) -> None:
    from rich.console import Console  # rich is a core dependency; imported here to keep this file's import cheap
    from rich.table import Table  # (same)

    t = Table(title=title)
    for c in ("task", "metric", "base", "trained", "change"):
        t.add_column(c, justify="left" if c in ("task", "metric") else "right", no_wrap=True)
    for r in rows:
        metric = r["metric"] + (f" ({r['filter']})" if r["filter"] and r["filter"] != "none" else "")
        t.add_row(r["task"], metric, _pm(r["base"], r["base_stderr"]), _pm(r["trained"], r["trained_stderr"]),
                  _pm(r["change"], r["change_stderr"]))
    Console(width=max(120, shutil.get_terminal_size().columns)).print(t)  # never cut a task's or a metric's name
    print("In brackets: the harness's standard error of each score; the change's is from both, taken as independent samples.")


def out_name(names: list[str], limit: int | None) -> str:
    """The run folder's file for these tasks: lm-eval-<task+task>[-limitN].json."""
    stem = "+".join(names) if len("+".join(names)) <= 80 else f"{names[0]}+{len(names) - 1}-more"
    return f"lm-eval-{stem}" + (f"-limit{limit}" if limit else "") + ".json"


def compare_models(base_model, model, tok, names: list[str], tm, out_path, limit: int | None = None,
                   meta: dict | None = None) -> dict:
    """The base and the trained model on the harness's tasks; prints the table and writes
    {"tasks", "limit", "base", "trained", "rows", ...meta} to out_path (atomically)."""
    base = run_harness(base_model, tok, names, tm, limit)
    trained = run_harness(model, tok, names, tm, limit)
    import lm_eval  # optional package (see harness()); imported again only to record its version

    res = {"tasks": names, "limit": limit, "lm_eval_version": getattr(lm_eval, "__version__", None), **(meta or {}),
           "base": base, "trained": trained, "rows": metric_rows(base, trained)}
    common.write_json(out_path, res)
    print_rows(res["rows"], f"lm-evaluation-harness: base vs trained ({', '.join(names)}" + (f", first {limit} items" if limit else "") + ")")
    return res
