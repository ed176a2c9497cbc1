"""The upper triangle of a Gram matrix ``DᵀD``, in register tiles of fused multiply-adds.

OpenBLAS's ``syrk`` is slow on the thin blocks of d4p's cross-products (a few
thousand rows of tens of columns): it packs both operands for every call.  Here
:func:`add_shifted_gram` shifts a chunk of rows (about 16 KiB, so it stays in the
L1 cache) into a buffer and :func:`add_upper_gram` multiplies it in place.  Each
tile of ``G`` holds 6 × 8 entries in twelve 4-wide vector registers: per row it
loads 8 values of the row (two vectors), broadcasts 6 others and does twelve
fused multiply-adds.  Every tile of the upper triangle reads the chunk before the
next chunk is shifted.  On this project's AMD EPYC (AVX2), on rows in cache, the
tiles take 0.6-0.9 of ``syrk``'s time for 5 to 80 columns and about the same at
128; above that ``syrk``'s blocking wins, and callers keep BLAS
(:data:`MAX_COLUMNS`).

Every entry of ``G`` is a sum taken in row order (within a chunk, and chunk after
chunk); no reassociation, only the fused multiply-add's single rounding.

The tile is written in LLVM IR (a Numba intrinsic built with tiles.py): LLVM
does not turn scalar accumulators into vector registers, and Numba's loops over
columns keep them in memory.  ``llvm.fma`` on vectors is fast only where the
processor has FMA and AVX2; :data:`TILED` (cpu.py) says whether to use the
kernels at all.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from . import tiles
from .cpu import TILED  # noqa: F401  (callers read gram.TILED)
from .jit import kernel

#: Entries per tile: ``TILE_ROWS`` broadcast columns by ``TILE_COLS`` vector columns.
TILE_ROWS, TILE_COLS = 6, 8
#: Columns that ``D`` and ``G`` need beyond the ``m`` of the product: the tiles on the
#: right edge read and write that far (the extra entries of ``G`` are discarded).
PAD = TILE_COLS - 1
#: Widest product for which the kernel beats OpenBLAS's ``syrk`` here.
MAX_COLUMNS = 128
#: Bytes of rows per chunk: a chunk stays in the L1 cache while every tile reads it.
CHUNK_BYTES = 16 << 10


@intrinsic
def _add_tile(typingctx, D, G, lo, hi, i0, j0):
    """``G[i0 + a, j0 + b] += Σ_{r in lo:hi} D[r, i0 + a] D[r, j0 + b]`` for the
    6 × 8 tile at ``(i0, j0)``, with no bounds checks (the caller checks)."""
    f64_c = types.Array(types.float64, 2, "C")
    if not (D == f64_c and G == f64_c):
        return None
    sig = types.void(D, G, lo, hi, i0, j0)

    def codegen(context, builder, signature, args):
        d, g = (context.make_array(t)(context, builder, v)
                for t, v in zip(signature.args[:2], args[:2]))
        lo_, hi_, i0_, j0_ = (context.cast(builder, v, t, types.int64)
                              for v, t in zip(args[2:], signature.args[2:]))
        vec, width = tiles.vector_of(ir.DoubleType(), 64)
        ld_d = builder.extract_value(d.shape, 1)
        ld_g = builder.extract_value(g.shape, 1)

        def element(array, ld, row, col):
            return builder.gep(array.data, [builder.add(builder.mul(row, ld), col)],
                               inbounds=True)

        # for r in lo:hi: broadcast D[r, i0 + a], times the vectors of D[r, j0:j0 + 8]
        acc = tiles.broadcast_fma_loop(
            builder, lo_, hi_, vec, TILE_ROWS, TILE_COLS // width,
            lambda r, a: element(d, ld_d, r, builder.add(i0_, tiles.const(a))),
            lambda r, v: tiles.vector_pointer(builder, element(d, ld_d, r, j0_), width * v, vec),
            align=8)
        for a in range(TILE_ROWS):
            out = element(g, ld_g, builder.add(i0_, tiles.const(a)), j0_)
            for v, total in enumerate(acc[a]):
                ptr = tiles.vector_pointer(builder, out, width * v, vec)
                builder.store(builder.fadd(builder.load(ptr, align=8), total), ptr, align=8)
        return context.get_dummy_value()

    return sig, codegen


@kernel(inline="always")
def chunk_rows(width):
    """Rows of ``width`` float64 in a chunk of about :data:`CHUNK_BYTES` (at least 16)."""
    return max(16, CHUNK_BYTES // (8 * width))


@kernel(inline="always")
def _tile_count(m):
    """Tiles of the upper triangle of an ``m``-column product."""
    count = 0
    for i0 in range(0, m, TILE_ROWS):
        count += (m - i0 + TILE_COLS - 1) // TILE_COLS
    return count


@kernel(inline="always")
def _upper_tiles(D, lo, hi, m, G, ahead, start, stop, per_tile):
    """Every tile of the upper triangle for rows ``lo:hi`` of ``D``; after each tile,
    prefetch the next ``per_tile`` cache lines of ``ahead``'s bytes ``start:stop``."""
    for i0 in range(0, m, TILE_ROWS):
        for j0 in range(i0, m, TILE_COLS):
            _add_tile(D, G, lo, hi, i0, j0)
            start = tiles.prefetch_lines(ahead, start, stop, per_tile)


