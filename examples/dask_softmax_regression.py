"""Softmax regression's gradient over data larger than memory, with Dask.

matcalc derives the gradient once and writes it as an array-API module (the
same module as ``matcalc derive derivations/softmax_regression.yaml --target
array-api --emit-code softmax_regression_xp.py``).  Here it runs on a Dask X
whose rows are generated chunk by chunk from a seeded RNG, so X is never held
in memory at once: ``X @ W``, the row-wise softmax and ``X.T @ (S - Y)`` run
per chunk of rows and Dask adds up the per-chunk ``X_c.T @ (S_c - Y_c)``.

    python examples/dask_softmax_regression.py            # 1M rows (0.8 GB), checked against numpy
    python examples/dask_softmax_regression.py --large    # 50M rows: X is 40 GB, more than this machine's RAM
    python examples/dask_softmax_regression.py --scheduler tcp://host:8786   # a dask.distributed cluster

On the local threaded scheduler by default; ``--scheduler`` connects a
``dask.distributed`` Client and runs the very same code on the cluster.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import tempfile
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np

import matcalc
from matcalc.codegen import emit_module

REPO = Path(__file__).resolve().parent.parent


def generated_module(target: str = "array-api"):
    """The module matcalc writes for derivations/softmax_regression.yaml, imported."""
    d = matcalc.derive(REPO / "derivations" / "softmax_regression.yaml", verify=False)
    name = f"softmax_regression_{target.replace('-', '_')}"
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(emit_module(d, target=target))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data(rows: int, features: int, classes: int, chunk_rows: int, seed: int = 0):
    """X [rows, features] and one-hot labels Y [rows, classes], chunked by rows and
    generated lazily: each chunk is drawn from the seeded RNG when a task needs it."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, features), chunks=(chunk_rows, features))
    W_true = np.random.default_rng(seed + 1).standard_normal((features, classes))
    logits = X @ W_true + rng.gumbel(size=(rows, classes), chunks=(chunk_rows, classes))
    labels = da.argmax(logits, axis=1)
    Y = (labels[:, None] == da.arange(classes)[None, :]).astype(float)
    return X, Y


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--large", action="store_true", help="50M rows: X alone is 40 GB")
    parser.add_argument("--scheduler", help="address of a dask.distributed scheduler (default: local threads)")
    args = parser.parse_args(argv)
    if args.large:
        args.rows = 50_000_000
    if args.scheduler:
        from dask.distributed import Client
        Client(args.scheduler)

    module = generated_module()
    X, Y = data(args.rows, args.features, args.classes, args.chunk_rows)
    W = np.zeros((args.features, args.classes))     # a small numpy W is fine beside dask X, Y
    lam = 1e-3
    print(f"X: {args.rows:,} x {args.features} float64 = {X.nbytes / 1e9:.1f} GB "
          f"in {X.numblocks[0]} chunks of {args.chunk_rows:,} rows")

    value, grads = module.value_and_grad(X=X, W=W, Y=Y, lam=lam)   # lazy: a task graph
    start = time.perf_counter()
    value, grad = dask.compute(value, grads["W"])                   # one pass over X
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6    # kB -> GB on Linux
    print(f"value = {float(value):.6f}, |grad_W| = {np.linalg.norm(grad):.6f}")
    print(f"{seconds:.1f} s, {args.rows / seconds:,.0f} rows/s, peak memory {peak:.2f} GB")

    if X.nbytes < 4e9:    # small enough to check against the numpy module in memory
        Xn, Yn = dask.compute(X, Y)
        want_value, want = generated_module("numpy").value_and_grad(X=Xn, W=W, Y=Yn, lam=lam)
        rel = np.max(np.abs(grad - want["W"])) / np.max(np.abs(want["W"]))
        print(f"numpy in memory agrees: relative difference {rel:.1e} (gradient), "
              f"{abs(value - want_value) / abs(want_value):.1e} (value)")
        if rel > 1e-10:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
