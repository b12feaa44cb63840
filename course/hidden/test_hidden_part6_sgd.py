"""Hidden tests, part 6: the cap per row when rows differ wildly in size; the lr as scheduled."""
import numpy as np
import torch

import smf_mini
from graded_refs import capped_np, tiny_model_with_memory


def test_hidden_part6_one_huge_row_does_not_shrink_the_others():


    """One very long row does not shrink the others."""
    upd = smf_mini.SparseValueUpdate.__new__(smf_mini.SparseValueUpdate)
    upd.row_step_cap = 1.0
    delta = torch.tensor([[100.0, 0.0], [0.3, 0.4], [0.0, -0.5]])
    got = upd._capped(delta)
    assert torch.allclose(got, torch.tensor([[1.0, 0.0], [0.3, 0.4], [0.0, -0.5]]))


def test_hidden_part6_uses_the_scheduled_lr():


    """The step uses the learning rate the schedule set (param_groups)."""
    model = tiny_model_with_memory(layers=(0,), seed=3)
    upd = smf_mini.SparseValueUpdate(model, t=4, rule="tf", optimizer="sgd", lr=1.0, row_step_cap=0.0)
    upd.param_groups[0]["lr"] = 0.25  # what the training loop's schedule does
    mem = upd.mems[0]
    g = torch.randn(3, mem.values.weight.shape[1])
    w0 = mem.values.weight.detach().clone()
    upd.selected[0], upd.grads[0] = torch.tensor([1, 5, 9]), g.clone()
    upd.step()
    want = w0.clone()
    want[[1, 5, 9]] -= 0.25 * g
    assert torch.allclose(mem.values.weight.detach(), want, atol=1e-7)


def test_hidden_part6_capped_matches_reference_on_random_rows():


    """The cap on random rows of very different lengths."""
    rng = np.random.default_rng(66)
    upd = smf_mini.SparseValueUpdate.__new__(smf_mini.SparseValueUpdate)
    for _ in range(5):
        d = rng.normal(size=(20, 7)) * rng.uniform(0.01, 5, (20, 1))
        upd.row_step_cap = float(rng.uniform(0.1, 3))
        assert np.allclose(upd._capped(torch.tensor(d)).numpy(), capped_np(d, upd.row_step_cap), atol=1e-9)
