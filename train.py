"""train.py: one plain training loop for SMF, LoRA, full finetuning and memory retrofit.

    python train.py --method smf                 # the offline default (--preset tiny)
    python train.py --method full                # the same task, full finetuning
    python train.py --method lora                # the same task, LoRA (peft)
    python train.py --method smf --preset paper  # the seed paper's setup (GPU, hub access)
    python train.py --method smf --sequence 3    # continual learning: 3 stages of new facts (docs/STREAM.md)

Read top to bottom: the presets, data to batches, each method's set-up, one optimizer step
(`one_step`), the loop (`train`: one loop for a single run and for every stage of a stream,
on one process or several under torchrun), and `main`. A run is saved in runs/<name>/
(docs/HARNESS.md says what each file holds). Around this file: the flags and every input
check in settings.py, the run folder's life in rundir.py, the file formats in checkpoints.py.
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import checkpoints
import common
import data
import distributed
import flags
import eval  # noqa: A004 (our evaluation module; the builtin eval() is never used here)
import memory
import rundir
import settings
import smf_mini
import tasks

# ---------------------------------------------------------------- presets
#
# Why each value is what it is, measured on this machine: the section of docs/RECIPE.md named beside it.

PRESETS: dict[str, dict] = {
    "tiny": dict(
        model=common.OFFLINE_MODEL, **tasks.TINY_TASK,
        background="pydoc", background_docs=64, background_max_length=128,  # docs/RECIPE.md, "The background"
        memory_layers=[2, 4, 6, 8],  # docs/RECIPE.md, "How the tiny preset was found" (2: where the memory sits)
        memory_slots=16_384, memory_heads=4, memory_topk=16, memory_key_dim=256, memory_mode="add",
        top_t=1000, smf_lr=8000.0,  # docs/RECIPE.md, "Fewer rows per step"
        rule="tfidf",  # docs/RECIPE.md, "Which rows: the ranking rule"
        smf_optimizer="sgd",  # docs/RECIPE.md, "How the tiny preset was found" (3: why SGD, at lr in the thousands)
        row_step_cap=5.0,  # docs/RECIPE.md, "The bounded step"
        min_read_ratio=0.0, scale_lr=0.0,  # docs/RECIPE.md, "Tried and not kept"
        lora_r=16, lora_alpha=32, lora_dropout=0.05, lora_lr=1e-3, full_lr=1e-4, retrofit_lr=5e-4,
        retrofit_docs=64, retrofit_epochs=None, train_rows=None,
        mcq_views="question,statement,shuffled,bare",  # docs/RECIPE.md, "Your own facts"
        steps=60, epochs=None, batch_size=8, grad_accum=1, max_length=128, warmup=4, clip=1.0,
        loss_on="answer",  # docs/RECIPE.md, "How the tiny preset was found" (4: what the loss is on)
        bf16=False, eval_limit=None, save_every=10,
    ),
    "paper": dict(  # the seed paper's setup (docs/PAPER_PRESET.md)
        model="Qwen/Qwen2.5-0.5B-Instruct", task="medmcqa", split="test", n_countries=None, background="oasst1",
        background_docs=2000, background_max_length=512, memory_layers=[6, 12, 18], memory_slots=16_384,
        memory_heads=4, memory_topk=16, memory_key_dim=256, memory_mode="add", top_t=512, rule="kl",
        smf_optimizer="adamw", smf_lr=5e-4, row_step_cap=0.0, min_read_ratio=0.0, scale_lr=0.0, lora_r=16, lora_alpha=32, lora_dropout=0.05, lora_lr=2e-4,
        full_lr=5e-5, retrofit_lr=5e-4, retrofit_docs=None, retrofit_epochs=2, train_rows=60_000, mcq_views="question,statement,shuffled,bare", steps=None, epochs=3, batch_size=4, grad_accum=4, max_length=1024,
        warmup=100, clip=1.0, loss_on="all", bf16=True, eval_limit=1000, seed=0, save_every=500,
    ),
}
# One memory of 1,048,576 rows at layer 4, top-t 500 at lr 16000, chosen on dev (docs/SPARSE.md, "The sparse preset").
PRESETS["sparse"] = dict(PRESETS["tiny"], memory_layers=[4], memory_slots=1_048_576, top_t=500, smf_optimizer="sgd",
                         smf_lr=16000.0, row_step_cap=5.0)


def build_parser():
    """The command line (settings.build_parser) with these presets' values as its defaults."""
    return settings.build_parser(PRESETS)


