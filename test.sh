#!/usr/bin/env bash
# The whole test suite: sets itself up on a fresh machine, then lint, types and every test.
# Extra arguments go to pytest (e.g. ./test.sh -k roster).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh --with-browser
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff" && ruff check . && ruff format --check .
echo "== mypy" && mypy
echo "== pytest" && pytest "$@"
