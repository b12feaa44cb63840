"""data.py: what a run reads: the task's training examples and the background documents.

train.py turns these (prompt, completion) pairs into batches; settings.py reads them once
before any model loads, to check the files and count the examples. The tasks themselves
(the invented facts, the mcq files, the probes) are made and read in tasks.py.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import tasks

MCQ_VIEWS_BEFORE_FLAG = "question,statement"  # what an mcq run made before --mcq-views trained


def mcq_views(cfg: dict) -> list[str]:
    """--mcq-views as a list (runs recorded before the flag existed trained question,statement)."""
    return [v.strip() for v in cfg.get("mcq_views", MCQ_VIEWS_BEFORE_FLAG).split(",") if v.strip()]


def fictional_pairs(texts: list[str]) -> list[tuple[str, str]]:
    """The fictional task's training texts as (prompt, completion): a question's answer after
    "Answer:" is its completion; a statement is all completion."""
    out = []
    for text in texts:
        cut = text.rfind("\nAnswer:")
        out.append((text[: cut + 8], text[cut + 8 :]) if cut >= 0 else ("", text))
    return out


def stage_examples(cfg: dict) -> list[list[tuple[str, str]]]:
    """A stream's training examples (--sequence K), one list per stage (tasks.fictional_stages)."""
    stages = tasks.fictional_stages(cfg["n_countries"], cfg["sequence"], cfg["seed"], cfg["split"], cfg.get("paraphrases", 0))
    return [fictional_pairs(s["train"]) for s in stages]


def training_examples(cfg: dict) -> list[tuple[str, str]]:
    """(prompt, completion) pairs. Loss 'all' trains on both; 'answer' on the completion only."""
    if cfg["task"] == "fictional":
        return fictional_pairs(tasks.fictional_facts(cfg["n_countries"], cfg["seed"], cfg["split"], cfg.get("paraphrases", 0))["train"])
    if cfg["task"] == "mcq":
        pairs = tasks.mcq_training_pairs(tasks.mcq_rows(cfg["data_dir"], "train"), mcq_views(cfg))
        if not pairs:  # only 'statement' asked for, and no row has an explanation
            raise ValueError("--mcq-views statement found no explanation (exp) in the training rows to train on; "
                             "add question to --mcq-views.")
        return pairs
    rows = tasks.medmcqa_rows(cfg["data_dir"], "train")
    pairs = [tasks.medmcqa_training_pair(r) for r in rows if tasks.is_single_choice(r) and r["cop"] in (0, 1, 2, 3)]
    if not pairs:
        raise ValueError("the MedMCQA training rows hold no single-choice row with an answer (cop 0..3) to train on; "
                         "check the training file under --data-dir.")
    return pairs[: cfg["train_rows"]]  # the seed study: the first 60,000


def background_docs(cfg: dict, n: int | None | str = "background") -> list[str]:
    """The background corpus's first n documents (default: --background-docs; None: all)."""
    n = cfg["background_docs"] if n == "background" else n
    b = cfg["background"]
    if b == "pydoc":
        return tasks.background_text(n)
    if b == "english":
        return tasks.english_background(n)
    if b == "mix":
        return tasks.mixed_background(n)
    if b == "oasst1":
        return tasks.oasst1_docs(n, cfg["data_dir"])
    docs = [r["text"] for r in tasks.read_jsonl(b, ("text",), tasks.TEXT_TYPES) if r["text"].strip()]  # blank rows are no documents
    if not docs:
        raise SystemExit(f"error: {b} has no non-empty 'text' rows to use as background documents.")
    return docs[:n]


def load_examples(cfg: dict) -> list[tuple[str, str]]:
    """What the loop trains on: the task's (prompt, completion) pairs, or for a retrofit the
    background documents themselves (every token a target)."""
    examples = [("", d) for d in background_docs(cfg, cfg["retrofit_docs"])] if cfg["method"] == "retrofit" else training_examples(cfg)
    if not examples:
        raise SystemExit("error: the training set is empty.")
    return examples


def init_memory_file(cfg: dict) -> Path:
    """--init-memory's file: a run folder's memory.safetensors, or the file given; one sentence if missing."""
    src = Path(cfg["init_memory"])
    src = src / "memory.safetensors" if src.is_dir() else src
    if not os.path.lexists(src):  # a dangling link or a FIFO is named by the checks, not taken for missing
        raise SystemExit(f"error: --init-memory {cfg['init_memory']}: no memory.safetensors there; point it at a finished retrofit run.")
    return src


def replay_count(cfg: dict, examples: int | None = None) -> int:
    """Examples of an optimizer step drawn from earlier stages (--replay F): round(F x the
    step's examples; default batch size x accumulation)."""
    n = cfg["batch_size"] * cfg["grad_accum"] if examples is None else examples
    return round(cfg.get("replay", 0.0) * n)


def mix_replay(schedule: list[list[list[int]]], n_current: int, n_earlier: int, cfg: dict, rng: random.Random) -> list:
    """Experience replay: in each step of `schedule` (indices below n_current: this stage's
    examples), the last replay_count examples are replaced by distinct examples drawn
    from the earlier stages' (indices n_current .. n_current + n_earlier - 1). The step keeps
    its size and micro-batches."""
    if not n_earlier or not cfg.get("replay"):
        return schedule
    out, bs = [], cfg["batch_size"]
    for step in schedule:
        flat = [i for micro in step for i in micro]
        k = min(replay_count(cfg, len(flat)), n_earlier, len(flat) - 1)
        flat = flat[: len(flat) - k] + [n_current + i for i in rng.sample(range(n_earlier), k)]
        out.append([flat[j : j + bs] for j in range(0, len(flat), bs)])
    return out
