"""The method core: memory layer, ranking, sparse updates. Tiny random models, seconds each."""
import math

import pytest
import torch

import checkpoints
import memory
import common
import smf_mini


def small_cfg(**kw):
    base = dict(slots=64, heads=2, topk=4, key_dim=16, layers=[1, 3])
    base.update(kw)
    return memory.MemoryConfig(**base)


def naive_topk(mem: memory.ProductKeyMemory, x: torch.Tensor):
    """Dense reference: score all K^2 product keys and take the top-k."""
    xn = mem.normalize(x)
    N, H, K, half = x.shape[0], mem.heads, mem.n_sub, mem.half
    q = mem.query(xn).view(N, H, 2, half)
    s1 = torch.einsum("nhd,hkd->nhk", q[:, :, 0], mem.keys[:, 0])
    s2 = torch.einsum("nhd,hkd->nhk", q[:, :, 1], mem.keys[:, 1])
    full = (s1.unsqueeze(-1) + s2.unsqueeze(-2)).reshape(N, H, K * K)  # slot a*K+b
    return full.topk(mem.topk, dim=-1)


@pytest.mark.parametrize("seed,slots,topk,heads", [(0, 64, 4, 2), (1, 256, 8, 4), (2, 1024, 16, 1), (3, 16, 4, 3)])
def test_product_key_topk_equals_dense(seed, slots, topk, heads):
    torch.manual_seed(seed)
    mem = memory.ProductKeyMemory(32, memory.MemoryConfig(slots=slots, heads=heads, topk=topk, key_dim=24))
    x = torch.randn(50, 32, dtype=torch.float64)
    mem = mem.double()
    scores, idx = mem.lookup(mem.normalize(x))
    ref_s, ref_i = naive_topk(mem, x)
    assert torch.allclose(scores, ref_s, atol=1e-12)
    assert torch.equal(idx, ref_i)


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_attach_keeps_logits_bit_identical(arch):
    model = common.tiny_random_model(arch)
    x = torch.randint(0, 256, (2, 12))
    base = model(x).logits
    memory.attach_memory(model, small_cfg())
    assert torch.equal(model(x).logits, base)
    assert len(memory.memory_layers(model)) == 2


def test_replace_mode_drops_mlp_and_changes_output():
    model = common.tiny_random_model("llama")
    x = torch.randint(0, 256, (1, 8))
    base = model(x).logits
    memory.attach_memory(model, small_cfg(mode="replace", layers=[2]))
    assert model.model.layers[2].mlp.mlp is None
    assert not torch.allclose(model(x).logits, base)


def test_memory_forward_matches_dense_read():
    """The embedding_bag read equals an explicit weighted sum of value rows over heads."""
    torch.manual_seed(0)
    mem = memory.ProductKeyMemory(16, memory.MemoryConfig(slots=64, heads=2, topk=4, key_dim=8)).double()
    torch.nn.init.normal_(mem.values.weight)
    x = torch.randn(3, 5, 16, dtype=torch.float64)
    out = mem(x)
    xn = mem.normalize(x.reshape(-1, 16))
    s, i = mem.lookup(xn)
    w = torch.softmax(s, -1)
    read = (w.unsqueeze(-1) * mem.values.weight[i]).sum(dim=(1, 2))
    ref = mem.w_out(read * torch.nn.functional.silu(mem.w_in(xn))).view(3, 5, 16)
    assert torch.allclose(out, ref, atol=1e-10)


def test_unsupported_architecture_error():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100))
    with pytest.raises(ValueError, match="llama, qwen2"):
        memory.attach_memory(model, small_cfg())


@pytest.mark.parametrize("kw,msg", [
    (dict(slots=50), "perfect square"),
    (dict(layers=[9]), "out of range"),
    (dict(topk=20), "cannot exceed"),
    (dict(key_dim=7), "even"),
    (dict(mode="swap"), "mode"),
])
def test_bad_memory_config(kw, msg):
    with pytest.raises(ValueError, match=msg):
        memory.attach_memory(common.tiny_random_model("llama"), small_cfg(**kw))


