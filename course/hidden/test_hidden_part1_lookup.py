"""Hidden tests, part 1: other sizes (k = K, one head, many tokens), other seeds."""
import pytest
import torch

from graded_refs import brute_force_lookup, random_memory, sort_by_score


@pytest.mark.parametrize("seed,kw", [(101, {"K": 4, "topk": 4, "heads": 1}), (102, {"K": 16, "topk": 1, "heads": 3}),
                                     (103, {"K": 32, "topk": 8, "heads": 2, "key_dim": 16}), (104, {})])
def test_hidden_part1_other_sizes(seed, kw):
    """The exact top-k for other memory sizes (k = K, one head, many tokens)."""
    mem = random_memory(seed, d=24, **kw)
    x = mem.normalize(torch.randn(33, 24))
    with torch.no_grad():
        s, i = mem.lookup(x)
    rs, ri = brute_force_lookup(mem, x)
    s, i = sort_by_score(s, i)
    assert torch.allclose(s, rs, atol=1e-5) and torch.equal(i, ri)
    assert int(i.min()) >= 0 and int(i.max()) < mem.cfg.slots


def test_hidden_part1_forward_reads_the_rows_the_lookup_names():


    """The layer's forward reads the rows the lookup names."""
    mem = random_memory(105, d=16, K=8, heads=2, topk=3)
    with torch.no_grad():
        mem.values.weight.normal_()
        x = torch.randn(2, 5, 16)
        out = mem(x)
        flat = mem.normalize(x.reshape(-1, 16))
        s, i = brute_force_lookup(mem, flat)
        read = (torch.softmax(s, -1).unsqueeze(-1) * mem.values.weight[i]).sum((1, 2))
        want = mem.w_out(read * torch.nn.functional.silu(mem.w_in(flat))).view(2, 5, 16)
    assert torch.allclose(out, want, atol=1e-5)
