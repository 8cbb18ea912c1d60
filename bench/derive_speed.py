"""How fast matcalc derives, and how short its results are.

Prints three tables:
1. every required result of the engine (tests/cases.py): derivation time
   (median of 5, verification off), operation counts of matcalc's form and of
   the hand-written form, and their ratio;
2. the same derivations at small and at large dimension sizes (derivation is
   symbolic, so the ratio should be ~1);
3. a chain of L dense layers sum(tanh(...tanh(X @ W1) @ W2...)) w.r.t. every
   weight, L = 1..16, with time / L^2 (flat or falling means at most quadratic).

Run: python bench/derive_speed.py   (base install only)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "tests")]

import matcalc  # noqa: E402
from matcalc import ir  # noqa: E402
from matcalc.parse import parse  # noqa: E402

from cases import REQUIRED  # noqa: E402


def timed(doc, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        d = matcalc.derive(doc, verify=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times), d


def ops(expr):
    return sum(1 for n in ir.walk(expr) if isinstance(n, ir.Apply))


def main():
    print("1. required results: derivation time and operation counts")
    print(f"{'case':26} {'time ms':>8} {'ops':>4} {'hand':>5} {'ratio':>6}")
    worst_time, worst_ratio = 0.0, 0.0
    for case in REQUIRED:
        t, d = timed(case.doc())
        mine = ops(d.results[case.wrt].matrix)
        hand = ops(parse(case.hand or case.expected, d.problem.symbols, d.problem.dims))
        ratio = mine / max(hand, 1)
        worst_time, worst_ratio = max(worst_time, t), max(worst_ratio, ratio)
        print(f"{case.id:26} {t * 1000:8.1f} {mine:4d} {hand:5d} {ratio:6.2f}")
    print(f"worst time {worst_time * 1000:.1f} ms (target < 500 ms); worst ratio {worst_ratio:.2f} (target <= 1.25)")

    print("\n2. dimension sizes do not matter (median ms)")
    small = {"n": 3, "m": 2, "k": 2, "p": 2, "q": 2}
    large = {"n": 100_000, "m": 50_000, "k": 1000, "p": 300, "q": 700}
    print(f"{'case':26} {'small':>8} {'large':>8} {'ratio':>6}")
    for case in REQUIRED[::6]:
        ts, _ = timed(case.doc(small))
        tl, _ = timed(case.doc(large))
        print(f"{case.id:26} {ts * 1000:8.1f} {tl * 1000:8.1f} {tl / ts:6.2f}")

    print("\n3. chain of L dense layers, gradient w.r.t. every weight")
    print(f"{'L':>3} {'time s':>8} {'time/L^2 ms':>12}")
    for L in (1, 2, 4, 8, 12, 16):
        syms = {"X": {"shape": ["n", "d"]}}
        e = "X"
        for i in range(1, L + 1):
            syms[f"W{i}"] = {"shape": ["d", "d"]}
            e = f"tanh({e} @ W{i})"
        doc = {"dims": {"n": 5, "d": 3}, "symbols": syms, "expr": f"sum({e})",
               "wrt": [f"W{i}" for i in range(1, L + 1)]}
        t, _ = timed(doc, repeat=3)
        print(f"{L:3d} {t:8.3f} {t / L ** 2 * 1000:12.2f}")


if __name__ == "__main__":
    main()
