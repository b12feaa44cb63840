"""eval.py: how much a model learned, and how much it forgot.

- Protocols (docs/METHOD.md, "Evaluation protocols"): `tiny` (the offline default's task and
  probes), `harness` (lm-evaluation-harness's definitions) and `paper` (the seed paper's
  code). Every result records the protocol that produced it. The batched scoring they use
  is in scoring.py; every prompt format is in tasks.py.
- `evaluate_run`: base vs trained numbers of one run (the base model's cached).
- `load_run`: a finished run's model, loaded the way train.py saved it (the way to get a
  trained model in Python).
- `compare`: groups of runs (seeds pooled) with 95% intervals (over items, or with
  `--bootstrap seeds-items` over seeds and then items), forgetting at matched
  learning along each method's frontier, and the frontier plot.
- `ask`: a run's base and trained models answer the same questions (`RUN --ask "..."`).
- The command line: `python eval.py RUN`, `RUN --ask QUESTION`, `--model ID`, `--compare RUN...`.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import math
import re
import string
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import common
import memory
import tasks
from scoring import choice_accuracy, greedy_generate, letter_accuracy, perplexity, rolling_loglik, shared_prompt_logprobs
from stats import (at_level, average_accuracy, average_forgetting, backward_transfer, bootstrap, bootstrap_columns,
                   bootstrap_seeds_items, forgetting_per_stage, matrix_from_items, pareto, perplexity_change, points_lost,
                   stream_metrics)


def normalize_harness(text: str) -> str:
    """TriviaQA exact-match normalisation of lm-evaluation-harness: lowercase, delete every
    string.punctuation character, strip. (No article removal: 'The Beatles' stays 'the beatles'.)"""
    return text.lower().translate(str.maketrans("", "", string.punctuation)).strip()


def normalize_paper(text: str) -> str:
    """SQuAD-style normalisation (lowercase, no punctuation, no articles, single spaces)."""
    text = normalize_harness(text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def wikitext_detokenize(text: str) -> str:
    """Undo WikiText's tokenisation the way the harness's wikitext task does before scoring."""
    s = text.replace("s '", "s'")
    s = re.sub(r"/' [0-9]/", r"/'[0-9]/", s)
    for a, b in ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."), (" : ", ": "), (" ; ", "; "), (" . ", ". "),
                 (" ! ", "! "), (" ? ", "? "), (" , ", ", ")):
        s = s.replace(a, b)
    s = re.sub(r"\(\s*([^\)]*?)\s*\)", r"(\1)", s)
    s = re.sub(r"\[\s*([^\]]*?)\s*\]", r"[\1]", s)
    s = re.sub(r"{\s*([^}]*?)\s*}", r"{\1}", s)
    s = re.sub(r"\"\s*([^\"]*?)\s*\"", r'"\1"', s)
    s = re.sub(r"'\s*([^']*?)\s*'", r"'\1'", s)
    for a, b in (("= = = =", "===="), ("= = =", "==="), ("= =", "=="), (" " + chr(176) + " ", chr(176)),
                 (" \n", "\n"), ("\n ", "\n"), (" N ", " 1 "), (" 's", "'s")):
        s = s.replace(a, b)
    return s


def wikitext_documents(lines: list[str]) -> list[str]:
    """Pages as lm-evaluation-harness reads them (EleutherAI/wikitext_document_level), rebuilt
    from the line-level rows: one article from its top-level ' = Title = ' heading (not
    ' = = Sub = = ') to the next, a blank line kept as ' ' + newline (the raw file's blank
    line; the line rows carry it as ''), the lines joined; as in the raw file's split, every
    page but the file's last lacks the newline after its last line. Over the 62 pages of the
    wikitext-2-raw-v1 test set this gives the harness's 1,290,527 bytes (dropping the blank
    lines gave 1,287,656, and other text to the model)."""
    docs: list[list[str]] = []
    for line in lines:
        if re.fullmatch(r" = [^=].*[^=] = \n", line):
            docs.append([])
        if docs:
            docs[-1].append(line if line else " \n")
    pages = ["".join(d) for d in docs]
    return [p[:-1] if i < len(pages) - 1 and p.endswith("\n") else p for i, p in enumerate(pages)]


def medmcqa_harness(model, tok, rows: list[dict]) -> dict:
    r = letter_accuracy(model, tok, [tasks.medmcqa_harness_prompt(x) for x in rows], [x["cop"] for x in rows])
    return {"medmcqa_acc": r["acc"], "n": r["n"]}


def medmcqa_paper(model, tok, rows: list[dict]) -> dict:
    """The seed paper's rule: candidates ' X. {option}' after a 'Medical exam question' prompt,
    ranked by mean per-token log-likelihood."""
    rows = [r for r in rows if r.get("choice_type", "single") == "single"]
    prompts, choices = zip(*(tasks.medmcqa_paper_prompt(r) for r in rows)) if rows else ((), ())
    lp = shared_prompt_logprobs(model, tok, list(prompts), list(choices), mean=True)  # each prompt run once
    correct = sum(int(max(range(4), key=lambda j: lp[i][j]) == r["cop"]) for i, r in enumerate(rows))
    return {"medmcqa_acc": correct / len(rows), "n": len(rows)}


def wikitext_harness(model, tok, lines: list[str], max_length: int = 2048, limit: int | None = None) -> dict:
    """Document-level rolling perplexity on wikitext-2-raw (harness): word, byte, bits per byte."""
    pages = wikitext_documents(lines)[:limit]
    if not pages:
        raise ValueError("no WikiText documents found (expected top-level ' = Title = ' lines).")
    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    ll = rolling_loglik(model, tok, [wikitext_detokenize(p) for p in pages], max_length, prefix_token=prefix, batch_size=1)["loglik"]
    words = sum(len(re.split(r"\s+", p)) for p in pages)
    nbytes = sum(len(p.encode("utf-8")) for p in pages)
    byte_ppl = math.exp(-ll / nbytes)
    return {"wikitext_word_ppl": math.exp(-ll / words), "wikitext_byte_ppl": byte_ppl,
            "wikitext_bits_per_byte": math.log2(byte_ppl), "n": len(pages), "window": max_length}


def wikitext_paper(model, tok, lines: list[str], limit: int = 1000) -> dict:
    """Seed paper: first `limit` non-empty lines joined by blank lines, 1024/512 sliding window."""
    text = "\n\n".join([l.strip() for l in lines if l.strip()][:limit])
    r = rolling_loglik(model, tok, [text], 1024, stride=512, batch_size=4)
    return {"wikitext_ppl": math.exp(-r["loglik"] / r["tokens"]), "tokens": r["tokens"], "window": "1024/512"}


def triviaqa_harness(model, tok, rows: list[dict]) -> dict:
    preds = greedy_generate(model, tok, [f"Question: {r['question']}?\nAnswer:" for r in rows], 32, stop=("\n", ".", ","))
    em = [any(normalize_harness(p) == normalize_harness(a) for a in r["answer"]["aliases"]) for p, r in zip(preds, rows)]
    return {"triviaqa_em": sum(em) / len(rows), "n": len(rows)}


def triviaqa_paper(model, tok, rows: list[dict]) -> dict:
    preds = greedy_generate(model, tok, [f"Question: {r['question']}\nAnswer:" for r in rows], 32)
    hit = [any(normalize_paper(a) in normalize_paper(p) for a in r["answer"]["aliases"] if normalize_paper(a)) for p, r in zip(preds, rows)]
    return {"triviaqa_acc": sum(hit) / len(rows), "n": len(rows)}


# ---------------------------------------------------------------- suites: which numbers a run reports
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
PROTOCOLS = tuple(HEADLINE)
TINY_TEXT_WINDOW = 512
TINY_WIKI_DOCS = 20  # documents of the WikiText probe scored per split (~6,000 tokens, ~20 s on 2 CPU cores)
# tiny metric -> the key of its per-item outcomes in results["base"|"trained"]["items"]
ITEMS = {"task_acc": "task", "task_seen_acc": "task_seen", "wiki_ppl": "wiki", "world_acc": "world", "gk_acc": "gk"}


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
    held = choice_accuracy(model, tok, items)
    seen = choice_accuracy(model, tok, seen_items)
    world = choice_accuracy(model, tok, tasks.world_facts(split)[:limit])
    gk = choice_accuracy(model, tok, tasks.general_knowledge(split)[:limit])
    ppl = perplexity(model, tok, tasks.wiki_text(split)[: min(limit or TINY_WIKI_DOCS, TINY_WIKI_DOCS)], TINY_TEXT_WINDOW)
    return {"task_acc": held["acc"], "task_seen_acc": seen["acc"], "task_nll": held["gold_nll"],
            "wiki_ppl": ppl["ppl"], "world_acc": world["acc"], "gk_acc": gk["acc"], "split": split,
            "n": {"task": held["n"], "world": world["n"], "gk": gk["n"], "wiki_docs": len(ppl["per_text"]), "wiki_tokens": ppl["tokens"]},
            "items": {"task": held["correct"], "task_seen": seen["correct"], "world": world["correct"], "gk": gk["correct"],
                      "wiki": ppl["per_text"]},
            "data": f"{source}; probes/ (WikiText, world facts, general knowledge; {split} half)"}


def protocol_limit(protocol: str, limit: int | None) -> int | None:
    """Items per set a protocol scores: the limit given, else the paper's 1,000 under `paper`, else all."""
    return tasks.PAPER_LIMIT if protocol == "paper" and limit is None else limit


