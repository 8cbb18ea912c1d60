"""Issue 15's performance targets, measured side by side in one run.

    python bench/higher_order.py            # the issue's sizes
    python bench/higher_order.py --quick    # small sizes, a smoke run

1 pinned BLAS (and XLA) thread, float64.  Contenders are interleaved (every
repetition times each contender once, in a shuffled order) and each target is the
median of the paired ratios of one repetition.  Targets:

1. softmax regression J(W) = -sum(Y * log(softmax(X @ W, axis=1))) / n
   + lam * sum(W * W) at (n, m, k) = (10000, 100, 10): ``hvp_W`` <= 4x
   ``value_and_grad``;
2. its dense Hessian w.r.t. W, [m*k, m*k] in the vec convention (vec stacks
   columns: row p + m*q is W[p, q]): >= 10x faster than
   ``jax.jit(jax.hessian(J))`` reshaped to vec, and >= 1x the best hand-written
   Kronecker assembly;
3. trace(X.T @ A @ X) w.r.t. X [n, m] at n = 200, m = 20: its Hessian
   kron(eye(m), A + A.T), built without a dense commutation matrix, within
   1.2x of ``np.kron(np.eye(m), A + A.T)``.

A matcalc contender that cannot be derived yet prints "n/a (reason)"; the rest
of the table still prints; a matcalc result that disagrees with the hand one is
reported WRONG and not timed.  The hand-written contenders are plain functions in
bench/higher_order_hand.py (tests/test_bench_higher_order.py checks them against each
other and against finite differences).  Recipes and timings: bench/HIGHER_ORDER_NOTES.md.
"""

from __future__ import annotations

import os

if __name__ == "__main__":           # before numpy and jax load; not when a test imports this
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]    # the hand contenders; this checkout's matcalc

from higher_order_hand import (
    sr_hess_blocks,
    sr_hess_blocks_all,
    sr_hess_syrk,
    sr_hess_vech,
    sr_hvp,
    sr_hvp_literal,
    sr_value_and_grad,
    trace_hess_blocks,
    trace_hess_kron,
)

# ---------------------------------------------------------------- the harness


@dataclass
class Contender:
    """One timed callable, or None with the reason it is not available."""
    name: str
    run: Callable[[], object] | None
    why: str = ""
    check: Callable[[object], str] | None = None    # result -> "" when right, else what is wrong
    number: int = 1                                 # calls per timed sample
    times: list[float] = field(default_factory=list)

    def warm_up(self, budget: float = 0.05) -> None:
        """Two calls (jax compiles on the first), the check, and the calls per sample
        that make a sample last about ``budget`` seconds."""
        try:
            result = self.run()
            if self.check is not None and (wrong := self.check(result)):
                self.run, self.why = None, wrong
                return
            start = time.perf_counter()
            self.run()
            self.number = max(1, int(budget / max(time.perf_counter() - start, 1e-9)))
        except Exception as exc:  # noqa: BLE001 -- a contender that crashes is reported, not fatal
            self.run, self.why = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"

    def sample(self) -> None:
        """One timed sample: the mean of ``number`` calls, after one untimed call when the
        contender is cheap (its first call after another's may meet cold caches and pages)."""
        if self.number > 1:
            self.run()
        start = time.perf_counter()
        for _ in range(self.number):
            self.run()
        self.times.append((time.perf_counter() - start) / self.number)


@dataclass
class Target:
    """ratio = time(num) / time(den), the median of the paired ratios, and its bound."""
    label: str
    num: str
    den: str
    bound: float
    at_most: bool                                   # ratio <= bound, else ratio >= bound


def agreeing(reference, extract=lambda r: r, rtol: float = 1e-8) -> Callable[[object], str]:
    """A check: the result (through ``extract``) equals ``reference`` up to rtol of its size."""
    ref = np.asarray(reference, dtype=float)

    def check(result) -> str:
        got = np.asarray(extract(result), dtype=float)
        if got.shape != ref.shape:
            return f"WRONG shape {got.shape}, expected {ref.shape}"
        err = float(np.max(np.abs(got - ref))) / max(float(np.max(np.abs(ref))), 1e-300)
        return "" if err <= rtol else f"WRONG: max relative difference {err:.1e} from the hand result"
    return check


def measure(contenders: list[Contender], reps: int, seed: int = 0) -> None:
    """Warm every contender up, then ``reps`` rounds, each timing every available contender
    once, in an order shuffled afresh each round (interleaved: what disturbs a round
    disturbs all its contenders, and none always follows the same one)."""
    for c in contenders:
        if c.run is not None:
            c.warm_up()
    live = [c for c in contenders if c.run is not None]
    rng = np.random.default_rng(seed)
    for _ in range(reps):
        for i in rng.permutation(len(live)):
            live[i].sample()