def test_counts_exclude_padding_and_match_hand_count():
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[1]))
    mem = memory.memory_layers(model)[1]
    ids = torch.randint(0, 256, (2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    model(input_ids=ids, attention_mask=mask)
    c = memory.count_reads(mem, mask)
    hand = torch.zeros(64)
    for b in range(2):
        for t in range(6):
            if mask[b, t]:
                for s in mem.last_indices[b, t].tolist():
                    hand[s] += 1
    assert torch.equal(c, hand)
    assert c.sum() == 9 * 2 * 4  # 9 real tokens x heads x k
    per_row = memory.count_reads(mem, mask, per_row=True)
    assert torch.equal(per_row.sum(0), hand)


def test_usage_stats_hand_values():
    c = torch.tensor([50.0, 30.0, 15.0, 5.0, 0.0, 0.0, 0.0, 0.0])
    u = memory.usage_stats(c)
    assert u["share_read"] == 0.5
    assert (u["slots_50"], u["slots_90"], u["slots_99"]) == (1, 3, 4)


def _bg(df, total, n):
    return smf_mini.BackgroundStats({0: torch.tensor(df, dtype=torch.float)}, {0: torch.tensor(total, dtype=torch.float)}, n)


def test_tfidf_and_kl_hand_values():
    counts = torch.tensor([4.0, 2.0, 0.0, 2.0])
    bg = _bg([9, 1, 0, 0], [30, 2, 0, 0], 9)
    tfidf = smf_mini.score_rows(counts, "tfidf", bg, 0)
    expect = [0.5 * math.log(10 / 10), 0.25 * math.log(10 / 2), -math.inf, 0.25 * math.log(10 / 1)]
    for a, b in zip(tfidf.tolist(), expect):
        assert a == pytest.approx(b) if math.isfinite(b) else a == b
    kl = smf_mini.score_rows(counts, "kl", bg, 0)
    q = [31 / 36, 3 / 36, 1 / 36, 1 / 36]
    p = [0.5, 0.25, 0.0, 0.25]
    for i in (0, 1, 3):
        assert kl[i].item() == pytest.approx(p[i] * math.log(p[i] / q[i]))
    assert kl[0] < 0  # read less than in the background: negative KL term
    assert kl[2] == -math.inf


@pytest.mark.parametrize("rule", ["tfidf", "kl"])
def test_min_read_ratio_keeps_over_read_rows_only_hand_values(rule):
    """Over-read rows only: with the hand values of test_tfidf_and_kl_hand_values, p = (1/2,
    1/4, 0, 1/4) and q = (31, 3, 1, 1)/36. Row 0 is read less than background text reads it
    (1/2 < 31/36), rows 1 and 3 more (1/4 > 3/36 = 1/12; 1/4 > 1/36); row 2 is unread.
    R = 2: row 1 passes (1/4 > 2/12); R = 4: it does not (1/4 < 4/12), row 3 does (1/4 > 4/36).
    Eligible rows keep their score; a top-t larger than the eligible rows takes fewer rows."""
    counts = torch.tensor([4.0, 2.0, 0.0, 2.0])
    bg = _bg([9, 1, 0, 0], [30, 2, 0, 0], 9)
    plain = smf_mini.score_rows(counts, rule, bg, 0)
    for ratio, keep in [(0.0, [0, 1, 3]), (1.0, [1, 3]), (2.0, [1, 3]), (4.0, [3]), (10.0, [])]:
        s = smf_mini.score_rows(counts, rule, bg, 0, min_read_ratio=ratio)
        assert torch.isfinite(s).nonzero().flatten().tolist() == keep, (ratio, s)
        assert torch.equal(s[keep], plain[keep])
        assert smf_mini.select_rows(counts, 4, rule, bg, 0, min_read_ratio=ratio).tolist() == keep


def test_min_read_ratio_needs_background():
    with pytest.raises(ValueError, match="needs background statistics"):
        smf_mini.score_rows(torch.ones(3), "tf", None, 0, min_read_ratio=1.0)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg())
    with pytest.raises(ValueError, match="needs background statistics"):
        smf_mini.SparseValueUpdate(model, t=4, rule="tf", min_read_ratio=1.0)


def test_rare_in_background_outranks_common():
    counts = torch.tensor([10.0, 10.0, 1.0])
    bg = _bg([100, 1, 0], [500, 2, 0], 100)
    for rule in ("tfidf", "kl"):
        rows = smf_mini.select_rows(counts, 1, rule, bg, 0)
        assert rows.tolist() == [1], rule


def test_unread_slots_never_selected():
    counts = torch.tensor([0.0, 3.0, 0.0, 1.0])
    for rule in ("tf", "random"):
        rows = smf_mini.select_rows(counts, 4, rule, None, 0, torch.Generator().manual_seed(0))
        assert sorted(rows.tolist()) == [1, 3]


@pytest.mark.parametrize("bad", [dict(t=0), dict(rule="bm25"), dict(optimizer="lion"), dict(rule="tfidf", background=None)])
def test_bad_smf_arguments(bad):
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg())
    kw = dict(t=4, rule="tf", optimizer="sgd", lr=1.0)
    kw.update(bad)
    with pytest.raises(ValueError):
        smf_mini.SparseValueUpdate(model, **kw)


