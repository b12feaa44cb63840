"""distributed.py: one run on several processes (torchrun), with one synchronized SMF selection.

    torchrun --nproc_per_node 2 train.py --method smf      # 2 processes (CPU: gloo, GPUs: NCCL)
    python train.py --method smf                           # one process: `Solo`, whose sums are no-ops

What each optimizer step sends between the processes (all as sums, all-reduce):

- every method: the step's number of target tokens BEFORE the backward passes, so that each
  process divides its summed token losses by the GLOBAL count and the summed gradients are
  exactly the gradient of one big batch; after them, the loss, tokens read and a stop flag
  (Ctrl-C on any process stops every process after the same step).
- SMF: the read counts of every memory row (one float per row and layer), so every process
  ranks the same counts and selects the same rows; then the gradients of the selected rows
  only (top-t rows x value width per layer), never the whole value table.
- LoRA, full finetuning, retrofit: every trainable gradient, in flat buckets (`sum_grads`),
  before clipping, so the clip sees the global gradient. An explicit all-reduce rather than
  DistributedDataParallel: DDP averages gradients (we need the sum, with the global token
  count as the one normaliser), needs no_sync() bookkeeping for accumulation, and would wrap
  the model that eval.py, peft and the checkpoint code expect plain. The price is no overlap
  of communication with the backward pass (docs/DISTRIBUTED.md).

Every process computes the same update from the same summed gradient, so the weights stay
equal on every process without ever being sent. `Group.sent` counts the bytes of every tensor
all-reduced, by kind, for the log and benchmarks/bench_distributed.py.
"""
from __future__ import annotations

import atexit
import datetime
import os

import torch
import torch.distributed as dist

import memory
import smf_mini
from settings import pick_device

# Seconds a collective waits for the other processes before failing (the backstop when one
# process dies without torchrun stopping the others); SMF_DIST_TIMEOUT overrides it.
DEFAULT_TIMEOUT_S = 1800
# Gradients are all-reduced in flat buckets of at most this many elements (128 MB in fp32),
# so full finetuning needs no second copy of the whole gradient.
BUCKET_ELEMENTS = 32 * 2**20


class Group:
    """This process's place in the run (rank of world) and the all-reduces the loop uses."""

    def __init__(self, rank: int, world: int, device: torch.device):
        self.rank, self.world, self.device = rank, world, device
        self.main = rank == 0  # only the main process writes files and evaluates
        self.sent: dict[str, int] = {}  # bytes all-reduced, by kind, since the last take_sent()
        self.announced = False  # whether the main process has told the others which run folder to train in

    def sum_(self, t: torch.Tensor, kind: str) -> torch.Tensor:
        """All-reduce (sum) t in place across the processes; counts its bytes under `kind`."""
        self.sent[kind] = self.sent.get(kind, 0) + t.numel() * t.element_size()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def sum_numbers(self, values: list[float], kind: str = "control") -> list[float]:
        """A few numbers summed across the processes (float64, so token counts stay exact)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        return self.sum_(t, kind).tolist()

    def take_sent(self) -> dict[str, int]:
        """The bytes all-reduced since the last call, by kind; the counter restarts."""
        out, self.sent = self.sent, {}
        return out

    def broadcast(self, obj):
        """The main process's `obj` on every process (a picklable object)."""
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        dist.barrier()

    def sum_grads(self, params: list[torch.Tensor]) -> None:
        """Every dense gradient of `params` summed across the processes (sum_grads)."""
        sum_grads(params, self)

    def collect_background(self, model, tok, docs: list[str], max_length: int, batch_size: int, progress: bool = True):
        """SMF's background statistics, each process reading its share (collect_background)."""
        return collect_background(model, tok, docs, max_length, batch_size, self)

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()


class Solo:
    """The process group of a run on one process (plain `python train.py`): the same methods as
    Group, with nothing to send: a sum is the number itself, a broadcast the object itself, and
    this process is the main one. So the training loop has no branch for one process."""

    rank, world, main, announced = 0, 1, True, True

    def __init__(self, device: torch.device):
        self.device = device

    def sum_(self, t: torch.Tensor, kind: str) -> torch.Tensor:
        return t

    def sum_numbers(self, values: list[float], kind: str = "control") -> list[float]:
        return list(values)

    def take_sent(self) -> dict[str, int]:
        return {}

    def broadcast(self, obj):
        return obj

    def barrier(self) -> None:
        pass

    def sum_grads(self, params: list[torch.Tensor]) -> None:
        pass

    def collect_background(self, model, tok, docs: list[str], max_length: int, batch_size: int, progress: bool = True):
        return smf_mini.collect_background(model, tok, docs, max_length, batch_size, progress=progress)


