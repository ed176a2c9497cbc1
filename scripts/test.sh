#!/usr/bin/env bash
# Install d4p with its test extra into a fresh virtualenv and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${D4P_VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
exec "$VENV/bin/python" -m pytest -q "$@"