def _train_steps(optimizer, steps=4, accum=1, t=5, rule="tf"):
    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg())
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    upd = smf_mini.SparseValueUpdate(model, t=t, rule=rule, optimizer=optimizer, lr=0.5 if optimizer == "sgd" else 0.05)
    union = {i: set() for i in upd.mems}
    per_step = []
    for step in range(steps):
        for _ in range(accum):
            ids = torch.randint(0, 256, (2, 10))
            mask = torch.ones_like(ids)
            mask[1, 7:] = 0
            out = model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100))
            upd.observe(mask)
            out.loss.backward()
        sel = upd.select()
        before = {i: m.values.weight.detach().clone() for i, m in upd.mems.items()}
        upd.step()
        changed = {i: (m.values.weight != before[i]).any(1).nonzero().flatten() for i, m in upd.mems.items()}
        per_step.append((sel, changed))
        for i, rows in sel.items():
            union[i] |= set(rows.tolist())
    return model, start, upd, union, per_step


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_only_selected_rows_move(optimizer):
    model, start, upd, union, per_step = _train_steps(optimizer)
    for name, p in model.named_parameters():
        if name.endswith("values.weight"):
            layer = int(name.split("layers.")[1].split(".")[0])
            moved = (p.detach() != start[name]).any(1).nonzero().flatten().tolist()
            assert set(moved) <= union[layer]
            assert moved, "selected rows should change"
        else:
            assert torch.equal(p.detach(), start[name]), name
    for sel, changed in per_step:
        for i in sel:
            assert set(changed[i].tolist()) <= set(sel[i].tolist())


def test_adam_state_untouched_for_unselected_rows():
    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[1]))
    upd = smf_mini.SparseValueUpdate(model, t=3, rule="tf", optimizer="adamw", lr=0.05, weight_decay=0.1)
    for _ in range(3):
        ids = torch.randint(0, 256, (2, 8))
        model(input_ids=ids, labels=ids).loss.backward()
        upd.observe(None)
        sel = upd.select()[1]
        st = {k: v.clone() for k, v in upd.state[1].items()}
        w = upd.mems[1].values.weight.detach().clone()
        upd.step()
        other = torch.ones(64, dtype=torch.bool)
        other[sel] = False
        for k in st:
            assert torch.equal(upd.state[1][k][other], st[k][other]), k
        assert torch.equal(upd.mems[1].values.weight[other], w[other])
        assert (upd.state[1]["steps"][sel] == st["steps"][sel] + 1).all()


def test_one_selection_per_step_with_accumulation():
    model, start, upd, union, per_step = _train_steps("sgd", steps=3, accum=3, t=5)
    for sel, changed in per_step:
        for i in sel:
            assert len(sel[i]) <= 5
            assert len(changed[i]) <= 5


def one_sparse_step(**kw):
    """One SMF step on a tiny Llama with memory at layer 2 (t=6, TF ranking).
    Returns (update, value table before, its dense gradient, rows selected)."""
    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[2]))
    ids = torch.randint(0, 256, (2, 9))
    upd = smf_mini.SparseValueUpdate(model, t=6, rule="tf", **kw)
    w0 = upd.mems[2].values.weight.detach().clone()
    model(input_ids=ids, labels=ids).loss.backward()
    upd.observe(None)
    g = upd.mems[2].values.weight.grad
    g = g.to_dense() if g.is_sparse else g.clone()  # SMF's gradient holds the rows read only
    rows = upd.select()[2]
    upd.step()
    return upd, w0, g, rows


