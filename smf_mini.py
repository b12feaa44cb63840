"""smf_mini.py: which memory rows to train, and how to train only those.

Sparse Memory Finetuning in three steps (see docs/METHOD.md, "Which rows train"):

1. Background statistics (`collect_background`): read N background documents once and
   record, per value row, how many documents read it (document frequency, df) and how often
   it was read in total (b). Padding is never counted.
2. Ranking (`score_rows`, `select_rows`): for one optimizer step, count c(i), the reads of
   value row i by all tokens of all its micro-batches, and keep the top-t rows per layer by
   TF-IDF or KL (equations beside the code below). Unread rows (c(i) = 0) are never selected.

(memory.py calls the K*K value rows of a memory "slots" when it sizes them; here, where they
are ranked and trained, they are "rows", and i always indexes them.)
3. The sparse update (`SparseValueUpdate`): only those value rows move. With SGD a masked
   gradient is exact. With Adam, masking the gradient is NOT enough (momentum and the second
   moment keep moving a row long after its gradient is zeroed; docs/METHOD.md), so this
   file keeps Adam moments per row and touches a row's value and moments only on steps that
   select it.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from memory import ProductKeyMemory, count_reads, memory_layers

RULES = ("tfidf", "kl", "tf", "random")
OPTIMIZERS = ("sgd", "adamw")


# ---------------------------------------------------------------- 1. background statistics


class BackgroundStats:
    """Per memory layer: df (documents that read each row) and total reads, over n_docs documents.
    (Its file, and the cache across runs: checkpoints.save_background, cached_background.)"""

    def __init__(self, df: dict[int, torch.Tensor], total: dict[int, torch.Tensor], n_docs: int):
        self.df, self.total, self.n_docs = df, total, n_docs

    def add(self, other: "BackgroundStats") -> None:
        """Gain another set of counts, in place (the same layers): df and total reads add up, and
        so do the documents. A stream with --fold-background adds each stage's reads
        (fold_stage) so later stages rank the rows that earlier facts read as background; the
        optimizer holds this object, so its next step ranks with the new counts."""
        if set(other.df) != set(self.df):
            raise ValueError(f"background statistics of layers {sorted(other.df)} cannot be added to those of {sorted(self.df)}.")
        for i in self.df:
            self.df[i] += other.df[i].to(self.df[i].device)
            self.total[i] += other.total[i].to(self.total[i].device)
        self.n_docs += other.n_docs


@torch.no_grad()
def collect_background(model, tokenizer, docs: list[str], max_length: int = 256, batch_size: int = 8, progress: bool = True) -> BackgroundStats:
    """Run the model over background documents; one document = one row of a batch.

    Documents are truncated to max_length tokens. Padding reads get weight 0.
    """
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
            # BEGIN SOLUTION part3 "count this batch's reads per document (count_reads, per_row=True); df counts documents that read a row, total counts reads"
            c = count_reads(mem, enc["attention_mask"], per_row=True)  # (B, slots)
            df[i] += (c > 0).float().sum(0)
            total[i] += c.sum(0)
            # END SOLUTION
    model.train(was_training)
    return BackgroundStats(df, total, len(docs))


def fold_stage(background: BackgroundStats, model, tokenizer, texts: list[str], max_length: int = 256, batch_size: int = 8):
    """A protecting background (train.py --fold-background; not in the SMF papers): after a
    stage of a stream, read that stage's training texts with the model as it is now, one
    document per text, and add their counts to `background` in place. TF-IDF and KL then see
    the rows that the stage's facts read as rows "background text" reads, and rank them down
    in later stages, so new facts are written elsewhere. Returns the stage's own counts."""
    stage = collect_background(model, tokenizer, texts, max_length, batch_size, progress=False)
    background.add(stage)
    return stage


# ---------------------------------------------------------------- 2. ranking


