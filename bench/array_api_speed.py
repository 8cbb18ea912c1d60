"""Speed of matcalc's array-API module (``--target array-api``) for softmax
regression value+gradient, side by side in one run, BLAS pinned to one thread:

  * on numpy arrays, against the numpy-only module (target: at most 1.1x);
  * on JAX (jit), against jax.jit(jax.value_and_grad) of the forward
    expression, when jax is installed (target: at most 1.2x), float64;
  * on Dask: rows per second of the out-of-core gradient (X generated chunk
    by chunk from a seeded RNG, as in examples/dask_softmax_regression.py),
    of the same Dask code over an in-memory X, and of the numpy module on the
    in-memory X.

Run: python bench/array_api_speed.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import importlib.util  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import matcalc  # noqa: E402
from matcalc.codegen import emit_module  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def load(source: str, name: str):
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def race(fns: dict, repeat: int) -> dict:
    """Median seconds of each function, measured alternately after a warm-up."""
    times = {k: [] for k in fns}
    for f in fns.values():
        f()
    for _ in range(repeat):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def problem(rng, n, m, k):
    X = rng.normal(size=(n, m))
    W = rng.normal(size=(m, k)) * 0.1
    Y = np.eye(k)[rng.integers(k, size=n)]
    return X, W, Y, 0.01


def bench_numpy(np_mod, xp_mod, sizes, repeat, rng):
    print("array-API module on numpy arrays vs the numpy-only module (value_and_grad)")
    print(f"{'(n, m, k)':>18} {'numpy':>10} {'array-API':>10} {'ratio':>7}")
    for n, m, k in sizes:
        X, W, Y, lam = problem(rng, n, m, k)
        v1, g1 = np_mod.value_and_grad(X=X, W=W, Y=Y, lam=lam)
        v2, g2 = xp_mod.value_and_grad(X=X, W=W, Y=Y, lam=lam)
        assert np.allclose(v1, v2, rtol=1e-12) and np.allclose(g1["W"], g2["W"], rtol=1e-12)
        t = race({"np": lambda: np_mod.value_and_grad(X=X, W=W, Y=Y, lam=lam),
                  "xp": lambda: xp_mod.value_and_grad(X=X, W=W, Y=Y, lam=lam)}, repeat)
        print(f"{str((n, m, k)):>18} {t['np'] * 1e3:8.3f}ms {t['xp'] * 1e3:8.3f}ms {t['xp'] / t['np']:7.2f}")


def bench_jax(xp_mod, sizes, repeat, rng):
    if importlib.util.find_spec("jax") is None:
        print("\njax: not installed (pip install -e '.[bench]' to compare)")
        return
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def forward(W, X, Y, lam):
        return -jnp.sum(Y * jax.nn.log_softmax(X @ W, axis=1)) / X.shape[0] + lam * jnp.sum(W * W)

    autodiff = jax.jit(jax.value_and_grad(forward))
    generated = jax.jit(xp_mod.value_and_grad)
    print(f"\njax {jax.__version__} (float64, {jax.devices()[0].platform}): jit of the array-API module "
          "vs jit(value_and_grad(forward))")
    print(f"{'(n, m, k)':>18} {'autodiff':>10} {'generated':>10} {'ratio':>7}")
    for n, m, k in sizes:
        X, W, Y, lam = (jnp.asarray(a) for a in problem(rng, n, m, k))
        v1, g1 = autodiff(W, X, Y, lam)
        v2, g2 = generated(X=X, W=W, Y=Y, lam=lam)
        assert np.allclose(v1, v2, rtol=1e-10) and np.allclose(g1, g2["W"], rtol=1e-8, atol=1e-12)
        t = race({"ad": lambda: jax.block_until_ready(autodiff(W, X, Y, lam)),
                  "gen": lambda: jax.block_until_ready(generated(X=X, W=W, Y=Y, lam=lam))}, repeat)
        print(f"{str((n, m, k)):>18} {t['ad'] * 1e3:8.3f}ms {t['gen'] * 1e3:8.3f}ms {t['gen'] / t['ad']:7.2f}")


def bench_dask(np_mod, xp_mod, rows, chunk_rows, repeat):
    import dask
    import dask.array as da

    sys.path.insert(0, str(REPO / "examples"))
    from dask_softmax_regression import data

    m, k, lam = 100, 10, 1e-3
    X, Y = data(rows, m, k, chunk_rows)
    W = np.zeros((m, k))
    Xn, Yn = dask.compute(X, Y)               # the same data, in memory, for numpy
    Xm = da.from_array(Xn, chunks=(chunk_rows, m))
    Ym = da.from_array(Yn, chunks=(chunk_rows, k))
    workers = os.cpu_count()

    def on_dask(X, Y):
        value, grads = xp_mod.value_and_grad(X=X, W=W, Y=Y, lam=lam)
        return dask.compute(value, grads["W"], scheduler="threads", num_workers=workers)

    got, want = on_dask(X, Y), np_mod.value_and_grad(X=Xn, W=W, Y=Yn, lam=lam)
    rel = np.max(np.abs(got[1] - want[1]["W"])) / np.max(np.abs(want[1]["W"]))
    t = race({"numpy": lambda: np_mod.value_and_grad(X=Xn, W=W, Y=Yn, lam=lam),
              "dask_mem": lambda: on_dask(Xm, Ym),
              "dask_gen": lambda: on_dask(X, Y),
              "gen_only": lambda: dask.compute(X.sum(), Y.sum(), scheduler="threads", num_workers=workers)},
             repeat)
    print(f"\ndask {dask.__version__}: value_and_grad over {rows:,} rows x {m} features, {k} classes "
          f"({Xn.nbytes / 1e9:.2f} GB), chunks of {chunk_rows:,} rows, local threads x{workers}; "
          f"dask vs numpy relative difference {rel:.1e}")
    labels = {"numpy": "numpy module, X in memory (1 thread)",
              "dask_mem": "array-API module on dask, X in memory",
              "dask_gen": "array-API module on dask, X generated per chunk (out of core)",
              "gen_only": "(generating X and Y alone, per chunk)"}
    for key, label in labels.items():
        print(f"  {label:<64} {t[key]:7.3f}s {rows / t[key]:>14,.0f} rows/s")


def main(quick: bool = False):
    repeat = 5 if quick else 15
    rng = np.random.default_rng(0)
    d = matcalc.derive(REPO / "derivations" / "softmax_regression.yaml", verify=False)
    np_mod = load(d.code, "softmax_regression_np")
    xp_mod = load(emit_module(d, "array-api"), "softmax_regression_xp")
    sizes = [(100, 10, 3), (1000, 100, 10), (10000, 300, 50), (100000, 100, 10)]
    if quick:
        sizes = sizes[:3]
    print(f"numpy {np.__version__}, BLAS (and XLA) threads pinned to 1, median of {repeat}\n")
    bench_numpy(np_mod, xp_mod, sizes, repeat, rng)
    bench_jax(xp_mod, sizes, repeat, rng)
    bench_dask(np_mod, xp_mod, 200_000 if quick else 1_000_000, 50_000, 3 if quick else 5)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
