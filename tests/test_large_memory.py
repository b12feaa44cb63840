"""Large memories: nothing per step or per save scales with the table, and the small forms are exact.

Each test uses tiny random configurations (seconds); the figures at 262,144 and 1,048,576 rows
come from benchmarks/bench_large_memory.py (docs/BENCHMARK.md, "Large memories").
"""
import json

import pytest
import torch
from test_train import run, small  # the tiny model folder fixture, tiny_dir, is in conftest.py

import checkpoints
import common
import memory
import smf_mini


def small_cfg(**kw):
    base = dict(slots=64, heads=2, topk=4, key_dim=16, layers=[1, 3])
    base.update(kw)
    return memory.MemoryConfig(**base)


@pytest.mark.parametrize("n", [3, 16, 17, 100, 576 * 64, (1 << 20) + 48])
def test_skip_normal_draws_leaves_the_random_stream_where_normal_would(n):
    """The fresh value table is built as zeros without drawing it; the stream must then be
    exactly where nn.Embedding's normal fill would have left it (chunk boundaries included)."""
    torch.manual_seed(11)
    torch.empty(n).normal_()
    want = torch.get_rng_state()
    torch.manual_seed(11)
    memory.skip_normal_draws(n, chunk=1 << 12)
    assert torch.equal(torch.get_rng_state(), want)


# A seed's memory as the original construction (nn.Embedding's normal fill, then zeros) made it,
# recorded once: (query[0, :3], keys[0, 0, 0, :3], w_in[0, :3], w_out[0, :3]) for d=32, seed 7.
SEED7 = {1: ([0.18965700268745422, 0.12556178867816925, -0.019784443080425262],
             [0.3009236752986908, 0.03972671553492546, 0.4744911193847656],
             [-0.02878367342054844, -0.01675301417708397, -0.3114568889141083],
             [0.12105746567249298, -0.10512615740299225, 0.08314153552055359]),
         3: ([0.4883490800857544, -0.26767244935035706, 0.17787088453769684],
             [-0.33911383152008057, 0.1963452696800232, -0.2751678228378296],
             [0.21286597847938538, 0.056065063923597336, -0.17099706828594208],
             [0.039776094257831573, -0.19755606353282928, 0.23790839314460754])}


def test_a_seed_gives_the_same_memory_as_before_with_or_without_the_table():
    """Same seed -> same memory, bit for bit, as the original initialisation order; the
    table-less form (values_table=False) regenerates the same other tensors."""
    full = memory.fresh_memories(32, small_cfg(), 7)
    bare = memory.fresh_memories(32, small_cfg(), 7, values_table=False)
    for i, (q, k, wi, wo) in SEED7.items():
        m = full[i]
        assert m.query.weight[0, :3].tolist() == q and m.keys[0, 0, 0, :3].tolist() == k
        assert m.w_in.weight[0, :3].tolist() == wi and m.w_out.weight[0, :3].tolist() == wo
        assert m.values.weight.shape == (64, 32) and not m.values.weight.any()
        assert bare[i].values.weight.shape == (0, 32)
        for name, t in bare[i].state_dict().items():
            if name != "values.weight":
                assert torch.equal(t, m.state_dict()[name])


def test_changed_rows_scans_blockwise_like_the_dense_comparison():
    torch.manual_seed(0)
    w = torch.zeros(1000, 6)
    w[[0, 63, 64, 511, 999]] = torch.randn(5, 6)
    w[300, 2] = float("nan")  # a non-finite row counts as changed (check_weights then sees it)
    assert checkpoints.changed_rows(w, block=64).tolist() == [0, 63, 64, 300, 511, 999]
    start = w.clone()
    start[[5, 64]] += 1.0
    start[300, 2] = 0.0
    want = (w != start).any(dim=1).nonzero().squeeze(1).tolist()
    assert checkpoints.changed_rows(w, start, block=64).tolist() == want == [5, 64, 300]
    assert checkpoints.changed_rows(torch.zeros(0, 6)).numel() == 0


