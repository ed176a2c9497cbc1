"""Read-only, picklable result objects with daal4py's attribute names."""
import numpy as np


class Result:
    """Base of every ``<algo>_result`` / ``<algo>_model`` class.

    Subclasses list their attribute names in ``_fields``.  Attributes are set once,
    at construction; a field that was not computed is ``None``.
    """

    _fields = ()

    def __init__(self, **values):
        unknown = set(values) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {sorted(unknown)}")
        for name in self._fields:
            object.__setattr__(self, name, values.get(name))

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__}.{name} is read-only")

    def __reduce__(self):
        return (_rebuild, (type(self), {f: getattr(self, f) for f in self._fields}))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(_same(getattr(self, f), getattr(other, f)) for f in self._fields)

    __hash__ = None

    def __str__(self):
        lines = []
        for name in self._fields:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                lines.append(f"{name}: array(shape={value.shape}, dtype={value.dtype})\n"
                             f"{np.array2string(value, threshold=20, edgeitems=2)}")
            elif isinstance(value, dict):
                inner = ", ".join(f"{k!r}: {_brief(v)}" for k, v in value.items())
                lines.append(f"{name}: {{{inner}}}")
            else:
                lines.append(f"{name}: {_brief(value)}")
        return "\n".join(lines)

    def __repr__(self):
        inner = ", ".join(f"{f}={_brief(getattr(self, f))}" for f in self._fields)
        return f"<{type(self).__name__} {inner}>"


def _rebuild(cls, values):
    return cls(**values)


def _brief(value):
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
            a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b
