"""LLVM IR shared by the register-tiled kernels: a loop of broadcast-times-vector FMAs.

A tile keeps ``rows × nvec`` vector accumulators in registers as loop-carried
values (LLVM does not make vectors of scalar accumulators, and Numba's loops keep
arrays in memory).  Each step of the loop broadcasts one scalar per tile row,
loads ``nvec`` vectors and does ``rows × nvec`` fused multiply-adds (``llvm.fma``
on vectors: one rounding, no fast-math flags, so each accumulator is a plain sum
in loop order).  gram.py and products.py build their tiles from it.  Here too is
:func:`prefetch_lines`, with which gram.py's tiles and the moments sweep ask for
rows ahead of the ones they compute on.
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .jit import kernel

I64 = ir.IntType(64)
I32 = ir.IntType(32)
#: Bytes per vector register of the tiles (AVX2).
VECTOR_BYTES = 32


def const(value):
    """An i64 constant."""
    return ir.Constant(I64, value)


def vector_of(float_type, bitwidth):
    """The LLVM vector of :data:`VECTOR_BYTES` for a float type, and its lane count."""
    width = VECTOR_BYTES * 8 // bitwidth
    return ir.VectorType(float_type, width), width


def vector_pointer(builder, base, offset, vec):
    """``base + offset`` elements, as a pointer to ``vec``."""
    return builder.bitcast(builder.gep(base, [const(offset)], inbounds=True), vec.as_pointer())


def broadcast_fma_loop(builder, start, stop, vec, rows, nvec, scalar_ptr, vector_ptr, align):
    """Emit ``for i in start:stop: acc[t][v] = fma(splat(*scalar_ptr(i, t)),
    *vector_ptr(i, v), acc[t][v])`` with every ``acc`` starting at zero; return the
    accumulators after the loop (``rows`` lists of ``nvec`` values)."""
    width = vec.count
    fma = builder.module.declare_intrinsic(f"llvm.fma.v{width}{vec.element.intrinsic_name}",
                                           (), ir.FunctionType(vec, [vec] * 3))
    splat = ir.Constant(ir.VectorType(I32, width), [0] * width)
    entry = builder.block
    header = builder.append_basic_block("tile.loop")
    body = builder.append_basic_block("tile.step")
    done = builder.append_basic_block("tile.done")
    builder.branch(header)
    builder.position_at_end(header)
    i = builder.phi(I64)
    i.add_incoming(start, entry)
    acc = [[builder.phi(vec) for _ in range(nvec)] for _ in range(rows)]
    for phi in (p for row in acc for p in row):
        phi.add_incoming(ir.Constant(vec, [0.0] * width), entry)
    builder.cbranch(builder.icmp_signed("<", i, stop), body, done)

    builder.position_at_end(body)
    b = [builder.load(vector_ptr(i, v), align=align) for v in range(nvec)]
    for t in range(rows):
        x = builder.insert_element(ir.Constant(vec, ir.Undefined),
                                   builder.load(scalar_ptr(i, t), align=align), ir.Constant(I32, 0))
        x = builder.shuffle_vector(x, ir.Constant(vec, ir.Undefined), splat)
        for v in range(nvec):
            acc[t][v].add_incoming(builder.call(fma, [x, b[v], acc[t][v]]), body)
    i.add_incoming(builder.add(i, const(1)), body)
    builder.branch(header)
    builder.position_at_end(done)
    return acc


#: Bytes per cache line, the step of :func:`prefetch` callers.
CACHE_LINE = 64


@intrinsic
def prefetch(typingctx, array, offset):
    """``prefetch(array, offset)``: ask for the cache line at byte ``offset`` of
    the array's data to be loaded into every cache level (``llvm.prefetch``).
    A hint only: it changes no value, and an address beyond the data does not fault."""
    if not (isinstance(array, types.Array) and isinstance(offset, types.Integer)):
        return None
    sig = types.void(array, offset)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        i8p = ir.IntType(8).as_pointer()
        at = builder.gep(builder.bitcast(data, i8p),
                         [context.cast(builder, args[1], signature.args[1], types.int64)])
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, I32, I32, I32]))
        # read (0), keep in all cache levels (locality 3), data cache (1)
        builder.call(fn, [at, ir.Constant(I32, 0), ir.Constant(I32, 3), ir.Constant(I32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@kernel(inline="always")
def prefetch_lines(array, at, end, lines):
    """:func:`prefetch` ``lines`` cache lines of ``array``'s data from byte ``at``,
    none at or beyond byte ``end``; return the byte after the last one asked for."""
    for _ in range(lines):
        if at < end:
            prefetch(array, at)
            at += CACHE_LINE
    return at
