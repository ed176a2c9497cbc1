"""Random-number engine classes (``engines_*``): daal4py's names, carrying only a seed.

d4p draws every random number from a counter-based hash of (seed, purpose, global
row index) (see :mod:`d4p.kernels.kmeans`), so the engine family does not change
the numbers; the classes exist so that daal4py scripts passing ``engine=`` run
unchanged, and what ranks agree on is the seed (:meth:`Engine.agreement_token`).
"""
import numbers

import numpy as np

from ._algorithm import check_fptype, check_method

DEFAULT_SEED = 777777


def check_seed(name, seed):
    """The seed as an int in [0, 2**64); -1 means :data:`DEFAULT_SEED`."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name}: seed must be an integer, got {seed!r}")
    seed = int(seed)
    if seed == -1:
        return DEFAULT_SEED
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{name}: seed must be -1 (default, {DEFAULT_SEED}) or in "
                         f"[0, 2**64), got {seed}")
    return seed


class Engine:
    """Base of the ``engines_*`` classes: they only carry a seed."""

    _name = "engine"

    def __init__(self, fptype="double", method="defaultDense", seed=-1):
        check_fptype(fptype)
        self.fptype = fptype
        self.method = check_method(self._name, method, ("defaultDense",))
        self.seed = check_seed(self._name, seed)

    def __repr__(self):
        return f"{self._name}(seed={self.seed})"

    def __eq__(self, other):
        return type(other) is type(self) and other.seed == self.seed

    __hash__ = None

    def __reduce__(self):
        return (type(self), (self.fptype, self.method, self.seed))

    def agreement_token(self):
        """What ranks must agree on (see :func:`d4p._protocol.token`): the seed only,
        since the engine family does not change the draws."""
        return repr(self.seed)


_DOC = """Random engine ``{name}`` (daal4py name); only its ``seed`` is used.

    Parameters
    ----------
    fptype : {{'double', 'float'}}, default 'double'
        Accepted for compatibility.
    method : {{'defaultDense'}}
        Accepted for compatibility.
    seed : int, default -1
        The seed; -1 means {seed}, the default of ``kmeans_init``.

    Notes
    -----
    d4p draws random numbers from a counter-based hash of (seed, global row
    index), which makes results independent of the number of ranks; the engine
    family therefore does not change the draws, and they differ from daal4py's.
    """


def _engine_class(family):
    name = f"engines_{family}"
    return type(name, (Engine,), {"_name": name, "__module__": __name__,
                                  "__doc__": _DOC.format(name=family, seed=DEFAULT_SEED)})


engines_mt19937 = _engine_class("mt19937")
engines_mt2203 = _engine_class("mt2203")
engines_mcg59 = _engine_class("mcg59")
engines_mrg32k3a = _engine_class("mrg32k3a")
engines_philox4x32x10 = _engine_class("philox4x32x10")
