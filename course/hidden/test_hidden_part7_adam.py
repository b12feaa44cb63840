"""Hidden tests, part 7: a row selected on steps 1 and 4 only has its own bias correction;
selected every step, row-wise AdamW is torch's AdamW."""
import numpy as np
import pytest
import torch

import smf_mini
from graded_refs import LoopAdamW, reference_capped, tiny_model_with_memory


@pytest.fixture(autouse=True)
def reference_cap(monkeypatch):
    """Part 6's cap replaced by the reference, so part 7 is graded on its own."""
    monkeypatch.setattr(smf_mini.SparseValueUpdate, "_capped", reference_capped)


def test_hidden_part7_gaps_between_selections():


    """Rows selected on some steps only keep their own step counts and bias correction."""
    model = tiny_model_with_memory(layers=(0,), seed=9)
    upd = smf_mini.SparseValueUpdate(model, t=4, rule="tf", optimizer="adamw", lr=0.1)
    mem = upd.mems[0]
    ref = LoopAdamW(mem.values.weight.detach().numpy(), lr=0.1)
    rng = np.random.default_rng(9)
    for rows in ([3], [5], [5, 7], [3]):
        g = rng.normal(size=(len(rows), ref.w.shape[1]))
        upd.selected[0], upd.grads[0] = torch.tensor(rows), torch.tensor(g, dtype=torch.float32)
        upd.step()
        ref.step(rows, g)
    assert np.allclose(mem.values.weight.detach().double().numpy(), ref.w, atol=1e-5)
    assert upd.state[0]["steps"][[3, 5, 7, 0]].tolist() == [2, 2, 1, 0]


def test_hidden_part7_every_row_every_step_is_torch_adamw():


    """With every row selected on every step, the update is torch's AdamW."""
    model = tiny_model_with_memory(layers=(0,), seed=10)
    upd = smf_mini.SparseValueUpdate(model, t=64, rule="tf", optimizer="adamw", lr=0.02, weight_decay=0.05)
    mem = upd.mems[0]
    ref = torch.nn.Parameter(mem.values.weight.detach().clone())
    opt = torch.optim.AdamW([ref], lr=0.02, weight_decay=0.05)
    gen = torch.Generator().manual_seed(10)
    for _ in range(4):
        g = torch.randn(ref.shape, generator=gen)
        upd.selected[0], upd.grads[0] = torch.arange(ref.shape[0]), g.clone()
        upd.step()
        ref.grad = g
        opt.step()
    assert torch.allclose(mem.values.weight.detach(), ref.detach(), atol=1e-6)
