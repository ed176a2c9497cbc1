"""Benchmark inputs, generated identically in the d4p process and the daal4py worker."""
import numpy as np


def make_data(n, p, seed=0):
    """n x p float64, columns with different scales and a non-zero mean."""
    return np.random.default_rng(seed).normal(size=(n, p)) * np.linspace(1, 3, p) + 1.0