def fastest(contenders: list[Contender], prefix: str, generic: bool = False) -> str | None:
    """The name of the timed contender named ``prefix``... with the lowest median time;
    ``generic``: only those that use no fact of softmax (no SOFTMAX_FACT in the name)."""
    timed = [c for c in contenders if c.name.startswith(prefix) and c.run is not None
             and not (generic and SOFTMAX_FACT in c.name)]
    return min(timed, key=lambda c: np.median(c.times)).name if timed else None


def paired(contenders: list[Contender], num: str, den: str) -> tuple[np.ndarray | None, str]:
    """time(num) / time(den) in each round, or None and why not.  BEST (BEST_GENERIC)
    stands for the fastest (generic) hand-written Hessian of the run."""
    best = {BEST: fastest(contenders, HAND_HESS), BEST_GENERIC: fastest(contenders, HAND_HESS, True)}
    num, den = ((best.get(name) or name) if name in best else name for name in (num, den))
    by = {c.name: c for c in contenders}
    for name in (num, den):
        if name not in by or by[name].run is None:
            return None, f"n/a ({name}: n/a)"
    return np.array(by[num].times) / np.array(by[den].times), ""


# ---------------------------------------------------------------- matcalc and jax contenders


def matcalc_module(spec: dict):
    """(the emitted module of ``spec``, "") or (None, why matcalc cannot give it yet)."""
    import matcalc
    try:
        d = matcalc.derive(spec, verify=False)
    except matcalc.MatcalcError as exc:             # a refusal is the expected answer today
        return None, "matcalc: " + str(exc).strip().splitlines()[0].removeprefix("spec error: ")[:90]
    except Exception as exc:  # noqa: BLE001 -- a crash is reported, the table still prints
        return None, f"matcalc crashed: {type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
    module = d.function()
    module.__code_text__ = d.code
    return module, ""


def emitted(module, why: str, name: str, attr: str, call, check=None) -> Contender:
    """Contender ``name`` calling ``call(module.attr)``, or n/a with the reason."""
    if module is None:
        return Contender(name, None, why)
    f = getattr(module, attr, None)
    if f is None:
        return Contender(name, None, f"the emitted module defines no {attr}")
    return Contender(name, lambda: call(f), check=check)


def function_code(module, attr: str) -> str:
    """The text of ``def attr`` in the emitted module (to its next top-level def)."""
    code = getattr(module, "__code_text__", "")
    start = code.find(f"\ndef {attr}(")
    if start < 0:
        return ""
    end = code.find("\ndef ", start + 1)
    return code[start:] if end < 0 else code[start:end]