def background_share(background: BackgroundStats, layer: int) -> torch.Tensor:
    """q(i) = (b(i) + 1) / sum_j (b(j) + 1): background text's share of reads of row i
    (b = its total reads, add-one smoothed), in float64; KL and --min-read-ratio use it."""
    # BEGIN SOLUTION part3 "add one to every row's background reads, then normalise to sum 1 (float64)"
    b = background.total[layer].double() + 1.0  # (rows,)
    return b / b.sum()
    # END SOLUTION


def check_rule(rule: str, background: BackgroundStats | None, min_read_ratio: float = 0.0) -> None:
    """A known ranking rule, with the background statistics that it (or min_read_ratio) needs."""
    if rule not in RULES:
        raise ValueError(f"unknown ranking rule {rule!r}; choose one of {', '.join(RULES)}.")
    if background is None and (rule in ("tfidf", "kl") or min_read_ratio > 0):
        what = f"rule {rule!r}" if rule in ("tfidf", "kl") else "min_read_ratio > 0"
        raise ValueError(f"{what} needs background statistics; collect them first, or use rule 'tf' (min_read_ratio 0).")


def score_rows(counts: torch.Tensor, rule: str, background: BackgroundStats | None = None, layer: int | None = None,
               generator: torch.Generator | None = None, min_read_ratio: float = 0.0) -> torch.Tensor:
    """Score every value row of one layer for this step. Unread rows (counts == 0) get -inf,
    and so do rows the step does not over-read when min_read_ratio > 0 (see below)."""
    check_rule(rule, background, min_read_ratio)
    c = counts.double()  # (rows,) reads of each row in this step
    p = c / c.sum().clamp_min(1.0)  # p(i) = c(i) / sum_j c(j): the step's read distribution
    if rule == "tf":
        score = p
    elif rule == "random":
        score = torch.rand(c.shape, generator=generator, dtype=torch.float64).to(c.device)
    else:
        # TF-IDF(i) = p(i) * log((N + 1) / (df(i) + 1)), N background documents, df(i) of
        # them read row i: rows this step reads a lot and background text rarely, first.
        # KL(i) = p(i) * log(p(i) / q(i)), q(i) = (b(i) + 1) / sum_j (b(j) + 1), b = background
        # reads: row i's own term of KL(p || q); negative where the step reads it less than
        # background text does (such rows rank below every over-read one).
        # BEGIN SOLUTION part4 "in float64 like p: TF-IDF p * log((N+1)/(df+1)); KL p * log(p/q), q = background_share (avoid log 0 for unread rows)"
        if rule == "tfidf":
            df = background.df[layer].double()  # (rows,)
            score = p * torch.log((background.n_docs + 1) / (df + 1))
        else:
            score = p * torch.log(torch.where(c > 0, p, 1.0) / background_share(background, layer))
        # END SOLUTION
    # BEGIN SOLUTION part4 "a row is eligible only if this step read it (c > 0)"
    eligible = c > 0
    # END SOLUTION
    if min_read_ratio > 0:  # over-read rows only, p(i) > R * q(i): tried and not kept (docs/RECIPE.md)
        eligible = eligible & (p > min_read_ratio * background_share(background, layer))
    return torch.where(eligible, score, torch.tensor(-math.inf, dtype=score.dtype, device=score.device))


def select_rows(counts: torch.Tensor, t: int, rule: str, background: BackgroundStats | None = None, layer: int | None = None,
                generator: torch.Generator | None = None, min_read_ratio: float = 0.0) -> torch.Tensor:
    """The top-t rows by `rule` (fewer if fewer were read, or eligible), as a LongTensor of row
    ids in increasing order. Rows scoring -inf (unread, or ineligible) are never returned.
    Exactly min(t, rows scoring above -inf) ids come back: among rows with equal scores at the
    cut, which are kept is not specified, but ties never add rows."""
    score = score_rows(counts, rule, background, layer, generator, min_read_ratio)
    # BEGIN SOLUTION part5 "the t highest scores (fewer if the table is smaller), drop -inf (unread) rows, return the row ids sorted"
    vals, idx = score.topk(min(t, score.numel()))
    return idx[torch.isfinite(vals)].sort().values  # drop unread (and ineligible) rows (one host sync per step)
    # END SOLUTION