def test_sgd_step_equals_masked_dense_sgd():
    """Independent reference: torch.optim.SGD on a copy whose gradient is masked by hand."""
    upd, w0, g, rows = one_sparse_step(optimizer="sgd", lr=0.7)
    ref = torch.nn.Parameter(w0.clone())
    mask = torch.zeros(64, 1)
    mask[rows] = 1
    ref.grad = g * mask
    torch.optim.SGD([ref], lr=0.7).step()
    assert torch.allclose(upd.mems[2].values.weight, ref, atol=1e-7)


def test_background_stats_df_and_totals():
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[1]))

    class Tok:
        pad_token_id = 0

        def __call__(self, docs, return_tensors, padding, truncation, max_length):
            rows = [[int(c) % 250 + 1 for c in d.encode()][:max_length] for d in docs]
            L = max(map(len, rows))
            ids = torch.tensor([r + [0] * (L - len(r)) for r in rows])
            att = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
            from transformers import BatchEncoding

            return BatchEncoding({"input_ids": ids, "attention_mask": att})

    docs = ["hello world", "a much longer background document here", "xyz"]
    bg = smf_mini.collect_background(model, Tok(), docs, max_length=16, batch_size=2, progress=False)
    mem = memory.memory_layers(model)[1]
    # reference: one document at a time, no padding at all
    df, tot = torch.zeros(64), torch.zeros(64)
    for d in docs:
        enc = Tok()([d], "pt", True, True, 16)
        model(**enc)
        c = memory.count_reads(mem, None)
        df += (c > 0).float()
        tot += c
    assert bg.n_docs == 3
    assert torch.equal(bg.df[1], df) and torch.equal(bg.total[1], tot)


def test_save_load_memory_roundtrip(tmp_path):
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg())
    for m in memory.memory_layers(model).values():
        torch.nn.init.normal_(m.values.weight)
    x = torch.randint(0, 256, (1, 7))
    want = model(x).logits
    checkpoints.save_memory(model, tmp_path / "memory.safetensors")
    fresh = common.tiny_random_model("llama")
    checkpoints.load_memory(fresh, str(tmp_path / "memory.safetensors"))
    assert torch.equal(fresh(x).logits, want)
    bg = smf_mini.BackgroundStats({1: torch.arange(4.0)}, {1: torch.ones(4)}, 7)
    checkpoints.save_background(bg, str(tmp_path / "bg.safetensors"))
    bg2 = checkpoints.load_background(str(tmp_path / "bg.safetensors"))
    assert bg2.n_docs == 7 and torch.equal(bg2.df[1], bg.df[1])


