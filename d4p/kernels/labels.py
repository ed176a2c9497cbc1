"""Distinct integer labels in one pass (the classes of the estimators' targets)."""
import numpy as np

from .jit import kernel


@kernel
def label_mask(y, base):
    """``(mask, complete)``: bit ``v`` of ``mask`` says whether ``base + v`` occurs in
    the integer labels ``y`` (``0 <= v < 64``); ``complete`` is False when some label
    falls outside ``base .. base + 63``.  (Two OR reductions without a branch, so
    the loop vectorises and runs at the speed of reading ``y``.)"""
    mask = np.uint64(0)
    outside = np.uint64(0)
    for i in range(y.shape[0]):
        d = np.uint64(np.int64(y[i]) - base)  # below base: wraps to a huge value
        outside |= d >> np.uint64(6)
        mask |= np.uint64(1) << (d & np.uint64(63))
    return mask, outside == 0