def resolve_config(args) -> dict:
    """The settings of a run: the preset's values, overridden by every flag given, checked."""
    return settings.resolve_config(args, PRESETS)


# ---------------------------------------------------------------- data to batches


def batch_schedule(n_examples: int, lengths: list[int], cfg: dict, steps: int) -> list[list[list[int]]]:
    """Deterministic order of the whole run (so --resume can skip ahead): per optimizer step,
    its micro-batches (lists of example indices).

    The order is built from the EFFECTIVE batch (batch_size * grad_accum) and only then cut into
    micro-batches, so --grad-accum changes memory use and nothing else: --batch-size 4
    --grad-accum 2 sees exactly the examples of --batch-size 8 at every step.
    Each epoch is a seeded permutation; within chunks of 16 steps, examples are sorted by length
    before being cut into step batches (less padding on a CPU), and the step batches shuffled.
    """
    rng = random.Random(cfg["seed"])
    bs, accum = cfg["batch_size"], cfg["grad_accum"]
    eff, out = bs * accum, []
    while len(out) < steps:
        perm = list(range(n_examples))
        rng.shuffle(perm)
        for c in range(0, n_examples, 16 * eff):
            chunk = sorted(perm[c : c + 16 * eff], key=lambda i: lengths[i])
            batches = [chunk[j : j + eff] for j in range(0, len(chunk), eff)]
            rng.shuffle(batches)
            out += batches
    return [[b[j : j + bs] for j in range(0, len(b), bs)] for b in out[:steps]]


def stages(cfg: dict, group, check=lambda own: None) -> tuple[list[tuple[list, list]], int]:
    """What the loop trains on: per stage, (examples, THIS process's micro-batches per step),
    and the steps per stage. A single run is one stage. A stream (--sequence K) has K stages
    of new facts, each with its own seeded batch order, and with --replay F a share F of each
    step drawn from the earlier stages' examples (placed after the stage's own).
    On N processes each takes its slice of the batches one process would follow at batch
    N x batch_size (distributed.my_share). check(own): called on each stage's own examples."""
    if not cfg.get("sequence"):
        examples = data.load_examples(cfg)
        check(examples)
        steps = settings.step_count(cfg, len(examples), group.world)
        whole = batch_schedule(len(examples), [len(p) + len(c) for p, c in examples],
                               {**cfg, "batch_size": cfg["batch_size"] * group.world}, steps)
        return [(examples, [distributed.my_share(b, group.rank, group.world, cfg["batch_size"]) for b in whole])], steps
    per_stage = data.stage_examples(cfg)
    for own in per_stage:
        check(own)
    steps = settings.step_count(cfg, len(per_stage[0]))
    return [stage_data(cfg, per_stage, s, steps) for s in range(len(per_stage))], steps


def stage_data(cfg: dict, per_stage: list, s: int, steps: int) -> tuple[list, list]:
    """Stage s's examples (its own, then the earlier stages' for replay) and its batch order."""
    earlier = [x for st in per_stage[:s] for x in st]
    seeded = dict(cfg, seed=f"{cfg['seed']}-stage{s}")  # random.Random takes a string seed
    schedule = batch_schedule(len(per_stage[s]), [len(p) + len(c) for p, c in per_stage[s]], seeded, steps)
    return per_stage[s] + earlier, data.mix_replay(schedule, len(per_stage[s]), len(earlier), cfg, random.Random(f"{cfg['seed']}-replay{s}"))


def collate(tok, examples: list[tuple[str, str]], loss_on: str, max_length: int, device) -> dict:
    """Right-padded batch with labels; -100 marks padding (and prompts when loss_on='answer')."""
    ids, labels = [], []
    pad = common.prefix_and_pad(tok)[1]
    for prompt, comp in examples:
        p = common.encode(tok, prompt)  # BOS (if the tokenizer adds one) + prompt
        c = tok(comp, add_special_tokens=False)["input_ids"]
        x = (p + c)[:max_length]
        lab = ([-100] * len(p) + c)[:max_length] if loss_on == "answer" else list(x)
        ids.append(x)
        labels.append(lab)
    input_ids, att = common.right_pad(ids, pad)  # (B, L) each
    lab_t, _ = common.right_pad(labels, -100)  # -100: not a target
    return {"input_ids": input_ids.to(device), "attention_mask": att.to(device), "labels": lab_t.to(device)}


