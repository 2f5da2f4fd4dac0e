#!/usr/bin/env bash
# Set everything up (idempotent) and start the dashboard on the shipped default models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${FORENSICS_VENV:-.venv}
# Streamlit listens on every interface unless told otherwise; without an --server.address of the caller's, listen on
# localhost only, where the dashboard may run in single-user mode (on any other address it needs accounts).
addr=()
case " $* " in *" --server.address"*) ;; *) addr=(--server.address localhost) ;; esac
exec "$VENV/bin/python" -m streamlit run streamlit_app.py "${addr[@]}" "$@"