def jax_or_none():
    """jax with float64 on, or None when it is not installed."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_softmax_contenders(X, W, Y, lam, dW, hess_ref) -> list[Contender]:
    """jax.jit(jax.hessian(J)) put into the vec convention inside the jit (H4[p, q, p', q']
    -> [q p, q' p'] -> [m k, m k]), value_and_grad and the jvp-of-grad HVP, all jitted."""
    names = ("jax.hessian (jit)", "jax value_and_grad", "jax hvp")
    jax = jax_or_none()
    if jax is None:
        return [Contender(name, None, "jax is not installed") for name in names]
    jnp = jax.numpy
    m, k = W.shape

    def J(W, X, Y, lam):
        return -jnp.sum(Y * jax.nn.log_softmax(X @ W, axis=1)) / X.shape[0] + lam * jnp.sum(W * W)

    hess = jax.jit(lambda W, X, Y, lam: jnp.transpose(jax.hessian(J)(W, X, Y, lam), (1, 0, 3, 2))
                   .reshape(m * k, m * k))
    vg = jax.jit(jax.value_and_grad(J))
    hvp = jax.jit(lambda W, X, Y, lam, dW: jax.jvp(lambda w: jax.grad(J)(w, X, Y, lam), (W,), (dW,))[1])
    Xj, Wj, Yj, dWj = map(jnp.asarray, (X, W, Y, dW))
    return [Contender(names[0], lambda: hess(Wj, Xj, Yj, lam).block_until_ready(),
                      check=agreeing(hess_ref)),
            Contender(names[1], lambda: jax.block_until_ready(vg(Wj, Xj, Yj, lam))),
            Contender(names[2], lambda: hvp(Wj, Xj, Yj, lam, dWj).block_until_ready())]


# ---------------------------------------------------------------- the two cases

SOFTMAX = "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)"
SOFTMAX_SYMBOLS = {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]},
                   "Y": {"shape": ["n", "k"], "props": ["onehot"]}, "lam": {"shape": []}}
HAND_HESS = "hand hess: "
BEST = "the fastest hand hess"                     # resolved by paired() after the run
BEST_GENERIC = "the fastest generic hand hess"
SOFTMAX_FACT = "row sums"                           # the hand Hessians that use sum(S, 1) = 1
JAX_HESS = "jax.hessian (jit)"


@dataclass
class Case:
    title: str
    contenders: list[Contender]
    targets: list[Target]                           # the issue's
    context: list[Target]                           # the same kind of line, for reading them
    notes: list[str] = field(default_factory=list)


def softmax_case(n: int, m: int, k: int, seed: int = 0) -> Case:
    """Softmax regression: matcalc's hvp_W, hess_W, value_and_grad against the hand
    contenders and jax.  A module without value_and_grad at order 2 borrows order 1's."""
    rng = np.random.default_rng(seed)
    X, W = rng.standard_normal((n, m)), 0.1 * rng.standard_normal((m, k))
    Y, lam, dW = np.eye(k)[rng.integers(0, k, n)], 0.01, rng.standard_normal((m, k))
    sym = {"X": X, "W": W, "Y": Y, "lam": lam}
    H, (v, g), hv = sr_hess_vech(X, W, Y, lam), sr_value_and_grad(X, W, Y, lam), sr_hvp(X, W, Y, lam, dW)
    spec = {"name": "softmax_regression", "dims": {"n": n, "m": m, "k": k}, "symbols": SOFTMAX_SYMBOLS,
            "expr": SOFTMAX, "wrt": ["W"], "order": 2}
    mod2, why2 = matcalc_module(spec)
    mod1, why1 = (mod2, why2) if hasattr(mod2, "value_and_grad") else matcalc_module({**spec, "order": 1})
    contenders = [
        emitted(mod1, why1, "matcalc value_and_grad", "value_and_grad", lambda f: f(**sym),
                check=agreeing(np.append(g, v), lambda r: np.append(r[1]["W"], r[0]))),
        emitted(mod2, why2, "matcalc hvp_W", "hvp_W", lambda f: f(**sym, dW=dW), check=agreeing(hv)),
        emitted(mod2, why2, "matcalc hess_W", "hess_W", lambda f: f(**sym), check=agreeing(H)),
        Contender("hand value_and_grad", lambda: sr_value_and_grad(X, W, Y, lam)),
        Contender("hand hvp", lambda: sr_hvp(X, W, Y, lam, dW)),
        Contender("hand hvp, nothing shared", lambda: sr_hvp_literal(X, W, Y, lam, dW), check=agreeing(hv)),
        Contender("hand hess: vech + row sums", lambda: sr_hess_vech(X, W, Y, lam)),
        Contender("hand hess: vech", lambda: sr_hess_vech(X, W, Y, lam, rowsum=False), check=agreeing(H)),
        Contender("hand hess: Khatri-Rao syrk", lambda: sr_hess_syrk(X, W, Y, lam), check=agreeing(H)),
        Contender("hand hess: block rows", lambda: sr_hess_blocks(X, W, Y, lam), check=agreeing(H)),
        Contender("hand hess: all k^2 blocks", lambda: sr_hess_blocks_all(X, W, Y, lam), check=agreeing(H)),
        *jax_softmax_contenders(X, W, Y, lam, dW, H)]
    targets = [Target("1  hvp_W <= 4x value_and_grad", "matcalc hvp_W", "matcalc value_and_grad", 4, True),
               Target("2a hess_W >= 10x faster than jax.hessian", JAX_HESS, "matcalc hess_W", 10, False),
               Target("2b hess_W >= 1x the best hand assembly", BEST, "matcalc hess_W", 1, False)]
    context = [Target("hand hvp / hand value_and_grad", "hand hvp", "hand value_and_grad", 4, True),
               Target("hand hvp, nothing shared / hand v_and_g", "hand hvp, nothing shared", "hand value_and_grad",
                      4, True),
               Target("matcalc hvp_W / jax value_and_grad", "matcalc hvp_W", "jax value_and_grad", 4, True),
               Target("jax hvp / jax value_and_grad", "jax hvp", "jax value_and_grad", 4, True),
               Target("matcalc value_and_grad / jax's", "matcalc value_and_grad", "jax value_and_grad", 1, True)]
    context += [Target(f"jax.hessian / {name[11:]}", JAX_HESS, name, 10, False)
                for name in ("hand hess: vech + row sums", "hand hess: vech", "hand hess: Khatri-Rao syrk",
                             "hand hess: block rows",
                             "hand hess: all k^2 blocks")]
    context += [Target("fastest generic hand / matcalc hess_W", BEST_GENERIC, "matcalc hess_W", 1, False)]
    context += [Target(f"{name[11:]} / matcalc hess_W", name, "matcalc hess_W", 1, False)
                for name in ("hand hess: vech", "hand hess: Khatri-Rao syrk")]
    return Case(f"softmax regression w.r.t. W, (n, m, k) = ({n}, {m}, {k})", contenders, targets, context)


