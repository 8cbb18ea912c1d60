"""The emission rule trace-of-product (issue 16): the emitted value of trace(X @ P @ X.T)
against the literal np.trace of the product, side by side (1 pinned BLAS thread,
interleaved rounds, median of the paired ratios).

    python bench/trace_emission.py [--n 4000] [--d 300] [--reps 7]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]   # this checkout's matcalc, not an installed one

import numpy as np  # noqa: E402

import matcalc  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--d", type=int, default=300)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args(argv)
    d = matcalc.derive({"dims": {"n": a.n, "d": a.d}, "symbols": {"X": {"shape": ["n", "d"]}, "P": {"shape": ["d", "d"]}},
                        "expr": "trace(X @ P @ X.T)", "wrt": ["P"]}, verify=False)
    value = d.function().value
    rng = np.random.default_rng(0)
    X, P = rng.normal(size=(a.n, a.d)), rng.normal(size=(a.d, a.d))
    literal = lambda: np.trace(X @ P @ X.T)            # noqa: E731
    emitted = lambda: value(X=X, P=P)                   # noqa: E731
    assert np.isclose(literal(), emitted(), rtol=1e-9)
    ratios, times = [], {"emitted": [], "literal": []}
    for _ in range(a.reps):
        for name, f in (("emitted", emitted), ("literal", literal)):
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
        ratios.append(times["emitted"][-1] / times["literal"][-1])
    print(f"trace(X @ P @ X.T), n = {a.n}, d = {a.d}, 1 thread, {a.reps} interleaved rounds")
    for name, ts in times.items():
        print(f"  {name:<8} {statistics.median(ts) * 1000:9.2f} ms")
    print(f"  emitted / literal np.trace(X @ P @ X.T): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
