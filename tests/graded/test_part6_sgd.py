"""Part 6 (smf_mini.py, SparseValueUpdate.step with SGD, and _capped): only the selected
rows move, each by -lr * grad shortened to at most row_step_cap (per row, L2)."""
import numpy as np
import pytest
import torch

import smf_mini
from graded_refs import capped_np, tiny_model_with_memory


@pytest.mark.parametrize("seed", range(3))
def test_part6_cap_shortens_each_row_on_its_own(seed):
    rng = np.random.default_rng(seed)
    delta = rng.normal(size=(int(rng.integers(2, 12)), int(rng.integers(1, 9)))) * rng.choice([0.1, 1, 10], size=(1,))
    cap = float(np.median(np.linalg.norm(delta, axis=1)))  # about half the rows are over the cap
    upd = smf_mini.SparseValueUpdate.__new__(smf_mini.SparseValueUpdate)
    upd.row_step_cap = cap
    got = upd._capped(torch.tensor(delta, dtype=torch.float32)).double().numpy()
    assert np.allclose(got, capped_np(delta, cap), rtol=1e-5, atol=1e-7), "each row's move must be capped on its own"
    upd.row_step_cap = 0.0
    assert np.allclose(upd._capped(torch.tensor(delta)).numpy(), delta), "cap 0 means no cap"


@pytest.mark.parametrize("seed,cap", [(0, 0.0), (1, 0.05), (2, 0.3)])
def test_part6_sgd_moves_selected_rows_only(seed, cap):
    model = tiny_model_with_memory(seed=seed)
    upd = smf_mini.SparseValueUpdate(model, t=8, rule="tf", optimizer="sgd", lr=0.7, row_step_cap=cap)
    rng = np.random.default_rng(seed)
    before, want = {}, {}
    for layer, mem in upd.mems.items():
        with torch.no_grad():
            mem.values.weight.normal_(generator=torch.Generator().manual_seed(seed + layer))
        w = mem.values.weight.detach().double().numpy().copy()
        rows = np.sort(rng.choice(len(w), int(rng.integers(1, 9)), replace=False))
        g = rng.normal(size=(len(rows), w.shape[1]))
        upd.selected[layer] = torch.tensor(rows)
        upd.grads[layer] = torch.tensor(g, dtype=torch.float32)
        before[layer] = mem.values.weight.detach().clone()
        want[layer] = w.copy()
        want[layer][rows] += capped_np(-0.7 * g, cap)
    upd.step()
    for layer, mem in upd.mems.items():
        w = mem.values.weight.detach()
        rows = set(upd.moved[layer][-1].tolist())
        others = [r for r in range(len(w)) if r not in rows]
        assert torch.equal(w[others], before[layer][others]), "a row that was not selected moved"
        assert np.allclose(w.double().numpy(), want[layer], atol=1e-5), "selected rows must move by the (capped) -lr * grad"