def test_rows_only_memory_file_rebuilds_the_memory_bit_for_bit(tmp_path):
    """SMF's small checkpoint: the rows that moved and the seed. Loaded into a new model it
    gives every memory tensor and the logits bit for bit; it is smaller by the rows that
    did not move; and a memory whose other tensors changed (so a seed cannot rebuild it)
    is saved whole instead, and still loads exactly."""
    from safetensors import safe_open

    model = common.tiny_random_model("llama")
    mems = memory.attach_memory(model, small_cfg(layers=[1, 3]), seed=5)
    with torch.no_grad():
        mems[1].values.weight[[2, 9, 40]] = torch.randn(3, mems[1].values.weight.shape[1])
        mems[3].values.weight[17] += 1e-7  # a tiny move is still a move
    x = torch.randint(0, 256, (1, 7))
    want, want_sd = model(x).logits, checkpoints.memory_state_dict(model)
    checkpoints.save_memory(model, tmp_path / "small.safetensors", rows_only=True)
    checkpoints.save_memory(model, tmp_path / "whole.safetensors")
    with safe_open(str(tmp_path / "small.safetensors"), framework="pt") as f:
        assert f.get_tensor("layer1.rows").tolist() == [2, 9, 40] and f.get_tensor("layer3.rows").tolist() == [17]
        assert f.metadata()["regenerate_from_seed"] == "5"
    assert (tmp_path / "small.safetensors").stat().st_size < (tmp_path / "whole.safetensors").stat().st_size / 2
    fresh = common.tiny_random_model("llama")
    checkpoints.load_memory(fresh, str(tmp_path / "small.safetensors"))
    got = checkpoints.memory_state_dict(fresh)
    assert got.keys() == want_sd.keys() and all(torch.equal(got[k], want_sd[k]) for k in got)
    assert torch.equal(fresh(x).logits, want)

    with torch.no_grad():
        mems[1].keys.add_(1.0)  # no longer what seed 5 makes
    checkpoints.save_memory(model, tmp_path / "keys.safetensors", rows_only=True)
    with safe_open(str(tmp_path / "keys.safetensors"), framework="pt") as f:
        assert "regenerate_from_seed" not in f.metadata() and "layer1.keys" in f.keys()
    other = common.tiny_random_model("llama")
    checkpoints.load_memory(other, str(tmp_path / "keys.safetensors"))
    assert torch.equal(other(x).logits, model(x).logits)


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    f = tmp_path / "x.json"
    common.write_json(f, {"good": 1})
    with pytest.raises(RuntimeError):
        with common.atomic_path(f) as tmp:
            open(tmp, "w").write("partial")
            raise RuntimeError("boom")
    assert f.read_text().strip().startswith("{") and "good" in f.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_row_step_cap_against_hand_computed_update(optimizer):
    """Bounded sparse step: each selected row moves by the optimizer's update, shortened to
    the cap when it is longer (computed here by hand from the same gradient)."""
    lr = 50.0 if optimizer == "sgd" else 0.05
    upd, w0, g, rows = one_sparse_step(optimizer=optimizer, lr=lr, row_step_cap=0.01)
    # the uncapped move: SGD -lr*g; Adam's first step -lr * g / (|g| + eps) (bias-corrected moments)
    d = -lr * g[rows] if optimizer == "sgd" else -lr * g[rows] / (g[rows].abs() + 1e-8)
    norms = d.norm(dim=1, keepdim=True)
    assert (norms > 0.01).any()  # the cap is active on this example
    want = w0.clone()
    want[rows] += d * torch.clamp(0.01 / norms, max=1.0)
    got = upd.mems[2].values.weight.detach()
    assert torch.allclose(got, want, atol=1e-6)
    assert ((got - w0)[rows].norm(dim=1) <= 0.01 + 1e-6).all()


def test_rowwise_adamw_equals_torch_adamw_when_rows_are_selected_every_step():
    """Independent reference: torch.optim.AdamW on a copy of the value table. With the same
    batch every step the same rows are read and selected every step, so per-row step counts
    equal the global count and the two must agree (unread rows: zero gradient in both)."""
    import copy

    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[1]))
    ref_model = copy.deepcopy(model)
    for p in ref_model.parameters():
        p.requires_grad_(False)
    ref_w = memory.memory_layers(ref_model)[1].values.weight
    ref_w.requires_grad_(True)
    ref_opt = torch.optim.AdamW([ref_w], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    upd = smf_mini.SparseValueUpdate(model, t=64, rule="tf", optimizer="adamw", lr=0.05, weight_decay=0.0)
    ids = torch.randint(0, 256, (2, 8))
    for _ in range(4):
        model(input_ids=ids, labels=ids).loss.backward()
        upd.observe(None)
        upd.select()
        upd.step()
        ref_model(input_ids=ids, labels=ids).loss.backward()
        ref_opt.step()
        ref_opt.zero_grad()
    w = upd.mems[1].values.weight
    assert not torch.equal(w, torch.zeros_like(w))
    assert torch.allclose(w, ref_w, atol=1e-6)


def test_clip_uses_the_selected_rows_only():
    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[1]))
    upd = smf_mini.SparseValueUpdate(model, t=2, rule="tf", optimizer="sgd", lr=1.0)
    w = upd.mems[1].values.weight
    g = torch.full_like(w, 100.0)  # unselected rows: huge gradients that must not count
    g[3], g[5] = 3.0 / math.sqrt(w.shape[1]), 4.0 / math.sqrt(w.shape[1])  # row norms 3 and 4
    w.grad = g
    upd.counts[1][3], upd.counts[1][5], upd.counts[1][7] = 5, 4, 1  # rows 3 and 5 are read most
    assert upd.select()[1].tolist() == [3, 5]
    assert upd.clip_grad_norm_(1.0) == pytest.approx(5.0, rel=1e-5)  # sqrt(3^2 + 4^2)
    assert upd.grads[1].norm().item() == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("rule", ["kl", "tfidf"])
