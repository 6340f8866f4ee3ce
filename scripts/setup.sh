#!/usr/bin/env bash
# Idempotent set-up shared by ./run.sh and ./test.sh on a machine with Python 3.11, Node 20 and apt:
#  - .venv with the pinned Python packages of requirements.lock (re-installed when it changes),
#  - the pinned Microsoft 365 Agents Playground and Teams manifest schemas from npm (`npm ci`),
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

# Node tools, each pinned by its package-lock.json: the Agents Playground, and the Teams app
# manifest schemas the tests validate the app package against.
for tool in tools/playground tools/app-manifest; do
  [ -f "$tool/package-lock.json" ] || continue
  tool_stamp=$tool/node_modules/.setup-stamp
  tool_wanted=$(sha256sum "$tool/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$tool_stamp" 2>/dev/null)" != "$tool_wanted" ]; then
    if command -v npm >/dev/null 2>&1; then
      echo "setup: npm ci in $tool" >&2
      (cd "$tool" && npm ci --no-audit --no-fund --loglevel=error)
      echo "$tool_wanted" > "$tool_stamp"
    else
      echo "setup: npm not found: tests needing $tool will be skipped" >&2
    fi
  fi
done

if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian chromium for the browser smoke test" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "setup: chromium missing and apt unavailable: the browser smoke test will be skipped" >&2
  fi
fi
