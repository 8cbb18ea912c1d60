"""Speed of matcalc's generated numpy code against careful hand-written numpy.

Side by side in one run (alternating, median of repeats), BLAS pinned to one
thread.  Prints medians and ratios for:
  * softmax regression value+gradient at (n, m, k) = (1000, 100, 10),
    (10000, 300, 50), (100000, 100, 10): generated vs hand-written
    (target <= 1.2x) and vs the generated value alone (target <= 2.5x);
  * the logistic-regression Hessian at (n, d) = (10000, 500) vs the best
    hand-written form Xs.T @ Xs with Xs = X * sqrt(p(1-p))[:, None] (<= 1.3x);
  * the Hessian of x.T @ A @ x at n = 2000 vs A + A.T (<= 1.3x).
If jax, torch or autograd are installed they are timed too (optional).

Run: python bench/codegen_speed.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import importlib.util  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import matcalc  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def module_for(doc):
    d = matcalc.derive(doc, verify=False)
    path = Path(tempfile.mkdtemp()) / f"{d.name}.py"
    path.write_text(d.code)
    spec = importlib.util.spec_from_file_location(d.name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def race(fns: dict, repeat: int) -> dict:
    """Median seconds of each function, measured alternately."""
    times = {k: [] for k in fns}
    for f in fns.values():
        f()   # warm up
    for _ in range(repeat):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def hand_softmax_regression(X, W, Y, lam):
    n = X.shape[0]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1, keepdims=True)
    loss = -np.sum(Y * (Z - np.log(s))) / n + lam * np.sum(W * W)
    return loss, X.T @ (E / s - Y) / n + 2 * lam * W


def hand_logistic_hessian(X, w):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    Xs = X * np.sqrt(p * (1 - p))[:, None]
    return Xs.T @ Xs


def optional_peers():
    peers = {}
    for name in ("jax", "torch", "autograd"):
        if importlib.util.find_spec(name) is not None:
            peers[name] = True
    return peers


def main(quick: bool = False):
    repeat = 5 if quick else 15
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, BLAS threads pinned to 1, median of {repeat}\n")

    sr = module_for(REPO / "derivations" / "softmax_regression.yaml")
    print("softmax regression value+gradient")
    print(f"{'(n, m, k)':>18} {'generated':>10} {'hand':>10} {'value':>10} {'gen/hand':>9} {'gen/value':>10}")
    sizes = [(1000, 100, 10), (10000, 300, 50), (100000, 100, 10)]
    if quick:
        sizes = sizes[:2]
    for n, m, k in sizes:
        X = rng.normal(size=(n, m))
        W = rng.normal(size=(m, k)) * 0.1
        Y = np.eye(k)[rng.integers(k, size=n)]
        lam = 0.01
        v1, g1 = sr.value_and_grad(X=X, W=W, Y=Y, lam=lam)
        v2, g2 = hand_softmax_regression(X, W, Y, lam)
        assert np.allclose(v1, v2) and np.allclose(g1["W"], g2)
        t = race({"gen": lambda: sr.value_and_grad(X=X, W=W, Y=Y, lam=lam),
                  "hand": lambda: hand_softmax_regression(X, W, Y, lam),
                  "value": lambda: sr.value(X=X, W=W, Y=Y, lam=lam)}, repeat)
        print(f"{str((n, m, k)):>18} {t['gen'] * 1e3:9.2f}ms {t['hand'] * 1e3:9.2f}ms {t['value'] * 1e3:9.2f}ms "
              f"{t['gen'] / t['hand']:9.2f} {t['gen'] / t['value']:10.2f}")

    print("\nlogistic regression Hessian")
    lr = module_for({"name": "logistic", "dims": {"n": 50, "d": 5},
                     "symbols": {"X": {"shape": ["n", "d"]}, "w": {"shape": ["d"]}, "y": {"shape": ["n"]}},
                     "expr": "sum(softplus(X @ w) - y * (X @ w))", "wrt": ["w"], "order": 2})
    n, dd = (2000, 200) if quick else (10000, 500)
    X = rng.normal(size=(n, dd))
    w = rng.normal(size=dd) * 0.05
    y = (rng.random(n) < 0.5).astype(float)
    assert np.allclose(lr.hess_w(X=X, w=w, y=y), hand_logistic_hessian(X, w))
    t = race({"gen": lambda: lr.hess_w(X=X, w=w, y=y), "hand": lambda: hand_logistic_hessian(X, w)}, repeat)
    print(f"  (n, d) = ({n}, {dd}): generated {t['gen'] * 1e3:.1f}ms, best hand-written {t['hand'] * 1e3:.1f}ms, "
          f"ratio {t['gen'] / t['hand']:.2f}")

    print("\nHessian of x.T @ A @ x")
    qa = module_for({"name": "quadratic", "dims": {"n": 5},
                     "symbols": {"A": {"shape": ["n", "n"]}, "x": {"shape": ["n"]}},
                     "expr": "x.T @ A @ x", "wrt": ["x"], "order": 2})
    A = rng.normal(size=(2000, 2000))
    x = rng.normal(size=2000)
    assert np.allclose(qa.hess_x(A=A, x=x), A + A.T)
    t = race({"gen": lambda: qa.hess_x(A=A, x=x), "hand": lambda: A + A.T}, repeat)
    print(f"  n = 2000: generated {t['gen'] * 1e3:.2f}ms, hand-written {t['hand'] * 1e3:.2f}ms, "
          f"ratio {t['gen'] / t['hand']:.2f}")

    peers = optional_peers()
    print("\noptional peers installed:", ", ".join(peers) or "none (pip install jax torch autograd to compare)")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
