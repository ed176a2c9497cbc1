"""Products of a block of rows with a few centres, in register tiles of fused multiply-adds.

Lloyd's assignment needs ``x_i · c_j`` for every row of a block and each of ``k``
centres (k of 2 to a few dozen).  OpenBLAS packs the block for such a thin
product and reaches about 15 GF/s here; this kernel reads the rows in place.
The centres come transposed and padded, ``Ct`` (p, kp) with ``kp`` a multiple of
a vector (:data:`VECTOR_BYTES`), so one row's products with 4 (float64) or 8
(float32) centres are one vector: per column ``j`` of the rows, a tile
broadcasts ``x_ij`` of its rows and multiplies it into the vectors of
``Ct[j]``, accumulating with fused multiply-adds.  The tile holds 12 vector
accumulators (4 rows × 3 vectors of centres, 6 × 2 or 8 × 1).

Each product ``x_i · c_j`` is the same sequence of fused multiply-adds, ``j`` in
order, whichever tile or position in the block row ``i`` falls into: a row's
products, and so its nearest centre, do not depend on how the rows are split.

Where the processor lacks FMA and AVX2 (:data:`TILED` false) callers use BLAS.
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .cpu import TILED  # noqa: F401  (callers read products.TILED)
from .jit import kernel

#: Bytes per vector register of the tiles (AVX2).
VECTOR_BYTES = 32

_I64 = ir.IntType(64)
_I32 = ir.IntType(32)


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
            width = VECTOR_BYTES * 8 // dtype.bitwidth
            vec = ir.VectorType(context.get_value_type(dtype), width)
            align = dtype.bitwidth // 8
            a, ct, gt = (context.make_array(t)(context, builder, v)
                         for t, v in zip(signature.args[:3], args[:3]))
            r0_, c0_ = (context.cast(builder, v, t, types.int64)
                        for v, t in zip(args[3:], signature.args[3:]))
            p = builder.extract_value(a.shape, 1)
            ld_ct = builder.extract_value(ct.shape, 1)
            ld_gt = builder.extract_value(gt.shape, 1)
            fma = builder.module.declare_intrinsic(
                f"llvm.fma.v{width}f{dtype.bitwidth}", (), ir.FunctionType(vec, [vec] * 3))
            splat = ir.Constant(ir.VectorType(_I32, width), [0] * width)

            def const(v):
                return ir.Constant(_I64, v)

            def row_start(array, row, ld):
                return builder.gep(array.data, [builder.mul(builder.add(r0_, const(row)), ld)],
                                   inbounds=True)

            def vector_at(base, v):
                ptr = builder.gep(base, [const(width * v)], inbounds=True)
                return builder.bitcast(ptr, vec.as_pointer())

            a_rows = [row_start(a, t, p) for t in range(rows)]
            # for j in 0:p, the accumulators as loop-carried vector values
            entry = builder.block
            header = builder.append_basic_block("tile.cols")
            body = builder.append_basic_block("tile.col")
            done = builder.append_basic_block("tile.done")
            builder.branch(header)
            builder.position_at_end(header)
            j = builder.phi(_I64)
            j.add_incoming(const(0), entry)
            acc = [[builder.phi(vec) for _ in range(nvec)] for _ in range(rows)]
            for phi in (ph for row in acc for ph in row):
                phi.add_incoming(ir.Constant(vec, [0.0] * width), entry)
            builder.cbranch(builder.icmp_signed("<", j, p), body, done)

            builder.position_at_end(body)
            centres = builder.gep(ct.data, [builder.add(builder.mul(j, ld_ct), c0_)],
                                  inbounds=True)
            c = [builder.load(vector_at(centres, v), align=align) for v in range(nvec)]
            updated = []
            for t in range(rows):
                x = builder.load(builder.gep(a_rows[t], [j], inbounds=True))
                x = builder.insert_element(ir.Constant(vec, ir.Undefined), x, ir.Constant(_I32, 0))
                x = builder.shuffle_vector(x, ir.Constant(vec, ir.Undefined), splat)
                updated.append([builder.call(fma, [x, c[v], acc[t][v]]) for v in range(nvec)])
            j.add_incoming(builder.add(j, const(1)), body)
            for t in range(rows):
                for v in range(nvec):
                    acc[t][v].add_incoming(updated[t][v], body)
            builder.branch(header)

            builder.position_at_end(done)
            for t in range(rows):
                out = builder.gep(row_start(gt, t, ld_gt), [c0_], inbounds=True)
                for v in range(nvec):
                    builder.store(acc[t][v], vector_at(out, v), align=align)
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
    while c0 < kp:
        left = (kp - c0) // width
        r = 0
        if left >= 3:
            while r + 4 <= nb:
                _TILE_4x3(A, Ct, GT, r, c0)
                r += 4
            for r in range(r, nb):
                _TILE_1x3(A, Ct, GT, r, c0)
            c0 += 3 * width
        elif left == 2:
            while r + 6 <= nb:
                _TILE_6x2(A, Ct, GT, r, c0)
                r += 6
            for r in range(r, nb):
                _TILE_1x2(A, Ct, GT, r, c0)
            c0 += 2 * width
        else:
            while r + 8 <= nb:
                _TILE_8x1(A, Ct, GT, r, c0)
                r += 8
            for r in range(r, nb):
                _TILE_1x1(A, Ct, GT, r, c0)
            c0 += width