def test_read_rows_scoring_zero_or_below_are_still_ranked_above_unread(rule):
    """KL is negative for rows the step reads less than background text does; TF-IDF is 0 for
    a row every background document reads. Such rows still rank (below positive ones), and an
    unread row never does."""
    counts = torch.tensor([0.0, 1.0, 1.0, 0.0, 2.0])
    if rule == "kl":  # background reads row 1 and 2 far more often than this step does
        bg = smf_mini.BackgroundStats({0: torch.zeros(5)}, {0: torch.tensor([0.0, 1000.0, 500.0, 0.0, 0.0])}, 10)
    else:  # every background document read rows 1, 2 and 4: idf = log(11/11) = 0
        bg = smf_mini.BackgroundStats({0: torch.tensor([0.0, 10.0, 10.0, 0.0, 10.0])}, {0: torch.zeros(5)}, 10)
    s = smf_mini.score_rows(counts, rule, bg, 0)
    assert s[0] == -math.inf and s[3] == -math.inf
    assert (s[[1, 2, 4]] <= 0).all() if rule == "tfidf" else (s[[1, 2]] < 0).all()
    assert smf_mini.select_rows(counts, 10, rule, bg, 0).tolist() == [1, 2, 4]  # read rows only, all of them


def test_collate_masks_labels_for_both_loss_modes_and_truncation():
    from transformers import AutoTokenizer

    import train

    tok = AutoTokenizer.from_pretrained(common.offline_model_dir())
    p, c = "Question: Capital?\nAnswer:", " Vell"
    P, C = tok(p, add_special_tokens=False)["input_ids"], tok(c, add_special_tokens=False)["input_ids"]
    short = ("x", " y")
    b = train.collate(tok, [(p, c), short], "answer", 64, "cpu")
    assert b["labels"][0].tolist() == [-100] * len(P) + C  # prompt masked, answer kept
    n1 = len(tok("x", add_special_tokens=False)["input_ids"]) + len(tok(" y", add_special_tokens=False)["input_ids"])
    assert b["attention_mask"][1].tolist() == [1] * n1 + [0] * (len(P) + len(C) - n1)  # right padding
    assert (b["labels"][1][n1:] == -100).all()  # padding is never a target
    a = train.collate(tok, [(p, c)], "all", 64, "cpu")
    assert a["labels"][0].tolist() == P + C  # every token
    t = train.collate(tok, [(p, c)], "answer", len(P) - 1, "cpu")  # truncated inside the prompt
    assert t["labels"][0].tolist() == [-100] * (len(P) - 1) and t["input_ids"].shape[1] == len(P) - 1


def test_sparse_value_gradient_equals_the_dense_one_on_rows_read_and_is_absent_elsewhere():
    """memory.RowsReadGrad against embedding_bag's own dense gradient, through a real tiny
    model, two micro-batches accumulated (as --grad-accum does): the same numbers on every
    row read, no entry for any other row, and the same input gradient for the layers below."""
    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    mems = memory.attach_memory(model, small_cfg(layers=[1, 3]))
    for m in mems.values():
        torch.nn.init.normal_(m.values.weight)  # non-zero values: the read weights' gradient matters too
    batches = [torch.randint(0, 256, (2, 9)) for _ in range(2)]
    emb = model.get_input_embeddings().weight  # a gradient that flows through every memory layer

    def grads(sparse):
        for m in mems.values():
            m.sparse_grad = sparse
            m.values.weight.grad = None
        emb.grad = None
        reads = {i: set() for i in mems}
        for ids in batches:
            model(input_ids=ids, labels=ids).loss.backward()
            for i, m in mems.items():
                reads[i] |= set(m.last_indices.flatten().tolist())
        return {i: m.values.weight.grad for i, m in mems.items()}, emb.grad.clone(), reads

    dense, emb_dense, _ = grads(False)
    sparse, emb_sparse, reads = grads(True)
    for i in mems:
        assert sparse[i].is_sparse and not dense[i].is_sparse
        s = sparse[i].coalesce()
        assert set(s.indices()[0].tolist()) == reads[i]  # exactly the rows read, nothing else
        assert torch.allclose(s.to_dense(), dense[i], atol=1e-6)
        unread = torch.ones(dense[i].shape[0], dtype=torch.bool)
        unread[list(reads[i])] = False
        assert (dense[i][unread] == 0).all()
    assert torch.allclose(emb_sparse, emb_dense, atol=1e-6)


