"""Part 1 (memory.py, ProductKeyMemory.lookup): the exact top-k over all K^2 product keys,
found from the top-k of each half. Random memories and inputs, against a brute-force search."""
import pytest
import torch
from torch.overrides import TorchFunctionMode

from graded_refs import brute_force_lookup, random_memory, sort_by_score


@pytest.mark.parametrize("seed", range(4))
def test_part1_lookup_equals_brute_force(seed):
    mem = random_memory(seed)
    x = mem.normalize(torch.randn(int(torch.randint(1, 20, (1,), generator=torch.Generator().manual_seed(seed))), 16))
    with torch.no_grad():
        s, i = mem.lookup(x)
    rs, ri = brute_force_lookup(mem, x)
    assert s.shape == rs.shape and i.shape == ri.shape, f"shapes {tuple(s.shape)}, {tuple(i.shape)}; expected (N, heads, k)"
    assert i.dtype == torch.long
    s, i = sort_by_score(s, i)
    assert torch.allclose(s, rs, atol=1e-5), "the top-k scores differ from the brute-force search"
    assert torch.equal(i, ri), "the slot ids differ from the brute-force search (slot id = a*K + b)"


def _work(mem, N):
    """(torch calls made, largest tensor made, entries of all tensors made) by one lookup of N tokens."""
    x = mem.normalize(torch.randn(N, 16, generator=torch.Generator().manual_seed(N)))
    sizes, calls = [], [0]

    class Watch(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            calls[0] += 1
            for o in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(o, torch.Tensor):
                    sizes.append(o.numel())
            return out

    with torch.no_grad(), Watch():
        mem.lookup(x)
    return calls[0], max(sizes, default=0), sum(sizes)


def test_part1_lookup_never_scores_all_k2_keys():
    """The point of product keys: cost 2K + k^2 per head, not K^2. Counted, not timed: no
    tensor as large as (N, heads, K^2) may be made, and all the tensors made together must
    hold far fewer than N * heads * K^2 entries (scoring every key one token at a time fails)."""
    mem = random_memory(7, K=64, heads=2, topk=4, key_dim=8)
    _, largest, total = _work(mem, 16)
    full = 16 * 2 * 64 * 64
    assert largest < full // 8, f"a tensor of {largest} entries was made: that is scoring (nearly) all K^2 keys"
    assert total < full // 4, (f"the lookup made tensors of {total} entries in all, for {full} = N * heads * K^2 keys: "
                               "it scores (nearly) every key, if not all at once")


def test_part1_lookup_has_no_loop_over_tokens():
    """Vectorised over tokens: the number of torch operations one lookup makes does not grow
    with the number of tokens N (a Python loop over tokens, or over the k*k candidates per
    token, makes more of them for more tokens)."""
    mem = random_memory(8, K=16, heads=2, topk=3, key_dim=8)
    few, many = _work(mem, 3)[0], _work(mem, 24)[0]
    assert few == many, f"{few} torch operations for 3 tokens, {many} for 24: the lookup loops over tokens"
