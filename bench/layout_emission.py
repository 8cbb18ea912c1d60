"""The layout emission rules (issue 16, matcalc/ops/layout_code.py) on softmax regression
and a two-layer MLP: per size, interleaved in one process pinned to one core, the emitted
value(), the emitted value_and_grad(), the best hand-written numpy (the textbook form and
a layout-aware one, the faster of the two per size) and jax.jit of the value and of
jax.value_and_grad (skipped when jax is missing); medians of the paired ratios.

    python bench/layout_emission.py [--reps 15] [--quick]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"
if hasattr(os, "sched_setaffinity"):            # one core, before numpy or jax start threads
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]   # this checkout's matcalc, not an installed one

import numpy as np

import matcalc

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:          # the jax columns are left out
    jax = None


# -- hand-written numpy ------------------------------------------------------------------

def softmax_textbook(X, W, Y, lam):
    n = X.shape[0]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1, keepdims=True)
    return -np.sum(Y * (Z - np.log(s))) / n + lam * np.sum(W * W), X.T @ (E / s - Y) / n + 2 * lam * W


def softmax_layout(X, W, Y, lam):
    """The logits as [k, n] (W.T @ X.T): the class reductions run along n, in place."""
    n = X.shape[0]
    Z = W.T @ X.T
    Z -= Z.max(axis=0)
    E = np.exp(Z)
    s = E.sum(axis=0)
    value = -(np.sum(Y.T * Z) - np.log(s) @ Y.sum(axis=1)) / n + lam * np.vdot(W, W)
    E /= s
    E -= Y.T
    return value, (E @ X).T / n + 2 * lam * W


def mlp_textbook(X, W1, W2, Y):
    n = X.shape[0]
    H = np.tanh(X @ W1)
    Z = H @ W2
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1, keepdims=True)
    D = (E / s - Y) / n
    return -np.sum(Y * (Z - np.log(s))) / n, X.T @ ((D @ W2.T) * (1 - H * H)), H.T @ D


def mlp_layout(X, W1, W2, Y):
    """Transposed where the result is tall, in place where a temporary is fresh."""
    n = X.shape[0]
    H = np.tanh((W1.T @ X.T).T)
    Z = W2.T @ H.T
    Z -= Z.max(axis=0)
    E = np.exp(Z)
    s = E.sum(axis=0)
    value = -(np.sum(Y.T * Z) - np.log(s) @ Y.sum(axis=1)) / n
    E /= s
    E -= Y.T
    E /= n
    DH = (W2 @ E).T
    DH *= 1 - H * H
    return value, X.T @ DH, (E @ H).T


# -- the race ------------------------------------------------------------------------------

def race(contenders: dict, reps: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for f in contenders.values():
        f()                                           # warm up (and compile jax)
    for _ in range(reps):
        for name, f in contenders.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return times


def ratio(times, a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def best_hand(times, names: tuple[str, str]) -> str:
    return min(names, key=lambda k: statistics.median(times[k]))


def row(label: str, times, hands: tuple[str, str]) -> None:
    hand = best_hand(times, hands)
    ms = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    cells = [f"value {ms['value']:8.2f} ms", f"value_and_grad {ms['vg']:8.2f} ms",
             f"hand ({hand.split('_')[-1]}) {ms[hand]:8.2f} ms"]
    ratios = [f"vg/hand {ratio(times, 'vg', hand):5.2f}"]
    if "jax_vg" in times:
        cells.append(f"jax value {ms['jax_value']:8.2f} ms, value_and_grad {ms['jax_vg']:8.2f} ms")
        ratios += [f"vg/jax {ratio(times, 'vg', 'jax_vg'):5.2f}", f"value/jax {ratio(times, 'value', 'jax_value'):5.2f}"]
    print(f"{label:>22}  " + " | ".join(cells))
    print(f"{'':>22}  " + "  ".join(ratios), flush=True)


def softmax_regression(sizes, reps: int) -> None:
    module = matcalc.derive(REPO / "derivations" / "softmax_regression.yaml", verify=False).function()
    print("softmax regression  -sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)")
    for n, m, k in sizes:
        _softmax_size(module, n, m, k, reps)


def _softmax_size(module, n: int, m: int, k: int, reps: int) -> None:
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(n, m)), rng.normal(size=(m, k)) * 0.1
    Y, lam = np.eye(k)[rng.integers(k, size=n)], 0.01
    args = {"X": X, "W": W, "Y": Y, "lam": lam}
    v, g = module.value_and_grad(**args)
    for hand in (softmax_textbook, softmax_layout):
        hv, hg = hand(X, W, Y, lam)
        assert np.isclose(v, hv, rtol=1e-10) and np.allclose(g["W"], hg, rtol=1e-8, atol=1e-12)
    contenders = {"value": lambda: module.value(**args), "vg": lambda: module.value_and_grad(**args),
                  "hand_textbook": lambda: softmax_textbook(X, W, Y, lam),
                  "hand_layout": lambda: softmax_layout(X, W, Y, lam)}
    if jax is not None:
        def loss(W, X, Y, lam):
            return -jnp.sum(Y * jax.nn.log_softmax(X @ W, axis=1)) / X.shape[0] + lam * jnp.sum(W * W)
        jv, jvg = jax.jit(loss), jax.jit(jax.value_and_grad(loss))
        jargs = [jnp.asarray(a) for a in (W, X, Y)] + [lam]
        contenders["jax_value"] = lambda: jax.block_until_ready(jv(*jargs))
        contenders["jax_vg"] = lambda: jax.block_until_ready(jvg(*jargs))
    row(str((n, m, k)), race(contenders, reps), ("hand_textbook", "hand_layout"))


def mlp(sizes, reps: int) -> None:
    module = matcalc.derive(REPO / "derivations" / "mlp_two_layer.yaml", verify=False).function()
    print("two-layer MLP  -sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1))) / n")
    for n, m, h, k in sizes:
        _mlp_size(module, n, m, h, k, reps)


def _mlp_size(module, n: int, m: int, h: int, k: int, reps: int) -> None:
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.normal(size=(n, m)), rng.normal(size=(m, h)) / np.sqrt(m), rng.normal(size=(h, k)) / np.sqrt(h)
    Y = np.eye(k)[rng.integers(k, size=n)]
    args = {"X": X, "W1": W1, "W2": W2, "Y": Y}
    v, g = module.value_and_grad(**args)
    for hand in (mlp_textbook, mlp_layout):
        hv, g1, g2 = hand(X, W1, W2, Y)
        assert np.isclose(v, hv, rtol=1e-10) and np.allclose(g["W1"], g1) and np.allclose(g["W2"], g2)
    contenders = {"value": lambda: module.value(**args), "vg": lambda: module.value_and_grad(**args),
                  "hand_textbook": lambda: mlp_textbook(X, W1, W2, Y),
                  "hand_layout": lambda: mlp_layout(X, W1, W2, Y)}
    if jax is not None:
        def loss(W1, W2, X, Y):
            return -jnp.sum(Y * jax.nn.log_softmax(jnp.tanh(X @ W1) @ W2, axis=1)) / X.shape[0]
        jv, jvg = jax.jit(loss), jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
        jargs = [jnp.asarray(a) for a in (W1, W2, X, Y)]
        contenders["jax_value"] = lambda: jax.block_until_ready(jv(*jargs))
        contenders["jax_vg"] = lambda: jax.block_until_ready(jvg(*jargs))
    row(str((n, m, h, k)), race(contenders, reps), ("hand_textbook", "hand_layout"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="the smaller sizes only")
    a = ap.parse_args(argv)
    print(f"1 core, float64, {a.reps} interleaved rounds, medians of paired ratios; "
          f"jax {'missing' if jax is None else jax.__version__}")
    sizes = [(1000, 100, 10), (10000, 300, 50), (100000, 100, 10)]
    softmax_regression(sizes[:2] if a.quick else sizes, a.reps)
    mlp([(1024, 128, 128, 10)] if a.quick else [(4096, 256, 256, 10)], a.reps)


if __name__ == "__main__":
    main()