def check_tokens_to_learn(tok, examples, cfg: dict, device) -> None:
    """Stop early (with the real cause) when truncation leaves nothing to learn from."""
    b = collate(tok, examples[:256], cfg["loss_on"], cfg["max_length"], device)
    if target_count(b) == 0:
        raise SystemExit(f"error: no tokens to learn from: with --max-length {cfg['max_length']} and --loss-on "
                         f"{cfg['loss_on']}, truncation leaves no target token in the first {len(examples[:256])} "
                         "training examples; raise --max-length.")


# ---------------------------------------------------------------- methods


def setup_method(model, tok, cfg: dict, device, progress: bool = True, group=None):
    """Make the chosen parameters trainable. Returns (model, optimizer, extras). group: the
    process group (distributed.Group, or Solo for one process: the default). The dense
    methods use Adam (AdamW with weight decay 0 is the same update, bit for bit)."""
    group = group or distributed.Solo(device)
    method = cfg["method"]
    extras: dict = {}
    if method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    elif method == "lora":
        from peft import LoraConfig, get_peft_model  # only the LoRA baseline needs peft (and its ~1 s import)

        lcfg = LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], lora_dropout=cfg["lora_dropout"],
                          target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                          task_type="CAUSAL_LM")
        model = get_peft_model(model, lcfg)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg["lr"])
    elif method == "retrofit":
        memory.attach_memory(model, settings.memory_config(cfg), seed=cfg["seed"])
        for p in model.parameters():
            p.requires_grad_(False)
        params = [p for mem in memory.memory_layers(model).values() for p in mem.parameters()]
        for p in params:
            p.requires_grad_(True)
        opt = torch.optim.Adam(params, lr=cfg["lr"])
    else:  # smf
        if cfg.get("init_memory"):
            checkpoints.load_memory(model, str(data.init_memory_file(cfg)))
            model.to(device)
        else:
            memory.attach_memory(model, settings.memory_config(cfg), seed=cfg["seed"])
        bg = checkpoints.cached_background(model, tok, cfg, group, progress) if cfg["rule"] in ("tfidf", "kl") else None
        extras["background"] = bg
        opt = smf_mini.SparseValueUpdate(model, cfg["top_t"], cfg["rule"], cfg["smf_optimizer"], cfg["lr"], bg, seed=cfg["seed"],
                                         row_step_cap=cfg.get("row_step_cap", 0.0), min_read_ratio=cfg.get("min_read_ratio", 0.0),
                                         scale_lr=cfg.get("scale_lr", 0.0))
        opt.reduce = group.sum_ if group.world > 1 else None  # one selection for all processes (distributed.py)
    return model, opt, extras


def lr_at(step: int, total: int, cfg: dict) -> float:
    """Linear warmup, then cosine decay to zero."""
    w = cfg["warmup"]
    if step < w:
        return cfg["lr"] * (step + 1) / w
    return cfg["lr"] * 0.5 * (1 + math.cos(math.pi * (step - w) / max(1, total - w)))


# ---------------------------------------------------------------- one optimizer step


def target_count(batch: dict) -> int:
    """Tokens the loss is on: labels shifted by one (position j predicts token j+1), -100 excluded."""
    return int((batch["labels"][:, 1:] != -100).sum())


