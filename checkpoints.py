"""checkpoints.py: the files a run writes and reads back, one format each.

1. The memory (`save_memory`, `load_memory`, `read_memory_config`): memory.safetensors,
   either every memory tensor or, for SMF, only the value rows it changed and the seed that
   regenerates the rest (bit for bit).
2. Background statistics (`save_background`, `load_background`, `cached_background`):
   SMF's per-row document frequencies, stored sparsely and cached across runs.
3. The resumable state (`trainable_state`, `write_state`, `resume_state`) in state.pt, and
   the log (`write_log`, `append_log`), one JSON row per step.
4. The final checkpoint of each method (`save_checkpoint`) in the form eval.load_run reads.
5. The record of SMF's rows (`row_summary`, `describe_rows`): rows.json.

Every file is written atomically (common.atomic_path): a crash leaves the old file or the
new one, never half of one.
"""
from __future__ import annotations

import ast
import errno
import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import save_file

import common
import data
import inputs
import progress as progress_  # timed phases (`progress` is the bars flag here)
import smf_mini
from common import atomic_path
from memory import MemoryConfig, ProductKeyMemory, attach_memory, fresh_memories, memory_layers
from smf_mini import BackgroundStats


# ---------------------------------------------------------------- 1. the memory: memory.safetensors


def memory_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the memory parameters, keyed 'layer{i}.{name}'."""
    return {
        f"layer{i}.{name}": p.detach().contiguous()
        for i, mem in memory_layers(model).items()
        for name, p in mem.state_dict().items()
    }


def save_memory(model: nn.Module, path: str, rows_only: bool = False) -> None:
    """Write the memory parameters (not the base model) as one safetensors file, atomically.

    rows_only: store only the value rows that differ from the fresh memory this model's
    seed regenerates (`fresh_memories`), with the seed, and the output scales (a scalar per
    layer, when the memory has them); every other tensor is checked to be bit-identical to
    the regenerated one (SMF never changes them). `load_memory`
    regenerates and writes the rows back: the same tensors bit for bit. Falls back to the
    full form when the memory did not start from a seed (e.g. --init-memory) or anything
    else differs."""
    cfg = getattr(model, "smf_memory_config", None)
    if cfg is None:
        raise ValueError("this model has no memory attached; nothing to save.")
    sd = memory_state_dict(model)
    meta = {"memory_config": json.dumps(asdict(cfg))}
    seed = getattr(model, "smf_memory_seed", None)
    if rows_only and seed is not None:
        small = _changed_rows(sd, fresh_memories(model.config.hidden_size, cfg, seed, values_table=False))
        if small is not None:
            sd, meta = small, meta | {"regenerate_from_seed": str(seed)}
    with atomic_path(path) as tmp:
        save_file(sd, tmp, metadata=meta)


def changed_rows(values: torch.Tensor, start: torch.Tensor | None = None, block: int = 1 << 16) -> torch.Tensor:
    """Row ids (increasing, on values' device) where `values` differs from `start` (None: from
    zeros, a fresh table). Scanned in blocks of rows, so the comparison never builds a
    (slots, dv) mask or difference: at 1M rows x 576 that would be 600 MB (bool) or 2.4 GB."""
    out = []
    for s in range(0, values.shape[0], block):
        v = values[s : s + block]
        diff = v != 0 if start is None else v != start[s : s + block].to(device=v.device, dtype=v.dtype)
        out.append(diff.any(dim=1).nonzero().squeeze(1) + s)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=values.device)


def _changed_rows(sd: dict[str, torch.Tensor], fresh: dict[int, ProductKeyMemory]) -> dict[str, torch.Tensor] | None:
    """{layer{i}.rows, layer{i}.values}: the value rows of `sd` that differ from the fresh
    memory's (all zeros; `fresh` is built without its value tables), and layer{i}.scale, the
    output scale, kept as it is; None if any other tensor differs from `fresh` (then the
    small form cannot rebuild it exactly)."""
    out = {}
    for i, mem in fresh.items():
        for name, t in mem.state_dict().items():
            have = sd[f"layer{i}.{name}"].cpu()
            if name == "scale":
                out[f"layer{i}.scale"] = have.clone()
                continue
            if name != "values.weight":
                if not torch.equal(have, t.to(have.dtype)):
                    return None
                continue
            rows = changed_rows(have)  # (changed,): rows that are not all zeros
            out[f"layer{i}.rows"] = rows
            out[f"layer{i}.values"] = have.index_select(0, rows).contiguous()
    return out


def read_memory_config(path: str) -> MemoryConfig:
    """The memory configuration stored in a memory file's metadata (no tensors are read)."""
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    if "memory_config" not in meta:
        raise ValueError(f"{path} is not an smf-mini memory file (no memory_config in its metadata).")
    return MemoryConfig(**json.loads(meta["memory_config"]))


