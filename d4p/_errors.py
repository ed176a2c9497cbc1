"""Exceptions raised by d4p.

The central one is :class:`RankError`: when any rank fails inside a distributed
``compute``, every rank raises a ``RankError`` carrying the same message, which
names the failing rank(s) and their causes.  So that ``except ValueError`` keeps
working in SPMD scripts, the error is also an instance of the failing rank's own
exception type whenever that type is a common built-in one (ValueError, TypeError,
FileNotFoundError, ...).

Every class here prints as ``d4p.<Name>`` in a traceback, and every ``RankError``
subclass prints as ``d4p.RankError``, so that a log can be searched for one name.
"""


class D4PError(RuntimeError):
    """Base class of the errors d4p raises about the SPMD run itself."""

    __module__ = "d4p"


class CollectiveTimeout(D4PError):
    """A collective waited longer than the configured timeout for other ranks."""

    __module__ = "d4p"


class CollectiveAborted(D4PError):
    """A collective was abandoned because another rank failed (threads backend)."""

    __module__ = "d4p"


class RankError(D4PError):
    """One or more ranks failed; raised identically on every rank.

    Attributes
    ----------
    failures : dict[int, tuple[str, str]]
        ``{rank: (exception type name, message)}`` for every failing rank.
    where : str
        What was being done, e.g. ``"low_order_moments.compute"``.
    """

    __module__ = "d4p"
    mirrors = None  # the built-in type a subclass also derives from

    def __init__(self, message, failures=None, where=""):
        super().__init__(message)
        self.failures = dict(failures or {})
        self.where = where

    def __reduce__(self):
        base = self.mirrors.__name__ if self.mirrors else ""
        return (_rebuild_rank_error, (base, self.args[0], self.failures, self.where))


# Built-in exception types a RankError may also be an instance of.  Only types whose
# constructor accepts a single message argument are listed.
MIRRORED = (ValueError, TypeError, KeyError, IndexError, FileNotFoundError,
             PermissionError, IsADirectoryError, OSError, ZeroDivisionError,
             OverflowError, ArithmeticError, MemoryError, NotImplementedError,
             LookupError)
_classes = {}


def rank_error_class(base):
    """The ``RankError`` subclass that is also a ``base`` (or RankError itself)."""
    for known in MIRRORED:
        if base is known:
            break
    else:
        return RankError
    cls = _classes.get(base)
    if cls is None:
        # KeyError's str() adds quotes around its argument; keep the message as is.
        # __qualname__ "RankError": a traceback prints "d4p.RankError: ..." whatever
        # the mirrored type, so one grep finds every rank failure.
        body = {"__module__": "d4p", "__qualname__": "RankError", "mirrors": base,
                "__str__": lambda self: self.args[0]}
        cls = type("Rank" + base.__name__, (RankError, base), body)
        _classes[base] = cls
    return cls


def _rebuild_rank_error(base_name, message, failures, where):
    base = {cls.__name__: cls for cls in MIRRORED}.get(base_name, RankError)
    return rank_error_class(base)(message, failures, where)