def test_rows_of_grad_reads_sparse_gradients_sorted_or_summed():
    """The selected rows' gradient from a dense table, a sorted sparse one, and an
    uncoalesced sum of two (as grad accumulation leaves it) with a repeated row: all equal
    the dense reference; a selected row without a gradient is an error, not a zero."""
    dense = torch.zeros(10, 3)
    dense[2], dense[5], dense[7] = 1.0, 2.0, 3.0
    rows = torch.tensor([2, 7])
    first = torch.sparse_coo_tensor(torch.tensor([[2, 5]]), torch.tensor([[1.0] * 3, [2.0] * 3]), (10, 3))
    second = torch.sparse_coo_tensor(torch.tensor([[7, 2]]), torch.tensor([[3.0] * 3, [0.5] * 3]), (10, 3))
    assert torch.equal(smf_mini.rows_of_grad(dense, rows), dense[rows])
    assert torch.equal(smf_mini.rows_of_grad(first, torch.tensor([2, 5])), dense[[2, 5]])
    summed = first + second  # indices 2, 5, 7, 2: not sorted, row 2 twice
    assert torch.equal(smf_mini.rows_of_grad(summed, rows), torch.stack([dense[2] + 0.5, dense[7]]))
    with pytest.raises(RuntimeError, match="has no gradient"):
        smf_mini.rows_of_grad(first, torch.tensor([3]))
    none = torch.sparse_coo_tensor(torch.zeros((1, 0), dtype=torch.long), torch.zeros(0, 3), (10, 3))
    assert smf_mini.rows_of_grad(none, torch.tensor([], dtype=torch.long)).shape == (0, 3)  # nothing selected: no error


# ---------------------------------------------------------------- the learned output scale (--scale-lr)


def test_output_scale_gradient_against_a_folded_reference_and_the_unscaled_output():
    """alpha * memory(x). Independent references: (1) alpha folded into W_out of a memory
    without a scale gives the same output and the same value-row gradient; (2) dL/dalpha
    equals sum(memory_unscaled(x) * dL/dout), computed from the unscaled memory's output."""
    torch.manual_seed(0)
    cfg = dict(slots=64, heads=2, topk=4, key_dim=8)
    mem = memory.ProductKeyMemory(16, memory.MemoryConfig(out_scale=True, **cfg)).double()
    torch.manual_seed(0)
    ref = memory.ProductKeyMemory(16, memory.MemoryConfig(**cfg)).double()  # same seed: same random tensors
    assert all(torch.equal(ref.state_dict()[k], v) for k, v in mem.state_dict().items() if k != "scale")
    with torch.no_grad():
        torch.nn.init.normal_(mem.values.weight)
        ref.values.weight.copy_(mem.values.weight)
        mem.scale.fill_(0.37)
        ref.w_out.weight.mul_(0.37)
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    g = torch.randn(2, 5, 16, dtype=torch.float64)  # dL/dout
    out = mem(x)
    (out * g).sum().backward()
    ref_out = ref(x)
    (ref_out * g).sum().backward()
    assert torch.allclose(out, ref_out, atol=1e-12)
    assert torch.allclose(mem.values.weight.grad, ref.values.weight.grad, atol=1e-12)
    with torch.no_grad():
        unscaled = ref_out / 0.37
    assert torch.allclose(mem.scale.grad, (unscaled * g).sum(), atol=1e-10)


