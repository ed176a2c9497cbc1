#!/usr/bin/env bash
# The two daal4py environments the side-by-side benchmarks compare with, each in its
# own venv so that daal4py's TBB and MPI never meet d4p's:
#   daal4py 2024.7: the last standalone daal4py wheel (MKL), with Intel MPI (impi-rt);
#   daal4py 2026.2: inside scikit-learn-intelex 2026.2.
# Usage: bash benchmarks/setup_daal4py.sh [DIR]   (default: benchmarks/.venvs)
set -euo pipefail
DIR="${1:-$(dirname "$0")/.venvs}"
mkdir -p "$DIR"
if [ ! -x "$DIR/daal4py-2024.7/bin/python" ]; then
    python3 -m venv "$DIR/daal4py-2024.7"
    "$DIR/daal4py-2024.7/bin/pip" install --quiet "daal4py==2024.7.0" "scikit-learn==1.5.2" \
        packaging mpi4py impi-rt
fi
if [ ! -x "$DIR/daal4py-2026.2/bin/python" ]; then
    python3 -m venv "$DIR/daal4py-2026.2"
    "$DIR/daal4py-2026.2/bin/pip" install --quiet "scikit-learn-intelex==2026.2.*" mpi4py impi-rt
fi
for v in 2024.7 2026.2; do
    "$DIR/daal4py-$v/bin/python" -c "import daal4py, sys; print('daal4py $v:', sys.executable)"
done
