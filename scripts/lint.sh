#!/usr/bin/env bash
# Lint and type-check: ruff (rules and formatting) on the whole tree, mypy on the library (config in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FORENSICS_VENV:-.venv}
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy" forensics
