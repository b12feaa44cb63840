"""eval.py: how much a model learned, and how much it forgot.

- Protocols (docs/METHOD.md, "Evaluation protocols"): `tiny` (the offline default's task and
  probes), `harness` (lm-evaluation-harness's definitions) and `paper` (the seed paper's
  code). Every result records the protocol that produced it. The batched scoring they use
  is in scoring.py; every prompt format is in tasks.py.
- `evaluate_run`: base vs trained numbers of one run (the base model's cached).
- `stream_suite`, `stream_results`: a stream's rows (train.py --sequence K) and its summaries.
- `load_run`: a finished run's model, loaded the way train.py saved it (the way to get a
  trained model in Python).
- `ask`: a run's base and trained models answer the same questions (`RUN --ask "..."`).
- The command line: `python eval.py RUN`, `RUN --ask QUESTION`, `--model ID`, `--compare RUN...`
  (the comparison itself is compare.py's, its plots plots.py's).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import checkpoints
import common
import compare
import flags
import inputs
import lmeval
import plots
import progress
import protocols
import settings
import tasks
from compare import BOOTSTRAPS, HEADLINE, LEVELS, METRICS, STREAM_PROBES, stream_columns, summarize
from scoring import choice_accuracy, greedy_generate, perplexity
from settings import default_protocol
from stats import FORGET_UNIT, bootstrap_columns, matrix_from_items, stream_metrics


# ---------------------------------------------------------------- suites: which numbers a run reports

PROTOCOLS = tuple(HEADLINE)


TINY_TEXT_WINDOW = 512


TINY_WIKI_DOCS = 20  # documents of the WikiText probe scored per split (~6,000 tokens, ~20 s on 2 CPU cores)


def tiny_suite(model, tok, cfg: dict, limit: int | None = None) -> dict:
    """The offline default's numbers on one split ("dev" while choosing settings, "test" to
    report): the task (fictional facts, or --task mcq's files; held-out and seen questions) and three forgetting probes
    (WikiText perplexity, real facts of the task's relations and nine more, general knowledge).
    Per-item outcomes are kept under "items" so that intervals can be computed later."""
    split = cfg.get("split", "test")
    if cfg.get("task") == "mcq":  # a MedMCQA-schema task under --data-dir: validation rows held out, train rows seen
        items = tasks.mcq_items(tasks.mcq_rows(cfg.get("data_dir"), "validation"))[:limit]
        seen_items = tasks.mcq_items(tasks.mcq_rows(cfg.get("data_dir"), "train"))[:limit]
        source = f"{cfg.get('data_dir')}/medmcqa/ (validation held out, train seen; option-text scoring)"
    else:
        items = tasks.fictional_facts(cfg["n_countries"], cfg.get("seed", 0), split)["eval"][:limit]
        # the training phrasing once per fact (the held-out items come four per fact)
        seen_items = [dict(i, prompt=i["seen_prompt"]) for i in items[:: len(tasks.RELATIONS["capital"][2])]]
        source = f"fictional facts ({split}, made at run time)"
    with progress.phase("task (held-out phrasings)"):
        held = choice_accuracy(model, tok, items)
    with progress.phase("task (training phrasing)"):
        seen = choice_accuracy(model, tok, seen_items)
    world, gk, ppl = probe_suite(model, tok, split, limit)
    return {"task_acc": held["acc"], "task_seen_acc": seen["acc"], "task_nll": held["gold_nll"],
            "wiki_ppl": ppl["ppl"], "world_acc": world["acc"], "gk_acc": gk["acc"], "split": split,
            "n": {"task": held["n"], "world": world["n"], "gk": gk["n"], "wiki_docs": len(ppl["per_text"]), "wiki_tokens": ppl["tokens"]},
            "items": {"task": held["correct"], "task_seen": seen["correct"], "world": world["correct"], "gk": gk["correct"],
                      "wiki": ppl["per_text"]},
            "data": f"{source}; probes/ (WikiText, world facts, general knowledge; {split} half)"}


def probe_suite(model, tok, split: str, limit: int | None = None) -> tuple[dict, dict, dict]:
    """The three forgetting probes (world facts, general knowledge, WikiText), each a timed phase."""
    with progress.phase("world facts"):
        world = choice_accuracy(model, tok, tasks.world_facts(split)[:limit])
    with progress.phase("general knowledge"):
        gk = choice_accuracy(model, tok, tasks.general_knowledge(split)[:limit])
    with progress.phase("WikiText"):
        ppl = perplexity(model, tok, tasks.wiki_text(split)[: min(limit or TINY_WIKI_DOCS, TINY_WIKI_DOCS)], TINY_TEXT_WINDOW)
    return world, gk, ppl


def run_suite(model, tok, cfg: dict, protocol: str, limit: int | None = None, which=None) -> dict:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}.")
    was = model.training
    model.eval()
    t0 = time.time()
    if protocol == "tiny":
        r = tiny_suite(model, tok, cfg, limit)
    else:
        r = protocols.protocol_suite(model, tok, cfg, protocol, limit, which or ("medmcqa", "wikitext", "triviaqa"))
    model.train(was)
    r["seconds"] = round(time.time() - t0, 1)
    return r


def _code_and_data_hash(cfg: dict) -> str:
    """Hash of everything a base model's numbers depend on besides the settings: the scoring
    and task code, the probe files, the library versions, the data files under --data-dir
    (their bytes; medmcqa/train.jsonl only by its presence, which decides the fallback split)
    and a local model folder's files (names, sizes, times). A change to any of them makes the
    cached base results stale, so they are recomputed, never shown beside new trained ones."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha1(f"{torch.__version__} {importlib.metadata.version('transformers')}".encode())
    for f in [here / "eval.py", here / "scoring.py", here / "tasks.py", here / "common.py", *sorted((here / "probes").glob("*"))]:
        h.update(f.read_bytes())
    if cfg.get("data_dir") and Path(cfg["data_dir"]).is_dir():
        for f in sorted(Path(cfg["data_dir"]).rglob("*.jsonl")):
            rel = f.relative_to(cfg["data_dir"]).as_posix()
            by_presence = rel == "medmcqa/train.jsonl" and cfg.get("task") != "mcq"  # the mcq task scores its train rows
            h.update(rel.encode() + (b"present" if by_presence else f.read_bytes()))
    model_dir = common.offline_model_dir(progress=False) if cfg["model"] == common.OFFLINE_MODEL else Path(cfg["model"])
    if model_dir.is_dir():
        for f in sorted(model_dir.rglob("*")):
            if f.is_file():
                h.update(f"{f.relative_to(model_dir)} {f.stat().st_size} {f.stat().st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def base_results(cfg: dict, protocol: str, device, limit=None, which=None) -> dict:
    """The base model's numbers, computed once per (model, protocol, settings, code) and cached."""
    key = json.dumps([cfg["model"], protocol, limit, which, cfg.get("data_dir"), cfg.get("n_countries"), cfg.get("seed"),
                      cfg.get("split", "test"), cfg.get("eval_window", 2048), _code_and_data_hash(cfg)], sort_keys=True)
    path = common.cache_dir() / "base-results" / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".json")
    if path.exists():
        return json.loads(path.read_text())
    model, tok = common.load_model(cfg["model"], device=device)
    r = run_suite(model, tok, cfg, protocol, limit, which)
    common.write_json(path, r)
    return r


def evaluate_run(model, tok, cfg: dict, device, protocol: str | None = None, limit=None, which=None) -> dict:
    protocol = protocol or default_protocol(cfg)
    limit = limit if limit is not None else cfg.get("eval_limit")
    with progress.phase("evaluate base model"):
        base = base_results(cfg, protocol, device, limit, which)
    with progress.phase("evaluate trained model"):
        trained = run_suite(model, tok, cfg, protocol, limit, which)
    return {"protocol": protocol, "limit": limit, "data": trained.get("data"), "method": cfg.get("method"),
            "model": cfg.get("model"), "base": base, "trained": trained}


# ---------------------------------------------------------------- a stream of tasks (train.py --sequence K)
#
# A stream trains K stages of new facts one after another (tasks.fictional_stages). After each
# stage (and once for the base model) every stage's held-out questions are asked, trained or
# not, and the three forgetting probes measured: row l of the accuracy matrix R. The summaries
# (ACC, BWT, forgetting; stats.stream_metrics) are recomputed from the per-item outcomes.


def stream_suite(model, tok, cfg: dict, limit: int | None = None) -> dict:
    """One row of a stream's evaluation: held-out accuracy on each stage's facts (the first
    `limit` items of each) and the three tiny probes, with per-item outcomes."""
    was = model.training
    model.eval()
    t0, split = time.time(), cfg.get("split", "test")
    stages = tasks.fictional_stages(cfg["n_countries"], cfg["sequence"], cfg.get("seed", 0), split)
    task = []
    for i, s in enumerate(stages):
        with progress.phase(f"stage {i + 1}'s task"):
            task.append(choice_accuracy(model, tok, s["eval"][:limit]))
    world, gk, ppl = probe_suite(model, tok, split, limit)
    model.train(was)
    return {"task_acc": [t["acc"] for t in task], "wiki_ppl": ppl["ppl"], "world_acc": world["acc"], "gk_acc": gk["acc"],
            "split": split, "n": {"task": [t["n"] for t in task], "world": world["n"], "gk": gk["n"],
                                  "wiki_docs": len(ppl["per_text"]), "wiki_tokens": ppl["tokens"]},
            "items": {"task": [t["correct"] for t in task], "world": world["correct"], "gk": gk["correct"], "wiki": ppl["per_text"]},
            "seconds": round(time.time() - t0, 1)}


def stream_base(model, tok, cfg: dict, limit: int | None = None) -> dict:
    """The base model's stream row (`model` must be the untrained model), cached like
    base_results: the same for every method and replay share of one stream."""
    key = json.dumps([cfg["model"], "stream", cfg["sequence"], cfg["n_countries"], cfg.get("seed"), cfg.get("split", "test"),
                      limit, _code_and_data_hash(cfg)], sort_keys=True)
    path = common.cache_dir() / "base-results" / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".json")
    if path.exists():
        return json.loads(path.read_text())
    r = stream_suite(model, tok, cfg, limit)
    common.write_json(path, r)
    return r


def stream_results(cfg: dict, rows: list[dict], reps: int = 2000) -> dict:
    """results.json of a stream: the rows (base, then one per stage, with their items), R
    recomputed from the items, ACC / BWT / forgetting / retention of stage 1 (stats.stream_metrics)
    with 95% bootstrap intervals over items (each stage's items redrawn on its own), and the
    probes after each stage."""
    R = matrix_from_items([r["items"]["task"] for r in rows])
    out = {"protocol": "tiny", "kind": "stream", "sequence": cfg["sequence"], "replay": cfg.get("replay", 0.0),
           "limit": cfg.get("eval_limit"), "method": cfg.get("method"), "model": cfg.get("model"), "split": cfg.get("split", "test"),
           "stages": rows, "R": R.tolist(), **stream_metrics(R),
           "probes": {p: [r[p] for r in rows] for p in STREAM_PROBES}}
    cols = stream_columns(out)
    out["intervals"] = {k: bootstrap_columns([cols], lambda ms, k=k: float(np.mean([stream_metrics(m)[k] for m in ms])), reps)
                        for k in ("acc", "bwt", "avg_forgetting")}
    return out


def print_stream(results: dict, title: str) -> None:
    """A stream's accuracy matrix (with the probes beside each row) and its summaries."""
    K = results["sequence"]
    t = Table(title=f"{title}: held-out accuracy on each stage's facts (columns) after each stage (rows)")
    for c in ["after", *(f"stage {j + 1}" for j in range(K)), *STREAM_PROBES]:
        t.add_column(c, justify="left" if c == "after" else "right")
    for l, row in enumerate(results["stages"]):
        cells = [f"{x:.3f}" for x in results["R"][l]]
        t.add_row("base" if l == 0 else f"stage {l}", *cells, *(_fmt(row[p]) for p in STREAM_PROBES))
    Console().print(t)
    iv = results["intervals"]
    n = results["stages"][0]["n"]["task"]
    n = n[0] if len(set(n)) == 1 else "/".join(map(str, n))
    Console().print(f"ACC {results['acc']:.3f} [{iv['acc'][0]:.3f}, {iv['acc'][1]:.3f}]; "
                    f"BWT {results['bwt']:+.3f} [{iv['bwt'][0]:+.3f}, {iv['bwt'][1]:+.3f}]; "
                    f"average forgetting {results['avg_forgetting']:+.3f} [{iv['avg_forgetting'][0]:+.3f}, {iv['avg_forgetting'][1]:+.3f}] "
                    f"(95% bootstrap over items, {n} per stage; one run). Per stage: "
                    + ", ".join(f"f{j + 1} {f:+.3f}" for j, f in enumerate(results["forgetting"])) + ".")


def read_stream_rows(work: Path) -> list[dict]:
    """The evaluation rows a stream has made so far (work/stream.json), or none."""
    f = work / "stream.json"
    return json.loads(f.read_text()) if f.exists() else []


def add_stream_row(work: Path, rows: list[dict], evaluate, stage: int, step: int) -> None:
    """Make row `stage` (0: the base model) of the stream's evaluation (evaluate(): the row, a timed phase), and record it atomically."""
    with progress.phase("evaluate the base model" if stage == 0 else f"evaluate after stage {stage}"):
        row = evaluate()
    rows.append(dict(row, after_stage=stage, step=step))
    common.write_json(work / "stream.json", rows)
    print(f"after {'no stage (base model)' if stage == 0 else f'stage {stage}'}: task accuracy per stage "
          + " ".join(f"{a:.3f}" for a in row["task_acc"]) + f"; wiki_ppl {row['wiki_ppl']:.3f}, world_acc "
          f"{row['world_acc']:.3f}, gk_acc {row['gk_acc']:.3f} ({row['seconds']:.0f} s)")


# ---------------------------------------------------------------- printing


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) and abs(v) < 10 else (f"{v:.3f}" if isinstance(v, float) else str(v))


