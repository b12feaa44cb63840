"""inputs.py: what every input must be, checked before the model loads.

The principle: every input a run will read is checked to be the kind of thing it must be
(a regular file where a file is read, a folder where a folder is read, a checkpoint that is
whole, a size that fits this machine), before the model loads; every flag either acts or is
refused (flags.py). A problem ends in one sentence that names the path or flag and the fix.

The checks here know nothing of the method code; they are small functions over paths,
numbers and configs, called in one line from where the inputs are resolved (runs.py,
train.py, eval.py, tasks.py, common.py and the scripts). Each raises InputError (a
ValueError, so the callers' existing "error: ..." handling applies) or SystemExit("error: ...").

- Paths that are not regular files (`regular_file`, `folder`): a FIFO or a character device
  blocks a reader forever (/dev/zero never ends a line), a socket cannot be opened, a folder
  is no file. Checked with stat, never by opening.
- Damaged files the program wrote (`safetensors_file`, `torch_file`, `json_file`,
  `model_folder`, `run_config`, `run_checkpoint`, `resume_files`, `run_paths`): read as far as the headers say, so a
  truncated, empty or garbage file is named before anything is loaded.
- Task rows that can measure something (`check_measurable`).
- Sizes (`check_fits`, `memory_layer_bytes`, `lora_bytes`, `model_bytes`, `batch_bytes`,
  `schedule_bytes`): every tensor a flag sizes, counted against this machine's memory.
- The hub (`hub_reachable`): offline, a hub id is refused at once instead of after retries.
"""
from __future__ import annotations

import json
import math
import os
import stat
import struct
import zipfile
from pathlib import Path


class InputError(ValueError):
    """An input that is not what it must be; str(e) is the sentence (without "error: ")."""


# ---------------------------------------------------------------- what kind of path


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a plain file"


def regular_file(path, what: str = "", fix: str = "give a regular file") -> Path:
    """`path` (symbolic links followed) is an existing regular file; else one sentence.
    what: how the sentence names it (default: the path)."""
    p = Path(path)
    name = what or str(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{name} does not exist; {fix}.") from None
    except NotADirectoryError:
        raise InputError(f"{name}: a part of the path is a file, not a folder; {fix}.") from None
    except OSError as e:
        raise InputError(f"{name} cannot be read ({e.strerror}); {fix}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{name} is not a regular file ({_kind(st.st_mode)}); {fix}.")
    return p


def folder(path, what: str = "", fix: str = "give a folder") -> Path:
    """`path` is an existing folder; else one sentence."""
    p = Path(path)
    name = what or str(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{name} does not exist; {fix}.") from None
    except OSError as e:
        raise InputError(f"{name} cannot be read ({e.strerror}); {fix}.") from None
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{name} is not a folder ({_kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}); {fix}.")
    return p


def absent_or_regular(path, fix: str) -> None:
    """A file that may be missing, but when present is a regular file."""
    if os.path.lexists(path):
        regular_file(path, fix=fix)


# ---------------------------------------------------------------- damaged files


def json_file(path, kind: type = dict, fix: str = "rerun what made it") -> object:
    """A regular file holding JSON of `kind` (dict or list); returns it."""
    regular_file(path, fix=fix)
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path} is damaged (not valid JSON); {fix}.") from None
    if not isinstance(obj, kind):
        raise InputError(f"{path} is damaged (JSON {type(obj).__name__}, not {'an object' if kind is dict else 'a list'}); {fix}.")
    return obj


def safetensors_file(path, fix: str, kind: str = "a safetensors file") -> dict:
    """A whole safetensors file: 8-byte header length, JSON header, and the tensors' bytes all
    there (a truncated file ends before the last tensor's end). Returns the header (tensor
    name -> dtype, shape, data_offsets; "__metadata__")."""
    p = regular_file(path, fix=fix)
    size = p.stat().st_size
    try:
        with open(p, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError("shorter than a safetensors header")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, 100 * 2**20):
                raise ValueError("header length beyond the file")
            header = json.loads(f.read(n))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError, struct.error):
        raise InputError(f"{path} is not {kind} (damaged, or another kind of file); {fix}.") from None
    if 8 + n + end > size:
        raise InputError(f"{path} is damaged (truncated: {size:,} bytes of {8 + n + end:,}); {fix}.")
    return header


