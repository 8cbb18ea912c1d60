"""tanh in float64: numpy's against jax.jit's (XLA's), time and accuracy side by side.

The two-layer MLP of bench/jit_race.py spends about 1.8 ms of its 28 ms in ``np.tanh``
of a [4096, 256] array; XLA computes it in about half the time.  This prints both times
(interleaved, one pinned core, medians of paired ratios) and both errors against
40-digit mpmath on inputs spread over where tanh is used (|x| up to 20, and near 0):
the largest and the mean error in units in the last place.

    python bench/tanh_accuracy.py [--reps 15] [--samples 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from pinning import pin

pin()

import mpmath
import numpy as np


def ulps(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    """|got - tanh(x)| in units in the last place of tanh(x), tanh(x) from 40-digit mpmath."""
    with mpmath.workdps(40):
        exact = np.array([float(mpmath.tanh(mpmath.mpf(float(v)))) for v in x])
    return np.abs(got - exact) / np.spacing(np.abs(exact))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=15, help="interleaved rounds (default 15)")
    ap.add_argument("--samples", type=int, default=20000, help="points for the accuracy (default 20,000)")
    a = ap.parse_args(argv)
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
    except ImportError:
        print("jax is not installed: nothing to compare with")
        return 0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 256))
    xj = jnp.asarray(x)
    jtanh = jax.jit(jnp.tanh)
    jtanh(xj).block_until_ready()
    contenders = {"np.tanh": lambda: np.tanh(x), "jax.jit(jnp.tanh)": lambda: jtanh(xj).block_until_ready()}
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(a.reps):
        for name, f in contenders.items():
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                f()
                best = min(best, time.perf_counter() - start)
            times[name].append(best)
    ratio = float(np.median(np.array(times["np.tanh"]) / np.array(times["jax.jit(jnp.tanh)"])))
    k = a.samples
    pts = np.concatenate([rng.standard_normal(k) * 3, rng.standard_normal(k // 4) * 1e-3, rng.uniform(-20, 20, k // 4)])
    errors = {"np.tanh": ulps(np.tanh(pts), pts), "jax.jit(jnp.tanh)": ulps(np.asarray(jtanh(jnp.asarray(pts))), pts)}
    print(f"tanh of a [4096, 256] float64 array, {a.reps} interleaved rounds, one core; "
          f"error on {pts.size:,} points against 40-digit mpmath")
    for name in contenders:
        e = errors[name]
        print(f"  {name:20s} {1e3 * float(np.median(times[name])):6.2f} ms   max {e.max():4.1f} ulp   mean {e.mean():.2f} ulp")
    print(f"  np.tanh / jax.jit(jnp.tanh) time: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