def trace_case(n: int, m: int, seed: int = 0) -> Case:
    """trace(X.T @ A @ X) w.r.t. X [n, m]: matcalc's hess_X against np.kron(np.eye(m), A + A.T);
    its emitted code must not mention a commutation matrix."""
    rng = np.random.default_rng(seed)
    X, A = rng.standard_normal((n, m)), rng.standard_normal((n, n))
    ref = trace_hess_kron(A, m)
    spec = {"name": "trace_quadratic", "dims": {"n": n, "m": m}, "expr": "trace(X.T @ A @ X)",
            "symbols": {"X": {"shape": ["n", "m"]}, "A": {"shape": ["n", "n"]}}, "wrt": ["X"], "order": 2}
    mod, why = matcalc_module(spec)
    kron = "np.kron(np.eye(m), A + A.T)"
    contenders = [emitted(mod, why, "matcalc hess_X", "hess_X", lambda f: f(X=X, A=A), check=agreeing(ref)),
                  Contender(kron, lambda: trace_hess_kron(A, m)),
                  Contender("hand zeros + diagonal blocks", lambda: trace_hess_blocks(A, m), check=agreeing(ref))]
    code = function_code(mod, "hess_X") if mod is not None else ""
    notes = []
    if code:
        uses = "commutation" in code.lower()
        notes.append("hess_X's emitted code " + ("MENTIONS a commutation matrix" if uses
                                                 else "has no commutation matrix"))
        if uses:
            contenders[0].run, contenders[0].why = None, "its code builds a commutation matrix"
    return Case(f"trace(X.T @ A @ X) w.r.t. X, (n, m) = ({n}, {m})", contenders,
                [Target("3  hess_X within 1.2x np.kron", "matcalc hess_X", kron, 1.2, True)],
                [Target("hand zeros + diagonal blocks / np.kron", "hand zeros + diagonal blocks", kron, 1.2, True)],
                notes)


# ---------------------------------------------------------------- the table


def verdict(t: Target, contenders: list[Contender]) -> tuple[str, str]:
    """(the line for one target: the median of the paired ratios, their quartiles, the
    bound, and "holds" | "MISSES" | "n/a" judged on the median)."""
    ratios, why = paired(contenders, t.num, t.den)
    bound = f"{'<=' if t.at_most else '>='} {t.bound:g}"
    if ratios is None:
        return f"  {t.label:<46} {'':>8} {'':>13}  {bound:<7} {why}", "n/a"
    ratio, (q1, q3) = float(np.median(ratios)), np.percentile(ratios, [25, 75])
    outcome = "holds" if (ratio <= t.bound if t.at_most else ratio >= t.bound) else "MISSES"
    return f"  {t.label:<46} {ratio:8.2f} [{q1:5.2f}, {q3:5.2f}]  {bound:<7} {outcome}", outcome


def report(case: Case) -> list[str]:
    """Print one case: each contender's median time, then the targets and context ratios
    (time(first) / time(second), the median of the paired ratios)."""
    print(f"\n{case.title}")
    for c in case.contenders:
        shown = f"{np.median(c.times) * 1e3:10.2f} ms" if c.run is not None else f"  n/a ({c.why})"
        print(f"  {c.name:<32}{shown}")
    if any(BEST in (t.num, t.den) for t in case.targets):
        print(f"  note: the fastest hand assembly of this run: {fastest(case.contenders, HAND_HESS)}; "
              f"without softmax's row sums: {fastest(case.contenders, HAND_HESS, True)}")
    for note in case.notes:
        print(f"  note: {note}")
    print(f"  {'target: time(a) / time(b)':<46} {'ratio':>8} {'[quartiles]':>13}  bound")
    outcomes = []
    for t in case.targets:
        line, outcome = verdict(t, case.contenders)
        print(line)
        outcomes.append(outcome)
    print("  context:")
    for t in case.context:
        line, outcome = verdict(t, case.contenders)
        print("  " + line.replace(outcome, outcome.lower()))
    return outcomes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--reps", type=int, default=None, help="interleaved rounds (default 7, quick 3)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    reps = args.reps or (3 if args.quick else 7)
    jax = jax_or_none()
    print(f"numpy {np.__version__}, jax {jax.__version__ if jax else 'absent'}; float64, BLAS and XLA "
          f"threads pinned to {os.environ.get('OPENBLAS_NUM_THREADS', '?')}; {reps} interleaved rounds")
    cases = [softmax_case(*((400, 12, 4) if args.quick else (10000, 100, 10)), seed=args.seed),
             trace_case(*((30, 4) if args.quick else (200, 20)), seed=args.seed)]
    outcomes = []
    for case in cases:
        measure(case.contenders, reps, args.seed)
        outcomes += report(case)
    print("\ntargets: " + ", ".join(f"{outcomes.count(o)} {o}" for o in ("holds", "MISSES", "n/a")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
