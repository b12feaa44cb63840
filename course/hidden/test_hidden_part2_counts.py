"""Hidden tests, part 2: padding everywhere, one token, large ids, a real forward."""
import pytest
import torch

import memory
from graded_refs import FakeMemory, loop_counts


def test_hidden_part2_all_padding_counts_nothing():


    """A batch that is all padding counts nothing."""
    idx = torch.randint(0, 9, (3, 4, 2))
    mask = torch.zeros(3, 4, dtype=torch.long)
    assert torch.equal(memory.count_reads(FakeMemory(idx, 9), mask), torch.zeros(9))
    assert torch.equal(memory.count_reads(FakeMemory(idx, 9), mask, per_row=True), torch.zeros(3, 9))


def test_hidden_part2_bool_mask_and_last_slot():


    """A boolean mask, and reads of the last slot."""
    idx = torch.full((2, 3, 4), 99)
    idx[0, 0, 0] = 0
    mask = torch.tensor([[True, False, True], [False, False, True]])
    got = memory.count_reads(FakeMemory(idx, 100), mask)
    assert torch.equal(got, loop_counts(idx, mask, 100))
    got = memory.count_reads(FakeMemory(idx, 100), mask, per_row=True)
    assert torch.equal(got, loop_counts(idx, mask, 100, per_row=True))


def test_hidden_part2_mask_of_the_wrong_shape_is_refused():


    """A mask of the wrong shape raises ValueError (the right shape works)."""
    idx = torch.randint(0, 9, (2, 4, 2))
    ok = torch.ones(2, 4)
    assert torch.equal(memory.count_reads(FakeMemory(idx, 9), ok), loop_counts(idx, ok, 9))  # the right shape works
    with pytest.raises(ValueError):
        memory.count_reads(FakeMemory(idx, 9), torch.ones(2, 5))
