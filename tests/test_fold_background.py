"""--fold-background: after each stage of a stream, that stage's reads join SMF's background
statistics (a hand-made count example, the ranking it changes, a stream that uses it, and a
resume mid-stream with the grown background, bit-identical)."""
import json

import pytest
import torch
from safetensors.torch import load_file

import checkpoints
import memory
import smf_mini
import train
from test_stream import stream_flags


def _stats(df, total, n):
    return smf_mini.BackgroundStats({3: torch.tensor(df, dtype=torch.float32)}, {3: torch.tensor(total, dtype=torch.float32)}, n)


def test_add_sums_the_counts_of_a_stage_by_hand():
    # background: 2 documents; row 0 read by one of them 3 times, row 2 by both (5 reads)
    bg = _stats([1, 0, 2, 0], [3, 0, 5, 0], 2)
    # a stage of 3 texts: row 1 read by two of them (4 reads), row 2 by one (once), row 3 by all three (6 reads)
    stage = _stats([0, 2, 1, 3], [0, 4, 1, 6], 3)
    held = bg.df[3]
    bg.add(stage)
    assert bg.df[3].tolist() == [1, 2, 3, 3] and bg.total[3].tolist() == [3, 4, 6, 6] and bg.n_docs == 5
    assert bg.df[3] is held  # in place: the optimizer holding this object ranks with the new counts
    # TF-IDF of one step reading rows 0..3 once each: log((N + 1) / (df + 1)) by hand
    counts = torch.ones(4)
    score = smf_mini.score_rows(counts, "tfidf", bg, 3)
    expect = [0.25 * torch.log(torch.tensor(6.0 / d, dtype=torch.float64)) for d in (2, 3, 4, 4)]
    assert torch.allclose(score, torch.stack(expect))
    # before folding, row 1 (unread by background) ranked first; after, row 0 does
    before = smf_mini.score_rows(counts, "tfidf", _stats([1, 0, 2, 0], [3, 0, 5, 0], 2), 3)
    assert int(before.argmax()) in (1, 3) and int(score.argmax()) == 0
    with pytest.raises(ValueError, match="cannot be added"):
        bg.add(smf_mini.BackgroundStats({4: torch.zeros(4)}, {4: torch.zeros(4)}, 1))


def test_fold_stage_adds_exactly_what_reading_the_stage_texts_counts(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    memory.attach_memory(model, memory.MemoryConfig(slots=256, heads=2, topk=4, key_dim=16, layers=[1]), seed=0)
    bg = smf_mini.collect_background(model, tok, ["some background text", "and another one here"], 32, progress=False)
    before = {k: v.clone() for k, v in bg.total.items()}, {k: v.clone() for k, v in bg.df.items()}
    texts = ["The capital of Kalo is Mir.", "Question: What is the capital of Kalo?\nAnswer: Mir"]
    stage = smf_mini.fold_stage(bg, model, tok, texts, 32)
    alone = smf_mini.collect_background(model, tok, texts, 32, progress=False)
    assert stage.n_docs == 2 and bg.n_docs == 4
    assert torch.equal(stage.total[1], alone.total[1]) and torch.equal(stage.df[1], alone.df[1])
    assert torch.equal(bg.total[1], before[0][1] + alone.total[1]) and torch.equal(bg.df[1], before[1][1] + alone.df[1])
    assert alone.total[1].sum() > 0  # the stage did read rows


def test_stream_with_fold_grows_the_background_and_resumes_bit_identical(tmp_path, tiny_dir, monkeypatch):
    flags = stream_flags(tiny_dir, method="smf", steps=4, extra=["--fold-background"])
    flags[flags.index("--sequence") + 1] = "3"
    # two memory layers: layer 0's trained values change what layer 2 reads, so stage 1's reads
    # counted again after stage 2 would differ from those counted after stage 1 (a resume that
    # recounted instead of loading the grown background would not be bit-identical)
    flags[flags.index("--memory-layers") + 1] = "0,2"
    assert train.main(["--runs-dir", str(tmp_path / "a"), *flags]) == 0
    a = tmp_path / "a" / "tiny-smf"
    cfg = json.loads((a / "config.json").read_text())
    assert cfg["fold_background"] is True
    # one grown background per stage but the last: 8 background documents + each stage's 36 texts
    g1, g2 = (checkpoints.load_background(str(a / f"background-stage{s}.safetensors")) for s in (1, 2))
    assert not (a / "background-stage3.safetensors").exists()
    fixed = checkpoints.load_background(str(a / "background.safetensors"))
    assert (fixed.n_docs, g1.n_docs, g2.n_docs) == (8, 44, 80)
    assert all(bool((g2.total[i] >= g1.total[i]).all()) and bool((g1.total[i] >= fixed.total[i]).all()) for i in fixed.total)
    assert all(float(g1.total[i].sum() - fixed.total[i].sum()) > 0 for i in fixed.total)

    # the flag acts: the same stream without it moves other rows
    plain = [f for f in flags if f != "--fold-background"]
    assert train.main(["--runs-dir", str(tmp_path / "p"), *plain]) == 0
    A, P = load_file(a / "memory.safetensors"), load_file(tmp_path / "p" / "tiny-smf" / "memory.safetensors")
    assert A.keys() != P.keys() or any(A[k].shape != P[k].shape or not torch.equal(A[k], P[k]) for k in A)

    # interrupted in stage 3 (after two folds), and once while folding stage 2's reads
    calls, real_lr, real_fold = [0], train.lr_at, smf_mini.fold_stage

    def boom(step, total, cfg):
        calls[0] += 1
        if calls[0] == 10:  # global step 10: stage 3, saved at 8
            raise KeyboardInterrupt
        return real_lr(step, total, cfg)

    monkeypatch.setattr(train, "lr_at", boom)
    assert train.main(["--runs-dir", str(tmp_path / "b"), *flags]) == 130
    assert (tmp_path / "b" / "tiny-smf.partial" / "background-stage2.safetensors").exists()
    monkeypatch.setattr(train, "lr_at", real_lr)
    folds = [0]

    def fold_then_stop(*a, **k):
        folds[0] += 1
        if folds[0] == 2:
            raise KeyboardInterrupt
        return real_fold(*a, **k)

    monkeypatch.setattr(smf_mini, "fold_stage", fold_then_stop)
    assert train.main(["--runs-dir", str(tmp_path / "c"), *flags]) == 130
    assert not (tmp_path / "c" / "tiny-smf.partial" / "background-stage2.safetensors").exists()
    monkeypatch.setattr(smf_mini, "fold_stage", real_fold)
    for d in ("b", "c"):
        assert train.main(["--runs-dir", str(tmp_path / d), *flags, "--resume"]) == 0
    ra = json.loads((a / "results.json").read_text())
    la = [json.loads(x)["loss"] for x in (a / "log.jsonl").read_text().splitlines()]
    for d in ("b", "c"):
        run = tmp_path / d / "tiny-smf"
        r = json.loads((run / "results.json").read_text())
        assert r["R"] == ra["R"] and r["probes"] == ra["probes"]
        assert [json.loads(x)["loss"] for x in (run / "log.jsonl").read_text().splitlines()] == la
        B = load_file(run / "memory.safetensors")
        assert A.keys() == B.keys() and all(torch.equal(A[k], B[k]) for k in A)
        for s in (1, 2):
            x, y = load_file(a / f"background-stage{s}.safetensors"), load_file(run / f"background-stage{s}.safetensors")
            assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
