"""Writes quickstart.ipynb (kept as code so the notebook's source is reviewable).

    python examples/notebooks/make_quickstart.py
"""
import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell("""# d4p quickstart: an SPMD analysis on simulated ranks

An SPMD program is one function that **every rank** runs on **its own rows**. Inside
Jupyter there is no `mpiexec`, so we simulate the ranks: `d4p.run_spmd(fn, 4)` runs
`fn` on 4 threads, each one a rank with its own `d4p.my_procid()`. The very same
function, saved in a script, runs under `mpiexec -n 4 python script.py` on real MPI
ranks, or on one process with `python script.py`."""),
    new_code_cell("""import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import d4p

rng = np.random.default_rng(0)
n = 20_000
X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [5.0, -1.0, 0.0]
y = X @ [1.5, -0.7, 3.0] + 4.0 + rng.normal(scale=0.3, size=n)
print(X.shape, y.shape)"""),
    new_markdown_cell("""## One function, every rank

Each rank takes its share of the rows (in a real job, each rank would read its own
file). Rank 0 also takes rank 1's share, so rank 1 has no rows at all: an empty
rank is fine. The
`distributed=True` computations merge small statistics across the ranks and return
the result for **all** rows on **every** rank."""),
    new_code_cell("""def analysis():
    rank, size = d4p.my_procid(), d4p.num_procs()
    bounds = np.linspace(0, n, size + 1).astype(int)
    lo, hi = bounds[rank], bounds[rank + 1]
    if rank == 0:
        hi = bounds[min(2, size)]  # rank 0 takes rank 1's rows too ...
    elif rank == 1:
        lo = hi  # ... so rank 1 is empty
    Xr, yr = X[lo:hi], y[lo:hi]

    moments = d4p.low_order_moments(distributed=True).compute(Xr)
    cov = d4p.covariance(distributed=True).compute(Xr)
    model = d4p.linear_regression_training(interceptFlag=True, distributed=True).compute(Xr, yr).model
    # Prediction needs no communication: each rank predicts its own rows.
    pred = d4p.linear_regression_prediction().compute(Xr, model).prediction
    return {"rows": len(Xr), "mean": moments.mean, "corr": cov.correlation,
            "beta": model.Beta, "residual_ss": float(((pred[:, 0] - yr) ** 2).sum())}

results = d4p.run_spmd(analysis, 4)
print("rows per rank:", [r["rows"] for r in results])
print("beta on every rank equal:", all(np.array_equal(r["beta"], results[0]["beta"]) for r in results))
print("beta:", np.round(results[0]["beta"], 3))"""),
    new_markdown_cell("""## The same numbers as one process on all rows"""),
    new_code_cell("""np.testing.assert_allclose(results[0]["mean"][0], X.mean(axis=0))
np.testing.assert_allclose(results[0]["corr"], np.corrcoef(X, rowvar=False))
design = np.column_stack([np.ones(n), X])
exact = np.linalg.lstsq(design, y, rcond=None)[0]
np.testing.assert_allclose(results[0]["beta"][0], exact)
total_rss = sum(r["residual_ss"] for r in results)
print(f"OK: distributed == batch; residual sum of squares {total_rss:.1f}")"""),
    new_markdown_cell("""## A plot

The correlation matrix every rank received, and the fitted values against the truth
(each rank contributed the residuals of its own rows)."""),
    new_code_cell("""fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
im = ax1.imshow(results[0]["corr"], vmin=-1, vmax=1, cmap="RdBu_r")
ax1.set_title("correlation (merged over 4 ranks)")
fig.colorbar(im, ax=ax1)
beta = results[0]["beta"][0]
ax2.scatter(y[:2000], beta[0] + X[:2000] @ beta[1:], s=2)
ax2.set_xlabel("y"); ax2.set_ylabel("fitted"); ax2.set_title("linear regression")
fig.tight_layout()
fig.savefig("quickstart.png", dpi=80)"""),
    new_markdown_cell("""## From the notebook to a cluster

Put the body of `analysis()` in a script with `rank, size = d4p.my_procid(),
d4p.num_procs()` at the top and each rank reading its own file, then run it

```bash
python -m d4p -n 4 analysis.py        # simulated ranks, as here
mpiexec -n 4 python analysis.py       # real MPI ranks, one or many machines
```

No line of the analysis changes."""),
]


def main():
    nb = new_notebook(cells=CELLS, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quickstart.ipynb")
    nbformat.write(nb, path)
    print("wrote", path)


if __name__ == "__main__":
    main()