def print_config(cfg: dict, name: str) -> None:
    t = Table(title=f"run {name}: resolved configuration", show_header=False, box=None)
    for k, v in cfg.items():
        t.add_row(k, str(v))
    Console().print(t)


def print_results(results: dict, title: str = "results") -> None:
    t = Table(title=title)
    for c in ("metric", "kind", "base", "trained", "change", "95% interval of the change"):
        t.add_column(c, justify="left" if c in ("metric", "kind") else "right")
    b, tr = results["base"], results["trained"]
    summary = summarize([results]) if results.get("protocol") == "tiny" and "items" in tr else {}
    for k, (kind, higher) in METRICS.items():
        if k in tr and k in b:
            d = tr[k] - b[k]
            good = (d >= 0) == higher
            col = "green" if good or abs(d) < 1e-9 else "red"
            rel = f" ({100 * d / b[k]:+.1f}%)" if b[k] else ""
            ci = ""
            if k == "task_acc" and k in summary:
                lo, hi = summary[k]["ci"]
                ci = f"trained {lo:.3f}..{hi:.3f} (n={summary[k]['n_items']})"
            elif k in summary:
                lo, hi = summary[k]["ci"]
                ci = f"forgetting {lo:+.1f}..{hi:+.1f} {FORGET_UNIT[k]} (n={summary[k]['n_items']})"
            t.add_row(k, "learn" if kind == "task" else "forget", _fmt(b[k]), _fmt(tr[k]), f"[{col}]{d:+.4f}{rel}[/{col}]", ci)
    Console().print(t)
    if summary:
        print(SINGLE_RUN_CAVEAT)