def torch_file(path, fix: str) -> None:
    """A whole torch.save file (a zip archive whose directory reads and whose members fit)."""
    p = regular_file(path, fix=fix)
    try:
        with zipfile.ZipFile(p) as z:
            if not z.namelist() or not any(n.endswith("data.pkl") for n in z.namelist()):
                raise zipfile.BadZipFile("no pickle")
            size = p.stat().st_size
            if any(i.header_offset + i.compress_size > size for i in z.infolist()):
                raise zipfile.BadZipFile("truncated")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError(f"{path} is damaged (empty, truncated or not a checkpoint); {fix}.") from None


def memory_file(path, d_model: int | None, fix: str) -> dict:
    """A whole memory.safetensors (memory.save_memory's either form) made for width d_model.
    Returns its memory config (a dict)."""
    header = safetensors_file(path, fix, "a memory file that can be read")
    meta = header.get("__metadata__") or {}
    try:
        mcfg = json.loads(meta["memory_config"])
        layers = list(mcfg["layers"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path} is not an smf-mini memory file (no memory_config in its metadata); {fix}.") from None
    if d_model is not None and layers:
        t = header.get(f"layer{layers[0]}.values.weight") or header.get(f"layer{layers[0]}.values")
        width = t["shape"][-1] if t else None
        want = mcfg.get("value_dim") or d_model
        if width is not None and width != want:
            raise InputError(f"{path} was made for a model of width {width}, but this model's width is {d_model}; "
                             f"use a memory made for this model, or the model it was made for.")
        q = header.get(f"layer{layers[0]}.query.weight")
        if q is not None and q["shape"][-1] != d_model:
            raise InputError(f"{path} was made for a model of width {q['shape'][-1]}, but this model's width is {d_model}; "
                             f"use a memory made for this model, or the model it was made for.")
    return mcfg


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")


def model_folder(path, name: str) -> dict:
    """A local model folder: config.json (an object), a tokenizer, and whole weights.
    Returns the config as a dict. name: how the sentence names the folder (--model X)."""
    p = Path(path)
    fix = "give a model folder made with save_pretrained (model and tokenizer)"
    cfg = json_file(p / "config.json", dict, fix=fix)
    if not any(os.path.lexists(p / f) for f in TOKENIZER_FILES):
        raise InputError(f"{name}: {p} has no tokenizer ({', '.join(TOKENIZER_FILES[:2])}, ...); save the tokenizer "
                         "into it too (tokenizer.save_pretrained).")
    for f in TOKENIZER_FILES + ("tokenizer_config.json", "special_tokens_map.json", "merges.txt"):
        absent_or_regular(p / f, fix)
    weights = [f for f in ("model.safetensors", "pytorch_model.bin") if os.path.lexists(p / f)]
    index = [f for f in ("model.safetensors.index.json", "pytorch_model.bin.index.json") if os.path.lexists(p / f)]
    if not weights and not index:
        raise InputError(f"{name}: {p} has no weights (model.safetensors or pytorch_model.bin); {fix}.")
    for f in weights:
        (safetensors_file if f.endswith(".safetensors") else regular_file)(p / f, fix=fix)
    for f in index:
        idx = json_file(p / f, dict, fix=fix)
        for shard in sorted(set((idx.get("weight_map") or {}).values())):
            (safetensors_file if shard.endswith(".safetensors") else regular_file)(p / shard, fix=fix)
    return cfg


RUN_CHECKPOINT = {"full": "model", "lora": "adapter", "smf": "memory.safetensors", "retrofit": "memory.safetensors"}


def run_config(run_dir) -> dict:
    """A run folder's config.json: a regular file holding an object with a known method."""
    run_dir = Path(run_dir)
    cfg = json_file(run_dir / "config.json", dict, fix="rerun the training")
    if cfg.get("method") not in RUN_CHECKPOINT:
        raise InputError(f"{run_dir}/config.json names an unknown method {cfg.get('method')!r}; rerun the training.")
    if cfg["method"] != "full" and not isinstance(cfg.get("model"), str):
        raise InputError(f"{run_dir}/config.json is damaged (no model named); rerun the training.")
    return cfg


def run_checkpoint(run_dir, cfg: dict, d_model: int | None) -> None:
    """The checkpoint of a finished run, whole, in the form its method saves (d_model: the
    base model's width, for a memory)."""
    run_dir = Path(run_dir)
    fix = "the run did not finish or was damaged; rerun the training"
    ckpt = run_dir / RUN_CHECKPOINT[cfg["method"]]
    if not os.path.lexists(ckpt):
        raise InputError(f"{run_dir} has no checkpoint ({ckpt.name} is missing); {fix}.")
    if cfg["method"] in ("smf", "retrofit"):
        memory_file(ckpt, d_model, fix)
    elif cfg["method"] == "lora":
        folder(ckpt, fix=fix)
        json_file(ckpt / "adapter_config.json", dict, fix=f"the adapter in {ckpt} is incomplete; rerun the training")
        w = ckpt / "adapter_model.safetensors"
        if os.path.lexists(w) or not os.path.lexists(ckpt / "adapter_model.bin"):
            safetensors_file(w, fix=f"the adapter in {ckpt} is incomplete; rerun the training")
    else:
        folder(ckpt, fix=fix)
        model_folder(ckpt, str(ckpt))
    absent_or_regular(run_dir / "rows.json", fix)
    if os.path.lexists(run_dir / "rows.json"):
        json_file(run_dir / "rows.json", dict, fix="delete it (it is the record of the memory rows) or rerun the training")


def resume_files(work) -> None:
    """What --resume reads from an interrupted run (runs/<name>.partial), whole: config.json,
    state.pt, and a stream's stream.json; checked before the model loads."""
    work = Path(work)
    fix = f"delete {work} to start again"
    json_file(work / "config.json", dict, fix=f"the interrupted run cannot be resumed safely; {fix}")
    if os.path.lexists(work / "state.pt"):
        torch_file(work / "state.pt", fix=f"the interrupted run cannot be resumed from it; {fix}")
    if os.path.lexists(work / "stream.json"):
        json_file(work / "stream.json", list, fix=f"the stream's evaluations cannot be resumed from it; {fix}")
    absent_or_regular(work / "log.jsonl", fix)


def run_paths(runs_dir, name: str) -> None:
    """The paths a run named `name` uses under runs_dir are absent or of the right kind:
    runs/<name>, <name>.partial and <name>.old (folders), .<name>.lock (a file). A file named
    like the run is never moved aside or replaced."""
    r = Path(runs_dir)
    for p, want in ((r / name, "dir"), (r / f"{name}.partial", "dir"), (r / f"{name}.old", "dir"), (r / f".{name}.lock", "file")):
        if not os.path.lexists(p):
            continue
        mode = os.lstat(p).st_mode
        if want == "dir" and not stat.S_ISDIR(mode):
            raise InputError(f"{p} is {_kind(mode) if not stat.S_ISREG(mode) else 'a file'}, not a run folder, and is in the "
                             f"way of the run {name!r}; move it away, or choose another --name.")
        if want == "file" and not stat.S_ISREG(mode):
            raise InputError(f"{p} (the run's lock) is {_kind(mode)}, not a lock file; remove it, or choose another --name.")


# ---------------------------------------------------------------- task rows that can measure something


def degenerate(r: dict) -> str | None:
    """Why a multiple-choice row cannot measure anything (None: it can): an empty question, an
    empty option, or options all the same (every answer is then right)."""
    opts = [r[k].strip().casefold() for k in ("opa", "opb", "opc", "opd")]
    if not r["question"].strip():
        return "its question is empty"
    if not all(opts):
        return "an option is empty"
    if len(set(opts)) == 1:
        return "its four options are the same"
    return None


def check_measurable(rows: list[dict], f, strict: bool) -> list[dict]:
    """The rows, once they can measure something. strict (a task file the user made, --task
    mcq): every row, and the answer's text differs from every other option (a model that
    scores option texts cannot tell them apart). Otherwise (MedMCQA as published, which holds
    a few such rows and is scored whole by the harness): refused only when no row can."""
    if strict:
        for n, r in enumerate(rows, 1):
            opts = [r[k].strip().casefold() for k in ("opa", "opb", "opc", "opd")]
            why = degenerate(r) or ("its answer's text is also another option" if r["cop"] in range(4)
                                    and opts.count(opts[r["cop"]]) > 1 else None)
            if why:
                raise ValueError(f"{f}, row {n}: {why}, so it cannot measure anything; fix or remove that row.")
    elif rows and all(degenerate(r) for r in rows):
        raise ValueError(f"{f}, row 1: {degenerate(rows[0])}, and so is every row: the file cannot measure anything; "
                         "check the file.")
    return rows


# ---------------------------------------------------------------- sizes against this machine

FLOAT = 4  # bytes of an fp32 number


def machine_memory() -> int:
    """This machine's physical memory in bytes (0 when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_fits(need: float, what: str, fix: str) -> None:
    """need (bytes) within this machine's memory; else one sentence saying what and the fix."""
    have = machine_memory()
    if have and need > have:
        raise InputError(f"{what} needs about {gib(need)}, more than this machine's {gib(have)}; {fix}.")


def memory_layer_bytes(cfg: dict, d_model: int, method: str) -> dict[str, float]:
    """Bytes of the memory layers' tensors by kind (values, keys, queries, in/out projections),
    with the gradients and optimizer state the method keeps: SMF trains the value rows only
    (SGD: the table alone, its gradient holds the rows read; adamw: two moment tables), a
    retrofit trains every memory tensor with AdamW (weights, gradient, two moments)."""
    slots, heads, key_dim, n = cfg["memory_slots"], cfg["memory_heads"], cfg["memory_key_dim"], len(cfg["memory_layers"])
    k = math.isqrt(slots)
    dv = d_model
    trained = 4 if method == "retrofit" else 1
    values = (1 if method == "smf" and cfg.get("smf_optimizer") == "sgd" else 3) * slots * dv
    return {"values": n * FLOAT * values,
            "keys": n * FLOAT * trained * heads * k * key_dim,  # (heads, 2, K, key_dim/2)
            "queries": n * FLOAT * trained * d_model * heads * key_dim,  # the query projection
            "projections": n * FLOAT * trained * 2 * d_model * dv}  # w_in, w_out


def lookup_bytes(cfg: dict, tokens: int) -> float:
    """The memory lookup's scores for `tokens` tokens of a micro-batch: per head, K scores per
    half and topk x topk candidates, kept for the backward pass."""
    k = math.isqrt(cfg["memory_slots"])
    return len(cfg["memory_layers"]) * FLOAT * 2 * tokens * cfg["memory_heads"] * (2 * k + cfg["memory_topk"] ** 2)


def model_shape(config) -> dict:
    """The numbers that size a decoder model, from its config (an object or a dict)."""
    g = (lambda k, d=None: config.get(k, d)) if isinstance(config, dict) else (lambda k, d=None: getattr(config, k, d))
    d, layers = int(g("hidden_size")), int(g("num_hidden_layers"))
    heads = int(g("num_attention_heads") or 1)
    head_dim = int(g("head_dim") or d // heads)
    kv = int(g("num_key_value_heads") or heads) * head_dim
    inter = int(g("intermediate_size") or 4 * d)
    vocab = int(g("vocab_size") or 0)
    return {"d": d, "layers": layers, "q": heads * head_dim, "kv": kv, "inter": inter, "vocab": vocab,
            "tied": bool(g("tie_word_embeddings", True))}


def model_bytes(config) -> float:
    """fp32 bytes of the model's weights, counted from its config."""
    s = model_shape(config)
    per_layer = s["d"] * (2 * s["q"] + 2 * s["kv"]) + 3 * s["d"] * s["inter"] + 2 * s["d"]
    return FLOAT * (s["layers"] * per_layer + s["vocab"] * s["d"] * (1 if s["tied"] else 2))


def lora_bytes(config, r: int) -> float:
    """LoRA's adapters on every attention and MLP projection: r x (in + out) per projection,
    with gradients and AdamW's two moments."""
    s = model_shape(config)
    per_layer = (s["d"] + s["q"]) * 2 + (s["d"] + s["kv"]) * 2 + (s["d"] + s["inter"]) * 3
    return 4 * FLOAT * s["layers"] * r * per_layer


def batch_tokens(examples: list[tuple[str, str]], batch_size: int, max_length: int) -> tuple[int, int]:
    """(tokens, target tokens) of the largest micro-batch, counted low: a token is taken as
    4 bytes of text (most are shorter), each example cut at max_length."""
    lengths = sorted(((min(max_length, len((p + c).encode()) // 4 + 1), min(max_length, len(c.encode()) // 4 + 1))
                      for p, c in examples), reverse=True)[:batch_size]
    return sum(a for a, _ in lengths), sum(b for _, b in lengths)


def batch_bytes(config, tokens: int, targets: int) -> float:
    """A micro-batch's activations, counted low: the output head's logits and their gradient
    on the target tokens (fp32), and a few hidden states of the model's width per layer."""
    s = model_shape(config)
    return FLOAT * (2 * targets * s["vocab"] + 8 * tokens * s["layers"] * s["d"])


def schedule_bytes(steps: int, per_step: int) -> float:
    """The run's batch order, built before the first step: one Python int (~36 bytes in a
    list) per example of every step."""
    return 36.0 * steps * per_step


def check_memory_parts(cfg: dict, d_model: int) -> None:
    """The memory layers' tensors besides the value tables (keys, queries, projections), with
    the method's gradients and optimizer state, within this machine's memory (InputError)."""
    parts = memory_layer_bytes(cfg, d_model, cfg["method"])
    check_fits(sum(parts.values()), f"the memory ({', '.join(f'{k} {gib(v)}' for k, v in parts.items())}; "
               f"--memory-heads {cfg['memory_heads']}, --memory-key-dim {cfg['memory_key_dim']})",
               "use fewer --memory-heads or a smaller --memory-key-dim (the tiny preset uses 4 and 256)")


def check_sizes(cfg: dict, config, examples: list[tuple[str, str]]) -> None:
    """Every other size a flag controls, against this machine's memory (the memory layers:
    check_memory_size): the model's weights (with full finetuning's gradients and AdamW
    state), LoRA's adapters (--lora-r), a micro-batch's activations and the memory lookup's
    scores (--batch-size, --max-length, --memory-topk), and the run's batch order (--steps x
    the examples of a step)."""
    weights = model_bytes(config) * (4 if cfg["method"] == "full" else 1)
    check_fits(weights, f"--model {cfg['model']}'s weights" + (" with gradients and AdamW state" if cfg["method"] == "full" else ""),
               "use a smaller model" + (", or --method smf or lora" if cfg["method"] == "full" else ""))
    if cfg["method"] == "lora":
        check_fits(lora_bytes(config, cfg["lora_r"]), f"--lora-r {cfg['lora_r']}'s adapters (with gradients and AdamW state)",
                   "use a smaller --lora-r (the presets use 8 to 16)")
    tokens, targets = batch_tokens(examples, cfg["batch_size"], cfg["max_length"])
    if cfg["loss_on"] == "all":
        targets = tokens
    need = batch_bytes(config, tokens, targets)
    if cfg["method"] in ("smf", "retrofit"):
        need += lookup_bytes(cfg, tokens)
    check_fits(need, f"a micro-batch of --batch-size {cfg['batch_size']} (at least {tokens:,} tokens, with the "
                     "output head's logits" + (" and the memory lookup's scores" if cfg["method"] in ("smf", "retrofit") else "") + ")",
               "use a smaller --batch-size (with --grad-accum for the same effective batch), --max-length"
               + (" or --memory-topk" if cfg["method"] in ("smf", "retrofit") else ""))
    per_step = min(len(examples), cfg["batch_size"] * cfg["grad_accum"])
    epochs = (cfg["method"] == "retrofit" and cfg["retrofit_epochs"]) or cfg["epochs"]
    steps = cfg["steps"] or math.ceil((epochs or 0) * len(examples) / (cfg["batch_size"] * cfg["grad_accum"]))
    check_fits(schedule_bytes(steps * (cfg.get("sequence") or 1), per_step),
               f"the run's batch order ({steps:,} steps of {per_step:,} examples, built before the first step)",
               "use fewer --steps, or a smaller --batch-size or --grad-accum")


# ---------------------------------------------------------------- the hub


_REACHABLE: dict[str, bool] = {}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub (HF_ENDPOINT, default huggingface.co) answers within
    `timeout` seconds (False when the environment says offline: HF_HUB_OFFLINE). Asked once
    per process."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    if "hub" not in _REACHABLE:
        import concurrent.futures  # only when the hub is asked about (a thread bounds the wait)

        import urllib.error  # only when the hub is asked about
        import urllib.request  # (an HTTP answer, not only a TCP connection: a proxy may accept those)

        url = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"

        def connect() -> bool:
            try:
                urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            except urllib.error.HTTPError:  # the hub answered (with an error status): it is there
                pass
            return True

        pool = concurrent.futures.ThreadPoolExecutor(1)
        try:
            _REACHABLE["hub"] = pool.submit(connect).result(timeout=timeout + 0.5)
        except Exception:  # no DNS, no route, refused, slow: offline for our purpose
            _REACHABLE["hub"] = False
        finally:
            pool.shutdown(wait=False)
    return _REACHABLE["hub"]


def hub_cached(repo: str, kind: str = "model") -> bool:
    """Whether the Hugging Face cache holds a copy of `repo` (kind: model or dataset)."""
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    hub = Path(os.environ.get("HF_HUB_CACHE", home / "hub"))
    if (hub / f"{kind}s--{repo.replace('/', '--')}").is_dir():
        return True
    if kind == "dataset":
        ds = Path(os.environ.get("HF_DATASETS_CACHE", home / "datasets"))
        return any(ds.glob(repo.replace("/", "___") + "*"))
    return False


def hub_needed(repo: str, kind: str, what: str, offline_fix: str) -> None:
    """`repo` will come from the hub: refused at once when the hub cannot be reached and no
    cached copy exists (rather than after the hub client's retries)."""
    if hub_reachable():
        return
    if hub_cached(repo, kind):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # use the cached copy without waiting on the network
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        return
    raise InputError(f"{what} comes from the Hugging Face Hub ({repo}), which cannot be reached from here (offline) and "
                     f"is not in the local cache; {offline_fix}.")


def check(fn, *args, **kwargs):
    """fn(*args, **kwargs), an InputError (or a data reader's ValueError sentence) turned into
    SystemExit("error: ...") (for callers outside a ValueError handler)."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, FileNotFoundError, RuntimeError) as e:  # InputError, and the data readers' sentences (tasks.py)
        raise SystemExit(f"error: {e}") from None
