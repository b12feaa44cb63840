"""flags.py: every flag either acts or is refused.

A flag that the combination given never reads is refused in one sentence, not ignored: a user
who writes `--method lora --top-t 64`, `--lrs 1e-3 --lr 5` or `eval.py RUN --model M` believes
it changed what runs. train.py (check_flags_act, check_sweep) and eval.py (check_eval_flags)
call these once their flags are parsed, before anything is read or loaded. Flags are written
in full: both parsers refuse abbreviations (allow_abbrev=False), so `--steps-lis` is an unknown
flag, never a sweep. What each input must be (files, sizes, the hub) is inputs.py's.
"""
from __future__ import annotations

from pathlib import Path

from inputs import check, folder

# ---------------------------------------------------------------- train.py
#
# A flag that the combination given never reads is refused, not ignored: a user who writes
# `--method lora --top-t 64` or `--lrs 1e-3 --lr 5` believes it changed the run.
# flag key -> (does it act?, what it needs): only flags given on the command line are checked.
SMF = ("smf",)
MEMORY = ("smf", "retrofit")


def _acts(cfg: dict) -> dict:
    method, task, rule = cfg["method"], cfg["task"], cfg.get("rule")
    reads_background = method == "retrofit" or (method == "smf" and rule in ("tfidf", "kl"))
    memory_from_flags = method == "retrofit" or (method == "smf" and not cfg.get("init_memory"))
    return {
        **{k: (method in SMF, "--method smf") for k in ("top_t", "rule", "smf_optimizer", "smf_lr", "row_step_cap",
                                                         "min_read_ratio", "scale_lr")},
        **{k: (memory_from_flags, "--method smf or retrofit without --init-memory (a loaded memory keeps its own sizes)")
           for k in ("memory_layers", "memory_slots", "memory_heads", "memory_topk", "memory_key_dim", "memory_mode")},
        **{k: (method == "lora", "--method lora") for k in ("lora_r", "lora_alpha", "lora_dropout", "lora_lr")},
        "full_lr": (method == "full", "--method full"),
        **{k: (method == "retrofit", "--method retrofit") for k in ("retrofit_lr", "retrofit_docs", "retrofit_epochs")},
        "background": (reads_background, "--method retrofit, or --method smf with --rule tfidf or kl"),
        "background_docs": (method == "smf" and rule in ("tfidf", "kl"), "--method smf with --rule tfidf or kl"),
        "background_max_length": (method == "smf" and rule in ("tfidf", "kl"), "--method smf with --rule tfidf or kl"),
        "train_rows": (task == "medmcqa", "--task medmcqa"),
        "n_countries": (task == "fictional", "--task fictional"),
        "init_memory": (method == "smf", "--method smf (it starts SMF from a retrofit run's memory)"),
    }


def check_flags_act(given: dict, cfg: dict, no_eval: bool) -> None:
    """given: the settings given on the command line (key -> value); cfg: the resolved
    settings. Refuses, in one sentence, a flag that this combination would not read."""
    acts = _acts(cfg)
    for key in given:
        ok, needs = acts.get(key, (True, ""))
        if not ok:
            flag = "--" + key.replace("_", "-")
            raise SystemExit(f"error: {flag} does nothing here: it applies to {needs} only; drop it, or change the "
                             f"combination (this run: --method {cfg['method']}, --task {cfg['task']}"
                             + (f", --rule {cfg['rule']}" if cfg["method"] == "smf" else "") + ").")
    if "eval_limit" in given and (no_eval or cfg["method"] == "retrofit"):
        raise SystemExit("error: --eval-limit does nothing here: this run is not evaluated ("
                         + ("--no-eval" if no_eval else "a retrofit trains a memory and is not scored") + "); drop it.")
    if "warmup" in given and cfg["steps"] is not None and cfg["warmup"] > cfg["steps"]:
        raise SystemExit(f"error: --warmup {cfg['warmup']} is longer than the run's {cfg['steps']} steps"
                         + (" per stage" if cfg.get("sequence") else "") + " (the learning rate would never reach "
                         "its peak nor decay); use a --warmup of at most --steps.")


SWEEP_OWN = {"lrs": ("lr", "--lr"), "seeds": ("seed", "--seed"), "steps_list": ("steps", "--steps")}


def check_sweep(args) -> None:
    """A sweep (--lrs, --seeds, --steps-list) names and sets each run itself: --name, --resume,
    --overwrite and the single value its list replaces would do nothing, and are refused."""
    for own, (single, flag) in SWEEP_OWN.items():
        if getattr(args, own) is not None and getattr(args, single) is not None:
            raise SystemExit(f"error: {flag} does nothing in a sweep that sets --{own.replace('_', '-')}; drop {flag}, or "
                             f"put its value in --{own.replace('_', '-')}.")
    for attr, flag in (("name", "--name"), ("resume", "--resume"), ("overwrite", "--overwrite")):
        if getattr(args, attr):
            raise SystemExit(f"error: {flag} does nothing in a sweep (each run is named <method>-<split>-lr<lr>-st<steps>-s<seed>, "
                             "and finished runs are skipped, interrupted ones refused); drop it.")


def check_eval_flags(a, defaults: dict, protocol: str | None, task: str | None) -> None:
    """eval.py's flags, each acting in the mode given or refused (a: the parsed flags;
    defaults: the parser's defaults; protocol and task: what will be evaluated, None with
    --compare). --compare reads finished results; --ask asks one run; --model or RUN evaluates."""
    def given(k: str) -> bool:
        v = getattr(a, k)
        return v not in (None, False) and v != defaults.get(k)

    def refuse(flags, why: str) -> None:
        for k in flags:
            if given(k):
                raise SystemExit(f"error: --{k.replace('_', '-')} does nothing {why}; drop it.")

    if a.compare:
        refuse(("limit", "tasks", "protocol", "data_dir", "window", "out", "ask", "complete", "model", "device"),
               "with --compare (it compares the results the runs already hold)")
        if not a.run:
            raise SystemExit("error: --compare needs the run folders to compare, as in: python eval.py --compare runs/*.")
        names = {Path(r).name for r in a.run}
        for m in (x for x in a.mark.split(",") if x):
            if m not in names:
                raise SystemExit(f"error: --mark {m} names no run folder given to --compare; give the folder name of one of them.")
        return
    refuse(("plot", "levels", "summary", "bootstrap", "mark"), "without --compare")
    if a.model and a.run:
        raise SystemExit("error: give a run folder or --model (the base model alone), not both: with --model the run "
                         "would not be evaluated.")
    if a.out and not a.model:
        raise SystemExit("error: --out does nothing for a run (its results are written into the run folder); drop it, "
                         "or evaluate a base model with --model.")
    if a.ask is not None:
        refuse(("limit", "tasks", "protocol", "data_dir", "window", "out"), "with --ask (it asks questions; nothing is scored)")
        return
    if protocol == "tiny":
        refuse(("tasks", "window"), "under the tiny protocol (it scores the task and the three probes); use --protocol harness or paper")
        if task != "mcq":
            refuse(("data_dir",), "under the tiny protocol of a fictional-task run (its data is made at run time)")
    if protocol == "paper":
        refuse(("window",), "under the paper protocol (its WikiText window is fixed at 1024/512)")
    if a.data_dir is not None:
        check(folder, a.data_dir, f"--data-dir {a.data_dir}", "give the folder holding the data files")