def target_loss(model, b: dict) -> torch.Tensor:
    """Summed cross-entropy of the batch's target tokens (position j predicts token j+1).

    The output head runs on the target positions only. With --loss-on answer most
    positions are prompt, and the head (576 x 49,152 for SmolLM2, a fifth of the model's
    forward work) and its backward would otherwise run at every position and hold a
    (B, T, 49,152) logits tensor (200 MB in fp32 at 1,024 tokens). The same loss and
    gradients up to float rounding (the other positions never entered the loss); that
    rounding is enough to move a long run's trajectory (docs/RESULTS.md, "How far one run moves")."""
    body, head = common.body_and_head(model)
    hidden = body(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state  # (B, T, d)
    targets = b["labels"][:, 1:]  # (B, T-1)
    keep = targets != -100
    logits = head(hidden[:, :-1][keep])  # (n_targets, V)
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum")


def train_step(model, opt, tok, examples, batch: list[list[int]], cfg: dict, device, autocast, group) -> tuple[float, int]:
    """Forward and backward over the micro-batches of `batch` (this process's share). Returns
    (loss, tokens read), of all processes together."""
    micro = [collate(tok, [examples[i] for i in ids], cfg["loss_on"], cfg["max_length"], device) for ids in batch]
    # One loss scale for every method: the sum of token losses over the whole optimizer step
    # divided by the step's number of loss tokens (of ALL processes), so accumulation, and
    # summing the processes' gradients, give exactly the gradient of one big batch.
    n_loss = int(group.sum_numbers([sum(target_count(b) for b in micro)])[0])
    if n_loss == 0:  # truncation left nothing to learn in this step: skip it
        return float("nan"), 0
    total, tokens = 0.0, 0
    for b in micro:
        with autocast:
            loss = target_loss(model, b) / n_loss
        if cfg["method"] == "smf":
            opt.observe(b["attention_mask"])  # count this micro-batch's reads (padding excluded)
        loss.backward()
        total += float(loss.detach())
        tokens += int(b["attention_mask"].sum())
    total, tokens = group.sum_numbers([total, tokens])
    return total, int(tokens)


def apply_update(model, opt, cfg: dict, group) -> tuple[float, dict]:
    """Clip and step: SMF selects its rows (once per optimizer step, over the counts of all
    micro-batches and processes) and clips over them; the others sum their gradients across
    processes first, so every process makes the same update. Returns the gradient norm before
    clipping, and SMF's record of the step (rows read, selected, moved per layer; else {})."""
    if cfg["method"] == "smf":
        opt.select()
        gnorm = opt.clip_grad_norm_(cfg["clip"])
    else:
        params = [p for p in model.parameters() if p.requires_grad]
        group.sum_grads(params)
        gnorm = float(torch.nn.utils.clip_grad_norm_(params, cfg["clip"] if cfg["clip"] > 0 else float("inf")))
    rows = opt.step()  # SMF: its record of the step; torch's optimizers return None
    opt.zero_grad(set_to_none=True)
    return gnorm, rows or {}


def one_step(step: int, steps: int, model, opt, tok, examples, batch, cfg: dict, device, autocast, finite: list,
             group, first: int = 0) -> tuple[dict, int]:
    """Train optimizer step `step`; returns its log row (no time yet) and the tokens it read.
    first: the step the learning-rate schedule (of `steps` steps) starts at (a stream's stage)."""
    lr = lr_at(step - first, steps, cfg)
    opt.param_groups[0]["lr"] = lr
    loss, tokens = train_step(model, opt, tok, examples, batch, cfg, device, autocast, group)
    if tokens:  # a step with no target tokens is skipped (logged with loss NaN)
        rundir.check_step(step, loss, finite)
        finite.append(loss)
        gnorm, rows = apply_update(model, opt, cfg, group)
    else:
        gnorm, rows = 0.0, {}
    return {"step": step + 1, "loss": loss, "lr": lr, "grad_norm": gnorm, "rows": rows}, tokens


# ---------------------------------------------------------------- the loop


def train(cfg: dict, work: Path, device, progress: bool = True, group=None):
    """Train in `work` (runs/<name>.partial), resuming from its state.pt: one stage, or K for a
    stream (schedule restarted, optimizer kept; each stage then evaluated into stream.json).
    Returns (model, tok, log, rows moved per layer and step (SMF; else {})); only the main process writes."""
    group, stream = group or distributed.Solo(device), bool(cfg.get("sequence"))  # Solo: one process
    torch.manual_seed(cfg["seed"])
    model, tok = common.load_model(cfg["model"], device=device)
    model.config.use_cache = False
    evals = eval.read_stream_rows(work) if stream else []
    if stream and not evals:  # the base model, before any memory or adapter is attached
        eval.add_stream_row(work, evals, lambda: eval.stream_base(model, tok, cfg, cfg["eval_limit"]), 0, 0)
    model, opt, extras = setup_method(model, tok, cfg, device, progress, group)
    plan, steps = stages(cfg, group, lambda own: check_tokens_to_learn(tok, own, cfg, device))
    cfg["resolved_steps"] = steps * len(plan)
    start, log = checkpoints.resume_state(work, model, opt, cfg)
    if group.main:  # the background statistics used, and the log on disk from the checkpoint's steps on
        if extras.get("background") is not None:
            checkpoints.save_background(extras["background"], str(work / "background.safetensors"))
        checkpoints.write_log(work, log)

    def save_state(step: int, stage: int):
        rundir.check_weights(model, cfg, step)  # a checkpoint never holds non-finite weights
        if group.main:
            checkpoints.write_state(work, {"step": step, **({"stage": stage} if stream else {}),
                                           "trainable": checkpoints.trainable_state(model, cfg), "optimizer": opt.state_dict(),
                                           "rng": torch.get_rng_state(), "log": log})
        group.barrier()  # no process goes on (or exits) before the checkpoint is written

    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bool(cfg["bf16"]))
    group.take_sent()  # the log counts each step's bytes (the background's were sent once, before)
    for s, (examples, schedule) in enumerate(plan):
        first = s * steps
        if start < first + steps:  # this stage is not (fully) trained yet
            model.train()
            tag = {"stage": s + 1} if stream else {}  # a stream's log rows name their stage
            finite = [r["loss"] for r in log if r.get("stage") == tag.get("stage") and math.isfinite(r["loss"])]
            bar = tqdm(range(max(start, first), first + steps), initial=max(start, first) - first, total=steps,
                       desc=cfg["method"] + (f" stage {s + 1}" if stream else ""), disable=not progress, dynamic_ncols=True)
            t0, tokens_seen = time.time(), 0
            with rundir.StopAfterStep(sigterm=True) as ctrl_c:
                for step in bar:
                    row, tokens = one_step(step, steps, model, opt, tok, examples, schedule[step - first], cfg, device,
                                           autocast, finite, group, first)
                    tokens_seen += tokens
                    rows = row.pop("rows")  # SMF: {layer: rows read, selected, moved}
                    # Ctrl-C (or torchrun's SIGTERM) on any process stops every process after this same step
                    stop = group.sum_numbers([float(ctrl_c.asked)])[0] > 0
                    log.append(row | tag | {"time": time.time() - t0} | ({"rows": rows} if rows else {})
                               | ({"comm_bytes": group.take_sent()} if group.world > 1 else {}))  # bytes all-reduced, by kind
                    if group.main:
                        checkpoints.append_log(work, log[-1])
                    bar.set_postfix(loss=f"{row['loss']:.3f}", tok_s=f"{tokens_seen / max(time.time() - t0, 1e-9):.0f}")
                    if stop or ((step + 1 - first) % cfg["save_every"] == 0 and step + 1 < first + steps):
                        save_state(step + 1, s)
                    if stop:
                        raise KeyboardInterrupt
            save_state(first + steps, s)  # kept until results.json is written, so --resume can finish an evaluation
        if stream:
            after_stage(model, tok, cfg, work, evals, extras.get("background"), s, first + steps)
    return model, tok, log, opt.moved if cfg["method"] == "smf" else {}


