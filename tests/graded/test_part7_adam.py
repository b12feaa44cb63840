"""Part 7 (smf_mini.py, SparseValueUpdate.step with AdamW): Adam moments and step counts
kept per row and touched only on the steps that select a row. Masking the gradient is not
enough: a row with a zero gradient still moves under Adam's momentum."""
import numpy as np
import pytest
import torch

import smf_mini
from graded_refs import LoopAdamW, reference_capped, tiny_model_with_memory


@pytest.fixture(autouse=True)
def reference_cap(monkeypatch):
    """Part 6's cap replaced by the reference, so part 7 is graded on its own."""
    monkeypatch.setattr(smf_mini.SparseValueUpdate, "_capped", reference_capped)


def _run(seed, wd, cap, steps=5):
    model = tiny_model_with_memory(layers=(1,), seed=seed)
    upd = smf_mini.SparseValueUpdate(model, t=10, rule="tf", optimizer="adamw", lr=0.05, weight_decay=wd, row_step_cap=cap)
    mem = upd.mems[1]
    with torch.no_grad():
        mem.values.weight.normal_(generator=torch.Generator().manual_seed(seed))
    ref = LoopAdamW(mem.values.weight.detach().numpy(), lr=0.05, wd=wd, cap=cap)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        n = len(ref.w)
        rows = np.sort(rng.choice(n // 4, int(rng.integers(1, 10)), replace=False))  # a few rows, often the same ones
        g = rng.normal(size=(len(rows), ref.w.shape[1]))
        before = {k: v.clone() for k, v in upd.state[1].items()}
        w_before = mem.values.weight.detach().clone()
        upd.selected[1], upd.grads[1] = torch.tensor(rows), torch.tensor(g, dtype=torch.float32)
        upd.step()
        ref.step(rows, g)
        others = np.setdiff1d(np.arange(n), rows)
        assert torch.equal(mem.values.weight.detach()[others], w_before[others]), "an unselected row moved"
        for k in ("exp_avg", "exp_avg_sq", "steps"):
            assert torch.equal(upd.state[1][k][others], before[k][others]), f"an unselected row's {k} changed"
    return upd, mem, ref


@pytest.mark.parametrize("seed,wd,cap", [(0, 0.0, 0.0), (1, 0.1, 0.0), (2, 0.01, 0.02)])
def test_part7_rowwise_adamw_equals_a_row_by_row_loop(seed, wd, cap):
    upd, mem, ref = _run(seed, wd, cap)
    assert np.allclose(mem.values.weight.detach().double().numpy(), ref.w, rtol=1e-4, atol=1e-5), "values differ from row-wise AdamW"
    assert np.array_equal(upd.state[1]["steps"].numpy(), ref.n), "each row counts the steps that selected it"
    assert np.allclose(upd.state[1]["exp_avg"].double().numpy(), ref.m, atol=1e-6)
    assert np.allclose(upd.state[1]["exp_avg_sq"].double().numpy(), ref.v, atol=1e-7)