def test_output_scale_starts_at_one_keeps_base_logits_and_trains_by_adam():
    """At the start the scale is 1 (base logits bit for bit) and gets no gradient while the
    values are zero; after a step that moved rows it gets one, and --scale-lr's Adam moves
    it as Adam's second step does after a zero first gradient, by hand:
    m = 0.1 g, v = 0.001 g^2, move = lr * (m / (1 - 0.9^2)) / sqrt(v / (1 - 0.999^2))."""
    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    x = torch.randint(0, 256, (2, 9))
    base = model(x).logits
    memory.attach_memory(model, small_cfg(layers=[2], out_scale=True))
    assert torch.equal(model(x).logits, base)
    upd = smf_mini.SparseValueUpdate(model, t=6, rule="tf", optimizer="sgd", lr=50.0, scale_lr=0.01)
    alpha = upd.mems[2].scale
    for step in range(2):
        model(input_ids=x, labels=x).loss.backward()
        upd.observe(None)
        g = float(alpha.grad)
        if step == 0:
            assert g == 0.0  # the memory's output is zero, so is its scale's gradient
            upd.select(), upd.step()
            assert float(alpha.detach()) == 1.0  # Adam does not move a parameter whose gradient is 0
        else:
            assert g != 0.0
            upd.select(), upd.step()
            move = 0.01 * (0.1 / (1 - 0.9**2)) / math.sqrt(0.001 / (1 - 0.999**2))  # = 0.00744
            assert float(alpha.detach()) == pytest.approx(1.0 - math.copysign(move, g), abs=1e-6)
    assert alpha.grad is None


def test_output_scale_errors_and_frozen_when_not_trained():
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[2]))
    with pytest.raises(ValueError, match="out_scale=True"):
        smf_mini.SparseValueUpdate(model, t=6, rule="tf", scale_lr=0.01)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg(layers=[2], out_scale=True))
    upd = smf_mini.SparseValueUpdate(model, t=6, rule="tf", scale_lr=0.0)
    assert not upd.mems[2].scale.requires_grad and upd.parameters() == [upd.mems[2].values.weight]


def test_rows_only_file_keeps_the_trained_output_scale(tmp_path):
    model = common.tiny_random_model("llama")
    mems = memory.attach_memory(model, small_cfg(layers=[1, 3], out_scale=True), seed=2)
    with torch.no_grad():
        mems[1].values.weight[[4, 8]] = torch.randn(2, mems[1].values.weight.shape[1])
        mems[1].scale.fill_(1.25)
    x = torch.randint(0, 256, (1, 7))
    checkpoints.save_memory(model, tmp_path / "small.safetensors", rows_only=True)
    fresh = common.tiny_random_model("llama")
    got = checkpoints.load_memory(fresh, str(tmp_path / "small.safetensors"))
    assert float(got[1].scale.detach()) == 1.25 and float(got[3].scale.detach()) == 1.0
    assert torch.equal(fresh(x).logits, model(x).logits)


@pytest.mark.parametrize("optimizer,t", [("sgd", 5), ("adamw", 5), ("adamw", 1)])
def test_step_returns_its_record_of_rows_read_selected_and_moved(optimizer, t):
    """SparseValueUpdate.step() says what it did, per layer, for either optimizer: the rows the
    step's tokens read (padding excluded), the rows selected, and those whose value changed."""
    torch.manual_seed(0)
    model = common.tiny_random_model("llama")
    memory.attach_memory(model, small_cfg())
    upd = smf_mini.SparseValueUpdate(model, t=t, rule="tf", optimizer=optimizer, lr=0.5 if optimizer == "sgd" else 0.05)
    ids = torch.randint(0, 256, (2, 10))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100)).loss.backward()
    upd.observe(mask)
    reads = {i: int((upd.counts[i] > 0).sum()) for i in upd.mems}
    sel = upd.select()
    before = {i: m.values.weight.detach().clone() for i, m in upd.mems.items()}
    record = upd.step()
    assert list(record) == [str(i) for i in upd.mems]
    for i, m in upd.mems.items():
        moved = int((m.values.weight != before[i]).any(1).sum())
        assert record[str(i)] == {"read": reads[i], "selected": int(sel[i].numel()), "moved": moved}
        assert 0 < moved <= record[str(i)]["selected"] <= record[str(i)]["read"]