def after_stage(model, tok, cfg: dict, work: Path, evals: list[dict], background, s: int, step: int) -> None:
    """A stream's stage s is trained: with --fold-background its reads join SMF's background
    statistics (checkpoints.fold_background; resumed runs reload them); then every stage is
    evaluated once (stream.json row s + 1)."""
    if cfg.get("fold_background") and s + 1 < cfg["sequence"]:
        checkpoints.fold_background(model, tok, data.stage_examples(cfg)[s], background, cfg, work, s + 1)
    if len(evals) < s + 2:
        eval.add_stream_row(work, evals, lambda: eval.stream_suite(model, tok, cfg, cfg["eval_limit"]), s + 1, step)


# ---------------------------------------------------------------- the command line


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    processes = int(os.environ.get("WORLD_SIZE", "1"))  # torchrun sets it
    if args.lrs is not None or args.seeds is not None or args.steps_list is not None:  # "--lrs ''" is an empty sweep, refused
        flags.check_sweep(args)
        if processes > 1:
            raise SystemExit("error: a sweep (--lrs, --seeds, --steps-list) runs one process; start it with python, not torchrun.")
        return rundir.sweep(args, argv, resolve_config(args), main)
    if args.sequence is not None and processes > 1:
        raise SystemExit("error: a stream (--sequence) runs one process; start it with python, not torchrun.")
    cfg = resolve_config(args)
    if args.name is not None:
        settings.check_name(args.name)
    return rundir.start(cfg, args, distributed.from_env(args.device), train)


if __name__ == "__main__":
    sys.exit(main())
