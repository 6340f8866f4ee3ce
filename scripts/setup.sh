#!/usr/bin/env bash
# Idempotent set-up shared by ./run.sh and ./test.sh on a machine with Python 3.11, Node 20 and apt:
#  - .venv with the pinned Python packages of requirements.lock (re-installed when it changes),
#  - the pinned Microsoft 365 Agents Playground from npm (tools/playground, `npm ci`),
#  - with --with-browser: Debian's chromium, for the browser smoke test (needs root for apt).
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-python3.11}
if ! command -v "$python_bin" >/dev/null 2>&1; then
  echo "setup: $python_bin not found; install Python 3.11 first" >&2
  exit 1
fi

stamp=.venv/.setup-stamp
wanted=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing pinned Python packages into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$wanted" > "$stamp"
fi

pg=tools/playground
pg_stamp=$pg/node_modules/.setup-stamp
pg_wanted=$(sha256sum "$pg/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$pg_stamp" 2>/dev/null)" != "$pg_wanted" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "setup: installing the Agents Playground (npm ci)" >&2
    (cd "$pg" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$pg_wanted" > "$pg_stamp"
  else
    echo "setup: npm not found: the Playground end-to-end tests will be skipped" >&2
  fi
fi

if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian chromium for the browser smoke test" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "setup: chromium missing and apt unavailable: the browser smoke test will be skipped" >&2
  fi
fi
