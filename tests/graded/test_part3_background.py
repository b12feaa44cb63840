"""Part 3 (smf_mini.py, collect_background and background_share): per row, the documents
that read it (df) and its total reads over a background corpus; the smoothed share q."""
import numpy as np
import pytest
import torch

import memory
import smf_mini
from graded_refs import bg, brute_force_lookup, loop_counts, share_np, tiny_model_with_memory


class ByteTokenizer:
    pad_token_id = 0

    def __call__(self, docs, return_tensors, padding, truncation, max_length):
        from transformers import BatchEncoding  # the batch type the model's forward accepts

        rows = [[b % 250 + 1 for b in d.encode()][:max_length] for d in docs]
        L = max(map(len, rows))
        return BatchEncoding({"input_ids": torch.tensor([r + [0] * (L - len(r)) for r in rows]),
                              "attention_mask": torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])})


@pytest.fixture
def reference_parts(monkeypatch):
    """Parts 1 and 2 replaced by the references, so part 3 is graded on its own."""
    monkeypatch.setattr(memory.ProductKeyMemory, "lookup", lambda self, x: brute_force_lookup(self, x))
    monkeypatch.setattr(smf_mini, "count_reads",
                        lambda mem, mask=None, per_row=False: loop_counts(mem.last_indices, mask, mem.cfg.slots, per_row))


@pytest.mark.parametrize("seed", range(2))
def test_part3_df_and_totals_equal_one_document_at_a_time(seed, reference_parts):
    rng = np.random.default_rng(seed)
    model = tiny_model_with_memory(seed=seed)
    words = ["cell", "gene", "rare", "python", "the", "a", "protein", "of", "dose", "x"]
    docs = [" ".join(rng.choice(words, rng.integers(1, 9))) for _ in range(int(rng.integers(3, 7)))]
    got = smf_mini.collect_background(model, ByteTokenizer(), docs, max_length=24, batch_size=int(rng.integers(2, 4)), progress=False)
    assert got.n_docs == len(docs)
    for layer, mem in memory.memory_layers(model).items():
        df, total = torch.zeros(mem.cfg.slots), torch.zeros(mem.cfg.slots)
        for d in docs:  # one document alone: no padding at all
            with torch.no_grad():
                model(**ByteTokenizer()([d], "pt", True, True, 24))
            c = loop_counts(mem.last_indices, None, mem.cfg.slots)
            df += (c > 0).float()
            total += c
        assert torch.equal(got.df[layer].cpu(), df), f"layer {layer}: df is the number of documents that read a row"
        assert torch.equal(got.total[layer].cpu(), total), f"layer {layer}: total is the number of reads, padding excluded"


@pytest.mark.parametrize("seed", range(3))
def test_part3_background_share_is_add_one_smoothed(seed):
    rng = np.random.default_rng(seed)
    total = rng.integers(0, 30, int(rng.integers(5, 50))).astype(float)
    total[rng.integers(0, len(total))] = 0
    q = smf_mini.background_share(bg(np.zeros_like(total), total, 5), 0)
    assert q.dtype == torch.float64
    assert np.allclose(q.numpy(), share_np(total), rtol=1e-12, atol=0), "q(i) = (b(i) + 1) / sum_j (b(j) + 1)"
