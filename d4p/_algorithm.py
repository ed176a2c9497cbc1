"""Declarative checks of the algorithm classes' constructor parameters.

(How a ``compute`` runs, and what ranks agree on, is :mod:`d4p._protocol`.)
"""
import numpy as np


FPTYPES = {"double": np.float64, "float": np.float32}


def check_fptype(fptype):
    """The numpy dtype for daal4py's ``fptype`` name."""
    try:
        return FPTYPES[fptype]
    except (KeyError, TypeError):
        raise ValueError(f"fptype must be 'double' or 'float', got {fptype!r}") from None


def check_method(algo, method, allowed, rejected=None):
    """Return ``method`` if it is one of ``allowed``; else raise a clear ValueError.

    ``rejected`` maps daal4py method names d4p deliberately refuses to the reason.
    """
    if rejected and method in rejected:
        raise ValueError(f"{algo}: method {method!r} is not supported: {rejected[method]}")
    if method not in allowed:
        raise ValueError(f"{algo}: unknown method {method!r}; expected one of {sorted(allowed)}")
    return method


def parse_flags(algo, param, value, allowed, default):
    """Split daal4py's ``'a|b'`` string parameters into a set of names."""
    if value in ("", None):
        return set(default)
    names = {v.strip() for v in str(value).split("|") if v.strip()}
    unknown = names - set(allowed)
    if unknown:
        raise ValueError(f"{algo}: unexpected value(s) {sorted(unknown)} for {param}; "
                         f"expected names from {sorted(allowed)} joined with '|'")
    return names


def check_bool(algo, param, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{algo}: {param} must be True or False, got {value!r}")
    return bool(value)


def as_fptype(array, dtype):
    """A result array in the fptype's dtype (always a new, owned array)."""
    return np.array(array, dtype=dtype, copy=True)
