"""Training on 2 processes (torchrun, gloo on CPU) equals one process at twice the batch.

One torchrun launch runs this file as a script (the __main__ block at the bottom): SMF and
then full finetuning, each on 2 processes at --batch-size 9 --grad-accum 2 (global batch 36
per step). The same runs on one process at --batch-size 18 --grad-accum 2 see the same
examples at every step, so they must give

- SMF: the same background statistics and the same selected rows at every step, EXACTLY
  (read counts are whole numbers, summed exactly), and the same trained value rows within
  1e-5 of the largest weight of each tensor (float sums in another order: each process adds
  its own tokens' gradients first);
- full finetuning: the same weights within the same tolerance (same reason);
- both: the same logged loss within 1e-5 (relative).

Measured on the tiny model below: largest weight difference 3e-6 to 2e-5 (SMF values after
4 steps at lr 8000, entries up to ~3) and below 1e-7 (full finetuning).
"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
import train  # noqa: E402
from test_train import applicable  # noqa: E402  (the flags each method reads)

STEPS = 4
FLAGS = ["--n-countries", "4", "--steps", str(STEPS), "--grad-accum", "2", "--memory-layers", "1", "--memory-slots", "256",
         "--memory-topk", "8", "--memory-key-dim", "32", "--top-t", "48", "--background-docs", "20", "--warmup", "1",
         "--no-eval", "--save-every", "2"]
METHODS = {"smf": [], "full": ["--lr", "1e-3"]}
RTOL = 1e-5  # of the largest weight of the tensor (at least 1)


def flags(model_dir: str, method: str, batch: int) -> list[str]:
    return applicable(["--method", method, "--model", model_dir, "--batch-size", str(batch), *FLAGS, *METHODS[method]])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(one-process runs folder, two-process runs folder), each holding an smf and a full run."""
    from transformers import AutoTokenizer

    tmp = tmp_path_factory.mktemp("dist")
    model_dir = tmp / "tiny-llama"
    tok = AutoTokenizer.from_pretrained(common.offline_model_dir())
    model = common.tiny_random_model("llama", vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                     num_attention_heads=2, num_key_value_heads=1, num_hidden_layers=3)
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    # two processes: one torchrun launch of this file; each its own background cache (computed, not shared)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", SMF_DIST_TIMEOUT="300",
               SMF_MINI_CACHE=str(tmp / "cache2"), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), __file__, str(model_dir), str(tmp / "two")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, "\n".join(l for l in done.stderr.splitlines() if "rank" in l or "Error" in l)[-4000:]
    # one process at twice the batch, in this process
    os.environ["SMF_MINI_CACHE"] = str(tmp / "cache1")
    try:
        for method in METHODS:
            assert train.main(["--runs-dir", str(tmp / "one"), "--name", method, *flags(str(model_dir), method, 18)]) == 0
    finally:
        os.environ.pop("SMF_MINI_CACHE")
    return tmp / "one", tmp / "two"


def losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "log.jsonl").read_text().splitlines()]


def assert_close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        diff, scale = float((a[k].float() - b[k].float()).abs().max()), max(1.0, float(b[k].float().abs().max()))
        assert diff <= RTOL * scale, (k, diff, scale)


def test_smf_on_two_processes_selects_the_same_rows_and_trains_the_same_values(runs):
    one, two = runs[0] / "smf", runs[1] / "smf"
    cfg = json.loads((two / "config.json").read_text())
    assert cfg["world_size"] == 2 and "world_size" not in json.loads((one / "config.json").read_text())
    # background statistics read in shards and summed: the same numbers
    b1, b2 = load_file(one / "background.safetensors"), load_file(two / "background.safetensors")
    assert all(torch.equal(b1[k], b2[k]) for k in b1) and b1.keys() == b2.keys()
    # the same rows selected at every step, exactly
    r1, r2 = load_file(one / "rows_changed.safetensors"), load_file(two / "rows_changed.safetensors")
    assert r1.keys() == r2.keys() and all(torch.equal(r1[k], r2[k]) for k in r1)
    assert r1["layer1"].shape == (STEPS, 48)  # 48 of the 256 rows, not every row read
    log1 = [json.loads(x) for x in (one / "log.jsonl").read_text().splitlines()]
    log2 = [json.loads(x) for x in (two / "log.jsonl").read_text().splitlines()]
    assert [r["rows"] for r in log1] == [r["rows"] for r in log2]
    # what was sent each step: the counts (one float per row) and the selected rows' gradients only
    sent = log2[0]["comm_bytes"]
    assert sent["counts"] == 256 * 4 and sent["rows"] == 48 * 32 * 4
    m1, m2 = load_file(one / "memory.safetensors"), load_file(two / "memory.safetensors")
    assert torch.equal(m1["layer1.rows"], m2["layer1.rows"])
    assert_close(m1, m2)
    assert losses(one) == pytest.approx(losses(two), rel=1e-5)


def test_full_finetuning_on_two_processes_gives_the_same_weights(runs):
    one, two = runs[0] / "full", runs[1] / "full"
    w1, w2 = load_file(one / "model" / "model.safetensors"), load_file(two / "model" / "model.safetensors")
    assert_close(w1, w2)
    base = load_file(runs[0].parent / "tiny-llama" / "model.safetensors")  # the weights did move
    assert all(not torch.equal(w1[k], base[k]) for k in w1)
    assert losses(one) == pytest.approx(losses(two), rel=1e-5)
    assert json.loads((two / "log.jsonl").read_text().splitlines()[0])["comm_bytes"]["grads"] == 4 * sum(
        v.numel() for v in w1.values())


def test_resume_refuses_another_number_of_processes(runs, tmp_path):
    """An interrupted 2-process run cannot be resumed by one process (its batches would change)."""
    src = runs[1] / "smf"
    work = tmp_path / "smf.partial"
    work.mkdir()
    for f in ("config.json", "log.jsonl"):
        (work / f).write_text((src / f).read_text())
    model_dir = json.loads((src / "config.json").read_text())["model"]
    with pytest.raises(SystemExit, match=r"trained on 2 process\(es\), not 1; resume it with torchrun --nproc_per_node 2"):
        train.main(["--runs-dir", str(tmp_path), "--name", "smf", "--resume", *flags(model_dir, "smf", 9)])


if __name__ == "__main__":  # under torchrun: both methods on this process's share
    model_dir, out = sys.argv[1], sys.argv[2]
    for method in METHODS:
        rc = train.main(["--runs-dir", out, "--name", method, *flags(model_dir, method, 9)])
        if rc:
            sys.exit(rc)
