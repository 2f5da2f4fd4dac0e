#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install everything it needs. Idempotent: a second run
# finds the stamp of the same requirements and returns in about a second.
#   FORENSICS_VENV   where the environment lives (default: .venv in the project)
#   --with-browser   also install Debian's chromium (real-browser test), poppler-utils (PDF page rendering
#                    test) and postgresql (the cases database's PostgreSQL tests, .ci/run) (needs root / apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FORENSICS_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

want_browser=0
for a in "$@"; do [ "$a" = "--with-browser" ] && want_browser=1; done

stamp_of() { cat requirements.txt requirements-nodeps.txt scripts/setup.sh | sha256sum | cut -c1-16; }
stamp="$(stamp_of)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$VENV/.setup-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "setup: installing requirements into $VENV (torch comes from this machine's disk; a few minutes)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt 2> >(grep -v "is ignored" >&2)
  # Packages whose metadata pins versions that would break the environment: see the comments in the file.
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt \
    2> >(grep -v "is ignored" >&2)
  echo "$stamp" > "$VENV/.setup-stamp"
else
  echo "setup: $VENV is up to date"
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ "$want_browser" = 1 ] && [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's ${missing[*]} for the browser, PDF and PostgreSQL tests (about 90 s)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: ${missing[*]} missing and apt-get unavailable: the browser / PDF rendering / PostgreSQL tests will be skipped" >&2
  fi
fi