_GROUP: Group | None = None  # this process's group, made once (see from_env)


def from_env(device_arg: str) -> Group | Solo:
    """The process group when started by torchrun with more than one process (WORLD_SIZE, RANK
    and LOCAL_RANK set), else Solo: a plain `python train.py` makes no process group at all.
    CPU processes use gloo; GPU processes use NCCL, one GPU each (cuda:LOCAL_RANK).
    The group is made once per process and kept until it exits: a second train.main() in
    the same processes reuses it (destroying and re-making a group on torchrun's store can
    pair a process with the other's stale address from the first group, and hang)."""
    global _GROUP
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = pick_device(device_arg)  # --device checked once, in settings.py
    if world <= 1:
        return Solo(device)
    if _GROUP is not None:
        _GROUP.announced, _GROUP.sent = False, {}
        return _GROUP
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.type == "cuda"
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise SystemExit(f"error: torchrun started {local + 1}+ processes on this machine but torch sees "
                             f"{torch.cuda.device_count()} GPU(s); use --nproc_per_node {torch.cuda.device_count()} or fewer.")
        device = torch.device(f"cuda:{local}")
        torch.cuda.set_device(device)
    timeout = datetime.timedelta(seconds=int(os.environ.get("SMF_DIST_TIMEOUT", DEFAULT_TIMEOUT_S)))
    dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world, timeout=timeout)
    _GROUP = Group(rank, world, device)
    atexit.register(_GROUP.close)
    return _GROUP


# ---------------------------------------------------------------- data: each process's share


def my_share(step_batch: list[list[int]], rank: int, world: int, batch_size: int) -> list[list[int]]:
    """This process's micro-batches of one optimizer step. `step_batch` is the step's micro-
    batches as ONE process would cut the global batch (train.batch_schedule at batch_size x
    world): the global batch is cut into `world` contiguous slices, and this process cuts its
    slice into micro-batches of batch_size. Process r of N thus trains on exactly the examples
    of the single process's batch (N x batch_size) that fall in its r-th slice."""
    flat = [i for mb in step_batch for i in mb]
    per = -(-len(flat) // world)  # ceil: the last slice may be shorter (an epoch's last batch)
    mine = flat[rank * per : (rank + 1) * per]
    return [mine[j : j + batch_size] for j in range(0, len(mine), batch_size)]


# ---------------------------------------------------------------- gradients


@torch.no_grad()
def sum_grads(params: list[torch.Tensor], group: Group) -> None:
    """All-reduce (sum) the dense gradients of `params` in flat buckets. A parameter that got no
    gradient on this process (its share of the step had nothing for it) sends zeros, so that
    every process takes part in the same all-reduces with the same sizes."""
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    bucket: list[torch.Tensor] = []
    size = 0
    for p in params + [None]:  # None flushes the last bucket
        if p is not None and (not bucket or (p.grad.dtype == bucket[0].dtype and size + p.numel() <= BUCKET_ELEMENTS)):
            bucket.append(p.grad)
            size += p.numel()
            continue
        if bucket:
            flat = group.sum_(torch.cat([g.reshape(-1) for g in bucket]), "grads")
            for g, part in zip(bucket, flat.split([g.numel() for g in bucket])):
                g.copy_(part.view_as(g))
        bucket, size = ([p.grad], p.numel()) if p is not None else ([], 0)


# ---------------------------------------------------------------- SMF's background statistics


@torch.no_grad()
def collect_background(model, tok, docs: list[str], max_length: int, batch_size: int, group: Group) -> smf_mini.BackgroundStats:
    """smf_mini.collect_background with the documents shared out: the batches of batch_size
    documents that one process would read, process r taking batches r, r + N, r + 2N, ...;
    then df and total reads are summed across the processes. Each batch is read exactly as one
    process reads it (same documents, same padding), so the statistics are the same numbers."""
    mems_slots = {i: m.cfg.slots for i, m in memory.memory_layers(model).items()}
    dev = next(model.parameters()).device
    df = {i: torch.zeros(s, device=dev) for i, s in mems_slots.items()}
    total = {i: torch.zeros(s, device=dev) for i, s in mems_slots.items()}
    starts = range(group.rank * batch_size, len(docs), group.world * batch_size)
    for s in starts:
        part = smf_mini.collect_background(model, tok, docs[s : s + batch_size], max_length, batch_size, progress=False)
        for i in df:
            df[i] += part.df[i]
            total[i] += part.total[i]
    for i in df:  # one all-reduce per table, in the same order on every process
        group.sum_(df[i], "background")
        group.sum_(total[i], "background")
    return smf_mini.BackgroundStats(df, total, len(docs))
