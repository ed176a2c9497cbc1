"""IEEE 754 minNum and maxNum for kernels, as LLVM intrinsics that vectorise.

Numba lowers Python's ``min(m, x)`` to ``x < m ? x : m``.  When ``m`` was just
loaded from an array and the result is stored back, LLVM turns that into "store
``x`` only where ``x < m``", and the loop vectoriser then uses masked stores,
which are slow on some x86 processors (on this project's AMD EPYC the moments
kernel took about 1.6x as long as without min and max).  ``llvm.minnum`` has no
such pattern: it vectorises to ``vminpd`` plus a NaN fix-up, with no fast-math
flags, so the other arithmetic in a kernel keeps its exact order.

The NaN rule is the same as ``min(m, x)`` with an accumulator ``m`` that starts
at +inf: a NaN operand is ignored (the other one is returned).
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


def _binary_float_intrinsic(llvm_name):
    """A Numba intrinsic ``f(a, b)`` for two floats of one type, calling
    ``llvm.<name>.f32`` or ``.f64``."""
    @intrinsic
    def call(typingctx, a, b):
        if not (isinstance(a, types.Float) and a == b):
            return None

        def codegen(context, builder, signature, args):
            llty = context.get_value_type(a)
            fnty = ir.FunctionType(llty, [llty, llty])
            fn = builder.module.declare_intrinsic(f"{llvm_name}.f{a.bitwidth}", (), fnty)
            return builder.call(fn, args)

        return a(a, b), codegen

    return call


#: ``minnum(a, b)``: the smaller of two floats of one type; a NaN operand is ignored.
minnum = _binary_float_intrinsic("llvm.minnum")
#: ``maxnum(a, b)``: the larger of two floats of one type; a NaN operand is ignored.
maxnum = _binary_float_intrinsic("llvm.maxnum")
