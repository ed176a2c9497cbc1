"""When a rank may run a kernel on several Numba threads."""
import threading


def use_parallel(n_rows, chunk_rows):
    """True when the parallel variant of a kernel should run on this thread.

    Needs more than one Numba thread for this rank and enough chunks to share.
    Simulated ranks get one kernel thread each on machines with no more cores than
    ranks, so their kernels run serially and in parallel with each other.
    """
    import numba

    if numba.get_num_threads() < 2 or n_rows < 4 * chunk_rows:
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
