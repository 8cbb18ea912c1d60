"""How derivation time grows with the depth of a network: an L-layer tanh chain
w.r.t. every weight, L = 4, 8, 16, 32, 64 (issue 16: at most L^1.5 up to L = 64).

    python bench/derive_scaling.py                      # derive, emit, the three variants
    python bench/derive_scaling.py --check              # also derive with the numerical check
    python bench/derive_scaling.py --variants plain --L 4 8 16

The three expressions (dims n, d; X, Y [d, n]; W1 .. WL [d, d]):

- ``plain``:   sum((tanh(WL @ ... tanh(W1 @ X)) - Y) ** 2)
- ``let``:     the same with the layers named, H1 = tanh(W1 @ X), Hi = tanh(Wi @ H(i-1))
- ``softmax``: a softmax cross-entropy head, -sum(Y * log(softmax(WL @ H(L-1), axis=0))) / n

For each L: the time of ``matcalc.derive(doc, verify=False)``, of emitting the
module (``Derivation.code``, timed apart), with ``--check`` of
``matcalc.derive(doc)`` (the check runs the module against finite differences),
and the rewrite engine's work (:class:`matcalc.matrix.work.Work`: nodes the
rules were computed at, sympy calls).  Each variant ends with the exponent
``log(t64 / t8) / log 8`` (1 is linear, 2 quadratic).  Times are medians of
``--repeat`` runs in one process pinned to one core (the machine is shared).

Measured on a loaded 2-core machine (plain chain, L = 8 / 64): derive 0.28 s / 4.0 s
(exponent 1.28; before the shared rewrite memo 2.1 with 10.3 s at L = 64, and the
``let`` variant 2.8 with 130 s); emission 1.9 (the module has L functions that each
write out the forward chain: its size, not the printer, is quadratic); the check
spends a capped number of evaluations (verify/budget.py), comparing a sample of the
entries once all of them do not fit, so its exponent says little past L = 16.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

if hasattr(os, "sched_setaffinity"):       # one core, before numpy is imported
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matcalc  # noqa: E402

VARIANTS = ("plain", "let", "softmax")


def chain_doc(L: int, variant: str = "plain", n: int = 5, d: int = 3) -> dict:
    """The expr.yaml of an L-layer tanh chain w.r.t. every weight (as a dict)."""
    symbols = {"X": {"shape": ["d", "n"]}, "Y": {"shape": ["d", "n"]}}
    symbols.update({f"W{i}": {"shape": ["d", "d"]} for i in range(1, L + 1)})
    doc = {"name": f"chain_{variant}_{L}", "dims": {"n": n, "d": d}, "symbols": symbols,
           "wrt": [f"W{i}" for i in range(1, L + 1)]}
    if variant == "let":
        doc["let"] = {f"H{i}": f"tanh(W{i} @ {'X' if i == 1 else f'H{i - 1}'})" for i in range(1, L + 1)}
        doc["expr"] = f"sum((H{L} - Y) ** 2)"
        return doc
    layers = L - 1 if variant == "softmax" else L
    e = "X"
    for i in range(1, layers + 1):
        e = f"tanh(W{i} @ {e})"
    doc["expr"] = (f"-sum(Y * log(softmax(W{L} @ {e}, axis=0))) / n" if variant == "softmax"
                   else f"sum(({e} - Y) ** 2)")
    return doc


def counted(doc: dict) -> dict[str, int]:
    """The rewrite engine's work deriving ``doc`` (no check): deterministic counts."""
    from matcalc.matrix.work import shared

    with shared() as work:
        matcalc.derive(doc, verify=False)
    return work.counts()


def timed(doc: dict, repeat: int, check: bool) -> dict[str, float]:
    derive, emit, verified = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        d = matcalc.derive(doc, verify=False)
        derive.append(time.perf_counter() - start)
        start = time.perf_counter()
        d.code
        emit.append(time.perf_counter() - start)
        if check:
            start = time.perf_counter()
            matcalc.derive(doc)
            verified.append(time.perf_counter() - start)
    out = {"derive": statistics.median(derive), "emit": statistics.median(emit)}
    if check:
        out["check"] = statistics.median(verified)
    return out


def exponent(times: dict[int, float], a: int = 8, b: int = 64) -> float | None:
    if a in times and b in times and times[a] > 0:
        return math.log(times[b] / times[a]) / math.log(b / a)
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--check", action="store_true", help="also time the derivation with the check")
    ap.add_argument("--repeat", type=int, default=3, help="runs per L below 32 (1 from 32 on)")
    args = ap.parse_args(argv)
    matcalc.derive(chain_doc(2), verify=False)      # imports and first-call costs out of the way
    for variant in args.variants:
        print(f"\n{variant}: {chain_doc(2, variant)['expr']}")
        cols = ["derive s", "emit s"] + (["check s"] if args.check else []) + ["rule nodes", "sympy calls"]
        print(f"{'L':>3} " + " ".join(f"{c:>12}" for c in cols))
        series: dict[str, dict[int, float]] = {}
        for L in args.L:
            doc = chain_doc(L, variant)
            t = timed(doc, args.repeat if L < 32 else 1, args.check)
            counts = counted(doc)
            for k, v in t.items():
                series.setdefault(k, {})[L] = v
            row = [f"{t['derive']:12.3f}", f"{t['emit']:12.3f}"] + ([f"{t['check']:12.3f}"] if args.check else [])
            row += [f"{counts['nodes']:12d}", f"{counts['sympy']:12d}"]
            print(f"{L:3d} " + " ".join(row), flush=True)
        for k, times in series.items():
            p = exponent(times)
            if p is not None:
                print(f"  exponent of {k}: log(t64/t8)/log 8 = {p:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
