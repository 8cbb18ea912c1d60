"""Judge matcalc's emitted numpy against JAX's autodiff, case by case.

For every expr.yaml given (files or directories), derive it, then at a few
random points inside its props and ``domain`` compare each ``grad_S`` of the
emitted numpy module with ``jax.grad`` of the same expression, evaluated by
matcalc's array-API module under JAX (float64): an independent derivative of
the same value.  Prints one line per case (right / WRONG / refused / error)
and a summary; exits 1 when any result disagrees.

    python bench/judge_jax.py derivations bench/corpus
    python bench/judge_jax.py case.yaml --points 5

Points where the expression sits at a kink (a tie of ``maximum``, ``abs`` at 0)
are not drawn in practice: inputs are continuous random numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]           # this checkout's matcalc, not an installed one

import matcalc  # noqa: E402
from matcalc.codegen import emit_module, load_module  # noqa: E402
from matcalc.errors import MatcalcError  # noqa: E402
from matcalc.verify.sample import draw_within  # noqa: E402


def cases(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    return out


def exact_gradient(p, values, s, digits: int = 60) -> np.ndarray:
    """The arbiter where the two disagree: central differences of the expression itself
    (not of any derivative) at ``digits`` significant digits, step 1e-20."""
    import mpmath

    from matcalc.evaluate import _evaluate
    from matcalc.ops import mp

    x0 = np.asarray(values[s], dtype=float)
    out = np.zeros(x0.shape)
    with mp.precision(digits):
        h = mpmath.mpf("1e-20")
        for ix in np.ndindex(x0.shape):
            sides = []
            for sign in (1, -1):
                x = np.array(x0, dtype=object)
                if x.shape:
                    x = np.vectorize(mpmath.mpf, otypes=[object])(x)
                    x[ix] = x[ix] + sign * h
                else:
                    x = mpmath.mpf(float(x0)) + sign * h
                sides.append(_evaluate(p.expr, {**values, s: x}, p.dims, True))
            out[ix] = float((sides[0] - sides[1]) / (2 * h))
    return out


def judge(d, points: int, rtol: float) -> tuple[str, str]:
    """("right" | "WRONG", detail) for one derivation: ``grad_S`` against ``jax.grad``
    (``jax.jacrev`` for a vector value), ``hess_S`` against ``jax.hessian``."""
    import jax
    import jax.numpy as jnp
    import jax.scipy.special  # noqa: F401

    numpy_mod = load_module(d.code, f"np_{d.name}")
    xp_mod = load_module(emit_module(d, target="array-api"), f"xp_{d.name}")
    # the module's erf/erfc helpers are series and continued fractions behind np.where:
    # right values, but autodiff through the branch not taken gives nan; JAX's own here
    for name in ("_erf", "_erfc"):
        if hasattr(xp_mod, name):
            setattr(xp_mod, name, lambda xp, x, f=getattr(jax.scipy.special, name[1:]): f(x))
    p = d.problem
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(points):
        for _ in range(20):      # a point where the value is not finite is drawn again (as the check does)
            values = draw_within(tuple(getattr(p, "domain", ())), (p.expr,), p.symbols, p.dims, rng)
            with np.errstate(all="ignore"):
                if np.all(np.isfinite(numpy_mod.value(**values))):
                    break
        for s in d.results:
            second = d.order == 2
            mine = np.asarray(getattr(numpy_mod, f"{'hess' if second else 'grad'}_{s}")(**values), dtype=float)

            def f(x, s=s):
                return xp_mod.value(**{**{k: jnp.asarray(v) for k, v in values.items()}, s: x})
            x = jnp.asarray(values[s], dtype=jnp.float64)
            how = jax.hessian if second else jax.grad if p.expr.rank == 0 else jax.jacrev
            theirs = np.asarray(how(f)(x))
            if p.expr.rank:              # matcalc's Jacobian is [out, in] for a vector wrt
                theirs = theirs.reshape(mine.shape) if theirs.size == mine.size else theirs
            scale = max(np.max(np.abs(theirs)), 1e-300)
            err = float(np.max(np.abs(mine - theirs)) / scale) if mine.shape == theirs.shape else np.inf
            worst = max(worst, err)
            if not err <= rtol and not second and mine.shape == x.shape:
                truth = exact_gradient(p, values, s)      # who is right: 60-digit differences
                ours = float(np.max(np.abs(mine - truth)) / max(np.max(np.abs(truth)), 1e-300))
                jaxs = float(np.max(np.abs(theirs - truth)) / max(np.max(np.abs(truth)), 1e-300))
                if ours <= rtol:
                    return "right", (f"jax.grad is {err:.1e} off; against 60-digit differences of the "
                                     f"expression matcalc is {ours:.1e} off, jax {jaxs:.1e}")
            if not err <= rtol:
                return "WRONG", f"{'hess' if second else 'grad'}_{s}: relative difference {err:.2e} from jax.grad"
    return "right", f"largest relative difference {worst:.1e}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", help="expr.yaml files or directories of them")
    ap.add_argument("--points", type=int, default=3, help="random points per case (default 3)")
    ap.add_argument("--rtol", type=float, default=1e-7, help="agreement demanded (default 1e-7)")
    args = ap.parse_args(argv)
    import jax
    jax.config.update("jax_enable_x64", True)
    tally: dict[str, int] = {}
    for path in cases(args.paths):
        try:
            got = matcalc.derive(path)
            for d in got if isinstance(got, list) else [got]:
                if "stop_gradient" in str(d.expr):
                    kind, detail = "skipped", "stop_gradient: the array-API module has no jax.lax.stop_gradient"
                else:
                    kind, detail = judge(d, args.points, args.rtol)
                tally[kind] = tally.get(kind, 0) + 1
                print(f"{kind:>8}  {d.name:<32} {detail}")
        except MatcalcError as exc:
            tally["refused"] = tally.get("refused", 0) + 1
            print(f"{'refused':>8}  {path.stem:<32} {str(exc).splitlines()[0]}")
        except Exception as exc:         # a crash is reported, never hidden
            tally["error"] = tally.get("error", 0) + 1
            print(f"{'error':>8}  {path.stem:<32} {type(exc).__name__}: {str(exc).splitlines()[0]}")
    print(", ".join(f"{k}: {v}" for k, v in sorted(tally.items())))
    return 1 if tally.get("WRONG") or tally.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
