#!/usr/bin/env bash
# Set everything up (idempotent) and start the dashboard on the shipped default models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${FORENSICS_VENV:-.venv}
exec "$VENV/bin/python" -m streamlit run streamlit_app.py "$@"