def load_memory(model: nn.Module, path: str) -> dict[int, ProductKeyMemory]:
    """Attach memory as saved in `path` (config included) and load its parameters.

    A model that already has memory must have exactly the file's configuration (layers and
    sizes); anything else is refused in one sentence rather than loaded in part."""
    cfg = read_memory_config(path)
    with safe_open(path, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        seed = (f.metadata() or {}).get("regenerate_from_seed")
    have = getattr(model, "smf_memory_config", None)
    if memory_layers(model) and have != cfg:
        raise ValueError(f"{path} holds memory {asdict(cfg)}, but this model already has memory {asdict(have)}; "
                         "load it into a model without memory.")
    if seed is not None:  # the small form: the seed's fresh memory, with the changed rows written back
        return _load_rows(model, cfg, int(seed), tensors, path)
    d_model = model.config.hidden_size
    width = tensors.get(f"layer{cfg.layers[0]}.values.weight")
    if width is not None and width.shape[1] != (cfg.value_dim or d_model):
        raise ValueError(f"{path} was made for a model of width {width.shape[1]}, but this model's width is {d_model}.")
    mems = memory_layers(model) or attach_memory(model, cfg)
    for i, mem in mems.items():
        own = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"layer{i}.")}
        if not own:
            raise ValueError(f"{path} has no tensors for memory layer {i}; the file is incomplete.")
        mem.load_state_dict(own)
    return mems


def _load_rows(model: nn.Module, cfg: MemoryConfig, seed: int, small: dict[str, torch.Tensor], path: str) -> dict[int, ProductKeyMemory]:
    """load_memory's small form, holding one value table per layer (the model's own): attach
    the seed's fresh memory (or, when the model already has memory, copy the seed's other
    tensors into it and zero its values), then write the saved rows (and scales) in place."""
    if any(f"layer{i}.rows" not in small for i in cfg.layers):
        raise ValueError(f"{path} has no rows for some memory layer of {cfg.layers}; the file is incomplete.")
    mems = memory_layers(model)
    if mems:
        fresh = fresh_memories(model.config.hidden_size, cfg, seed, values_table=False)
        with torch.no_grad():
            for i, mem in mems.items():
                for k, v in fresh[i].state_dict().items():
                    if k != "values.weight":
                        mem.state_dict()[k].copy_(v)
                mem.values.weight.zero_()
    else:
        mems = attach_memory(model, cfg, seed=seed)
    with torch.no_grad():
        for i, mem in mems.items():
            w = mem.values.weight
            if small[f"layer{i}.values"].shape[1:] != w.shape[1:]:
                raise ValueError(f"{path} was made for a model of width {small[f'layer{i}.values'].shape[1]}, "
                                 f"but this model's memory width is {w.shape[1]}.")
            w.index_copy_(0, small[f"layer{i}.rows"].to(w.device), small[f"layer{i}.values"].to(w.device, w.dtype))
            if mem.scale is not None and f"layer{i}.scale" in small:
                mem.scale.copy_(small[f"layer{i}.scale"])
    return mems


# ---------------------------------------------------------------- 2. background statistics


