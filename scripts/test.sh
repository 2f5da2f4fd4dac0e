#!/usr/bin/env bash
# Set everything up (idempotent, including chromium for the browser test) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
VENV=${FORENSICS_VENV:-.venv}
export FORENSICS_THREADS=${FORENSICS_THREADS:-2} OMP_WAIT_POLICY=PASSIVE
exec "$VENV/bin/python" -m pytest -q "$@"
