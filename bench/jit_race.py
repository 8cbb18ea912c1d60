"""Issue 16's "Done when", measured in one run: matcalc's emitted code against jax.jit
and the best hand-written numpy.

    python bench/jit_race.py                  # the issue's sizes (a few minutes)
    python bench/jit_race.py --quick          # small sizes, few rounds (a smoke run)
    python bench/jit_race.py --only softmax --only nll
    python bench/jit_race.py --no-jax         # as if jax were not installed

One pinned core (``os.sched_setaffinity`` before numpy and jax load; BLAS threads 1),
float64.  The contenders of a workload are interleaved: every round times each once,
in an order shuffled afresh (bench/higher_order.py's harness); each ratio is the median
of the paired per-round ratios.  Contenders: the best of the hand-written numpy forms
(bench/jit_race_hand.py), ``jax.jit`` of jax.value_and_grad / jax.hessian / the value
(on device arrays, warmed up), matcalc's emitted numpy module, and matcalc's
array-API module (``emit_module(d, target="array-api")``) called with jax arrays under
``jax.jit``.  The modules are derived from the expressions by the checkout's matcalc
(bench/jit_race_cases.py), so the race measures whatever the emitter prints today.
A result that disagrees with the hand one is WRONG and not timed.

Workloads (--only NAME): softmax, logistic, mlp, nll, quadexp, chain, hvp, derive.
Each target prints PASS or FAIL next to its ratio; the run ends with a Markdown table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]        # the bench helpers; this checkout's matcalc

from pinning import pin

CORE = pin() if __name__ == "__main__" else None    # before numpy and jax load; not when a test imports this

import argparse
import subprocess

import jit_race_cases as cases
import numpy as np
from higher_order import jax_or_none, measure
from jit_race_cases import Contender

KEYS = ("softmax", "logistic", "mlp", "nll", "quadexp", "chain", "hvp", "derive")


def workloads(tools: cases.Tools, keys, quick: bool):
    """The selected workloads at the issue's sizes (or small ones), built one at a time
    (each derives its modules when it is reached: nothing big is held between them)."""
    sizes = {
        "softmax": [(200, 10, 3), (2000, 10, 4)] if quick
        else [(1000, 100, 10), (10000, 300, 50), (100000, 100, 10)],
        "logistic": (300, 20) if quick else (10000, 500),
        "mlp": (128, 16, 16, 4) if quick else (4096, 256, 256, 10),
        "nll": (300, 10) if quick else (10000, 500),
        "quadexp": 50 if quick else 2000,
        "chain": (50, 8) if quick else (1000, 64),
        "hvp": (400, 12, 4) if quick else (10000, 100, 10),
    }
    for key in keys:
        if key == "softmax":
            for i, (n, m, k) in enumerate(sizes[key]):
                yield lambda n=n, m=m, k=k, i=i: cases.softmax(tools, n, m, k, smallest=i == 0)
        elif key == "nll":
            yield lambda key=key: cases.nll(tools, *sizes[key], probe=(400, 5) if quick else (3000, 20))
        elif key == "derive":
            yield lambda: cases.derive_time((2, 4, 8, 16) if quick else (8, 16, 32, 64), 1 if quick else 3)
        else:
            yield lambda key=key: getattr(cases, {"quadexp": "quad_exp"}.get(key, key))(
                tools, *np.atleast_1d(sizes[key]).tolist())


# ---------------------------------------------------------------- judging and printing


def resolve(contenders: list[Contender], name: str) -> Contender | None:
    """The contender ``name``, or the fastest timed one named ``name: ...`` (the best hand)."""
    by = {c.name: c for c in contenders}
    if name in by:
        return by[name]
    timed = [c for c in contenders if c.name.startswith(name + ": ") and c.run is not None and c.times]
    return min(timed, key=lambda c: np.median(c.times)) if timed else None


def judge(w: cases.Workload, r: cases.Ratio) -> dict:
    """One table row: the contenders' times, the ratio, the bound and the verdict."""
    bound = f"{'<=' if r.at_most else '>='} {r.bound:g}" if r.target else "(context)"
    row = {"workload": w.title, "label": r.label, "bound": bound, "ratio": None, "times": r.shown, "why": r.why}
    if r.fixed is not None:
        row["ratio"] = r.fixed
    elif r.num:
        a, b = resolve(w.contenders, r.num), resolve(w.contenders, r.den)
        missing = [(name, c) for name, c in ((r.num, a), (r.den, b)) if c is None or c.run is None]
        if missing:
            name, c = missing[0]
            row["why"] = f"{name}: {c.why if c is not None else 'not timed'}"
        else:
            row["ratio"] = float(np.median(np.array(a.times) / np.array(b.times)))
            row["times"] = f"{a.name} {ms(a)} / {b.name} {ms(b)}"
    if row["ratio"] is None:
        row["verdict"] = "n/a"
    elif not r.target:
        row["verdict"] = ""
    else:
        ok = row["ratio"] <= r.bound if r.at_most else row["ratio"] >= r.bound
        row["verdict"] = "PASS" if ok else "FAIL"
    return row


