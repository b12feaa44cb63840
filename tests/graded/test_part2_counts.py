"""Part 2 (memory.py, count_reads): reads per slot, padding excluded; per batch row too."""
import pytest
import torch

import memory
from graded_refs import FakeMemory, loop_counts


def _case(seed):
    g = torch.Generator().manual_seed(seed)
    B, T, R = (int(v) for v in torch.randint(1, 6, (3,), generator=g))
    S = int(torch.randint(4, 40, (1,), generator=g))
    idx = torch.randint(0, S, (B, T, R), generator=g)
    lengths = torch.randint(0, T + 1, (B,), generator=g)
    mask = (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).long()  # right padding, some rows all padding
    if seed % 2:
        mask = mask.flip(1)  # left padding
    return idx, mask, S


@pytest.mark.parametrize("seed", range(4))
def test_part2_counts_equal_a_loop_and_skip_padding(seed):
    idx, mask, S = _case(seed)
    got = memory.count_reads(FakeMemory(idx, S), mask)
    assert got.shape == (S,), f"shape {tuple(got.shape)}; expected (slots,)"
    assert got.dtype == torch.float32, f"dtype {got.dtype}; counts are float32 (the docstring)"
    assert torch.equal(got, loop_counts(idx, mask, S)), "counts differ from a loop over real (unpadded) tokens"


@pytest.mark.parametrize("seed", range(2))
def test_part2_per_row_counts_and_no_mask(seed):
    idx, mask, S = _case(seed + 10)
    got = memory.count_reads(FakeMemory(idx, S), mask, per_row=True)
    assert got.shape == (idx.shape[0], S), f"shape {tuple(got.shape)}; expected (batch, slots)"
    assert got.dtype == torch.float32, f"dtype {got.dtype}; counts are float32 (the docstring)"
    assert torch.equal(got, loop_counts(idx, mask, S, per_row=True)), "per-row counts differ from the loop"
    for per_row in (False, True):
        got = memory.count_reads(FakeMemory(idx, S), None, per_row=per_row)
        assert got.dtype == torch.float32, f"dtype {got.dtype} with no mask; counts are float32 with or without a mask (the docstring)"
        assert torch.equal(got, loop_counts(idx, None, S, per_row=per_row)), "with no mask every token counts"


def test_part2_mask_of_the_wrong_shape_is_a_value_error():
    """The docstring: a token_mask whose shape is not (B, T) raises ValueError."""
    idx = torch.randint(0, 9, (3, 4, 2), generator=torch.Generator().manual_seed(2))
    with pytest.raises(ValueError):
        memory.count_reads(FakeMemory(idx, 9), torch.ones(3, 5))
    with pytest.raises(ValueError):
        memory.count_reads(FakeMemory(idx, 9), torch.ones(4, 3), per_row=True)
