"""Hidden tests, part 3: the batch size does not change the statistics; truncation."""
import numpy as np
import torch

import smf_mini
from graded_refs import bg, share_np, tiny_model_with_memory
from test_part3_background import ByteTokenizer, reference_parts  # noqa: F401  (the fixture)


def test_hidden_part3_batch_size_does_not_matter(reference_parts):  # noqa: F811
    """Df and totals do not depend on the batch size; truncation at max_length."""
    model = tiny_model_with_memory(seed=7)
    docs = ["a", "a much longer document that is cut at the limit", "b c", "dose of a protein", "x"]
    one = smf_mini.collect_background(model, ByteTokenizer(), docs, max_length=12, batch_size=1, progress=False)
    five = smf_mini.collect_background(model, ByteTokenizer(), docs, max_length=12, batch_size=5, progress=False)
    for layer in one.df:
        assert torch.equal(one.df[layer], five.df[layer]) and torch.equal(one.total[layer], five.total[layer])
        assert float(one.df[layer].max()) <= len(docs)
        assert float(one.total[layer].sum()) == sum(min(len(d.encode()), 12) for d in docs) * 2 * 4  # tokens x heads x k


def test_hidden_part3_share_of_an_all_zero_layer_is_uniform():


    """The share of a layer no document read is uniform and sums to 1."""
    q = smf_mini.background_share(bg(np.zeros(7), np.zeros(7), 3), 0)
    assert np.allclose(q.numpy(), share_np(np.zeros(7))) and abs(float(q.sum()) - 1) < 1e-12