# Printed under a single run's table: its intervals resample that run's items and nothing else.
SINGLE_RUN_CAVEAT = ("These intervals cover the items only: another seed, or the same seed on another machine "
                     "(float rounding), moves a run by several points (measured spread: docs/RESULTS.md).")


# ---------------------------------------------------------------- loading a run


def load_run(run_dir, device="cpu"):
    """(model, tok, cfg) of a finished run, loaded the way train.py saved it: the way to get
    a trained model in Python.

        import eval
        model, tok, cfg = eval.load_run("runs/tiny-smf")  # SMF: the base model with its trained memory
        ids = tok("Question: What is the capital of France?\\nAnswer:", return_tensors="pt").input_ids
        print(tok.decode(model.generate(ids, max_new_tokens=8, do_sample=False)[0, ids.shape[1]:]))

    model: a transformers causal LM in eval mode on `device` (SMF and retrofit runs: the base
    model with memory layers attached, checkpoints.load_memory; LoRA: a peft PeftModel around the
    base model; full finetuning: the saved model). tok: its tokenizer. cfg: the run's
    config.json (cfg["model"] names the base model; common.load_model(cfg["model"]) loads it
    for a comparison). A missing or unfinished run ends in one sentence (SystemExit)."""
    run_dir = Path(run_dir)
    cfg = check_run(run_dir)
    if cfg["method"] == "full":
        model, tok = common.load_model(str(run_dir / "model"), device=device)
    else:
        model, tok = common.load_model(cfg["model"], device=device)
        if cfg["method"] == "lora":
            from peft import PeftModel  # only LoRA runs need peft (and its ~1 s import)

            model = PeftModel.from_pretrained(model, str(run_dir / "adapter"))
        else:
            checkpoints.load_memory(model, str(run_dir / "memory.safetensors"))
            model.to(device)
    return model.eval(), tok, cfg


