"""Process-wide settings, in the style of ``sklearn.set_config``."""
import contextlib
import os
import threading

_DEFAULT_TIMEOUT = 600.0


def _timeout_from_env():
    value = os.environ.get("D4P_TIMEOUT", "").strip().lower()
    if value in ("", "default"):
        return _DEFAULT_TIMEOUT
    if value in ("0", "none", "inf", "off"):
        return None
    return float(value)


_global = {"assume_finite": False, "timeout": _timeout_from_env()}
_local = threading.local()


def _settings():
    # Simulated ranks run on threads; a config_context inside one rank must not leak
    # into the others, so overrides are thread-local on top of the global settings.
    merged = dict(_global)
    merged.update(getattr(_local, "overrides", {}))
    return merged


def get_config():
    """Return the current d4p settings.

    Returns
    -------
    dict
        With the keys below.

    Other Parameters
    ----------------
    assume_finite : bool
        If True, inputs are not checked for NaN and infinity (they then propagate
        into the results, as in daal4py).  Default False: a non-finite value is an
        error on every rank.
    timeout : float or None
        Seconds a collective may wait for the other ranks before raising
        :class:`d4p.CollectiveTimeout`.  ``None`` waits forever.  Default 600, or the
        ``D4P_TIMEOUT`` environment variable (``0``/``none`` disables).
    """
    return _settings()


def set_config(assume_finite=None, timeout=None):
    """Change d4p settings for the whole process.  See :func:`get_config`."""
    if assume_finite is not None:
        _global["assume_finite"] = bool(assume_finite)
    if timeout is not None:
        _global["timeout"] = None if timeout <= 0 else float(timeout)


@contextlib.contextmanager
def config_context(**changes):
    """Temporarily change settings for the current thread (rank)."""
    unknown = set(changes) - set(_global)
    if unknown:
        raise TypeError(f"unknown d4p setting(s): {sorted(unknown)}")
    old = dict(getattr(_local, "overrides", {}))
    _local.overrides = {**old, **changes}
    try:
        yield
    finally:
        _local.overrides = old
