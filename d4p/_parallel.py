"""When a rank splits a local computation over threads, and running the parts.

d4p has no ``parallel=True`` Numba kernels: they cost several times more to
compile than serial ones, and they would be a second set of kernels that only
large inputs use (so a small warm-up call would not compile them).  A large
input is instead cut into contiguous ranges of chunks, a few per thread, and the
same serial ``nogil`` kernel runs on each range, the threads taking the ranges
in turn (:func:`run_chunk_ranges`).  Chunk boundaries depend only on the data's shape,
so the result is the same bits however many threads ran.
"""
import contextlib
import threading

from .work_queue import run_in_turn

#: Ranges of chunks per thread in :func:`run_chunk_ranges`.
RANGES_PER_THREAD = 8

_forced = threading.local()


@contextlib.contextmanager
def large_input_paths():
    """Within the block, small inputs take the paths of large ones (split over two
    threads wherever a large input would be): the warm-up and the tests use it to
    see that a small call compiles every kernel a large call needs."""
    _forced.on = True
    try:
        yield
    finally:
        _forced.on = False


def _is_forced():
    return getattr(_forced, "on", False)


def _kernel_threads():
    import numba

    return numba.get_num_threads()


def use_parallel(n_rows, chunk_rows):
    """True when a kernel over ``n_rows`` rows in chunks of ``chunk_rows`` should be
    split over threads: more than one kernel thread for this rank (simulated
    ranks on a machine with no more cores than ranks have one each) and at
    least four chunks."""
    if _is_forced():
        return n_rows > 1
    if n_rows < 4 * chunk_rows:
        return False  # decided before asking Numba, which would start its thread pool
    return _kernel_threads() >= 2


def kernel_parts(n_chunks):
    """Threads a split kernel over ``n_chunks`` chunks runs on."""
    if _is_forced():
        return min(2, n_chunks)
    return max(1, min(_kernel_threads(), n_chunks))


def run_chunk_ranges(run, n_chunks, parallel=True):
    """``run(c0, c1)`` over contiguous ranges of ``range(n_chunks)``: one range on
    this thread when ``parallel`` is false, else :data:`RANGES_PER_THREAD` per
    kernel thread, taken in turn (the kernels release the GIL).  ``run`` writes
    its own chunks' rows of shared output tables, so the outcome does not depend
    on the split."""
    nparts = kernel_parts(n_chunks) if parallel else 1
    if nparts <= 1:
        run(0, n_chunks)
        return
    # A few ranges per thread, taken in turn: a thread that is slowed (another
    # process on its core, a slower memory path) takes fewer of them, where one
    # range each would leave the others waiting at the end.
    nranges = min(n_chunks, nparts * RANGES_PER_THREAD)
    edges = [n_chunks * k // nranges for k in range(nranges + 1)]
    run_in_turn(nparts, nranges, lambda: None, lambda k, _: run(edges[k], edges[k + 1]))


def thread_parts(n_rows, block_rows):
    """How many Python threads a BLAS-bound local computation may split its rows
    into: this rank's kernel threads, in the main thread of a process only (BLAS
    limits are process-wide, so simulated ranks keep their one-thread share)."""
    if _is_forced():
        return 2 if n_rows > 1 else 1
    if threading.current_thread() is not threading.main_thread():
        return 1
    if n_rows < 8 * block_rows:
        return 1  # decided before asking Numba, which would start its thread pool
    return max(1, min(_kernel_threads(), n_rows // (4 * block_rows)))


def map_threads(fn, nparts):
    """``[fn(0), ..., fn(nparts - 1)]``, run on ``nparts`` threads with
    single-threaded BLAS in each."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _run_threads(fn, nparts)


def _run_threads(fn, nparts):
    results = [None] * nparts
    errors = []

    def run(k):
        try:
            results[k] = fn(k)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(1, nparts)]
    for t in threads:
        t.start()
    run(0)
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
