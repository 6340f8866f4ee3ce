#!/usr/bin/env bash
# Runs the product with its own set-up: the Teams bot on 127.0.0.1:3978 with the Microsoft 365
# Agents Playground, on a fresh demo programme (data/demo/). Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
exec .venv/bin/python tools/playground/demo.py
