"""qr, svd and pca: d4p vs numpy / scikit-learn vs daal4py on 2,000,000 x 50.

    python benchmarks/bench_decomposition.py [--n N --p P --repeat R --only NAME]
    mpiexec -n 2 python benchmarks/bench_decomposition.py --mpi

daal4py's batch svdDense PCA is given doScale=True so that, like d4p, it
reports explained variances (the work is the same either way).
"""
import numpy as np

import d4p
from harness import Case, main


def _numpy_pca_svd(X):
    Z = (X - X.mean(0)) / X.std(0, ddof=1)
    return np.linalg.svd(Z, full_matrices=False, compute_uv=True)


CASES = [
    Case("qr",
         d4p=lambda X, dist: d4p.qr(distributed=dist).compute(X),
         reference=lambda X: np.linalg.qr(X),
         daal4py="qr",
         flops=lambda n, p: 4 * n * p * p),  # Householder R and Q
    Case("svd",
         d4p=lambda X, dist: d4p.svd(distributed=dist).compute(X),
         reference=lambda X: np.linalg.svd(X, full_matrices=False),
         daal4py="svd",
         flops=lambda n, p: 4 * n * p * p),
    Case("svd values only",
         d4p=lambda X, dist: d4p.svd(leftSingularMatrix="notRequired",
                                     distributed=dist).compute(X),
         reference=lambda X: np.linalg.svd(X, compute_uv=False),
         daal4py="svd_values",
         flops=lambda n, p: 2 * n * p * p),
    Case("pca correlationDense",
         d4p=lambda X, dist: d4p.pca(distributed=dist).compute(X),
         reference=lambda X: np.linalg.eigh(np.corrcoef(X, rowvar=False)),
         daal4py="pca_correlation",
         flops=lambda n, p: n * p * (p + 1)),
    Case("pca svdDense",
         d4p=lambda X, dist: d4p.pca(method="svdDense", distributed=dist).compute(X),
         reference=_numpy_pca_svd,
         daal4py="pca_svd",
         flops=lambda n, p: 2 * n * p * p),
]

if __name__ == "__main__":
    main(CASES)