def protocol_suite(model, tok, cfg: dict, protocol: str, limit: int | None = None,
                   which=("medmcqa", "wikitext", "triviaqa")) -> dict:
    """MedMCQA, WikiText and TriviaQA under the `harness` or the `paper` protocol.
    The paper protocol uses the first 1,000 items of each set (MedMCQA: single-choice ones)
    unless `limit` says otherwise."""
    paper = protocol == "paper"
    limit = protocol_limit(protocol, limit)
    out: dict = {"n": {}}
    dd = cfg.get("data_dir")
    if "medmcqa" in which:
        r = (medmcqa_paper if paper else medmcqa_harness)(model, tok, tasks.medmcqa_eval_rows(dd, protocol, limit))
        out["medmcqa_acc"], out["n"]["medmcqa"] = r["medmcqa_acc"], r["n"]
    if "wikitext" in which:
        if paper:
            r = wikitext_paper(model, tok, tasks.wikitext_rows(dd, "wikitext-103-v1"), limit=limit)
            out["n"]["wikitext_tokens"] = r["tokens"]
        else:
            r = wikitext_harness(model, tok, tasks.wikitext_rows(dd), max_length=cfg.get("eval_window", 2048), limit=limit)
            out["n"]["wikitext_docs"] = r["n"]
        out.update({k: v for k, v in r.items() if k.startswith("wikitext_")})
        out["wikitext_window"] = r["window"]
    if "triviaqa" in which:
        key = "triviaqa_acc" if paper else "triviaqa_em"
        r = (triviaqa_paper if paper else triviaqa_harness)(model, tok, tasks.trivia_rows(dd)[:limit])
        out[key], out["n"]["triviaqa"] = r[key], r["n"]
    out["data"] = dd or "hub"
    return out


