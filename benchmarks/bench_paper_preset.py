"""Benchmark: is one GPU enough for the paper preset? Peak memory and time of ONE optimizer step.

    python benchmarks/bench_paper_preset.py                        # CPU: lengths 128 and 256, fp32 and bf16
    python benchmarks/bench_paper_preset.py --device cuda --lengths 1024   # a GPU: the preset's own length

The model is Qwen2.5-0.5B's published architecture with RANDOM weights (no download):
hidden 896, 24 layers, MLP 4864, 14 heads (2 key-value heads), vocabulary 151,936, tied
embeddings, rope theta 1e6; 494M parameters. SMF gets the paper preset's memory
(train.PRESETS["paper"]: layers 6, 12, 18; 16,384 slots; 4 heads, top-k 16, key width 256;
row-wise AdamW on the top-512 rows). Random weights cost the same memory and time as the
real ones. One step = the paper preset's micro-batch (4 sequences, every token a target)
through train.target_loss, backward, and train.apply_update (SMF: select, clip, move;
LoRA / full: clip, Adam), exactly as train.py does it.

Each (method, dtype, length) runs in its own process, so that its peak resident memory
(getrusage's ru_maxrss: the most the process ever held) is its own. Printed per run: the
resident memory once the model and optimizer are built ("static"), the peak during the step,
and the step's wall time; on CUDA also torch's peak GPU memory. On a CPU the preset's 1,024
tokens are too slow for two cores; the activations (everything the step adds above the
static memory) grow linearly with length (sdpa attention stores no L x L matrix), so two
lengths give the line, and the script prints it extrapolated to 1,024. Not for full
finetuning at short lengths: there the peak is Adam's step (weights, gradients, moments and
temporaries), which hides the activations, so its line is flat.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import distributed  # noqa: E402
import memory  # noqa: E402
import settings  # noqa: E402
import smf_mini  # noqa: E402
import train  # noqa: E402

QWEN25_05B = dict(hidden_size=896, num_hidden_layers=24, intermediate_size=4864, num_attention_heads=14,
                  num_key_value_heads=2, vocab_size=151_936, tie_word_embeddings=True, rope_theta=1_000_000.0,
                  max_position_embeddings=32_768, rms_norm_eps=1e-6)
GIB = 2**30


def rss_peak() -> float:
    """The most resident memory this process has held so far, in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def build(method: str, device: torch.device):
    """(model, optimizer, cfg): random Qwen2.5-0.5B, made trainable as train.py does for `method`."""
    from transformers import AutoModelForCausalLM, Qwen2Config  # only the benchmark needs the config class

    cfg = dict(train.PRESETS["paper"], method=method, init_memory=None)
    cfg["lr"] = cfg[f"{method}_lr"]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(Qwen2Config(**QWEN25_05B), attn_implementation="sdpa").to(device)
    model.config.use_cache = False
    if method == "smf":  # train.setup_method, with the 'tf' rule: no background pass (the ranking costs < 1 ms)
        memory.attach_memory(model, settings.memory_config(cfg), seed=0)
        model.to(device)
        opt = smf_mini.SparseValueUpdate(model, cfg["top_t"], "tf", cfg["smf_optimizer"], cfg["lr"], None)
    else:
        model, opt, _ = train.setup_method(model, None, cfg, device, progress=False)
    model.train()
    return model, opt, cfg


def one(method: str, dtype: str, length: int, device_name: str) -> dict:
    """One step in this process; returns its figures."""
    device = torch.device(device_name)
    model, opt, cfg = build(method, device)
    static = rss_peak()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, QWEN25_05B["vocab_size"], (cfg["batch_size"], length), generator=g).to(device)
    b = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}  # loss on every token
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=dtype == "bf16"):
        loss = train.target_loss(model, b) / train.target_count(b)
    if method == "smf":
        opt.observe(b["attention_mask"])
    loss.backward()
    train.apply_update(model, opt, cfg, distributed.Solo(device))
    if device.type == "cuda":
        torch.cuda.synchronize()
    out = {"method": method, "dtype": dtype, "batch": cfg["batch_size"], "length": length,
           "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
           "trainable_M": round(sum(p.numel() for p in opt_params(model, opt, method)) / 1e6, 2),
           "step_s": round(time.perf_counter() - t0, 1), "rss_static_gib": round(static, 2), "rss_peak_gib": round(rss_peak(), 2)}
    if device.type == "cuda":
        out["gpu_peak_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 2)
    return out


def opt_params(model, opt, method: str):
    return opt.parameters() if method == "smf" else [p for p in model.parameters() if p.requires_grad]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--methods", default="smf,lora,full")
    p.add_argument("--dtypes", default="fp32,bf16")
    p.add_argument("--lengths", default="128,256", help="tokens per sequence, comma-separated (the preset: 1024)")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: method,dtype,length in this process
    p.add_argument("--out", help="also write the figures as JSON to this file")
    a = p.parse_args(argv)
    if a.one:
        m, d, n = a.one.split(",")
        print(json.dumps(one(m, d, int(n), a.device)), flush=True)
        return
    rows = []
    for m in a.methods.split(","):
        for d in a.dtypes.split(","):
            for n in (int(x) for x in a.lengths.split(",")):
                done = subprocess.run([sys.executable, __file__, "--device", a.device, "--one", f"{m},{d},{n}"],
                                      capture_output=True, text=True)
                if done.returncode:
                    print(f"{m} {d} {n}: failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
                    continue
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), flush=True)
    print_table(rows, a.device)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"device": a.device, "threads": torch.get_num_threads(), "runs": rows}, f, indent=1)


def print_table(rows: list[dict], device: str) -> None:
    """The runs side by side, and per (method, dtype) the step's extra memory extrapolated to 1,024 tokens."""
    print(f"\n{'method':6} {'dtype':5} {'len':>5} {'step s':>7} {'static GiB':>11} {'peak GiB':>9}" + ("  GPU GiB" if device != "cpu" else ""))
    for r in rows:
        print(f"{r['method']:6} {r['dtype']:5} {r['length']:5d} {r['step_s']:7.1f} {r['rss_static_gib']:11.2f} {r['rss_peak_gib']:9.2f}"
              + (f" {r['gpu_peak_gib']:8.2f}" if "gpu_peak_gib" in r else ""))
    for m in dict.fromkeys(r["method"] for r in rows):
        for d in dict.fromkeys(r["dtype"] for r in rows):
            pts = sorted((r["length"], r["rss_peak_gib"] - r["rss_static_gib"], r["rss_static_gib"]) for r in rows
                         if r["method"] == m and r["dtype"] == d)
            if len(pts) >= 2:
                (l1, e1, s1), (l2, e2, _) = pts[0], pts[-1]
                per = (e2 - e1) / (l2 - l1)
                print(f"{m} {d}: step adds {per * 1024:.2f} GiB per 1,024 tokens per sequence (x4 sequences); "
                      f"at 1,024 tokens: static {s1:.2f} + step {e1 + per * (1024 - l1):.2f} GiB")


if __name__ == "__main__":
    main()