def check_run(run_dir, reevaluate: bool = False) -> dict:
    """A finished run folder checked whole before anything loads (config.json, the base
    model's folder, the checkpoint in its method's form, rows.json); returns its config."""
    run_dir = Path(run_dir)
    partial = run_dir.with_name(run_dir.name + ".partial")
    if run_dir.name.endswith(".partial"):
        raise SystemExit(f"error: {run_dir} is an unfinished run (still training, or interrupted); let it finish, "
                         f"or continue it with train.py --resume, then use {run_dir.with_name(run_dir.name[: -len('.partial')])}.")
    if not run_dir.exists() and partial.exists():
        raise SystemExit(f"error: {run_dir} has not finished (it is still training, or was interrupted, in {partial}); "
                         "let it finish, or continue it with train.py --resume.")
    if not run_dir.is_dir():
        raise SystemExit(f"error: there is no run folder {run_dir}; train one with python train.py (it prints where the run is saved).")
    if not os.path.lexists(run_dir / "config.json"):
        raise SystemExit(f"error: {run_dir} is not a finished run (no config.json); train one with train.py.")
    try:
        cfg = inputs.run_config(run_dir)  # a regular file holding an object with a known method
    except inputs.InputError as e:
        raise SystemExit(f"error: {e}".replace("is damaged (not valid JSON)", "is not valid JSON (a damaged file)")) from None
    if reevaluate and cfg.get("sequence"):  # said before the model is looked at
        reevaluate_run(argparse.Namespace(run=[str(run_dir)]), None, None)
    if not os.path.lexists(run_dir / inputs.RUN_CHECKPOINT[cfg["method"]]):
        raise SystemExit(f"error: {run_dir} has no checkpoint ({inputs.RUN_CHECKPOINT[cfg['method']]} is missing); the run did not finish.")
    d_model = None if cfg["method"] == "full" else int(settings.model_config(cfg["model"]).hidden_size)
    inputs.check(inputs.run_checkpoint, run_dir, cfg, d_model)  # whole, and made for this model's width
    return cfg


