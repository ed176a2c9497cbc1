"""pca in SPMD mode on scikit-learn's breast cancer data, then each rank projects
its own rows with pca_transform.

Run it any of three ways:
    python examples/pca_spmd.py
    python -m d4p -n 4 examples/pca_spmd.py
    mpiexec -n 4 python examples/pca_spmd.py
"""
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

import d4p


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    data = load_breast_cancer().data
    mine = np.array_split(data, size)[rank]

    # Both methods give the batch answer for any split; all parameters apply.
    results = {method: d4p.pca(method=method, nComponents=5, isDeterministic=True,
                               resultsToCompute="mean|variance|eigenvalue",
                               distributed=True).compute(mine)
               for method in ("correlationDense", "svdDense")}
    res = results["svdDense"]
    scores = d4p.pca_transform(nComponents=2).compute(mine, res.eigenvectors,
                                                       res.dataForTransform).transformedData

    # scikit-learn on all rows (ddof=1 scaling, as PCA's correlation matrix uses)
    scaled = StandardScaler().fit_transform(data) * np.sqrt((len(data) - 1) / len(data))
    sk = PCA(n_components=5, whiten=True, svd_solver="full").fit(scaled)
    assert np.allclose(scores, sk.transform(np.array_split(scaled, size)[rank])[:, :2])
    if rank == 0:
        print(f"ranks: {size}, rows: {data.shape[0]}, columns: {data.shape[1]}")
        print("explained variance:", np.round(res.eigenvalues[0], 4))
        for r in results.values():
            assert np.allclose(r.eigenvalues[0], sk.explained_variance_)
            assert np.allclose(r.eigenvectors, sk.components_)
        print("OK: distributed PCA equals scikit-learn PCA of the standardised rows")


if __name__ == "__main__":
    main()
