#!/usr/bin/env bash
# Install d4p into a fresh virtualenv and run an SPMD example on 4 simulated ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${D4P_VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .
exec "$VENV/bin/python" -m d4p -n 4 "${1:-examples/covariance_spmd.py}"