# ---------------------------------------------------------------- asking a run
#
# `python eval.py RUN --ask "QUESTION"`: what the run learned, by hand. The base model and the
# trained model answer the same questions greedily (no sampling: the same answer every time),
# each question put in the layout the run was trained on (tasks.ask_prompt), so the trained
# model meets the format it learned and the base model the same prompt. Options may follow
# the question, separated by "|" ("What is the capital of X? | A | B | C | D"): they are then
# listed as the training questions list them. With --complete each text is given as it is,
# a sentence to complete ("The capital of France is"): the base model, which ends its turn at
# once in the Question/Answer layout, answers that way too. The offline default's task trains and scores
# choosing among options, so a fact it learned shows best that way; asked without options
# the model must recall the name by itself, which it may not do. A glimpse, not a
# measurement: the numbers are results.json's.


ASK_TOKENS = 24  # new tokens per answer at most; an answer is its first non-empty line


def split_question(text: str) -> tuple[str, list[str]]:
    """'QUESTION | option | option ...' -> (question, options); no '|': no options."""
    parts = [p.strip() for p in text.split("|")]
    return parts[0], [p for p in parts[1:] if p]


def first_line(text: str) -> str:
    """The answer in a generated continuation: its first non-empty line (a model may start
    with a line break, and goes on past its answer)."""
    return text.strip().split("\n")[0].strip()


def ask(run_dir, questions: list[str], device="cpu", max_new_tokens: int = ASK_TOKENS, complete: bool = False) -> list[dict]:
    """Each question (optionally with '|'-separated options; with complete=True a text to
    continue, as it is) to the base model and to the run's trained model, greedily: a list of
    {"question", "options", "prompt", "base", "trained"}."""
    model, tok, cfg = load_run(run_dir, device)
    split = [(q, []) if complete else split_question(q) for q in questions]
    prompts = [q if complete else tasks.ask_prompt(q, opts, cfg.get("task", "fictional")) for q, opts in split]
    trained = greedy_generate(model, tok, prompts, max_new_tokens)
    del model  # the trained model is done: hold one model at a time
    base, base_tok = common.load_model(cfg["model"], device=device)
    answers = greedy_generate(base.eval(), base_tok, prompts, max_new_tokens)
    return [{"question": q, "options": opts, "prompt": p, "base": first_line(b), "trained": first_line(t)}
            for (q, opts), p, b, t in zip(split, prompts, answers, trained)]


