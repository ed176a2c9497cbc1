"""Run numbered work items on a few Python threads that take them in turn.

For local computations whose items release the GIL (BLAS products, ``nogil``
Numba kernels): each thread builds its own scratch state once and then takes the
next item until none is left.  Which thread ran an item does not matter as long
as each item writes only its own output, so results do not depend on the thread
count.
"""
import threading


def run_in_turn(nthreads, nitems, make_state, work):
    """Call ``work(i, state)`` for ``i in range(nitems)`` on ``nthreads`` threads
    (the caller's included), ``state = make_state()`` once per thread.  The first
    exception raised by any item is re-raised in the caller, after all threads end."""
    queue = iter(range(nitems))
    lock = threading.Lock()
    errors = []

    def worker():
        try:
            state = make_state()
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                work(i, state)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    helpers = [threading.Thread(target=worker) for _ in range(nthreads - 1)]
    for t in helpers:
        t.start()
    worker()
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]
