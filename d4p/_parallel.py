"""When a rank may run a kernel on several Numba threads."""
import contextlib
import threading

_forced = threading.local()


@contextlib.contextmanager
def parallel_variants():
    """Within the block, :func:`use_parallel` picks the parallel kernel variants
    even for tiny inputs: the warm-up uses it to compile them into the cache."""
    _forced.on = True
    try:
        yield
    finally:
        _forced.on = False


def use_parallel(n_rows, chunk_rows):
    """True when the parallel variant of a kernel should run on this thread.

    Needs more than one Numba thread for this rank and enough chunks to share.
    Simulated ranks get one kernel thread each on machines with no more cores than
    ranks, so their kernels run serially and in parallel with each other.
    """
    if getattr(_forced, "on", False):
        return True
    if n_rows < 4 * chunk_rows:
        return False  # decided before asking Numba, which would start its thread pool
    import numba

    if numba.get_num_threads() < 2:
        return False
    # Numba's fallback "workqueue" threading layer cannot be entered from two
    # threads at once; simulated ranks then stay serial.
    if threading.current_thread() is not threading.main_thread():
        return _concurrent_safe_layer()
    return True


def _concurrent_safe_layer():
    import numba

    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:  # no parallel kernel has run yet, so the layer is not chosen
        return numba.config.THREADING_LAYER in ("omp", "tbb")


def thread_parts(n_rows, block_rows):
    """How many Python threads a BLAS-bound local computation may split its rows
    into: this rank's kernel threads, in the main thread of a process only (BLAS
    limits are process-wide, so simulated ranks keep their one-thread share)."""
    import numba

    if threading.current_thread() is not threading.main_thread():
        return 1
    return max(1, min(numba.get_num_threads(), n_rows // (4 * block_rows)))


def map_threads(fn, nparts):
    """``[fn(0), ..., fn(nparts - 1)]``, run on ``nparts`` threads with
    single-threaded BLAS in each."""
    from threadpoolctl import threadpool_limits

    results = [None] * nparts
    errors = []

    def run(k):
        try:
            results[k] = fn(k)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    with threadpool_limits(limits=1, user_api="blas"):
        threads = [threading.Thread(target=run, args=(k,)) for k in range(1, nparts)]
        for t in threads:
            t.start()
        run(0)
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return results