def print_answers(rows: list[dict], run_dir) -> None:
    t = Table(title=f"{run_dir}: greedy answers, base model vs trained", show_lines=True)
    for c in ("question", "base model", "trained model"):
        t.add_column(c, overflow="fold")
    for r in rows:
        q = r["question"] + (f" (options: {', '.join(r['options'])})" if r["options"] else "")
        t.add_row(q, r["base"] or "(no answer)", r["trained"] or "(no answer)")
    Console().print(t)
    print("prompt of the first question, as both models saw it: " + repr(rows[0]["prompt"]))


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Evaluate a run or a base model; compare runs.", allow_abbrev=False,
                                epilog="Flags are written in full (no abbreviations); a flag that does nothing in the mode "
                                       "given (--plot without --compare, --limit with --ask, --tasks under the tiny protocol, "
                                       "a run folder with --model) is refused in one sentence.")
    p.add_argument("run", nargs="*", help="run folder(s) under runs/ (several with --compare)")
    p.add_argument("--model", help=f"evaluate a base model instead: hub id, local folder or '{common.OFFLINE_MODEL}'")
    p.add_argument("--compare", action="store_true", help="frontiers of the given finished runs: table with 95%% intervals, forgetting at matched learning, plot")
    p.add_argument("--plot", nargs="?", const="", metavar="PNG", help="with --compare: where its PNG goes (default: "
                   "runs/compare.png); with one RUN: draw the run (loss, SMF's memory rows, a stream's stages) into RUN/run.png "
                   "or PNG (plots.py)")
    p.add_argument("--lm-eval", metavar="TASK[,TASK...]", help="run lm-evaluation-harness tasks (named as the harness names them) "
                   "on the run's base and trained models; prints both and the change with the harness's standard errors, and "
                   "writes RUN/lm-eval-<tasks>.json (optional package: pip install -r requirements-lmeval.txt; lmeval.py)")
    p.add_argument("--lm-eval-include", metavar="DIR", help="with --lm-eval: a folder of your own task YAML files (the harness's include path)")
    p.add_argument("--levels", default=",".join(map(str, LEVELS)), help="--compare: task accuracies (0 to 1) at which forgetting is matched (default: 0.4,0.5,0.6,0.7,0.8)")
    p.add_argument("--summary", help="--compare: also write the tables as JSON here (and as Markdown, .md, beside it)")
    p.add_argument("--bootstrap", choices=BOOTSTRAPS, default="items",
                   help="--compare: 'items' resamples items within each seed (default); 'seeds-items' resamples the seeds, then the items within each drawn seed")
    p.add_argument("--mark", default="", help="--compare: comma-separated run folder names; the plot rings the setting(s) holding them (the default setting)")
    p.add_argument("--protocol", choices=PROTOCOLS, help="tiny (offline default), harness (lm-evaluation-harness) or paper (seed paper); default: the run's own")
    p.add_argument("--tasks", help="harness/paper: comma-separated subset of medmcqa,wikitext,triviaqa")
    p.add_argument("--limit", type=int, help="first N items of each set (quick looks)")
    p.add_argument("--data-dir", help="folder with hub-schema JSON Lines files (offline); default: the hub")
    p.add_argument("--window", type=int, default=2048, help="harness WikiText window in tokens (default 2048; the harness uses the model's full context)")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto (default)")
    p.add_argument("--out", help="with --model: where to write the JSON (default: runs/eval-<model>-<protocol>.json)")
    p.add_argument("--ask", action="append", metavar="QUESTION", help="ask the run's base and trained models QUESTION (repeatable; "
                   "options may follow, separated by '|': \"Q? | A | B | C | D\"); prints both greedy answers side by side, "
                   "in the run's prompt layout, and writes nothing")
    p.add_argument("--complete", action="store_true", help="with --ask: give each text as it is, a sentence to complete "
                   "(\"The capital of France is\"), not in the Question/Answer layout")
    return p


