"""What this processor offers the register-tiled kernels (gram.py, products.py).

The tiles use 4-wide float64 (8-wide float32) vectors and ``llvm.fma``.  Without
FMA and AVX2, LLVM lowers them to scalar calls, far slower than BLAS; with
AVX-512, BLAS uses registers twice as wide as the tiles.  So the tiles are used
only on processors with FMA and AVX2 and without AVX-512, when kernels compile
for the host (``NUMBA_CPU_NAME`` unset or ``host``).
"""
from llvmlite import binding
from numba import config


def _host_has_fast_vector_fma():
    """True when kernels compile for this host and it has FMA and AVX2 but not
    AVX-512 (whose wider registers ``syrk`` uses and these tiles do not)."""
    if config.CPU_NAME not in (None, "host"):
        return False
    try:
        features = binding.get_host_cpu_features()
    except RuntimeError:  # LLVM cannot tell on this platform
        return False
    return bool(features.get("fma") and features.get("avx2") and not features.get("avx512f"))


#: Whether the tiled kernels (gram.py, products.py) are used rather than BLAS.
TILED = _host_has_fast_vector_fma()