def default_protocol(cfg: dict) -> str:
    """The fictional and mcq tasks: tiny. The paper preset: the seed paper's protocol. Else: harness."""
    if cfg.get("task") in ("fictional", "mcq"):
        return "tiny"
    return "paper" if cfg.get("preset") == "paper" else "harness"


def run_suite(model, tok, cfg: dict, protocol: str, limit: int | None = None, which=None) -> dict:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}.")
    was = model.training
    model.eval()
    t0 = time.time()
    if protocol == "tiny":
        r = tiny_suite(model, tok, cfg, limit)
    else:
        r = protocol_suite(model, tok, cfg, protocol, limit, which or ("medmcqa", "wikitext", "triviaqa"))
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
    base = base_results(cfg, protocol, device, limit, which)
    trained = run_suite(model, tok, cfg, protocol, limit, which)
    return {"protocol": protocol, "limit": limit, "data": trained.get("data"), "method": cfg.get("method"),
            "model": cfg.get("model"), "base": base, "trained": trained}


# ---------------------------------------------------------------- a stream of tasks (train.py --sequence K)
#
# A stream trains K stages of new facts one after another (tasks.fictional_stages). After each
# stage (and once for the base model) every stage's held-out questions are asked, trained or
# not, and the three forgetting probes measured: row l of the accuracy matrix R. The summaries
# (ACC, BWT, forgetting; stats.stream_metrics) are recomputed from the per-item outcomes.

STREAM_PROBES = ("wiki_ppl", "world_acc", "gk_acc")