def check_args(a) -> tuple | None:
    """Every flag checked before a model is loaded; returns the chosen benchmarks (or None: all)."""
    which = None
    if a.tasks:
        which = tuple(x.strip() for x in a.tasks.split(",") if x.strip())
        bad = [x for x in which if x not in ("medmcqa", "wikitext", "triviaqa")]
        if bad:
            raise SystemExit(f"error: unknown task {bad[0]!r}; choose from medmcqa, wikitext, triviaqa.")
        if not which:
            raise SystemExit("error: --tasks is empty; name at least one of medmcqa, wikitext, triviaqa.")
    if a.limit is not None and a.limit < 1:
        raise SystemExit("error: --limit must be at least 1.")
    if a.window < 2:
        raise SystemExit("error: --window must be at least 2 tokens.")
    if a.compare and not (a.plot or ".png").endswith(".png"):
        raise SystemExit(f"error: --plot must name a .png file; got {a.plot!r}.")
    if a.ask is not None and (a.compare or a.model or len(a.run) != 1):
        raise SystemExit('error: --ask takes exactly one run folder, as in: python eval.py runs/tiny-smf --ask "QUESTION".')
    if a.complete and a.ask is None:
        raise SystemExit('error: --complete goes with --ask, as in: python eval.py runs/tiny-smf --ask "The capital of France is" --complete.')
    if a.ask is not None and not all((q.strip() if a.complete else split_question(q)[0]) for q in a.ask):
        raise SystemExit("error: --ask got an empty question; give the question text after it.")
    if not a.compare and not a.model and len(a.run) != 1:
        raise SystemExit("error: give one run folder (or --compare with several, or --model ID).")
    return which


def evaluate_base_model(a, which, device) -> None:
    """--model ID: the base model alone on a protocol (no run folder)."""
    cfg = dict(tasks.TINY_TASK, model=a.model, data_dir=a.data_dir, eval_window=a.window)
    cfg["task"] = "fictional" if a.protocol in (None, "tiny") else "medmcqa"
    proto = a.protocol or "tiny"
    model, tok = common.load_model(a.model, device=device)
    r = run_suite(model, tok, cfg, proto, a.limit, which)
    r.update(protocol=proto, model=a.model, limit=a.limit)
    out = a.out or f"runs/eval-{Path(a.model).name}-{proto}.json"
    common.write_json(out, r)
    print(json.dumps({k: v for k, v in r.items() if k in METRICS}, indent=2))
    print(f"written to {out}")


def stream_stages(run_dir) -> int | None:
    """A run folder's --sequence K (None: not a stream, or no readable config.json; load_run says why)."""
    try:
        cfg = json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return cfg.get("sequence") if isinstance(cfg, dict) else None


def reevaluate_run(a, which, device) -> None:
    """RUN: a finished run again (its own protocol by default; another one with --protocol)."""
    k = stream_stages(a.run[0])
    if k:  # its results.json holds the evaluation after every stage, which one evaluation of the end cannot redo
        raise SystemExit(f"error: {a.run[0]} is a stream (--sequence {k}): its results.json holds every stage's "
                         f"evaluation; compare streams with python eval.py --compare {a.run[0]} ... (or ask it with --ask).")
    model, tok, cfg = load_run(a.run[0], device)
    if a.data_dir:
        cfg["data_dir"] = a.data_dir
    cfg["eval_window"] = a.window
    proto = a.protocol or default_protocol(cfg)
    res = evaluate_run(model, tok, cfg, device, proto, a.limit, which)
    name = "results.json" if proto == default_protocol(cfg) and a.limit is None and which is None else f"results-{proto}.json"
    rows = Path(a.run[0]) / "rows.json"  # an SMF run's record of its memory rows, kept beside the new numbers
    if name == "results.json" and rows.exists():
        res["memory_rows"] = json.loads(rows.read_text())
    common.write_json(Path(a.run[0]) / name, res)
    print_results(res, title=f"{a.run[0]} ({proto} protocol)")
    print(f"written to {Path(a.run[0]) / name}")