@kernel
def add_upper_gram(D, nrows, m, G):
    """Add the upper triangle of ``D[:nrows, :m]ᵀ D[:nrows, :m]`` to ``G[:m, :m]``.

    ``D`` and ``G`` are C-ordered float64 with at least ``m + PAD`` columns (``G`` also
    that many rows); entries of ``G`` below the diagonal or beyond ``m`` get partial
    sums and mean nothing.
    """
    if not (0 <= nrows <= D.shape[0] and 0 <= m and D.shape[1] >= m + PAD
            and G.shape[0] >= m + PAD and G.shape[1] >= m + PAD):
        raise ValueError("add_upper_gram: D or G too small for the tiles")
    chunk = chunk_rows(D.shape[1])
    for lo in range(0, nrows, chunk):
        _upper_tiles(D, lo, min(lo + chunk, nrows), m, G, D, 0, 0, 0)


@kernel
def add_shifted_gram(X, x0, Y, y0, nrows, ref, buf, G, resid):
    """Rows ``x0:x0 + nrows`` of ``X`` beside rows ``y0:y0 + nrows`` of ``Y``, minus
    ``ref`` (float64): add the upper triangle of their products to ``G`` as
    :func:`add_upper_gram` does, and their column sums to ``resid``, in row order.

    ``buf`` (C-ordered float64, ``m + PAD`` columns for ``m`` the columns of X and
    Y together, the last ``PAD`` zero) holds a chunk of shifted rows at a time: its
    rows set the chunk, which should fit in the L1 cache.  ``Y`` may have no columns.

    While the tiles multiply a chunk, the next chunk of a row-contiguous ``X`` is
    prefetched a few cache lines after each tile: the shift that follows then
    reads from cache, and memory works while the tiles compute (the kernel alone on
    2,000,000 × 51 rows on two threads: about 0.85 of the time without).
    """
    p = X.shape[1]
    q = Y.shape[1]
    m = p + q
    if not (0 <= nrows and 0 <= x0 and x0 + nrows <= X.shape[0] and 0 <= y0
            and y0 + nrows <= Y.shape[0] and ref.shape[0] == m and resid.shape[0] == m
            and buf.shape[0] > 0 and buf.shape[1] >= m + PAD and G.shape[0] >= m + PAD
            and G.shape[1] >= m + PAD):
        raise ValueError("add_shifted_gram: rows, ref, resid, buf or G do not match X and Y")
    chunk = buf.shape[0]
    row_bytes = p * X.itemsize
    contiguous = X.strides[1] == X.itemsize and X.strides[0] == row_bytes
    end = (x0 + nrows) * row_bytes if contiguous else 0
    lines = (chunk * row_bytes + tiles.CACHE_LINE - 1) // tiles.CACHE_LINE
    ntiles = max(_tile_count(m), 1)
    per_tile = (lines + ntiles - 1) // ntiles
    for c0 in range(0, nrows, chunk):
        c1 = min(c0 + chunk, nrows)
        for i in range(c0, c1):
            o = buf[i - c0]
            for j in range(p):
                d = np.float64(X[x0 + i, j]) - ref[j]
                o[j] = d
                resid[j] += d
            for j in range(q):
                d = np.float64(Y[y0 + i, j]) - ref[p + j]
                o[p + j] = d
                resid[p + j] += d
        start = (x0 + c1) * row_bytes
        _upper_tiles(buf, 0, c1 - c0, m, G, X, start, min(start + chunk * row_bytes, end),
                     per_tile)
