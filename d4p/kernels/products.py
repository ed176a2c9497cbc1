"""Products of a block of rows with a few centres, in register tiles of fused multiply-adds.

Lloyd's assignment needs ``x_i · c_j`` for every row of a block and each of ``k``
centres (k of 2 to a few dozen).  OpenBLAS packs the block for such a thin
product and reaches about 15 GF/s here; this kernel reads the rows in place.
The centres come transposed and padded, ``Ct`` (p, kp) with ``kp`` a multiple of
a vector (``VECTOR_BYTES``, from tiles.py), so one row's products with 4
(float64) or 8 (float32) centres are one vector: per column ``j`` of the rows, a tile
broadcasts ``x_ij`` of its rows and multiplies it into the vectors of
``Ct[j]``, accumulating with fused multiply-adds.  The tile holds 12 vector
accumulators (4 rows × 3 vectors of centres, 6 × 2 or 8 × 1).

Each product ``x_i · c_j`` is the same sequence of fused multiply-adds, ``j`` in
order, whichever tile or position in the block row ``i`` falls into: a row's
products, and so its nearest centre, do not depend on how the rows are split.

Where the processor lacks FMA and AVX2 (:data:`TILED` false) callers use BLAS.
"""
from numba import types
from numba.extending import intrinsic

from . import tiles
from .cpu import TILED  # noqa: F401  (callers read products.TILED)
from .jit import kernel
from .tiles import VECTOR_BYTES


def _tile(rows, nvec):
    """An intrinsic ``tile(A, Ct, GT, r0, c0)``: ``GT[r0 + t, c0 + c] = Σ_j A[r0 + t, j]
    Ct[j, c0 + c]`` for ``t < rows`` and ``c`` in ``nvec`` vectors, with no bounds
    checks (the caller checks)."""

    @intrinsic
    def tile(typingctx, A, Ct, GT, r0, c0):
        if not (isinstance(A, types.Array) and A.ndim == 2 and A.layout == "C"
                and A.dtype in (types.float32, types.float64)
                and Ct == A and GT == A):
            return None
        sig = types.void(A, Ct, GT, r0, c0)

        def codegen(context, builder, signature, args):
            dtype = signature.args[0].dtype
            vec, width = tiles.vector_of(context.get_value_type(dtype), dtype.bitwidth)
            a, ct, gt = (context.make_array(t)(context, builder, v)
                         for t, v in zip(signature.args[:3], args[:3]))
            r0_, c0_ = (context.cast(builder, v, t, types.int64)
                        for v, t in zip(args[3:], signature.args[3:]))
            p = builder.extract_value(a.shape, 1)
            ld_ct = builder.extract_value(ct.shape, 1)
            ld_gt = builder.extract_value(gt.shape, 1)

            def row_start(array, row, ld):
                return builder.gep(array.data, [builder.mul(builder.add(r0_, tiles.const(row)),
                                                            ld)], inbounds=True)

            a_rows = [row_start(a, t, p) for t in range(rows)]
            # for j in 0:p: broadcast A[r0 + t, j], times the vectors of Ct[j, c0:]
            acc = tiles.broadcast_fma_loop(
                builder, tiles.const(0), p, vec, rows, nvec,
                lambda j, t: builder.gep(a_rows[t], [j], inbounds=True),
                lambda j, v: tiles.vector_pointer(
                    builder, builder.gep(ct.data, [builder.add(builder.mul(j, ld_ct), c0_)],
                                         inbounds=True), width * v, vec),
                align=dtype.bitwidth // 8)
            for t in range(rows):
                out = builder.gep(row_start(gt, t, ld_gt), [c0_], inbounds=True)
                for v in range(nvec):
                    builder.store(acc[t][v], tiles.vector_pointer(builder, out, width * v, vec),
                                  align=dtype.bitwidth // 8)
            return context.get_dummy_value()

        return sig, codegen

    return tile


_TILE_4x3, _TILE_1x3 = _tile(4, 3), _tile(1, 3)
_TILE_6x2, _TILE_1x2 = _tile(6, 2), _tile(1, 2)
_TILE_8x1, _TILE_1x1 = _tile(8, 1), _tile(1, 1)


@kernel(inline="always")
def row_centre_products(A, nb, Ct, GT):
    """``GT[i, c] = Σ_j A[i, j] Ct[j, c]`` for rows ``i < nb`` and every column of ``Ct``.

    ``A`` (rows, p), ``Ct`` (p, kp) and ``GT`` (≥ nb, kp) are C-ordered arrays of
    one float dtype, ``kp`` a multiple of the vector width (``VECTOR_BYTES`` /
    itemsize).
    """
    width = VECTOR_BYTES // A.itemsize
    kp = Ct.shape[1]
    if not (0 <= nb <= A.shape[0] and nb <= GT.shape[0] and Ct.shape[0] == A.shape[1]
            and GT.shape[1] == kp and kp % width == 0):
        raise ValueError("row_centre_products: shapes do not match")
    c0 = 0
    while c0 < kp:  # 3 vectors of centres at a time, then 2 or 1; rows by tiles, then one by one
        left = (kp - c0) // width
        if left >= 3:
            r = _rows_in_tiles(nb, 4)
            for r0 in range(0, r, 4):
                _TILE_4x3(A, Ct, GT, r0, c0)
            for r0 in range(r, nb):
                _TILE_1x3(A, Ct, GT, r0, c0)
        elif left == 2:
            r = _rows_in_tiles(nb, 6)
            for r0 in range(0, r, 6):
                _TILE_6x2(A, Ct, GT, r0, c0)
            for r0 in range(r, nb):
                _TILE_1x2(A, Ct, GT, r0, c0)
        else:
            r = _rows_in_tiles(nb, 8)
            for r0 in range(0, r, 8):
                _TILE_8x1(A, Ct, GT, r0, c0)
            for r0 in range(r, nb):
                _TILE_1x1(A, Ct, GT, r0, c0)
        c0 += min(left, 3) * width


@kernel(inline="always")
def _rows_in_tiles(nb, rows):
    """The first rows of ``nb`` that whole tiles of ``rows`` rows cover."""
    return nb - nb % rows