def run_only(a) -> int:
    """RUN --lm-eval TASKS (the harness's tasks on the run's base and trained models; lmeval.py)
    or RUN --plot [PNG] (the run as a picture; plots.py): one run folder, no other mode."""
    if a.lm_eval_include is not None and a.lm_eval is None:
        raise SystemExit("error: --lm-eval-include goes with --lm-eval, as in: python eval.py runs/tiny-smf --lm-eval my_task --lm-eval-include tasks/.")
    mode = "--lm-eval" if a.lm_eval is not None else "--plot"
    if a.compare or a.model or a.ask is not None or len(a.run) != 1 or (a.lm_eval is not None and a.plot is not None):
        raise SystemExit(f"error: {mode} takes exactly one run folder and no other mode, as in: python eval.py runs/tiny-smf {mode}"
                         + (" hellaswag --limit 100." if mode == "--lm-eval" else "."))
    unused = [f for f, on in (("--protocol", a.protocol), ("--tasks", a.tasks), ("--data-dir", a.data_dir), ("--out", a.out),
                              ("--window", a.window != 2048), ("--complete", a.complete), ("--summary", a.summary),
                              ("--mark", a.mark), ("--bootstrap", a.bootstrap != "items"),
                              ("--levels", a.levels != ",".join(map(str, LEVELS))), ("--limit", mode == "--plot" and a.limit)) if on]
    if unused:
        raise SystemExit(f"error: {unused[0]} does nothing with {mode} (" + ("the harness's tasks define their own data"
                         if mode == "--lm-eval" else "it draws the run's saved logs") + "); drop it.")
    if a.limit is not None and a.limit < 1:
        raise SystemExit("error: --limit must be at least 1.")
    if mode == "--plot":
        if a.plot and not a.plot.endswith(".png"):
            raise SystemExit(f"error: --plot must name a .png file; got {a.plot!r}.")
        print(f"plot written to {plots.plot_run(a.run[0], a.plot or None)}")  # plots.py says what a folder lacks
        return 0
    names = lmeval.parse_tasks(a.lm_eval)
    tm = lmeval.check_tasks(names, a.lm_eval_include)  # every name known before a model loads
    out = Path(a.run[0]) / lmeval.out_name(names, a.limit)
    check_run(a.run[0])
    settings.check_output_file(str(out), "the run folder's lm-eval file")
    device = settings.pick_device(a.device)
    model, tok, cfg = load_run(a.run[0], device)
    base, _ = common.load_model(cfg["model"], device=device)
    lmeval.compare_models(base, model, tok, names, tm, out, a.limit,
                          meta={"run": str(a.run[0]), "method": cfg.get("method"), "model": cfg.get("model")})
    print(f"written to {out}")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    if a.lm_eval is not None or a.lm_eval_include is not None or (a.plot is not None and not a.compare):
        return run_only(a)  # a standard benchmark on one run, or one run as a picture
    which = check_args(a)
    run_cfg = check_run(a.run[0], not a.ask) if a.run and not a.compare and not a.model else None  # whole, before anything loads
    protocol = None if a.compare else a.protocol or (default_protocol(run_cfg) if run_cfg else "tiny")
    flags.check_eval_flags(a, vars(parser.parse_args([])), protocol, (run_cfg or {}).get("task"))  # each flag acts or is refused
    if a.compare:
        levels = settings.check_levels(a.levels)
        settings.check_output_file(a.plot or "runs/compare.png", "--plot")
        if a.summary:
            settings.check_output_file(a.summary, "--summary")
        compare.compare(a.run, a.plot or "runs/compare.png", levels, a.summary, boot=a.bootstrap, mark=[m for m in a.mark.split(",") if m])
        return 0
    device = settings.pick_device(a.device)
    if a.model:
        config = settings.model_config(a.model)  # a missing folder or an unreadable config: one sentence, before loading
        ctx = getattr(config, "max_position_embeddings", None)
        if protocol == "harness" and ctx and a.window > ctx and a.window != parser.get_default("window"):
            raise SystemExit(f"error: --window {a.window:,} is longer than the model's context of {ctx:,} tokens; give at most {ctx:,}.")
        settings.check_output_file(a.out or f"runs/eval-{Path(a.model).name}-{a.protocol or 'tiny'}.json", "--out")
    elif not a.ask and Path(a.run[0]).is_dir():  # RUN: its new results are written into the run folder
        settings.check_output_file(str(Path(a.run[0]) / "results.json"), "the run folder's results.json")
    if protocol != "tiny" and not a.ask:  # every data file the protocol reads, before the model loads
        data_dir = a.data_dir or (run_cfg or {}).get("data_dir")
        inputs.check(tasks.check_eval_data, data_dir, protocol, which or ("medmcqa", "wikitext", "triviaqa"), a.limit)
    if a.ask:
        print_answers(ask(a.run[0], a.ask, device, complete=a.complete), a.run[0])
    elif a.model:
        evaluate_base_model(a, which, device)
    else:
        reevaluate_run(a, which, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