def save_background(bg: BackgroundStats, path: str) -> None:
    """Sparse on disk: per layer, the rows background text read (rows.{i}) and their df and
    total reads, so the file grows with the rows read, not with the table (a 1M-row layer
    read by 64 documents: ~60K rows). `load_background` rebuilds the dense (rows,) vectors."""
    tensors, slots = {}, {}
    for i, df in bg.df.items():
        rows = (bg.total[i] > 0).nonzero().squeeze(1)  # a row some document read (df > 0 too)
        slots[str(i)] = int(df.numel())
        tensors |= {f"rows.{i}": rows.cpu(), f"df.{i}": df[rows].cpu(), f"total.{i}": bg.total[i][rows].cpu()}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata={"n_docs": str(bg.n_docs), "slots": json.dumps(slots)})


def load_background(path: str, device: str | torch.device = "cpu") -> BackgroundStats:
    """save_background's file (or the older dense form, stored as is) as BackgroundStats."""
    with safe_open(path, framework="pt", device=str(device)) as f:
        meta = f.metadata() or {}
        n, t = int(meta["n_docs"]), {k: f.get_tensor(k) for k in f.keys()}
    slots = json.loads(meta.get("slots", "{}"))  # absent in the older dense form: stored as is

    def dense(kind: str, i: int) -> torch.Tensor:
        v = t[f"{kind}.{i}"]
        if str(i) not in slots:
            return v
        return torch.zeros(slots[str(i)], dtype=v.dtype, device=v.device).index_copy_(0, t[f"rows.{i}"], v)

    layers = [int(k.split(".")[1]) for k in t if k.startswith("df.")]
    return BackgroundStats({i: dense("df", i) for i in layers}, {i: dense("total", i) for i in layers}, n)


def fold_background(model, tok, examples: list[tuple[str, str]], bg: BackgroundStats, cfg: dict, work: Path, stage: int) -> None:
    """--fold-background after stage `stage` (1-based): add its training texts' reads to `bg`
    in place (smf_mini.fold_stage) and keep the grown statistics in
    work/background-stage{stage}.safetensors. A resumed run loads that file instead of reading
    again, so it ranks with exactly the counts the interrupted run had."""
    f = work / f"background-stage{stage}.safetensors"
    if f.exists():
        saved = load_background(str(f), next(model.parameters()).device)
        for i in bg.df:
            bg.df[i].copy_(saved.df[i])
            bg.total[i].copy_(saved.total[i])
        bg.n_docs = saved.n_docs
        return
    smf_mini.fold_stage(bg, model, tok, [p + c for p, c in examples], cfg["background_max_length"])
    save_background(bg, str(f))


def code_fingerprint(*files: str) -> bytes:
    """What these project files compute, without their comments and docstrings (their syntax
    trees), so that a cache keyed on it survives an edited comment but not a changed line of code."""
    out = []
    for f in files:
        tree = ast.parse((Path(__file__).resolve().parent / f).read_text())
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
        out.append(ast.dump(tree))
    return "\n".join(out).encode()


def cached_background(model, tok, cfg: dict, group, progress: bool = True) -> BackgroundStats:
    """Background statistics, computed once per (model, memory, documents) and cached.

    They depend only on the frozen model, the memory's keys and queries (fixed by its
    config and seed, or by --init-memory's file), the background documents and the code that
    makes the memory and counts its reads, so a sweep over learning rates or methods need not
    re-read the background (about 25 s each time on the offline default). group: the process
    group (distributed.Group or Solo); on several processes each reads its share of the
    documents, and only the main one writes the cache."""
    docs = data.background_docs(cfg)
    h = hashlib.sha1(json.dumps([cfg["model"], cfg["memory_slots"], cfg["memory_heads"], cfg["memory_topk"],
                                 cfg["memory_key_dim"], cfg["memory_layers"], cfg["memory_mode"], cfg["seed"],
                                 cfg["background_max_length"], docs]).encode())
    h.update(code_fingerprint("memory.py", "smf_mini.py"))  # how memory is made and reads are counted
    if cfg.get("init_memory"):
        h.update(data.init_memory_file(cfg).read_bytes())
    path = common.cache_dir() / "background" / f"{h.hexdigest()[:16]}.safetensors"
    with progress_.phase("background pass"):  # read from the cache, or a bar over its batches; then one timed line
        if group.broadcast(path.exists()):  # the main process decides for all
            return load_background(str(path), next(model.parameters()).device)
        bg = group.collect_background(model, tok, docs, cfg["background_max_length"], 8, progress)
    if group.main:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_background(bg, str(path))
    return bg


