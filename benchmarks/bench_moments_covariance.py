"""low_order_moments and covariance: d4p vs numpy vs daal4py on 2,000,000 x 50.

    python benchmarks/bench_moments_covariance.py [--n N --p P --repeat R]
    mpiexec -n 2 python benchmarks/bench_moments_covariance.py --mpi
"""
import numpy as np

import d4p
from harness import Case, main

CASES = [
    Case("low_order_moments",
         d4p=lambda X, dist: d4p.low_order_moments(distributed=dist).compute(X),
         reference=lambda X: (X.min(0), X.max(0), X.sum(0), (X * X).sum(0), X.var(0, ddof=1)),
         daal4py="low_order_moments"),
    Case("covariance",
         d4p=lambda X, dist: d4p.covariance(distributed=dist).compute(X),
         reference=lambda X: np.cov(X, rowvar=False),
         daal4py="covariance",
         flops=lambda n, p: n * p * (p + 1)),  # the symmetric X^T X
]

if __name__ == "__main__":
    main(CASES)