# ---------------------------------------------------------------- 3. the sparse update


def rows_of_grad(grad: torch.Tensor | None, rows: torch.Tensor, missing_ok: bool = False) -> torch.Tensor | None:
    """grad[rows] in fp32, for a dense gradient table or a sparse one of the rows read
    (memory.RowsReadGrad; several micro-batches add up to an uncoalesced sum, which
    coalesce() adds up row by row). A selected row is always a row read, so it is among the
    sparse rows; the check below guards that promise rather than trusting it. On several
    processes (missing_ok) a row is selected from the counts of all of them, and a row this
    process's tokens did not read has gradient zero here."""
    if grad is None:
        return None
    if not grad.is_sparse:
        return grad.index_select(0, rows).float()
    have = grad._indices()[0]
    # RowsReadGrad returns its rows sorted and distinct, but autograd's accumulation drops
    # the 'coalesced' flag, and coalesce() re-sorts and re-sums every entry (100 ms for the
    # 60K rows read at 262K slots). Strictly increasing rows are already coalesced: check
    # that (O(rows read)) and coalesce only when several micro-batches were added up.
    if have.numel() > 1 and not bool((have[1:] > have[:-1]).all()):
        grad = grad.coalesce()
        have = grad._indices()[0]
    pos = torch.searchsorted(have, rows).clamp(max=max(have.numel() - 1, 0))
    if missing_ok:  # rows read elsewhere only: zeros (an empty sparse table has no values to pick)
        found = (have[pos] == rows) if have.numel() else torch.zeros_like(rows, dtype=torch.bool)
        out = grad._values().new_zeros(rows.numel(), grad.shape[1]).float()
        out[found] = grad._values().index_select(0, pos[found]).float()
        return out
    if rows.numel() and (have.numel() == 0 or not bool((have[pos] == rows).all())):
        raise RuntimeError("a selected memory row has no gradient: the counts and the backward pass saw different batches.")
    return grad._values().index_select(0, pos).float()


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

    Two knobs tried and not kept (off in every preset; docs/RECIPE.md, "Tried and not kept"):
    min_read_ratio R > 0 trains only rows this step over-reads, p(i) > R q(i) (score_rows);
    scale_lr > 0 also trains each memory's output scale (memory built with out_scale=True)
    by its own dense Adam at scale_lr times the schedule's factor.

    step() returns the record of the step, per layer: the rows read, selected and moved.
    """

    def __init__(self, model: nn.Module, t: int, rule: str = "tfidf", optimizer: str = "sgd", lr: float = 1.0,
                 background: BackgroundStats | None = None, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, seed: int = 0, row_step_cap: float = 0.0, min_read_ratio: float = 0.0,
                 scale_lr: float = 0.0):
        if t < 1:
            raise ValueError(f"top-t must be at least 1, got {t}.")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown SMF optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        check_rule(rule, background, min_read_ratio)
        self.mems: dict[int, ProductKeyMemory] = memory_layers(model)
        if not self.mems:
            raise ValueError("SMF needs a model with memory attached (memory.attach_memory).")
        self.t, self.rule, self.optimizer, self.background = t, rule, optimizer, background
        self.betas, self.eps, self.weight_decay, self.row_step_cap = betas, eps, weight_decay, row_step_cap
        self.min_read_ratio = min_read_ratio
        self.param_groups = [{"lr": lr}]  # the loop's schedule sets param_groups[0]["lr"]
        self.base_lr, self.scale_lr = lr, scale_lr
        self.generator = torch.Generator().manual_seed(seed)
        # Freeze everything, then let only the value tables have gradients.
        for p in model.parameters():
            p.requires_grad_(False)
        for mem in self.mems.values():
            mem.values.weight.requires_grad_(True)
            mem.sparse_grad = True  # gradients of the rows read only, not a (slots, dv) table
        self.scales = [m.scale for m in self.mems.values() if m.scale is not None]
        if scale_lr > 0 and len(self.scales) != len(self.mems):
            raise ValueError("scale_lr > 0 trains the memory's output scale, but this memory has none; "
                             "attach it with MemoryConfig(out_scale=True) (train.py does so when --scale-lr > 0).")
        self.scale_opt = None
        if scale_lr > 0:
            for a in self.scales:
                a.requires_grad_(True)
            self.scale_opt = torch.optim.Adam(self.scales, lr=scale_lr)
        self.counts = {i: torch.zeros(m.cfg.slots, device=m.values.weight.device) for i, m in self.mems.items()}
        # Several processes (distributed.py): reduce(tensor, kind) sums a tensor across them in
        # place; select() sums the read counts before ranking and the selected rows' gradients
        # after. None: one process.
        self.reduce = None
        self.selected: dict[int, torch.Tensor] = {}
        self.grads: dict[int, torch.Tensor | None] = {}
        self.state: dict[int, dict[str, torch.Tensor]] = {}
        self.moved: dict[int, list[torch.Tensor]] = {}  # per layer: the rows moved at each step (for the record)
        if optimizer == "adamw":
            for i, m in self.mems.items():
                w = m.values.weight
                self.state[i] = {"exp_avg": torch.zeros_like(w), "exp_avg_sq": torch.zeros_like(w),
                                 "steps": torch.zeros(w.shape[0], dtype=torch.long, device=w.device)}

    def parameters(self):
        return [m.values.weight for m in self.mems.values()] + (self.scales if self.scale_opt else [])

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
            if self.reduce is not None:  # every process ranks the counts of all: the same rows everywhere
                self.reduce(self.counts[i], "counts")
            rows = select_rows(self.counts[i], self.t, self.rule, self.background, i, self.generator, self.min_read_ratio)
            self.selected[i] = rows
            self.grads[i] = rows_of_grad(mem.values.weight.grad, rows, missing_ok=self.reduce is not None)
            mem.values.weight.grad = None
            if self.reduce is not None:  # the selected rows' gradients only: (t, dv), not the table
                if self.grads[i] is None:
                    self.grads[i] = mem.values.weight.new_zeros(rows.numel(), mem.values.weight.shape[1]).float()
                self.reduce(self.grads[i], "rows")
        if self.reduce is not None and self.scale_opt is not None:
            for a in self.scales:  # the output scales' dense gradients (one number per layer)
                if a.grad is None:
                    a.grad = torch.zeros_like(a)
                self.reduce(a.grad, "rows")
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
    def step(self) -> dict[str, dict[str, int]]:
        """Move the selected rows; reset counts and gradients. Returns the step's record per
        layer, {"layer": {"read", "selected", "moved"}}: the distinct rows its tokens read, the
        rows the ranking kept, and the selected rows whose value changed (an update too small
        to change a float32 value moves nothing), so moved <= selected <= read."""
        if not self.selected:
            self.select()
        lr = self.param_groups[0]["lr"]
        read = {i: int((self.counts[i] > 0).sum()) for i in self.selected}  # before the counts are reset
        start = {i: self.mems[i].values.weight.index_select(0, rows).clone() for i, rows in self.selected.items()}
        for i, mem in self.mems.items():
            rows, w, g = self.selected[i], mem.values.weight, self.grads.get(i)
            if g is None or rows.numel() == 0:
                continue
            if self.optimizer == "sgd":
                # w_i <- w_i - lr * g_i, selected rows i only (each row's move capped: self._capped)
                # BEGIN SOLUTION part6 "add the capped move -lr * g to the selected rows of w only (index_add_)"
                w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))
                # END SOLUTION
            else:
                # Row-wise AdamW. n_i counts the steps that selected row i (not all steps), so
                # the bias correction of a rarely selected row is its own:
                #   m_i <- b1 m_i + (1 - b1) g_i          v_i <- b2 v_i + (1 - b2) g_i^2
                #   w_i <- w_i - lr * (wd * w_i + (m_i / (1 - b1^n_i)) / (sqrt(v_i / (1 - b2^n_i)) + eps))
                # An unselected row's w, m, v and n are not read or written at all. The cap
                # (self._capped) applies to a row's whole move, weight decay included.
                # BEGIN SOLUTION part7 "gather the selected rows' m, v, n from self.state[i]; update them; write back rows only (index_copy_); move w by the capped delta"
                st = self.state[i]
                b1, b2 = self.betas
                st["steps"][rows] += 1
                n = st["steps"][rows].double().unsqueeze(1)  # (t, 1)
                m = st["exp_avg"].index_select(0, rows).mul_(b1).add_(g, alpha=1 - b1)  # (t, dv)
                v = st["exp_avg_sq"].index_select(0, rows).mul_(b2).addcmul_(g, g, value=1 - b2)  # (t, dv)
                st["exp_avg"].index_copy_(0, rows, m)
                st["exp_avg_sq"].index_copy_(0, rows, v)
                m_hat = m / (1 - b1 ** n).float()
                v_hat = v / (1 - b2 ** n).float()
                old = w.index_select(0, rows).float()
                delta = -lr * self.weight_decay * old - lr * m_hat / (v_hat.sqrt() + self.eps)
                w.index_copy_(0, rows, (old + self._capped(delta)).to(w.dtype))
                # END SOLUTION
        if self.scale_opt is not None:  # the output scales: dense Adam, following the rows' schedule
            self.scale_opt.param_groups[0]["lr"] = self.scale_lr * lr / self.base_lr
            self.scale_opt.step()
        record = {str(i): {"read": read[i], "selected": int(rows.numel()),
                           "moved": int((self.mems[i].values.weight.index_select(0, rows) != start[i]).any(dim=1).sum())}
                  for i, rows in self.selected.items()}
        self.zero_grad()
        for i in self.mems:
            self.counts[i].zero_()
        done, self.selected, self.grads = self.selected, {}, {}
        for i, rows in done.items():
            self.moved.setdefault(i, []).append(rows.cpu())
        return record

    def _capped(self, delta: torch.Tensor) -> torch.Tensor:
        """delta (t, dv): each row shortened to at most row_step_cap (L2); unchanged when the cap is 0."""
        if self.row_step_cap <= 0:
            return delta
        # BEGIN SOLUTION part6 "each row's L2 norm (dim=1); scale a row by min(1, cap / norm), never the whole update at once"
        norms = delta.norm(dim=1, keepdim=True)  # (t, 1)
        return delta * (self.row_step_cap / norms.clamp_min(1e-12)).clamp(max=1.0)
        # END SOLUTION

    def zero_grad(self, set_to_none: bool = True) -> None:
        for mem in self.mems.values():
            mem.values.weight.grad = None
        for a in self.scales:
            a.grad = None

    def state_dict(self) -> dict:
        sd = {"lr": self.param_groups[0]["lr"], "state": self.state, "generator": self.generator.get_state(), "moved": self.moved}
        if self.scale_opt is not None:
            sd["scale_opt"] = self.scale_opt.state_dict()
        return sd

    def load_state_dict(self, sd: dict) -> None:
        if self.scale_opt is not None:
            self.scale_opt.load_state_dict(sd["scale_opt"])
        self.param_groups[0]["lr"] = sd["lr"]
        self.state = sd["state"]
        self.generator.set_state(sd["generator"])
        self.moved = sd["moved"]
