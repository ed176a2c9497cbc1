"""Numba kernels: arrays in, arrays out; no Python objects, no communication.

Every kernel is compiled with ``cache=True`` (a second start does not recompile)
and ``nogil=True`` (simulated ranks run their kernels in parallel).  Statistics
kernels never use ``fastmath``: reassociating sums would change results between
runs and partitions.
"""
