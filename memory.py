"""memory.py: the product-key memory layer and how it joins a pretrained model.

Read this file first. It holds three things:

1. `ProductKeyMemory`, a key-value memory with K^2 slots that each token reads
   `heads * k` rows of (Lample et al. 2019 "Large Memory Layers with Product Keys",
   in the "Memory+" form used by Lin et al. 2025: a SiLU gate and an output projection).
2. `attach_memory`, which puts a memory beside (mode "add") or instead of (mode
   "replace") the MLP of chosen decoder layers of a Hugging Face Llama or Qwen2 model.
3. Counting which slots were read (one `bincount`, no host sync) and usage statistics.
   (Saving and loading the memory parameters: checkpoints.py.)

Shapes use: B batch, T tokens, N = B*T, d model width, H heads, k top-k per head,
K sub-keys per half (so K^2 slots), dk key dim, dv value dim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

# Architectures whose decoder layers expose `.mlp` fed by the post-attention RMSNorm.
SUPPORTED_MODEL_TYPES = ("llama", "qwen2")


@dataclass
class MemoryConfig:
    """Sizes of one memory layer. `slots` must be a perfect square (K^2)."""

    slots: int = 16_384  # K^2 value rows
    heads: int = 4  # independent queries per token; their reads are summed
    topk: int = 16  # rows kept per head
    key_dim: int = 256  # query/key width per head; each half gets key_dim // 2
    value_dim: int | None = None  # None: the model width
    layers: list[int] = field(default_factory=lambda: [12])
    mode: str = "add"  # "add": mlp(x) + memory(x);  "replace": memory(x) only
    # True: a learned scalar alpha per layer multiplies the output, alpha * memory(x), from 1 (the
    # seed paper's "+ trained scale"). Tried and not kept, off in every preset (docs/RECIPE.md).
    out_scale: bool = False

    def validate(self, n_layers: int | None = None) -> None:
        K = math.isqrt(self.slots)
        if self.slots < 1 or K * K != self.slots:
            raise ValueError(
                f"memory slots must be a perfect square (K*K for the product-key trick), got {self.slots}; "
                f"try {max(K, 1) ** 2} or {(K + 1) ** 2}."
            )
        if self.heads < 1 or self.topk < 1:
            raise ValueError(f"memory heads and topk must be >= 1, got heads={self.heads}, topk={self.topk}.")
        if self.topk > K:
            raise ValueError(f"memory topk ({self.topk}) cannot exceed the sub-keys per half (K={K}); use more slots or a smaller topk.")
        if self.key_dim < 2 or self.key_dim % 2:
            raise ValueError(f"memory key_dim must be even (two halves), got {self.key_dim}.")
        if self.mode not in ("add", "replace"):
            raise ValueError(f"memory mode must be 'add' or 'replace', got {self.mode!r}.")
        if not self.layers:
            raise ValueError("give at least one memory layer index, e.g. --memory-layers 12.")
        if n_layers is not None:
            bad = [i for i in self.layers if not 0 <= i < n_layers]
            if bad:
                raise ValueError(f"memory layer index {bad[0]} is out of range: this model has layers 0..{n_layers - 1}.")
        if len(set(self.layers)) != len(self.layers):
            raise ValueError(f"memory layers must be distinct, got {self.layers}.")


class RowsReadGrad(torch.autograd.Function):
    """The value table's gradient for the rows a batch read, and only those rows.

    Used as   read = embedding_bag(idx, values.detach(), w) + RowsReadGrad(idx, w, values):
    its forward adds zeros (so the read is unchanged, bit for bit), and its backward is
    the value gradient that embedding_bag would give,
      dL/dvalues[r] = sum over entries (n, j) with idx[n, j] = r of w[n, j] * g[n],
    but as a sparse tensor of the U distinct rows read (U <= N*H*k, and <= slots),
    coalesced and row-sorted. The dense path writes the same sums into a zero-filled
    (slots, dv) table: 37 MB per layer at 16K slots, 600 MB at 262K, 2.4 GB at 1M, nearly
    all zeros, and filling and adding it is O(slots) work on every step. Exact: the same
    products and sums; only the order in which a row's entries are added may differ
    (float rounding; a test compares with the dense gradient). The gradient of the read
    weights w (dL/dw[n, j] = values[idx[n, j]] . g[n]) still comes from embedding_bag's
    own backward, which is faster than anything written here in Python.
    """

    @staticmethod
    def forward(ctx, idx: torch.Tensor, w: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(idx, w)
        ctx.table_shape = values.shape
        return values.new_zeros(idx.shape[0], values.shape[1])  # (N, dv)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        idx, w = ctx.saved_tensors  # (N, Hk) each
        inv_rows, inv = torch.unique(idx.reshape(-1), sorted=True, return_inverse=True)  # (U,), (N*Hk,)
        order = inv.argsort()  # the entries grouped by the row they read
        offsets = torch.bincount(inv, minlength=inv_rows.numel()).cumsum(0).roll(1)
        offsets[0] = 0
        # One bag per distinct row r: the tokens n that read it (entry // Hk), weighted by w[n, j].
        sums = F.embedding_bag(order // idx.shape[1], g.contiguous(), offsets, per_sample_weights=w.reshape(-1)[order].to(g.dtype),
                               mode="sum")  # (U, dv)
        grad = torch.sparse_coo_tensor(inv_rows.unsqueeze(0), sums, ctx.table_shape, is_coalesced=True, check_invariants=False)
        return None, None, grad


def skip_normal_draws(n: int, chunk: int = 1 << 20) -> None:
    """Advance the global CPU random stream exactly as `torch.empty(n).normal_()` would, without
    making the n numbers (a test checks the stream state for several n).

    For n >= 16 floats, torch's CPU normal_ first draws n uniforms (one 32-bit draw each),
    plus 16 more when n is not a multiple of 16 (it redraws the last 16); uniform_ draws one
    32-bit number per float, so uniforms in chunks of at most 4 MB use the same draws.
    Below 16 floats normal_ takes another path: it is simply run."""
    if n < 16:
        torch.empty(n).normal_()
        return
    left = n + (16 if n % 16 else 0)
    buf = torch.empty(min(chunk, left))
    while left > 0:
        c = min(chunk, left)
        buf[:c].uniform_()
        left -= c


class ProductKeyMemory(nn.Module):
    """A product-key memory layer.

    out = W_out( read * silu(W_in x) ),  read = sum over heads of softmax-weighted value rows.
    """

    def __init__(self, d_model: int, cfg: MemoryConfig, values_table: bool = True):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.n_sub = math.isqrt(cfg.slots)  # K
        self.heads, self.topk = cfg.heads, cfg.topk
        self.half = cfg.key_dim // 2
        dv = cfg.value_dim or d_model
        # Query projection: one query of key_dim per head, split into two halves (see lookup).
        self.query = nn.Linear(d_model, cfg.heads * cfg.key_dim, bias=False)
        # Sub-keys: per head, two tables (one per half) of K keys each: (H, 2, K, dk/2).
        self.keys = nn.Parameter(torch.randn(cfg.heads, 2, self.n_sub, self.half) / math.sqrt(self.half))
        # The value table: (K^2, dv). These rows are the only thing SMF trains.
        # ZERO-INITIALISED, and this choice matters (docs/METHOD.md, "The memory layer"):
        #  - the memory then adds exactly 0 to the MLP output, so the model with memory
        #    attached computes the base model's logits bit for bit;
        #  - the gradient of a value row is sum_t w_t * (silu(W_in x_t) * W_out^T dL/dout_t),
        #    which does not involve the values themselves, so values get a real gradient
        #    on the very first step. Zeroing W_out (or a zero gate) would also give the base
        #    logits but would give the value rows a zero gradient, and SMF (which trains
        #    values only) could then never move.
        #
        # nn.Embedding would fill the table with normal draws and we would then zero it; the
        # table is built as zeros directly and the random stream is advanced by exactly the
        # draws that fill would have used (skip_normal_draws), so the query, W_in and W_out
        # drawn next are the same bit for bit (the seed gives the same memory as before), at a
        # third of the time (13 s -> 5 s for 1M rows x 576). values_table=False builds no
        # table at all (a 0-row placeholder): fresh_memories uses it to regenerate the other
        # tensors of a seed's memory without a second (slots, dv) table (2.4 GB at 1M rows).
        rows = cfg.slots if values_table else 0
        self.values = nn.Embedding(rows, dv, _weight=torch.zeros(rows, dv))
        skip_normal_draws(cfg.slots * dv)
        self.w_in = nn.Linear(d_model, dv, bias=False)
        self.w_out = nn.Linear(dv, d_model, bias=False)
        # The input is RMS-normalised (see `normalize`), so std 1/sqrt(d) gives O(1) query
        # entries and O(1) W_in outputs; keys have norm ~1, so half-scores are O(1).
        nn.init.normal_(self.query.weight, std=d_model ** -0.5)
        nn.init.normal_(self.w_in.weight, std=d_model ** -0.5)
        nn.init.normal_(self.w_out.weight, std=dv ** -0.5)
        # cfg.out_scale: alpha, 1 at the start (x * 1.0 == x bit for bit); made from no random draw.
        self.scale = nn.Parameter(torch.ones(())) if cfg.out_scale else None
        # The slots read by the last forward, (B, T, H*k), kept on the device for counting.
        self.last_indices: torch.Tensor | None = None
        # True (SMF sets it): the value table's gradient is a sparse tensor of the rows read
        # (RowsReadGrad) instead of a dense (slots, dv) table. Off for dense training
        # (full finetuning, retrofit), whose optimizers want dense gradients.
        self.sparse_grad = False

    @staticmethod
    def normalize(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
        """Parameter-free RMS normalisation of the memory's input.

        The MLP input of a pretrained model is RMSNorm(h) * gamma, and the learned gamma can
        be small (SmolLM2: input norm ~2.5 over 576 dims, entries ~0.1). Fed raw, the random
        query would give near-equal scores (a flat softmax over the k reads) and silu(W_in x)
        would be ~0.05, shrinking every value-row gradient ~20x. Rescaling to unit RMS makes
        the memory's behaviour independent of the host model's norm weights.
        """
        return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps).to(x.dtype)

    def lookup(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact top-k over all K^2 product keys. x: (N, d), already normalised -> scores (N, H, k), slot ids (N, H, k).

        A product key is (key1[a], key2[b]) and its score is q1.key1[a] + q2.key2[b]. The best
        k sums must each use a top-k entry of both halves, so scoring 2K halves and the k*k
        candidate sums finds the exact top-k at cost 2K + k^2 instead of K^2.

        Layout: self.query(x) is (N, H * key_dim); viewed as (N, H, 2, key_dim // 2) it holds,
        per head, the two halves q1 = [..., 0, :] and q2 = [..., 1, :]. self.keys is
        (H, 2, K, key_dim // 2): per head, the K first-half keys and the K second-half keys.
        Slot a*K + b pairs first-half key a with second-half key b. The k results of a head
        may come in any order; slot ids are int64 (torch.long).

        Graded on cost by counting, not timing: no Python loop over the N tokens (the number of
        torch operations must not grow with N), and no scoring of every key, all at once or
        token by token (the tensors made hold far fewer than N * H * K^2 entries in all).
        """
        # BEGIN SOLUTION part1 "score the 2K half-keys, keep the top-k of each half, then the top-k of the k*k sums; slot id = a*K + b"
        N, H, k, K = x.shape[0], self.heads, self.topk, self.n_sub
        q = self.query(x).view(N, H, 2, self.half)  # (N, H, 2, dk/2)
        # both halves in one product and one top-k (fewer, larger kernels than one per half)
        s = torch.einsum("nhsd,hskd->nhsk", q, self.keys)  # (N, H, 2, K)
        v, i = s.topk(k, dim=-1)  # (N, H, 2, k)
        v1, v2, i1, i2 = v[:, :, 0], v[:, :, 1], i[:, :, 0], i[:, :, 1]  # (N, H, k) each
        cand = (v1.unsqueeze(-1) + v2.unsqueeze(-2)).view(N, H, k * k)  # all k*k sums
        scores, flat = cand.topk(k, dim=-1)  # (N, H, k)
        a = i1.gather(-1, flat // k)  # which first-half key
        b = i2.gather(-1, flat % k)  # which second-half key
        return scores, a * K + b
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape  # (B, T, d)
        flat = self.normalize(x.reshape(-1, shape[-1]))  # (N, d), unit RMS
        scores, idx = self.lookup(flat)  # (N, H, k) each
        # Softmax over the k kept scores of each head in fp32 (bf16 softmax is coarse).
        w = torch.softmax(scores.float(), dim=-1).to(self.values.weight.dtype)
        idx2 = idx.reshape(flat.shape[0], -1)  # (N, H*k): all heads in one bag -> heads summed
        if self.sparse_grad and self.values.weight.requires_grad and torch.is_grad_enabled():
            # Same read; the value gradient comes from RowsReadGrad (rows read only).
            read = F.embedding_bag(idx2, self.values.weight.detach(), per_sample_weights=w.reshape(idx2.shape), mode="sum")
            read = read + RowsReadGrad.apply(idx2, w.reshape(idx2.shape).detach(), self.values.weight)
        else:
            read = F.embedding_bag(idx2, self.values.weight, per_sample_weights=w.reshape(idx2.shape), mode="sum")
        # Kept as a device tensor: counting it later is one bincount, no host sync.
        self.last_indices = idx2.view(*shape[:-1], -1)
        read = read.to(x.dtype)
        out = self.w_out(read * F.silu(self.w_in(flat)))
        if self.scale is not None:  # alpha * memory(x) (cfg.out_scale)
            out = out * self.scale.to(out.dtype)
        return out.view(shape)


class MemoryMLP(nn.Module):
    """Stands in a decoder layer's `.mlp` slot: mlp(x) + memory(x), or memory(x) alone."""

    def __init__(self, mlp: nn.Module | None, memory: ProductKeyMemory, mode: str):
        super().__init__()
        self.mlp = mlp  # None in "replace" mode: the MLP's weights are dropped
        self.memory = memory
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "replace":
            return self.memory(x)
        # With zero values the memory returns exact zeros and base + 0.0 == base bitwise.
        return self.mlp(x) + self.memory(x)


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder layer list of a supported causal LM (or a peft wrapper around one)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    model_type = getattr(getattr(base, "config", None), "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(
            f"smf-mini attaches memory to {', '.join(SUPPORTED_MODEL_TYPES)} models only; "
            f"this model's type is {model_type!r}."
        )
    return base.model.layers


def attach_memory(model: nn.Module, cfg: MemoryConfig, seed: int = 0) -> dict[int, ProductKeyMemory]:
    """Put a memory at each of `cfg.layers`. Returns {layer index: memory}.

    The memory is created in the model's dtype and on its device. Random parts (query,
    keys, W_in, W_out) come from `seed`, so the same seed gives the same memory.
    """
    layers = decoder_layers(model)
    cfg.validate(len(layers))
    param = next(model.parameters())
    for i in cfg.layers:
        if isinstance(layers[i].mlp, MemoryMLP):
            raise ValueError(f"layer {i} already has a memory attached.")
    memories = fresh_memories(model.config.hidden_size, cfg, seed)
    for i, mem in memories.items():
        mem.to(device=param.device, dtype=param.dtype)
        layers[i].mlp = MemoryMLP(layers[i].mlp if cfg.mode == "add" else None, mem, cfg.mode)
    model.smf_memory_config = cfg  # remembered for saving
    model.smf_memory_seed = seed  # what regenerates the fresh memory (save_memory's small form)
    return memories


def fresh_memories(d_model: int, cfg: MemoryConfig, seed: int, values_table: bool = True) -> dict[int, ProductKeyMemory]:
    """The memories `attach_memory` creates for this seed, in fp32 on the CPU, bit for bit
    (the global random state is left as it was). values_table=False: without their value
    tables (0-row placeholders; a fresh table is all zeros), for callers that only need the
    other tensors and must not hold a second copy of a large table."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return {i: ProductKeyMemory(d_model, cfg, values_table) for i in cfg.layers}
    finally:
        torch.random.set_rng_state(gen_state)


def memory_layers(model: nn.Module) -> dict[int, ProductKeyMemory]:
    """{layer index: memory} for a model that has memory attached ({} if none)."""
    try:
        layers = decoder_layers(model)
    except ValueError:
        return {}
    return {i: l.mlp.memory for i, l in enumerate(layers) if isinstance(l.mlp, MemoryMLP)}


# ---------------------------------------------------------------- counting reads


def count_reads(mem: ProductKeyMemory, token_mask: torch.Tensor | None = None, per_row: bool = False) -> torch.Tensor:
    """Reads per slot in the memory's last forward, padding excluded.

    token_mask: (B, T) with 1 for real tokens (the attention mask); None counts all.
    Returns (slots,) float32 counts, or (B, slots) if per_row, float32 with or without a mask.
    Raises ValueError if token_mask's shape is not (B, T) of the reads. One bincount, no host sync:
    padding is excluded by giving its reads weight 0 rather than by boolean indexing
    (which would need the number of kept entries on the host).
    """
    idx = mem.last_indices  # (B, T, H*k)
    if idx is None:
        raise RuntimeError("count_reads needs a forward pass through the model first.")
    S = mem.cfg.slots
    # BEGIN SOLUTION part2 "torch.bincount over the slot ids, with weight 0 for the reads of padding tokens; per_row: offset row b's ids by b*S"
    B = idx.shape[0]
    weights = None
    if token_mask is not None:
        if token_mask.shape != idx.shape[:2]:
            raise ValueError(f"token mask shape {tuple(token_mask.shape)} does not match the batch {tuple(idx.shape[:2])}.")
        weights = token_mask.to(torch.float32).unsqueeze(-1).expand(idx.shape).reshape(-1)
    if per_row:
        offsets = (torch.arange(B, device=idx.device) * S).view(B, 1, 1)
        c = torch.bincount((idx + offsets).reshape(-1), weights=weights, minlength=B * S)
        return c.view(B, S).float()
    return torch.bincount(idx.reshape(-1), weights=weights, minlength=S).float()
    # END SOLUTION


def usage_stats(counts: torch.Tensor) -> dict[str, float]:
    """How spread out the reads are: share of slots read at all, and how many slots
    carry 50 / 90 / 99% of all reads (fewer = more concentrated)."""
    c = counts.double().flatten()
    total = c.sum()
    out = {"slots": int(c.numel()), "reads": float(total), "share_read": float((c > 0).double().mean())}
    if total <= 0:
        return out | {"slots_50": 0, "slots_90": 0, "slots_99": 0}
    cum = torch.sort(c, descending=True).values.cumsum(0) / total
    for p in (50, 90, 99):
        out[f"slots_{p}"] = int(torch.searchsorted(cum, torch.tensor(p / 100, dtype=cum.dtype)).item()) + 1
    return out