def stream_suite(model, tok, cfg: dict, limit: int | None = None) -> dict:
    """One row of a stream's evaluation: held-out accuracy on each stage's facts (the first
    `limit` items of each) and the three tiny probes, with per-item outcomes."""
    was = model.training
    model.eval()
    t0, split = time.time(), cfg.get("split", "test")
    stages = tasks.fictional_stages(cfg["n_countries"], cfg["sequence"], cfg.get("seed", 0), split)
    task = [choice_accuracy(model, tok, s["eval"][:limit]) for s in stages]
    world = choice_accuracy(model, tok, tasks.world_facts(split)[:limit])
    gk = choice_accuracy(model, tok, tasks.general_knowledge(split)[:limit])
    ppl = perplexity(model, tok, tasks.wiki_text(split)[: min(limit or TINY_WIKI_DOCS, TINY_WIKI_DOCS)], TINY_TEXT_WINDOW)
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


def stream_columns(results: dict) -> list[np.ndarray]:
    """A stream's per-item outcomes as one array per stage (column), shape (items, K+1 rows)."""
    rows = [r["items"]["task"] for r in results["stages"]]
    return [np.array([row[j] for row in rows], dtype=np.float64).T for j in range(len(rows[0]))]


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


# ---------------------------------------------------------------- printing


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) and abs(v) < 10 else (f"{v:.3f}" if isinstance(v, float) else str(v))


def print_config(cfg: dict, name: str) -> None:
    t = Table(title=f"run {name}: resolved configuration", show_header=False, box=None)
    for k, v in cfg.items():
        t.add_row(k, str(v))
    Console().print(t)


# How each tiny metric's forgetting is measured (positive = the model got worse):
# perplexity as a relative change in percent, accuracies as a drop in points.


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