# ---------------------------------------------------------------- 3. the resumable state (state.pt) and the log


def trainable_state(model, cfg: dict) -> dict[str, torch.Tensor]:
    """Copies of what the method trains, for the resumable checkpoint (state.pt).

    SMF from a fresh memory (no --init-memory): only the value rows that differ from the fresh
    table, which is all zeros (layer{i}.rows, layer{i}.row_values), so state.pt grows with the
    rows trained, not with the table (a full copy is 2.4 GB per 1M-row layer); the rows are
    found by a blockwise scan (changed_rows), without a second table in memory. From
    --init-memory the start is not zeros, and the whole tables are kept (layer{i}.values)."""
    if cfg["method"] == "smf":  # the value tables, and the output scales when --scale-lr trains them
        mems = memory_layers(model).items()
        out = {f"layer{i}.scale": m.scale.detach().clone() for i, m in mems if m.scale is not None}
        if cfg.get("init_memory"):
            return out | {f"layer{i}.values": m.values.weight.detach().clone() for i, m in mems}
        for i, m in mems:
            rows = changed_rows(m.values.weight.detach())
            out |= {f"layer{i}.rows": rows, f"layer{i}.row_values": m.values.weight.detach().index_select(0, rows)}
        return out
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, cfg: dict, sd: dict[str, torch.Tensor]) -> None:
    """Put trainable_state's tensors back in place (resume); its rows-only form is written
    over a zeroed table (the fresh memory's values)."""
    with torch.no_grad():
        if cfg["method"] == "smf":
            for i, m in memory_layers(model).items():
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


# ---------------------------------------------------------------- 4. the final checkpoint


def save_checkpoint(model, tok, cfg: dict, work: Path, rows_changed) -> None:
    """The final checkpoint, in the form eval.py loads."""
    method = cfg["method"]
    if method in ("smf", "retrofit"):
        # SMF: only the value rows it moved, plus the seed that regenerates the rest
        save_memory(model, str(work / "memory.safetensors"), rows_only=method == "smf")
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


# ---------------------------------------------------------------- 5. the record of SMF's rows (rows.json)


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


def start_values(model, cfg: dict) -> dict[int, torch.Tensor | None]:
    """Each memory layer's value table as the run started: None for a fresh memory (as
    memory.attach_memory made it: all zeros, so no table is built), or read from
    --init-memory's file (either of save_memory's forms: the full tables, or the
    changed rows over a seed's memory)."""
    mcfg, d_model = model.smf_memory_config, model.config.hidden_size
    if not cfg.get("init_memory"):
        return {i: None for i in mcfg.layers}
    with safe_open(str(data.init_memory_file(cfg)), framework="pt") as f:
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
    for i, mem in memory_layers(model).items():
        w = mem.values.weight.detach()
        rows = changed_rows(w, start[i])  # (changed,), found blockwise: no (slots, dv) difference
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


def finished_work(work: Path, cfg: dict, no_eval: bool) -> bool:
    """Whether an interrupted run (work: runs/<name>.partial) had finished and was stopped only
    while being moved into place: its checkpoint and results.json are written (or, not
    evaluated, its checkpoint, with state.pt removed after training). --resume only moves it."""
    if not (work / inputs.RUN_CHECKPOINT.get(cfg["method"], "memory.safetensors")).exists():
        return False
    if (work / "results.json").exists():
        return True
    try:
        trained = "train_seconds" in json.loads((work / "config.json").read_text())
    except (OSError, ValueError, TypeError):
        return False
    return (no_eval or cfg["method"] == "retrofit") and trained and not (work / "state.pt").exists()
