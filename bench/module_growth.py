"""One forward pass per module (issue 16): the emitted module of an L-layer tanh chain

    J = sum((tanh(W_L @ ... tanh(W_2 @ tanh(W_1 @ X))) - Y) ** 2)      w.r.t. every W_i

grows linearly with L (its gradients share one helper, _forward_backward, instead
of each writing out the forward chain), and grad_W1 alone costs no more than
value_and_grad.  Printed:

1. the module's lines for L = 4, 8, 16, 32, 64 and the ratio to the previous L;
2. grad_W1, grad_WL and value() against value_and_grad at one L (1 pinned core,
   interleaved rounds, medians of the paired ratios);
3. with --gallery: every function of each gallery module (derivations/*.py, as
   committed) against the same function emitted now, for the modules whose text
   changed, interleaved (ratio now / committed; below 1 is faster), at the
   gallery's sizes and at --scale times them.

    python bench/module_growth.py [--sizes 4,8,16,32,64] [--let] [--L 8 --d 64 --n 4096]
                                  [--reps 21] [--gallery] [--scale 8]
"""

from __future__ import annotations

import os

os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})     # one core, before numpy loads
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import inspect  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]   # this checkout's matcalc, not an installed one

import numpy as np  # noqa: E402
import yaml  # noqa: E402

import matcalc  # noqa: E402
from matcalc.codegen import load_module  # noqa: E402
from matcalc.verify.sample import sample  # noqa: E402


def chain(L: int, let: bool = False, n: int = 7, d: int = 3) -> dict:
    """The expr.yaml of the L-layer chain (with ``let: H1, H2, ...`` for the layers)."""
    symbols = {"X": {"shape": ["d", "n"], "props": ["constant"]}, "Y": {"shape": ["d", "n"], "props": ["constant"]}}
    e, lets = "X", {}
    for i in range(1, L + 1):
        symbols[f"W{i}"] = {"shape": ["d", "d"]}
        e = f"tanh(W{i} @ {e})"
        if let:
            lets[f"H{i}"], e = e, f"H{i}"
    doc = {"name": f"chain{L}", "dims": {"n": n, "d": d}, "symbols": symbols, "expr": f"sum(({e} - Y) ** 2)",
           "wrt": [f"W{i}" for i in range(1, L + 1)]}
    return {**doc, "let": lets} if let else doc


def interleaved(calls: dict, reps: int, base: str) -> tuple[dict, dict]:
    """Median seconds per call and median of the paired ratios to ``base``, rounds interleaved."""
    for f in calls.values():
        f()
    times = {k: [] for k in calls}
    for _ in range(reps):
        for k, f in calls.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    ratios = {k: statistics.median(a / b for a, b in zip(times[k], times[base])) for k in calls}
    return {k: statistics.median(v) for k, v in times.items()}, ratios


def growth(sizes: list[int], let: bool) -> None:
    print(f"module lines of the L-layer chain{' (let H1, H2, ...)' if let else ''}:")
    print(f"{'L':>4} {'lines':>7} {'ratio':>6} {'derive s':>9}")
    before = None
    for L in sizes:
        t0 = time.perf_counter()
        lines = len(matcalc.derive(chain(L, let), verify=False).code.splitlines())
        ratio = f"{lines / before:6.2f}" if before else ""
        print(f"{L:4d} {lines:7d} {ratio:>6} {time.perf_counter() - t0:9.1f}", flush=True)
        before = lines


def cost(L: int, n: int, d: int, reps: int) -> None:
    f = matcalc.derive(chain(L), verify=False).function()
    rng = np.random.default_rng(0)
    args = {"X": rng.normal(size=(d, n)), "Y": rng.normal(size=(d, n)) * 0.5,
            **{f"W{i}": rng.normal(size=(d, d)) / np.sqrt(d) for i in range(1, L + 1)}}
    both = f.value_and_grad(**args)
    np.testing.assert_allclose(f.grad_W1(**args), both[1]["W1"], rtol=1e-12)
    calls = {"value_and_grad": lambda: f.value_and_grad(**args), "grad_W1": lambda: f.grad_W1(**args),
             f"grad_W{L}": lambda: getattr(f, f"grad_W{L}")(**args), "value": lambda: f.value(**args)}
    times, ratios = interleaved(calls, reps, "value_and_grad")
    print(f"\nL = {L}, d = {d}, n = {n}, 1 core, {reps} interleaved rounds (median ms; median of paired ratios):")
    for k in calls:
        print(f"  {k:<16} {times[k] * 1000:9.3f} ms   {ratios[k]:6.3f} x value_and_grad")


def gallery(scale: int, reps: int) -> None:
    """Each changed gallery module's functions, committed (derivations/X.py) against emitted now."""
    print(f"\ngallery modules whose text changed: now / committed per function (1 core, {reps} rounds)")
    print(f"  {'case':<24} {'function':<18} {'x1':>7} {f'x{scale}':>7}")
    worst = 0.0
    for path in sorted((ROOT / "derivations").glob("*.yaml")):
        committed = path.with_suffix(".py").read_text()
        d = matcalc.derive(yaml.safe_load(path.read_text()), verify=False)
        if committed.split('"""', 1)[1] == d.code.split('"""', 1)[1]:
            continue
        old, new = load_module(committed, "committed"), load_module(d.code, "now")
        p = d.problem
        names = [n for n, v in vars(old).items() if inspect.isfunction(v) and not n.startswith("_")]
        for name in names:
            row = []
            for k in (1, scale):
                rng = np.random.default_rng(0)
                dims = {dim: size * k for dim, size in p.dims.items()}
                args = {s: sample(sym, dims, rng) for s, sym in p.symbols.items()}
                for r in d.results.values():
                    if r.direction is not None:
                        args[r.direction.name] = sample(p.symbols[r.symbol], dims, rng)
                wanted = set(inspect.signature(getattr(old, name)).parameters)
                args = {a: v for a, v in args.items() if a in wanted}
                calls = {"committed": lambda: getattr(old, name)(**args), "now": lambda: getattr(new, name)(**args)}
                _, ratios = interleaved(calls, reps, "committed")
                row.append(ratios["now"])
            worst = max(worst, *row)
            print(f"  {path.stem:<24} {name:<18} {row[0]:7.3f} {row[1]:7.3f}", flush=True)
    print(f"  largest ratio: {worst:.3f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="4,8,16,32,64")
    ap.add_argument("--let", action="store_true", help="name the layers H1, H2, ... (let:)")
    ap.add_argument("--L", type=int, default=8)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--gallery", action="store_true")
    ap.add_argument("--scale", type=int, default=8)
    a = ap.parse_args(argv)
    growth([int(x) for x in a.sizes.split(",") if x], a.let)
    cost(a.L, a.n, a.d, a.reps)
    if a.gallery:
        gallery(a.scale, a.reps)


if __name__ == "__main__":
    main()