FORGET_UNIT = {"wiki_ppl": "% perplexity", "world_acc": "points lost", "gk_acc": "points lost"}


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
    model with memory layers attached, memory.load_memory; LoRA: a peft PeftModel around the
    base model; full finetuning: the saved model). tok: its tokenizer. cfg: the run's
    config.json (cfg["model"] names the base model; common.load_model(cfg["model"]) loads it
    for a comparison). A missing or unfinished run ends in one sentence (SystemExit)."""
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
    if not (run_dir / "config.json").exists():
        raise SystemExit(f"error: {run_dir} is not a finished run (no config.json); train one with train.py.")
    try:
        cfg = json.loads((run_dir / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SystemExit(f"error: {run_dir}/config.json is not valid JSON (a damaged file); rerun the training.") from None
    method = cfg.get("method") if isinstance(cfg, dict) else None
    ckpt = {"full": "model", "lora": "adapter", "smf": "memory.safetensors", "retrofit": "memory.safetensors"}.get(method)
    if ckpt is None:
        raise SystemExit(f"error: {run_dir}/config.json names an unknown method {method!r}.")
    if not (run_dir / ckpt).exists():
        raise SystemExit(f"error: {run_dir} has no checkpoint ({ckpt} is missing); the run did not finish.")
    if method == "full":
        model, tok = common.load_model(str(run_dir / "model"), device=device)
    else:
        model, tok = common.load_model(cfg["model"], device=device)
        if method == "lora":
            from peft import PeftModel  # only LoRA runs need peft (and its ~1 s import)

            model = PeftModel.from_pretrained(model, str(run_dir / "adapter"))
        else:
            memory.load_memory(model, str(run_dir / "memory.safetensors"))
            model.to(device)
    return model.eval(), tok, cfg


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


# ---------------------------------------------------------------- comparing runs along frontiers

LEVELS = (0.4, 0.5, 0.6, 0.7, 0.8)
COLORS = {"smf": "tab:green", "lora": "tab:blue", "full": "tab:red", "retrofit": "tab:purple"}
# Config keys that do not change a tiny-protocol run's training or numbers: they never split
# a group (seeds are pooled; the last three were added later and only matter for MedMCQA or
# the retrofit, so older runs without them still group with newer ones). init_memory's path
# differs from seed to seed (each seed has its own retrofit), so it is replaced by whether
# there was one: "from_retrofit" (_group_settings).
GROUP_IGNORE = ("seed", "train_seconds", "resolved_steps", "name", "init_memory", "train_rows", "retrofit_docs", "retrofit_epochs")


# Settings added after some runs were made, with the value that those older runs used
# in effect, so that an old run groups with a new one that has the same settings.
ADDED_SETTINGS = {"row_step_cap": 0.0, "min_read_ratio": 0.0, "scale_lr": 0.0, "paraphrases": 0, "fold_background": False}
MCQ_VIEWS_BEFORE_FLAG = "question,statement"  # what an mcq run made before --mcq-views trained


def with_added_settings(cfg: dict) -> dict:
    """A run's settings with those added since it was made, at the values it used in effect.
    --mcq-views only exists for --task mcq runs (train.resolve_config keeps it out of the others);
    an mcq run made before it trained each row as its question and its explanation."""
    if cfg.get("task") != "mcq":
        return {**ADDED_SETTINGS, **{k: v for k, v in cfg.items() if k != "mcq_views"}}
    return {**ADDED_SETTINGS, "mcq_views": MCQ_VIEWS_BEFORE_FLAG, **cfg}


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
    for d in map(Path, run_dirs):
        if d.resolve() in seen:
            print(f"skipping {d}: given more than once (a run counts once)")
            continue
        seen.add(d.resolve())
        f, c = d / "results.json", d / "config.json"
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
    report, groups = compare_report(run_dirs, levels, boot)
    if report.get("kind") == "stream":
        print_stream_report(report)
        _plot_stream(report, stream_plot_path(plot_path))
    else:
        print_report(report)
        _plot(groups, report["split"], plot_path, boot=boot, mark=set(mark), sources=report["sources"])
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
    for g in groups:
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


def _plot(groups: list[dict], split: str, path: str, boot: str = "items", mark=frozenset(), sources=None) -> None:
    """Task accuracy (x) against each forgetting probe (y, 0 = the base model), one panel per
    probe, a numbered legend as a table beside them and a caption naming the runs."""
    import matplotlib  # only where a plot is drawn: importing it takes ~1 s

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after matplotlib.use: no display needed

    for i, g in enumerate(groups, 1):
        g["number"] = i
    probes, notes = _plotted_probes(groups)
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


def stream_plot_path(plot_path: str) -> str:
    """Where --compare draws the retention curves: beside --plot, as <name>-stream.png."""
    return str(Path(plot_path).with_name(Path(plot_path).stem + "-stream.png"))


def _plot_stream(report: dict, path: str) -> None:
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
    axes[0, 0].legend(fontsize=8, loc="upper right")
    over = "items" if report["bootstrap"] == "items" else "seeds, then items"
    fig.suptitle(f"Learning a stream of {K} stages of new facts: what is kept ({report['split']} split; "
                 f"bars: 95% bootstrap intervals over {over})")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with common.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    print(f"retention plot written to {path}")


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Evaluate a run or a base model; compare runs.")
    p.add_argument("run", nargs="*", help="run folder(s) under runs/ (several with --compare)")
    p.add_argument("--model", help=f"evaluate a base model instead: hub id, local folder or '{common.OFFLINE_MODEL}'")
    p.add_argument("--compare", action="store_true", help="frontiers of the given finished runs: table with 95%% intervals, forgetting at matched learning, plot")
    p.add_argument("--plot", default="runs/compare.png", help="where --compare writes its PNG (default: runs/compare.png)")
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
    if a.compare and not a.plot.endswith(".png"):
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


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    which = check_args(a)
    if a.compare:
        levels = common.check_levels(a.levels)
        common.check_output_file(a.plot, "--plot")
        if a.summary:
            common.check_output_file(a.summary, "--summary")
        compare(a.run, a.plot, levels, a.summary, boot=a.bootstrap, mark=[m for m in a.mark.split(",") if m])
        return 0
    device = common.pick_device(a.device)
    if a.model:
        common.model_config(a.model)  # a missing folder or an unreadable config: one sentence, before loading
        common.check_output_file(a.out or f"runs/eval-{Path(a.model).name}-{a.protocol or 'tiny'}.json", "--out")
    elif not a.ask and Path(a.run[0]).is_dir():  # RUN: its new results are written into the run folder
        common.check_output_file(str(Path(a.run[0]) / "results.json"), "the run folder's results.json")
    if a.ask:
        print_answers(ask(a.run[0], a.ask, device, complete=a.complete), a.run[0])
    elif a.model:
        evaluate_base_model(a, which, device)
    else:
        reevaluate_run(a, which, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