def test_rows_only_trainable_state_round_trips_bit_for_bit():
    """state.pt's SMF form holds the changed rows only, and puts back every value exactly
    (over a table that was changed elsewhere meanwhile)."""
    model = common.tiny_random_model("llama")
    mems = memory.attach_memory(model, small_cfg(), seed=5)
    with torch.no_grad():
        mems[1].values.weight[[2, 9, 40]] = torch.randn(3, mems[1].values.weight.shape[1])
        mems[3].values.weight[17] += 1e-7
    cfg = {"method": "smf"}
    sd = checkpoints.trainable_state(model, cfg)
    assert sd["layer1.rows"].tolist() == [2, 9, 40] and sd["layer3.rows"].tolist() == [17]
    assert "layer1.values" not in sd and sd["layer1.row_values"].shape == (3, mems[1].values.weight.shape[1])
    want = {i: m.values.weight.detach().clone() for i, m in mems.items()}
    with torch.no_grad():
        mems[1].values.weight[50] = 3.0  # moved after the save: must be undone by the load
        mems[3].values.weight.mul_(2)
    checkpoints.load_trainable_state(model, cfg, sd)
    assert all(torch.equal(m.values.weight, want[i]) for i, m in mems.items())
    # from --init-memory the start is not zeros: the whole tables are kept
    full = checkpoints.trainable_state(model, {"method": "smf", "init_memory": "x"})
    assert full["layer1.values"].shape == mems[1].values.weight.shape


def test_sparse_background_file_round_trips(tmp_path):
    df = torch.zeros(4096)
    total = torch.zeros(4096)
    df[[3, 700, 4095]] = torch.tensor([1.0, 2.0, 5.0])
    total[[3, 700, 4095]] = torch.tensor([4.0, 2.0, 9.0])
    bg = smf_mini.BackgroundStats({2: df}, {2: total}, 5)
    checkpoints.save_background(bg, str(tmp_path / "bg.safetensors"))
    assert (tmp_path / "bg.safetensors").stat().st_size < 2000  # 3 rows, not 2 x 4096 floats
    got = checkpoints.load_background(str(tmp_path / "bg.safetensors"))
    assert got.n_docs == 5 and torch.equal(got.df[2], df) and torch.equal(got.total[2], total)


def test_row_summary_matches_the_dense_difference():
    """rows.json's figures (rows changed, L2 move quantiles) from the blockwise scan equal
    those of the whole-table difference."""
    model = common.tiny_random_model("llama")
    mems = memory.attach_memory(model, small_cfg(layers=[1]), seed=3)
    torch.manual_seed(1)
    with torch.no_grad():
        mems[1].values.weight[[1, 5, 6, 30, 63]] = torch.randn(5, mems[1].values.weight.shape[1])
    log = [{"step": 1, "rows": {"1": {"read": 9, "selected": 5, "moved": 5}}}]
    got = checkpoints.row_summary(model, {"method": "smf", "seed": 3, "top_t": 5}, log)["layers"]["1"]
    dist = mems[1].values.weight.detach()[[1, 5, 6, 30, 63]].norm(dim=1).double()
    assert got["rows_changed"] == 5 and got["slots"] == 64
    assert got["move_l2"]["median"] == float(torch.quantile(dist, 0.5)) and got["move_l2"]["max"] == float(dist.max())


def test_resume_from_a_rows_only_state_equals_an_uninterrupted_sgd_run(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    """SGD SMF (the large-memory regime): state.pt holds rows only, and a run interrupted after
    step 4 and resumed ends bit-identical to one that was not (losses and memory file)."""
    import train
    from safetensors.torch import load_file

    flags = small(tiny_dir, "smf", steps=6, extra=["--lr", "50", "--top-t", "16"])
    assert run(tmp_path / "a", *flags) == 0
    real = train.lr_at

    def boom(step, total, cfg):
        if step == 4:
            raise KeyboardInterrupt
        return real(step, total, cfg)

    monkeypatch.setattr(train, "lr_at", boom)
    assert run(tmp_path / "b", *flags) == 130
    state = torch.load(tmp_path / "b" / "tiny-smf.partial" / "state.pt", weights_only=False)
    assert "layer1.rows" in state["trainable"] and "layer1.values" not in state["trainable"]
    assert 0 < state["trainable"]["layer1.rows"].numel() < 256
    monkeypatch.setattr(train, "lr_at", real)
    assert run(tmp_path / "b", *flags, "--resume") == 0
    a, b = tmp_path / "a" / "tiny-smf", tmp_path / "b" / "tiny-smf"
    la = [json.loads(l)["loss"] for l in (a / "log.jsonl").read_text().splitlines()]
    assert la == [json.loads(l)["loss"] for l in (b / "log.jsonl").read_text().splitlines()] and len(la) == 6
    A, B = load_file(a / "memory.safetensors"), load_file(b / "memory.safetensors")
    assert A.keys() == B.keys() and all(torch.equal(A[k], B[k]) for k in A)
    assert json.loads((a / "rows.json").read_text()) == json.loads((b / "rows.json").read_text())