def ms(c: Contender) -> str:
    t = float(np.median(c.times))
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def report(w: cases.Workload) -> list[dict]:
    """Print a workload: each contender's median time, then every ratio with its verdict."""
    print(f"\n## {w.title}")
    for c in w.contenders:
        shown = f"{ms(c):>12}" if c.run is not None else f"  n/a ({c.why})"
        print(f"  {c.name:<34}{shown}")
    for note in w.notes:
        print(f"  note: {note}")
    rows = [judge(w, r) for r in w.ratios]
    for row in rows:
        ratio = f"{row['ratio']:8.3f}" if row["ratio"] is not None else f"{'n/a':>8}"
        extra = row["why"] if row["ratio"] is None else row["times"]
        print(f"  {row['label']:<48} {ratio}  {row['bound']:<9} {row['verdict']:<4}  {extra}")
    return rows


def table(rows: list[dict]) -> str:
    """The targets (context lines left out) as a Markdown table for a closing note."""
    out = ["| workload | target | contender times | ratio | PASS/FAIL |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        if row["bound"] == "(context)":
            continue
        ratio = f"{row['ratio']:.3f}" if row["ratio"] is not None else "n/a"
        times = row["times"] if row["ratio"] is not None else row["why"]
        out.append(f"| {row['workload']} | {row['label']} | {times.replace('|', '/')} | {ratio} | "
                   f"{row['verdict']} |")
    return "\n".join(out)


def revision() -> str:
    """The checkout's commit (and whether its work tree differs from it)."""
    try:
        head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False).stdout.strip()
        return head + (" (modified)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few rounds (a smoke run)")
    ap.add_argument("--only", action="append", choices=KEYS, help="run this workload (repeatable)")
    ap.add_argument("--reps", type=int, default=None, help="interleaved rounds (default 9, quick 2)")
    ap.add_argument("--no-jax", action="store_true", help="leave the jax contenders out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    reps = args.reps or (2 if args.quick else 9)
    jax = None if args.no_jax else jax_or_none()
    tools = cases.Tools(jax)
    print(f"matcalc at {revision()}; numpy {np.__version__}, jax {jax.__version__ if jax else 'absent'}; float64; "
          f"pinned to core {CORE}, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', '?')}; "
          f"{reps} interleaved rounds, medians of paired ratios; load average {os.getloadavg()[0]:.1f} "
          f"(on {os.cpu_count()} cores: other processes share this machine)")
    rows = []
    for build in workloads(tools, args.only or KEYS, args.quick):
        w = build()
        measure(w.contenders, reps, args.seed)
        rows += report(w)
    targets = [r for r in rows if r["bound"] != "(context)"]
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print(f"targets: {sum(r['verdict'] == 'PASS' for r in targets)} PASS, "
          f"{sum(r['verdict'] == 'FAIL' for r in targets)} FAIL, {sum(r['verdict'] == 'n/a' for r in targets)} n/a\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
