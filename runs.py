"""runs.py: everything around train.py's loop that keeps a run folder safe, and the checks
that come before it. train.py keeps the presets, the loop and the command line.

A run lives in runs/<name>/. Its life, and the functions of this file that handle each part:

1. A run's inputs, checked first (`check_settings`, `pick_device`, `validate_inputs`, and the
   data they check: `training_examples`, `background_docs`, `init_memory_file`): every
   setting, the model's config, the memory sizes and the data files are checked in seconds,
   before any folder is made or a model is loaded. A problem ends in one sentence that names
   the fix (SystemExit("error: ...")), never in a traceback or a half-made folder.
   `cached_background` keeps SMF's background statistics across runs.
2. Which folder (`claim`, `check_name`): --name as given (a plain folder name, never a path),
   or the default <preset>-<method>. A re-run without --name never stops at a finished run:
   it goes to the first free runs/<default>-2, -3, ... next to it and says so; --resume
   without --name continues the newest interrupted one of those.
3. One writer (`run_lock`): runs/.<name>.lock holds the owner's process id; a second process
   with that name is refused while the owner lives, and a stale lock (owner killed) is taken.
4. Work in runs/<name>.partial (`check_folder`, `check_resume_settings`, `remove_temporaries`,
   `resume_state`, `StopAfterStep`): a run trains and evaluates there; --resume continues it
   only with the same training settings, after removing the half-written files a kill left
   behind; the first Ctrl-C saves the finished step.
5. What a run writes (`write_log`, `append_log`, `save_checkpoint`, `row_summary`): the log,
   grown a line per step (so it can be watched), and the checkpoint in the form eval.load_run
   reads; for SMF also the rows read, selected and moved per memory layer at each step (in
   the log), and at the end the rows changed and how far they moved (rows.json, copied into
   results.json as "memory_rows").
6. The end, good or bad (`finish`; the divergence guard `check_step` and `check_weights`, and
   `park_diverged`): a finished run replaces runs/<name>/ in one rename, and an older finished
   run is removed only then, so a crash never loses a good run; a run whose loss or weights
   blow up is moved aside to runs/<name>.diverged/ for inspection, and no checkpoint ever
   holds non-finite weights.
7. Sweeps (`sweep`): one run per setting, each in its own named folder; finished ones skipped.

Every file is written atomically (common.atomic_path): a crash leaves the old file or the
new one, never half of one.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

import common
import distributed
from common import OS_REASONS, model_config, pick_device  # checks eval.py makes too live in common.py (eval cannot import runs)
import eval  # noqa: A004 (our evaluation module; the builtin eval() is never used here)
import memory
import smf_mini
import tasks

# ---------------------------------------------------------------- 1. a run's inputs, checked first


# Upper bounds that come from what the code does: the batch order of the whole run is built
# up front (train.batch_schedule), so a step count must fit in memory and start in seconds;
# seeds go to torch.manual_seed and numpy, which take unsigned 32-bit (numpy) / 64-bit values;
# a run name becomes folder and lock names (<name>.partial, .<name>.lock, <name>.diverged)
# that must stay under the file system's 255-byte limit.
MAX_STEPS = 1_000_000
MAX_SEED = 2**32 - 1
MAX_NAME_BYTES = 200

# Settings read as floats: each must be a finite number ("inf" and "nan" parse as floats).
FLOAT_SETTINGS = ("lr", "smf_lr", "lora_lr", "full_lr", "retrofit_lr", "row_step_cap", "min_read_ratio", "scale_lr",
                  "epochs", "retrofit_epochs", "clip", "lora_dropout")


def flag(key: str) -> str:
    """The command-line flag of a setting: lora_r -> --lora-r."""
    return "--" + key.replace("_", "-")


def check_finite(values: dict) -> None:
    """Every float given (None: not set) is finite; one sentence naming the flag if not."""
    for key, v in values.items():
        if v is not None and not math.isfinite(v):
            raise SystemExit(f"error: {flag(key)} must be a finite number, got {v!r}.")


def mcq_views(cfg: dict) -> list[str]:
    """--mcq-views as a list (runs recorded before the flag existed trained question,statement)."""
    return [v.strip() for v in cfg.get("mcq_views", eval.MCQ_VIEWS_BEFORE_FLAG).split(",") if v.strip()]


def check_settings(cfg: dict, task_names: tuple[str, ...]) -> None:
    """The resolved settings, each against its allowed range (task_names: the tasks train.py
    knows); the first problem ends the run in one sentence naming the flag to fix."""
    check_finite({k: cfg.get(k) for k in FLOAT_SETTINGS})
    slots = cfg["memory_slots"]
    checks = [
        (0 <= cfg["seed"] <= MAX_SEED, f"--seed must be an integer from 0 to {MAX_SEED}"),
        (cfg["steps"] is None or cfg["steps"] <= MAX_STEPS,
         f"--steps must be at most {MAX_STEPS:,} (the run's batch order is built before the first step)"),
        (cfg["warmup"] >= 0, "--warmup must be 0 (off) or a positive number of steps"),
        (cfg["clip"] >= 0, "--clip must be 0 (off) or positive"),
        (cfg["max_length"] >= 1, "--max-length must be at least 1 token"),
        (cfg["background_max_length"] >= 1, "--background-max-length must be at least 1 token"),
        (cfg["background_docs"] is None or cfg["background_docs"] >= 1, "--background-docs must be at least 1"),
        (cfg["lora_r"] >= 1, "--lora-r must be at least 1"),
        (cfg["lora_alpha"] >= 1, "--lora-alpha must be at least 1"),
        (0 <= cfg["lora_dropout"] < 1, "--lora-dropout must be at least 0 and below 1"),
        (slots >= 1 and math.isqrt(slots) ** 2 == slots,
         f"--memory-slots must be a positive perfect square (K*K), e.g. 16384; got {slots}"),
        (cfg["memory_heads"] >= 1 and cfg["memory_topk"] >= 1, "--memory-heads and --memory-topk must be at least 1"),
        (cfg["retrofit_epochs"] is None or cfg["retrofit_epochs"] > 0, "--retrofit-epochs must be positive"),
        (cfg["task"] != "fictional" or (cfg["n_countries"] or 0) <= tasks.MAX_COUNTRIES,
         f"--n-countries must be at most {tasks.MAX_COUNTRIES} (the fictional task has that many capital names)"),
        (cfg["rule"] in smf_mini.RULES, f"--rule must be one of {', '.join(smf_mini.RULES)}"),
        (cfg["smf_optimizer"] in smf_mini.OPTIMIZERS, f"--smf-optimizer must be one of {', '.join(smf_mini.OPTIMIZERS)}"),
        (cfg["loss_on"] in ("all", "answer"), "--loss-on must be 'all' or 'answer'"),
        (cfg["task"] in task_names, "--task must be 'fictional', 'medmcqa' or 'mcq'"),
        (cfg["split"] in tasks.SPLITS, "--split must be 'dev' or 'test'"),
        (cfg["top_t"] >= 1, "--top-t must be at least 1"),
        (cfg["batch_size"] >= 1 and cfg["grad_accum"] >= 1, "--batch-size and --grad-accum must be at least 1"),
        (cfg["lr"] > 0, "the learning rate must be positive"),
        (cfg["row_step_cap"] >= 0, "--row-step-cap must be 0 (off) or positive"),
        (cfg["min_read_ratio"] >= 0, "--min-read-ratio must be 0 (off) or positive"),
        (cfg["min_read_ratio"] == 0 or cfg["rule"] in ("tfidf", "kl"),
         "--min-read-ratio compares with background reads: use --rule tfidf or kl, or --min-read-ratio 0"),
        (cfg["scale_lr"] >= 0, "--scale-lr must be 0 (off) or positive"),
        (cfg["scale_lr"] == 0 or not cfg["init_memory"],
         "--scale-lr trains an output scale that a retrofitted memory does not have: use --scale-lr 0 with --init-memory"),
        (cfg["save_every"] >= 1, "--save-every must be at least 1"),
        (cfg["eval_limit"] is None or cfg["eval_limit"] >= 1, "--eval-limit must be at least 1"),
        (cfg["memory_mode"] in ("add", "replace"), "--memory-mode must be 'add' or 'replace'"),
        (cfg["task"] != "fictional" or (cfg["n_countries"] or 0) >= 4, "--n-countries must be at least 4 (3 distractors per question)"),
        (cfg["steps"] is None or cfg["steps"] >= 1, "--steps must be at least 1"),
        (cfg["steps"] is not None or (cfg["epochs"] or 0) > 0, "give --steps or a positive --epochs"),
        (cfg["train_rows"] is None or cfg["train_rows"] >= 1, "--train-rows must be at least 1"),
        (cfg["retrofit_docs"] is None or cfg["retrofit_docs"] >= 1, "--retrofit-docs must be at least 1"),
        (bool(mcq_views(cfg)) and set(mcq_views(cfg)) <= set(tasks.MCQ_VIEWS),
         f"--mcq-views takes a comma-separated list of {', '.join(tasks.MCQ_VIEWS)}, e.g. question,statement"),
    ]
    for ok, msg in checks:
        if not ok:
            raise SystemExit(f"error: {msg}.")
    check_stream_settings(cfg)


# A stream (--sequence K) trains these methods; a retrofit trains no task.
STREAM_METHODS = ("smf", "lora", "full")


def replay_count(cfg: dict, examples: int | None = None) -> int:
    """Examples of an optimizer step drawn from earlier stages (--replay F): round(F x the
    step's examples; default batch size x accumulation)."""
    n = cfg["batch_size"] * cfg["grad_accum"] if examples is None else examples
    return round(cfg.get("replay", 0.0) * n)


def check_stream_settings(cfg: dict) -> None:
    """--sequence K and --replay F, each problem in one sentence naming the fix."""
    k, share = cfg.get("sequence"), cfg.get("replay", 0.0)
    check_finite({"replay": share})
    p = cfg.get("paraphrases", 0)
    if p and not (cfg["task"] == "fictional" and 1 <= p <= tasks.MAX_PARAPHRASES):
        raise SystemExit(f"error: --paraphrases must be 1 to {tasks.MAX_PARAPHRASES} and trains the fictional task's facts "
                         f"only (--task mcq has --mcq-views); got {p} with --task {cfg['task']}.")
    if cfg.get("fold_background") and not (k and cfg["method"] == "smf" and cfg["rule"] in ("tfidf", "kl")):
        raise SystemExit("error: --fold-background adds each stage's reads to SMF's background statistics: give it with "
                         "--sequence K, --method smf and --rule tfidf or kl, or drop it.")
    if k is None:
        if share:
            raise SystemExit("error: --replay replays earlier stages of a stream; give --sequence K (K >= 2) with it, or drop --replay.")
        return
    eff = cfg["batch_size"] * cfg["grad_accum"]
    n = cfg.get("n_countries") or 0
    checks = [
        (k >= 2, f"--sequence must be at least 2 stages (one stage is a plain run: drop --sequence); got {k}"),
        (cfg["method"] in STREAM_METHODS, f"--sequence trains --method smf, lora or full, not {cfg['method']}"),
        (cfg["task"] == "fictional", "--sequence needs --task fictional (its stages are new invented countries)"),
        (k * n <= tasks.MAX_COUNTRIES, f"--sequence {k} x --n-countries {n} = {k * n} countries, more than the "
                                       f"{tasks.MAX_COUNTRIES} the fictional task can invent; lower one of them"),
        (0 <= share < 1, f"--replay must be at least 0 and below 1 (the share of each step drawn from earlier stages); got {share}"),
        (share == 0 or replay_count(cfg) >= 1, f"--replay {share} of a step's {eff} examples rounds to none; raise --replay "
                                                f"to at least {0.5 / eff:.3g} or --batch-size"),
        (share == 0 or replay_count(cfg) < eff, f"--replay {share} of a step's {eff} examples leaves no new-stage example; "
                                                 "lower --replay or raise --batch-size"),
    ]
    for ok, msg in checks:
        if not ok:
            raise SystemExit(f"error: {msg}.")


def memory_config(cfg: dict) -> memory.MemoryConfig:
    """The memory the settings ask for (an output scale only when SMF trains one: --scale-lr)."""
    return memory.MemoryConfig(slots=cfg["memory_slots"], heads=cfg["memory_heads"], topk=cfg["memory_topk"],
                          key_dim=cfg["memory_key_dim"], layers=list(cfg["memory_layers"]), mode=cfg["memory_mode"],
                          out_scale=cfg["method"] == "smf" and cfg.get("scale_lr", 0.0) > 0)


def init_memory_file(cfg: dict) -> Path:
    """--init-memory's file: a run folder's memory.safetensors, or the file given; one sentence if missing."""
    src = Path(cfg["init_memory"])
    src = src / "memory.safetensors" if src.is_dir() else src
    if not src.exists():
        raise SystemExit(f"error: --init-memory {cfg['init_memory']}: no memory.safetensors there; point it at a finished retrofit run.")
    return src


def fictional_pairs(texts: list[str]) -> list[tuple[str, str]]:
    """The fictional task's training texts as (prompt, completion): a question's answer after
    "Answer:" is its completion; a statement is all completion."""
    out = []
    for text in texts:
        cut = text.rfind("\nAnswer:")
        out.append((text[: cut + 8], text[cut + 8 :]) if cut >= 0 else ("", text))
    return out


def fold_background(model, tok, examples: list[tuple[str, str]], bg, cfg: dict, work: Path, stage: int) -> None:
    """--fold-background after stage `stage` (1-based): add its training texts' reads to `bg`
    in place (smf_mini.fold_stage) and keep the grown statistics in
    work/background-stage{stage}.safetensors. A resumed run loads that file instead of reading
    again, so it ranks with exactly the counts the interrupted run had."""
    f = work / f"background-stage{stage}.safetensors"
    if f.exists():
        saved = smf_mini.BackgroundStats.load(str(f), next(model.parameters()).device)
        for i in bg.df:
            bg.df[i].copy_(saved.df[i])
            bg.total[i].copy_(saved.total[i])
        bg.n_docs = saved.n_docs
        return
    smf_mini.fold_stage(bg, model, tok, [p + c for p, c in examples], cfg["background_max_length"])
    bg.save(str(f))


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


def cached_background(model, tok, cfg: dict, progress: bool = True, group=None) -> smf_mini.BackgroundStats:
    """Background statistics, computed once per (model, memory, documents) and cached.

    They depend only on the frozen model, the memory's keys and queries (fixed by its
    config and seed, or by --init-memory's file) and the background documents, so a sweep
    over learning rates or methods need not re-read the background (about 25 s each time
    on the offline default). On several processes (group) each reads its share of the
    documents (distributed.collect_background), and only the main one writes the cache."""
    docs = background_docs(cfg)
    h = hashlib.sha1(json.dumps([cfg["model"], cfg["memory_slots"], cfg["memory_heads"], cfg["memory_topk"],
                                 cfg["memory_key_dim"], cfg["memory_layers"], cfg["memory_mode"], cfg["seed"],
                                 cfg["background_max_length"], docs]).encode())
    for f in ("memory.py", "smf_mini.py"):  # how memory is made and reads are counted
        h.update((Path(__file__).resolve().parent / f).read_bytes())
    if cfg.get("init_memory"):
        h.update(init_memory_file(cfg).read_bytes())
    path = common.cache_dir() / "background" / f"{h.hexdigest()[:16]}.safetensors"
    if path.exists() if group is None else group.broadcast(path.exists()):  # the main process decides for all
        return smf_mini.BackgroundStats.load(str(path), next(model.parameters()).device)
    if group is None:
        bg = smf_mini.collect_background(model, tok, docs, cfg["background_max_length"], batch_size=8, progress=progress)
    else:
        bg = distributed.collect_background(model, tok, docs, cfg["background_max_length"], 8, group)
    if group is None or group.main:
        path.parent.mkdir(parents=True, exist_ok=True)
        bg.save(str(path))
    return bg


def model_layer_count(model: str) -> int:
    """Decoder layers of --model, read from its config alone (seconds, no weights)."""
    return int(model_config(model).num_hidden_layers)


def validate_inputs(cfg: dict, no_eval: bool) -> None:
    """Every check of the model, memory sizes, data files and rows, in seconds, before any
    folder is made or the model is loaded; a problem ends in one sentence naming the fix."""
    if cfg.get("sequence") and no_eval:
        raise SystemExit("error: --sequence evaluates every stage after each stage (that is its result); drop --no-eval.")
    try:
        config = model_config(cfg["model"])
        n_layers = int(config.num_hidden_layers)
        if cfg["method"] in ("smf", "retrofit"):
            if cfg.get("init_memory"):
                try:
                    loaded = memory.read_memory_config(str(init_memory_file(cfg)))  # config.json records the memory actually loaded
                except ValueError:  # read, but not an smf-mini memory file: its own sentence
                    raise
                except Exception as e:  # not a safetensors file at all (safetensors' own error type)
                    raise ValueError(f"--init-memory {cfg['init_memory']} is not a memory file that can be read "
                                     f"({type(e).__name__}); point it at a finished retrofit run.") from None
                cfg.update(memory_slots=loaded.slots, memory_heads=loaded.heads, memory_topk=loaded.topk,
                           memory_key_dim=loaded.key_dim, memory_layers=list(loaded.layers), memory_mode=loaded.mode)
            memory_config(cfg).validate(n_layers)
            check_memory_size(cfg, int(config.hidden_size))
            if cfg["method"] == "retrofit" or cfg["rule"] in ("tfidf", "kl"):
                background_docs(cfg)  # reads (and checks) a background file
        n = None  # training examples
        if cfg["task"] == "medmcqa":
            n = len(training_examples(cfg))
            if not no_eval and cfg.get("data_dir"):
                protocol = eval.default_protocol(cfg)
                limit = eval.protocol_limit(protocol, cfg["eval_limit"])
                check_context(cfg, config, tasks.medmcqa_eval_rows(cfg["data_dir"], protocol, limit),  # refuses a limit
                              Path(cfg["data_dir"]) / "medmcqa" / "validation.jsonl")  # that reaches training rows
        elif cfg["task"] == "mcq":
            n = len(training_examples(cfg))
            check_context(cfg, config, tasks.mcq_rows(cfg["data_dir"], "validation"),
                          Path(cfg["data_dir"]) / "medmcqa" / "validation.jsonl")
        elif cfg.get("data_dir"):
            print(f"note: --data-dir {cfg['data_dir']} is not used by the fictional task (its probes ship in probes/).")
        if cfg["method"] == "retrofit":
            n = len(background_docs(cfg, cfg["retrofit_docs"]))
        elif n is None:  # the fictional task: made in a moment
            n = len(training_examples(cfg))
        check_step_count(cfg, n)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        raise SystemExit(f"error: {e}") from None


def check_context(cfg: dict, config, rows: list[dict], path: Path) -> None:
    """Each question scored in evaluation, with its options, within the model's context (a
    longer one would have evaluation ask for gigabytes). Counted in bytes first (a token is at
    least one byte); only the rows longer than the context in bytes are tokenized."""
    ctx = getattr(config, "max_position_embeddings", None)
    if not ctx:
        return
    texts = [tasks.mcq_prompt(r["question"], tasks.medmcqa_options(r)) + " " + max(tasks.medmcqa_options(r), key=len)
             for r in rows]
    margin = 32  # the protocols' own words around the question ("Medical exam question:", letters)
    long = [i for i, t in enumerate(texts) if len(t.encode("utf-8")) > ctx - margin]
    if not long:
        return
    from transformers import AutoTokenizer  # heavy (~2 s): only when a question may be too long

    tok = AutoTokenizer.from_pretrained(common.offline_model_dir() if cfg["model"] == common.OFFLINE_MODEL else cfg["model"])
    for i in long:
        n = len(tok(texts[i])["input_ids"])
        if n > ctx - margin:
            raise ValueError(f"{path}: question {i + 1} of those scored ({rows[i]['question'][:30]!r}...) is {n:,} tokens "
                             f"with its options, more than the model's context of {ctx:,}; shorten it or leave that row out.")


def machine_memory() -> int:
    """This machine's physical memory in bytes (0 when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def check_memory_size(cfg: dict, d_model: int) -> None:
    """The memory layers' value tables (slots x model width, fp32, per layer), with their
    gradients and optimizer state, must fit in this machine's memory: about 3 tables per layer
    (retrofit: a dense gradient and AdamW's two moments; SMF with adamw: the two row-wise
    moment tables), but SMF with SGD keeps one table (its gradient holds the rows read only,
    and SGD has no state; docs/BENCHMARK.md, "Large memories")."""
    sgd_smf = cfg["method"] == "smf" and cfg.get("smf_optimizer") == "sgd"
    need = (1 if sgd_smf else 3) * 4 * cfg["memory_slots"] * d_model * len(cfg["memory_layers"])
    have = machine_memory()
    if have and need > have:
        raise SystemExit(f"error: --memory-slots {cfg['memory_slots']} needs about {need / 2**30:,.1f} GiB "
                         f"({len(cfg['memory_layers'])} memory layer(s) of {cfg['memory_slots']:,} rows x {d_model} floats, "
                         f"with gradients and optimizer state), more than this machine's {have / 2**30:,.1f} GiB; "
                         "use fewer slots (the tiny preset uses 16384).")


def check_step_count(cfg: dict, n: int) -> None:
    """n examples to train on: not none, and --epochs over them gives a step count the run can build."""
    if n == 0:
        raise ValueError("the training set is empty (no usable rows); check the training file or --train-rows.")
    if cfg["steps"] is None:
        epochs = (cfg["method"] == "retrofit" and cfg["retrofit_epochs"]) or cfg["epochs"]
        steps = math.ceil(epochs * n / (cfg["batch_size"] * cfg["grad_accum"]))
        if steps > MAX_STEPS:
            raise ValueError(f"--epochs {epochs:g} over {n:,} examples makes {steps:,} steps, more than the {MAX_STEPS:,} "
                             "a run can take; give fewer --epochs or --steps.")


# ---------------------------------------------------------------- 2. which folder
#
# With --name the folder is exactly runs/<name>: a finished run there is refused unless
# --overwrite, an interrupted one (runs/<name>.partial) unless --resume (check_folder).
# Without --name the default is <preset>-<method> (runs/tiny-smf), and a re-run of the same
# command must just work, as it does in common training tools: a new run goes to the first
# of runs/tiny-smf, tiny-smf-2, tiny-smf-3, ... that holds no finished run and that no live
# process is writing, and says where it went. --resume without --name continues the newest
# interrupted one of those (the highest number whose owner is gone), and --overwrite without
# --name replaces runs/tiny-smf itself.


def check_name(name: str) -> None:
    """A run name is a plain folder name under --runs-dir, never a path: '--name ../victim
    --overwrite' would otherwise replace a folder outside it."""
    if not name or name in (".", "..") or any(c in name for c in "/\\") or name.startswith("."):
        raise SystemExit(f"error: --name must be a plain folder name (no '/', no leading '.'); got {name!r}.")
    if not name.isprintable() or name != name.strip():
        raise SystemExit(f"error: --name must be a plain folder name of printable characters, without control "
                         f"characters (a newline, a tab) or leading/trailing spaces; got {name!r}.")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise SystemExit(f"error: --name is {len(name.encode('utf-8', 'surrogateescape'))} bytes long; use a name of at "
                         f"most {MAX_NAME_BYTES} (the folder and lock names add to it, and file systems stop at 255).")


def numbered(base: str, n: int) -> str:
    """The n-th default folder name: base, base-2, base-3, ..."""
    return base if n == 1 else f"{base}-{n}"


def newest_interrupted(runs_dir: Path, base: str) -> str | None:
    """The default-named run (base or base-N) with the highest N that has an interrupted
    folder (<name>.partial) and no live owner; None if there is none."""
    if not runs_dir.is_dir():
        return None
    pattern = re.compile(re.escape(base) + r"(?:-([2-9]|[1-9][0-9]+))?\.partial")
    found = []
    for p in runs_dir.iterdir():
        m = pattern.fullmatch(p.name)
        if m and p.is_dir() and not lock_owner(runs_dir / f".{p.name[: -len('.partial')]}.lock"):
            found.append((int(m.group(1) or 1), p.name[: -len(".partial")]))
    return max(found)[1] if found else None


@contextlib.contextmanager
def claim(runs_dir: Path, name: str | None, base: str, resume: bool, overwrite: bool):
    """The run's folder name, held under its lock for the with-block (see the note above):
    --name as given; else the default `base`, numbered on when it is taken."""
    if name or overwrite or resume:
        picked = None if name or overwrite else newest_interrupted(runs_dir, base)  # --resume alone
        name = name or picked or base
        check_name(name)
        if picked and picked != base:
            print(f"note: --resume without --name continues the newest interrupted run, {runs_dir / name}.partial.")
        with run_lock(runs_dir, name):
            yield name
        return
    check_name(base)
    runs_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        n += 1
        cand = numbered(base, n)
        if (runs_dir / cand).exists():
            continue  # a finished run: never touched without --name
        lock = runs_dir / f".{cand}.lock"
        if take_lock(lock):
            continue  # another process is writing this run now
        try:
            if (runs_dir / cand).exists():
                continue  # it finished between the look and the lock
            if cand != base:
                print(f"note: {runs_dir / base} is taken (a finished run, or one in progress), so this run goes to "
                      f"{runs_dir / cand} (--name chooses the folder; --overwrite replaces {runs_dir / base}).")
            yield cand
            return
        finally:
            lock.unlink(missing_ok=True)


# ---------------------------------------------------------------- 3. one writer


@contextlib.contextmanager
def run_lock(runs_dir: Path, name: str):
    """Exclusive lock on a run name: runs/.<name>.lock holds the owner's process id.

    A second process with the same name is refused while the owner lives; a lock whose owner
    is gone (killed with SIGKILL, machine restarted) is stale and taken over."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    lock = runs_dir / f".{name}.lock"
    owner = take_lock(lock)
    if owner:
        raise SystemExit(f"error: a run with this name is in progress (pid {owner}); wait for it to finish "
                         f"or stop it, or choose another --name.")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def take_lock(lock: Path) -> int:
    """Create `lock` holding this process's id (O_EXCL: of two processes, one wins). Returns 0
    when taken, else the process id of the live owner; a stale lock is removed and taken."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = lock_owner(lock)
            if pid:
                return pid
            lock.unlink(missing_ok=True)  # stale: its owner is gone
            continue
        try:
            os.write(fd, str(os.getpid()).encode())
        except OSError:
            lock.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return 0
    raise SystemExit(f"error: could not take the lock {lock} (another process keeps creating it); run again in a moment, or choose another --name.")


def lock_owner(lock: Path) -> int:
    """The live process that holds `lock`, or 0 (no lock, or a stale one whose owner is gone)."""
    try:
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0
    return pid if pid and pid_alive(pid) else 0


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (signal 0 only asks; nothing is sent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


# ---------------------------------------------------------------- 4. work in runs/<name>.partial


def never_started(work: Path) -> bool:
    """Whether `work` is a .partial folder that a run left before its first step was logged
    (a failure or a kill while loading): no step, no checkpoint, no results, so nothing to lose."""
    if not work.is_dir() or (work / "state.pt").exists() or (work / "results.json").exists():
        return False
    log = work / "log.jsonl"
    return not log.exists() or log.stat().st_size == 0


def check_folder(run_dir: Path, work: Path, resume: bool, overwrite: bool) -> bool:
    """What is already there decides what may start (checked while holding the lock):
    --resume needs an interrupted run (work), a new run needs none, and a finished run
    (run_dir) is replaced only with --overwrite, and only once the new run has finished.
    A .partial left before its first step holds nothing: it is removed, and the run starts
    afresh (with or without --resume). Returns whether the run resumes."""
    if work.exists() and never_started(work):
        shutil.rmtree(work)
        print(f"note: {work} was left by a run that stopped before its first step (nothing was trained); "
              "removed, and this run starts afresh.")
        resume = False
    if resume and not work.exists():
        raise SystemExit(f"error: there is no interrupted run at {work} to resume; drop --resume to start one.")
    if not resume and work.exists():
        raise SystemExit(f"error: an interrupted run exists at {work}; pass --resume to continue it, or delete that folder to start again.")
    if not resume and run_dir.exists() and not overwrite:
        raise SystemExit(f"error: {run_dir} already holds a finished run; pass --overwrite to replace it (once the new run finishes), "
                         "or choose another --name.")
    if resume and run_dir.exists():  # the interrupted run was started with --overwrite
        print(f"note: {run_dir} holds a finished run, and the interrupted run resumed here was started to replace it; "
              "it is replaced when this run finishes (stop now to keep it).")
    return resume


# Settings that may change on --resume: they do not change how the steps are trained.
RESUME_MAY_CHANGE = {"eval_limit", "save_every", "train_seconds", "resolved_steps"}


def check_resume_settings(work: Path, cfg: dict) -> None:
    """--resume continues a run only with the settings its first steps were trained with
    (those of RESUME_MAY_CHANGE aside): otherwise one run would mix two trainings."""
    try:
        saved = json.loads((work / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise SystemExit(f"error: {work}/config.json is missing or unreadable, so the interrupted run cannot be "
                         "resumed safely; delete that folder to start again.") from None
    check_resume_stream(saved, cfg)
    was, now_n = saved.get("world_size", 1), cfg.get("world_size", 1)  # absent: one process
    if was != now_n:  # each process's share of every step depends on the number of processes
        how = "python train.py (one process)" if was == 1 else f"torchrun --nproc_per_node {was} train.py"
        raise SystemExit(f"error: the interrupted run at {work} was trained on {was} process(es), not {now_n}; "
                         f"resume it with {how} and the same flags.")
    # a setting added since that run was made counts as the value it had in effect then
    saved = json.loads(json.dumps(eval.with_added_settings(saved)))
    now = json.loads(json.dumps(cfg, default=str))
    diff = sorted(k for k in set(saved) | set(now) if k not in RESUME_MAY_CHANGE and saved.get(k) != now.get(k))
    if diff:
        shown = ", ".join(f"{k} ({saved.get(k)!r} -> {now.get(k)!r})" for k in diff)
        raise SystemExit(f"error: --resume with changed training settings: {shown}; give the interrupted run's "
                         "flags, or start a new run under another --name.")




def check_resume_stream(saved: dict, cfg: dict) -> None:
    """A stream's stages (and the items each row of its matrix is measured on) are fixed when it
    starts: --resume keeps its --sequence and --eval-limit."""
    if saved.get("sequence") != cfg.get("sequence"):
        if saved.get("sequence"):
            raise SystemExit(f"error: this interrupted run is a stream of {saved['sequence']} stages; --resume it with "
                             f"--sequence {saved['sequence']} (its stages are fixed when it starts), or start a new run under another --name.")
        raise SystemExit("error: this interrupted run is not a stream; --resume it without --sequence, or start the stream under another --name.")
    if cfg.get("sequence") and saved.get("eval_limit") != cfg.get("eval_limit"):
        raise SystemExit(f"error: --resume of a stream keeps the --eval-limit it started with ({saved.get('eval_limit')}), "
                         "so every row of its accuracy matrix scores the same items; give that value.")


def os_error_message(e: OSError, runs_dir: Path, name: str | None) -> str:
    """An OS error while writing a run as one sentence: the path, why, and what was kept
    (a .partial that holds nothing is removed, so that it blocks no rerun)."""
    where = e.filename or runs_dir
    why = OS_REASONS.get(e.errno, e.strerror or str(e))
    kept = "nothing was written"
    if name:
        work = runs_dir / f"{name}.partial"
        if never_started(work):
            shutil.rmtree(work, ignore_errors=True)
            kept = "nothing was trained yet, so nothing was kept"
        elif (work / "state.pt").exists():
            try:
                step = torch.load(work / "state.pt", mmap=True, weights_only=False)["step"]
                kept = f"the checkpoint at step {step} is kept in {work}; fix that and run the same command with --resume"
            except Exception:  # the checkpoint itself may be what failed
                kept = f"the interrupted run is kept in {work}; fix that and run the same command with --resume"
        elif work.exists():
            kept = f"the interrupted run is kept in {work}; fix that and run the same command with --resume"
        if (runs_dir / name).exists():
            kept += f"; the finished run in {runs_dir / name} is untouched"
    return f"error: could not write {where}: {why}; {kept}."


def remove_temporaries(work: Path) -> None:
    """Half-written files (common.atomic_path's .NAME.*.tmp) left by a kill during a save."""
    for f in work.rglob(".*.tmp"):
        f.unlink(missing_ok=True)


def trainable_state(model, cfg: dict) -> dict[str, torch.Tensor]:
    """Copies of what the method trains, for the resumable checkpoint (state.pt).

    SMF from a fresh memory (no --init-memory): only the value rows that differ from the fresh
    table, which is all zeros (layer{i}.rows, layer{i}.row_values), so state.pt grows with the
    rows trained, not with the table (a full copy is 2.4 GB per 1M-row layer); the rows are
    found by a blockwise scan (memory.changed_rows), without a second table in memory. From
    --init-memory the start is not zeros, and the whole tables are kept (layer{i}.values)."""
    if cfg["method"] == "smf":  # the value tables, and the output scales when --scale-lr trains them
        mems = memory.memory_layers(model).items()
        out = {f"layer{i}.scale": m.scale.detach().clone() for i, m in mems if m.scale is not None}
        if cfg.get("init_memory"):
            return out | {f"layer{i}.values": m.values.weight.detach().clone() for i, m in mems}
        for i, m in mems:
            rows = memory.changed_rows(m.values.weight.detach())
            out |= {f"layer{i}.rows": rows, f"layer{i}.row_values": m.values.weight.detach().index_select(0, rows)}
        return out
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, cfg: dict, sd: dict[str, torch.Tensor]) -> None:
    """Put trainable_state's tensors back in place (resume); its rows-only form is written
    over a zeroed table (the fresh memory's values)."""
    with torch.no_grad():
        if cfg["method"] == "smf":
            for i, m in memory.memory_layers(model).items():
                if f"layer{i}.rows" in sd:
                    m.values.weight.zero_()
                    m.values.weight.index_copy_(0, sd[f"layer{i}.rows"], sd[f"layer{i}.row_values"])
                else:
                    m.values.weight.copy_(sd[f"layer{i}.values"])
                if m.scale is not None:
                    m.scale.copy_(sd[f"layer{i}.scale"])
        else:
            named = dict(model.named_parameters())
            for n, v in sd.items():
                named[n].copy_(v)


def resume_state(work: Path, model, opt, cfg: dict):
    """(start step, log) from work/state.pt (the optimizer's own state, with the rows it moved,
    is restored in place), or a fresh start."""
    state_path = work / "state.pt"
    if not state_path.exists():
        return 0, []
    st = torch.load(state_path, weights_only=False)
    load_trainable_state(model, cfg, st["trainable"])
    opt.load_state_dict(st["optimizer"])
    torch.set_rng_state(st["rng"])
    print(f"Resuming {work} at step {st['step']}.")
    return st["step"], st["log"]


class StopAfterStep:
    """While active, the first Ctrl-C asks the loop to save and stop after the current step
    (no half-applied update is ever saved); a second Ctrl-C stops at once.

    sigterm=True (a run on several processes): SIGTERM asks the same, and never stops at once;
    on Ctrl-C torchrun sends it to every process and waits 30 s before killing them, time to
    finish the step and save it."""

    def __init__(self, sigterm: bool = False):
        self.sigterm = sigterm

    def __enter__(self):
        self.asked = False
        self.old_term = None
        try:
            self.old = signal.signal(signal.SIGINT, self._handler)
            if self.sigterm:
                self.old_term = signal.signal(signal.SIGTERM, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self.old = None
        return self

    def _handler(self, signum, frame):
        if signum == signal.SIGTERM:
            self.asked = True
            return
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("\nCtrl-C: saving after this step (press again to stop at once)...", file=sys.stderr)

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        if self.old_term is not None:
            signal.signal(signal.SIGTERM, self.old_term)


# ---------------------------------------------------------------- 5. what a run writes


def write_state(work: Path, state: dict) -> None:
    """work/state.pt (what --resume continues from), written atomically. A failed write is an
    OSError naming the file; torch's writer reports a full disk as a RuntimeError, turned into
    one here, so that the run ends in one sentence saying what was kept."""
    try:
        with common.atomic_path(work / "state.pt") as tmp:
            torch.save(state, tmp)
    except OSError as e:
        if e.filename:
            raise
        raise OSError(e.errno, e.strerror, str(work / "state.pt")) from None  # name the file
    except RuntimeError as e:
        full = shutil.disk_usage(work).free < 2**20
        raise OSError(errno.ENOSPC if full else errno.EIO, str(e).splitlines()[0] if str(e) else "write failed",
                      str(work / "state.pt")) from None


def write_log(work: Path, log: list[dict]) -> None:
    """log.jsonl as a whole, one JSON row per step, atomically (at a start, a resume and the end)."""
    with common.atomic_path(work / "log.jsonl") as tmp:
        Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in log))


def append_log(work: Path, row: dict) -> None:
    """log.jsonl grows as steps happen, so a run can be watched (tail -f runs/<name>.partial/log.jsonl)."""
    with open(work / "log.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


def save_checkpoint(model, tok, cfg: dict, work: Path, rows_changed) -> None:
    """The final checkpoint, in the form eval.py loads."""
    method = cfg["method"]
    if method in ("smf", "retrofit"):
        # SMF: only the value rows it moved, plus the seed that regenerates the rest
        memory.save_memory(model, str(work / "memory.safetensors"), rows_only=method == "smf")
        if rows_changed:
            # rows changed at each step, per layer: (steps, top_t) padded with -1
            t = max(r.numel() for rs in rows_changed.values() for r in rs)
            out = {}
            for i, rs in rows_changed.items():
                m = torch.full((len(rs), t), -1, dtype=torch.long)
                for s, r in enumerate(rs):
                    m[s, : r.numel()] = r
                out[f"layer{i}"] = m
            with common.atomic_path(work / "rows_changed.safetensors") as tmp:
                save_file(out, tmp)
    elif method == "lora":
        model.save_pretrained(work / "adapter")
    else:
        model.save_pretrained(work / "model")
        tok.save_pretrained(work / "model")




# What SMF did to its memory, recorded so that reports can cite it. Per step (a "rows" entry
# in each log.jsonl row), per memory layer:
#   read      distinct value rows that the step's tokens read (padding excluded),
#   selected  rows the ranking rule kept (top-t of those read; fewer when fewer were read),
#   moved     selected rows whose value the step changed (an update of zero, or one too small
#             to change a float32 value, as near the end of the cosine schedule, moves nothing),
# so moved <= selected <= read. At the end (rows.json, and results.json's "memory_rows"): the
# rows changed per layer (value differs from where the run started: the union of the rows
# moved) and how far they moved, as quantiles of the L2 distance of each changed row from its
# start; with the row-step cap a row moves at most cap x (steps that moved it).
MOVE_QUANTILES = {"min": 0.0, "p10": 0.1, "p25": 0.25, "median": 0.5, "p75": 0.75, "p90": 0.9, "p99": 0.99, "max": 1.0}


@torch.no_grad()
def rows_before_step(opt: smf_mini.SparseValueUpdate) -> dict:
    """Per memory layer, between SMF's select() and step(): the rows read (counts are reset by
    step()), the rows selected, and their values before the step."""
    return {i: (int((opt.counts[i] > 0).sum()), rows, opt.mems[i].values.weight.index_select(0, rows).clone())
            for i, rows in opt.selected.items()}


@torch.no_grad()
def rows_of_step(opt: smf_mini.SparseValueUpdate, before: dict) -> dict[str, dict[str, int]]:
    """{layer: {"read", "selected", "moved"}} of the step just taken (see the note above)."""
    out = {}
    for i, (read, rows, old) in before.items():
        moved = (opt.mems[i].values.weight.index_select(0, rows) != old).any(dim=1)  # (selected,)
        out[str(i)] = {"read": read, "selected": int(rows.numel()), "moved": int(moved.sum())}
    return out


def start_values(model, cfg: dict) -> dict[int, torch.Tensor | None]:
    """Each memory layer's value table as the run started: None for a fresh memory (as
    memory.attach_memory made it: all zeros, so no table is built), or read from
    --init-memory's file (either of memory.save_memory's forms: the full tables, or the
    changed rows over a seed's memory)."""
    mcfg, d_model = model.smf_memory_config, model.config.hidden_size
    if not cfg.get("init_memory"):
        return {i: None for i in mcfg.layers}
    with safe_open(str(init_memory_file(cfg)), framework="pt") as f:
        seed = (f.metadata() or {}).get("regenerate_from_seed")
        t = {k: f.get_tensor(k) for k in f.keys() if k.endswith((".rows", ".values", ".values.weight"))}
    if seed is None:
        return {i: t[f"layer{i}.values.weight"] for i in mcfg.layers}
    dv = mcfg.value_dim or d_model  # the seed's fresh table is all zeros (memory.ProductKeyMemory)
    return {i: torch.zeros(mcfg.slots, dv).index_copy(0, t[f"layer{i}.rows"], t[f"layer{i}.values"].float()) for i in mcfg.layers}


def _spread(values: list[float]) -> dict[str, float] | None:
    """mean, min, max of per-step counts (None when there were no steps)."""
    return {"mean": sum(values) / len(values), "min": min(values), "max": max(values)} if values else None


def row_summary(model, cfg: dict, log: list[dict]) -> dict:
    """The run's record of its memory rows (see the note above), per layer."""
    start = start_values(model, cfg)
    layers = {}
    for i, mem in memory.memory_layers(model).items():
        w = mem.values.weight.detach()
        rows = memory.changed_rows(w, start[i])  # (changed,), found blockwise: no (slots, dv) difference
        delta = w.index_select(0, rows).float().cpu()  # (changed, dv)
        if start[i] is not None:
            delta -= start[i].index_select(0, rows.to(start[i].device)).float().cpu()
        dist = delta.norm(dim=1).double()  # L2 distance of each changed row from its start
        steps = [r["rows"][str(i)] for r in log if "rows" in r]
        layers[str(i)] = {
            "slots": int(w.shape[0]), "rows_changed": int(rows.numel()), "steps": len(steps),
            "per_step": {k: _spread([s[k] for s in steps]) for k in ("read", "selected", "moved")},
            "moves": sum(s["moved"] for s in steps),  # row moves summed over steps (a row counts once per step it moved)
            "move_l2": ({k: float(torch.quantile(dist, q)) for k, q in MOVE_QUANTILES.items()} | {"mean": float(dist.mean())}
                        if dist.numel() else None),
        }
    return {"row_step_cap": cfg.get("row_step_cap", 0.0), "top_t": cfg["top_t"], "layers": layers}


def describe_rows(summary: dict) -> str:
    """row_summary in a few printed lines, one per memory layer."""
    lines = ["SMF memory rows (per layer: mean per step read / selected / moved; rows changed; L2 move from start):"]
    for i, r in summary["layers"].items():
        ps, m = r["per_step"], r["move_l2"]
        step = " / ".join(f"{ps[k]['mean']:.0f}" for k in ("read", "selected", "moved")) if ps["read"] else "no steps"
        move = f"median {m['median']:.3g}, p90 {m['p90']:.3g}, max {m['max']:.3g}" if m else "none"
        lines.append(f"  layer {i}: {step}; {r['rows_changed']} of {r['slots']} rows changed; move {move}")
    return "\n".join(lines)


# ---------------------------------------------------------------- 6. the end


def finish(work: Path, run_dir: Path) -> None:
    """Move the finished .partial folder into place; an older finished run is removed only now."""
    remove_temporaries(work)
    old = None
    if run_dir.exists():
        old = run_dir.with_name(run_dir.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(run_dir, old)
    os.replace(work, run_dir)
    if old is not None:
        shutil.rmtree(old)



class Diverged(RuntimeError):
    """Training blew up: a non-finite loss or weight, or a loss far above where it started."""


# Divergence: the mean loss of the last DIVERGE_WINDOW steps more than DIVERGE_FACTOR times (plus
# one nat) the mean of the first DIVERGE_WINDOW. A working run lowers its loss; a learning rate far
# too high sends it up, often to ln(vocabulary) (uniform predictions) with zero gradients, where a
# finite-loss check alone would never fire. Means over windows, not single steps: batches differ
# in kind (the mcq task's questions cost the base model 13-25 nats per answer token, since it
# expects a letter there, and its statements ~8), so one step against another says nothing.
DIVERGE_FACTOR = 2.0
DIVERGE_WINDOW = 8


def check_step(step: int, loss: float, history: list[float]) -> None:
    """loss: this step's; history: the finite losses of the steps before it, in order."""
    if not math.isfinite(loss):
        raise Diverged(f"the loss became {loss} at step {step + 1}")
    w = DIVERGE_WINDOW
    if len(history) + 1 >= w:
        first = (sum(history[:w]) if len(history) >= w else sum(history) + loss) / w  # no copy of the history
        last = (sum(history[len(history) - w + 1 :]) + loss) / w
        if last > DIVERGE_FACTOR * first + 1.0:
            raise Diverged(f"the loss rose to {last:.2f} (mean of the last {w} steps, to step {step + 1}) "
                           f"from {first:.2f} (mean of the first {w})")


def park_diverged(work: Path) -> Path:
    """Move a diverged .partial folder aside (runs/<name>.diverged), so a corrected rerun can start."""
    dest = work.with_name(work.name[: -len(".partial")] + ".diverged")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(work, dest)
    return dest


def check_weights(model, cfg: dict, step: int) -> None:
    """Every trainable tensor finite (checked before each save, so no checkpoint holds NaN or inf)."""
    for name, t in trainable_state(model, cfg).items():
        if not torch.isfinite(t).all():
            raise Diverged(f"weights became non-finite ({name}) by step {step}")


# ---------------------------------------------------------------- 7. sweeps: many runs, each in its own folder


def _floats(text: str, flag: str, kind=float) -> list:
    """A sweep flag's comma-separated values, or one sentence naming the flag."""
    try:
        vals = [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        example = "0,1,2" if kind is int else "1e-4,3e-4"
        raise SystemExit(f"error: {flag} takes comma-separated {'whole numbers' if kind is int else 'numbers'} like {example}; got {text!r}.")
    if not vals:
        raise SystemExit(f"error: {flag} is empty; give at least one value.")
    if not all(math.isfinite(v) for v in vals):
        raise SystemExit(f"error: {flag} takes finite numbers like 1e-4,3e-4; got {text!r}.")
    return vals


def sweep(args, argv: list[str], cfg: dict, main) -> int:
    """One run per (learning rate, step count, seed) into --runs-dir, named
    <method>-<split>-lr<lr>-st<steps>-s<seed>. Finished runs are skipped, so an interrupted
    sweep continues where it stopped when the same command is given again. Compare the
    runs with `python eval.py --compare RUNS_DIR/*`. cfg: the settings resolved from argv;
    main: train.main, called once per run with the run's own flags."""
    lrs = _floats(args.lrs, "--lrs") if args.lrs else [cfg["lr"]]
    seeds = _floats(args.seeds, "--seeds", int) if args.seeds else [cfg["seed"]]
    steps_list = _floats(args.steps_list, "--steps-list", int) if args.steps_list else [cfg["steps"]]
    if any(v <= 0 for v in lrs) or any(v is not None and v < 1 for v in steps_list):
        raise SystemExit("error: sweep learning rates must be positive and step counts at least 1.")
    if any(v is not None and v > MAX_STEPS for v in steps_list):  # checked before the first run, not at each
        raise SystemExit(f"error: --steps-list takes step counts of at most {MAX_STEPS:,}.")
    if any(not 0 <= v <= MAX_SEED for v in seeds):
        raise SystemExit(f"error: --seeds takes integers from 0 to {MAX_SEED}.")
    drop = {"--lrs", "--seeds", "--steps-list", "--lr", "--seed", "--steps", "--name"}
    base_argv, skip = [], False
    for x in argv:  # the sweep's own flags (and what each run sets itself) are not passed on
        if skip:
            skip = False
            continue
        if x.split("=")[0] in drop:
            skip = "=" not in x
            continue
        base_argv.append(x)
    failed = []
    for lr in lrs:
        for steps in steps_list:
            for seed in seeds:
                budget = f"st{steps}" if steps is not None else f"ep{cfg['epochs']:g}"  # no --steps: the epochs
                name = f"{cfg['method']}-{cfg['split']}-lr{lr:g}-{budget}-s{seed}"
                if (Path(args.runs_dir) / name / "results.json").exists() or (args.no_eval and (Path(args.runs_dir) / name).exists()):
                    print(f"sweep: {name} is finished; skipped.")
                    continue
                print(f"sweep: {name}")
                rc = main(base_argv + ["--lr", str(lr), "--seed", str(seed), "--name", name] + (["--steps", str(steps)] if steps else []))
                if rc:
                    failed.append(name)
    print(f"sweep done: {len(lrs) * len(seeds) * len(steps_list)} runs in {args.runs_dir}"
          + (f"; failed: {', '.join(failed)}" if failed else "") + f". Compare: python eval.py --compare {args.runs_dir}/*")
    return 1 if failed else 0
