"""Speed of the code matcalc emits for Kronecker/vec forms (issue 15) against the
plain numpy a person would write from the printed form (np.kron with np.eye, a
product with a dense commutation matrix).

Side by side in one run, BLAS pinned to one thread, medians of repeated
interleaved timings.  Targets: the Hessian of trace(X.T @ A @ X), kron(eye(m), A + A.T)
at n = 200, m = 20, within 1.2x of np.kron (it should be much faster) and built
without a commutation matrix; a commutation product faster than a product with the
dense matrix.  The code timed is what :func:`matcalc.codegen.expression` prints,
compiled once; it is checked against the plain form before it is timed.

Run: PYTHONPATH=. python bench/kron_emission.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from matcalc import ir  # noqa: E402
from matcalc.codegen import HELPERS, expression  # noqa: E402
from matcalc.matrix import build as B  # noqa: E402
from matcalc.ops.shape import commutation  # noqa: E402
from matcalc.parse import parse  # noqa: E402


def emitted(text: str, symbols: dict, dims: dict):
    """The numpy code matcalc emits for ``text``, as a function of the symbols, and its source."""
    e = text(symbols) if callable(text) else parse(text, symbols, dims)
    lines, value, helpers = expression(e)
    body = [f"    {d} = {v}" for d, v in dims.items()] + [f"    {line}" for line in lines] + [f"    return {value}"]
    source = "\n".join(["import numpy as np", *(HELPERS[h] for h in sorted(helpers)),
                        f"def f({', '.join(symbols)}):", *body])
    namespace: dict = {}
    exec(compile(source, "<emitted>", "exec"), namespace)  # noqa: S102  (matcalc's own output)
    return namespace["f"], "\n".join(lines + [value])


def race(fns: dict, repeat: int) -> dict:
    """Median seconds of each function, measured alternately."""
    times: dict = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            start = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def case(title: str, text, symbols: dict, dims: dict, values: dict, plain, repeat: int, target: float | None):
    f, code = emitted(text, symbols, dims)
    np.testing.assert_allclose(f(**values), plain(), rtol=1e-9, atol=1e-9)
    assert "np.kron(np.eye" not in code and "_commutation(" not in code, code
    t = race({"emitted": lambda: f(**values), "plain": plain}, repeat)
    ratio = t["emitted"] / t["plain"]
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  OVER the {target}x target")
    print(f"{title:58s} emitted {t['emitted'] * 1e3:9.2f} ms   plain {t['plain'] * 1e3:9.2f} ms   "
          f"ratio {ratio:6.3f}x{verdict}")
    print(f"{'':58s} code: {code.splitlines()[-1][:90]}")
    return ratio


def main(quick: bool = False) -> None:
    repeat = 5 if quick else 15
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, 1 BLAS thread, median of {repeat} interleaved runs; ratio = emitted / plain")

    n, m = 200, 20                       # trace(X.T @ A @ X), X [n, m]: Hessian kron(eye(m), A + A.T)
    s = {"A": ir.Symbol(("n", "n"), "A")}
    A = rng.standard_normal((n, n))
    case("kron(eye(20), A + A.T), A [200, 200]  vs np.kron", "kron(eye(m), A + A.T)", s, {"n": n, "m": m},
         {"A": A}, lambda: np.kron(np.eye(m), A + A.T), repeat, 1.2)
    case("kron(eye(m), A) + kron(eye(m), A.T) + c I  vs np.kron", lambda y: B.add(B.add(
        B.call("kron", B.eye("m"), y["A"]), B.call("kron", B.eye("m"), B.T(y["A"]))), B.mul(y["c"], B.eye("m*n"))),
        {**s, "c": ir.Symbol((), "c")}, {"n": n, "m": m}, {"A": A, "c": 0.5},
        lambda: np.kron(np.eye(m), A) + np.kron(np.eye(m), A.T) + 0.5 * np.eye(m * n), repeat, 1.2)
    V = rng.standard_normal((m * n, 50))
    case("kron(eye(20), A) @ V, V [4000, 50]  vs np.kron then @", "kron(eye(m), A) @ V",
         {**s, "V": ir.Symbol(("m*n", "k"), "V")}, {"n": n, "m": m, "k": 50}, {"A": A, "V": V},
         lambda: np.kron(np.eye(m), A) @ V, max(3, repeat // 3), 1.2)

    Y, Z = rng.standard_normal((30, 40)), rng.standard_normal((20, 50))   # kron(Y, Z) @ V, V [2000, 20]
    V = rng.standard_normal((40 * 50, 20))
    case("kron(Y, Z) @ V, Y [30, 40], Z [20, 50]  vs np.kron then @", "kron(Y, Z) @ V",
         {"Y": ir.Symbol(("p", "q"), "Y"), "Z": ir.Symbol(("r", "s"), "Z"), "V": ir.Symbol(("q*s", "k"), "V")},
         {"p": 30, "q": 40, "r": 20, "s": 50, "k": 20}, {"Y": Y, "Z": Z, "V": V},
         lambda: np.kron(Y, Z) @ V, max(3, repeat // 3), 1.0)

    p, q, r = 30, 40, 300               # P [r, p*q] @ commutation(p, q)
    P = rng.standard_normal((r, p * q))
    case("P @ commutation(30, 40), P [300, 1200]  vs dense K", "P @ commutation(m, n)",
         {"P": ir.Symbol(("r", "m*n"), "P")}, {"m": p, "n": q, "r": r}, {"P": P},
         lambda: P @ commutation((p, q)), repeat, 1.0)
    Q = rng.standard_normal((p * q, r))
    case("commutation(30, 40) @ Q, Q [1200, 300]  vs dense K", "commutation(m, n) @ Q",
         {"Q": ir.Symbol(("m*n", "r"), "Q")}, {"m": p, "n": q, "r": r}, {"Q": Q},
         lambda: commutation((p, q)) @ Q, repeat, 1.0)

    n, k, d = 300, 10, 40               # diag(vec(S)) @ kron(eye(k), X), S [n, k], X [n, d]
    S, X = rng.random((n, k)), rng.standard_normal((n, d))
    case("diag(vec(S)) @ kron(eye(10), X), X [300, 40]  vs dense", "diag(vec(S)) @ kron(eye(k), X)",
         {"S": ir.Symbol(("n", "k"), "S"), "X": ir.Symbol(("n", "d"), "X")}, {"n": n, "k": k, "d": d},
         {"S": S, "X": X}, lambda: np.diag(S.T.reshape(-1)) @ np.kron(np.eye(k), X), repeat, 1.2)

    # reference: the einsum form of a Hessian block the recognizer may print, as numpy's template
    # emits it (np.einsum, no optimize) against the best broadcasting a person would write
    n, k, d = 2000, 10, 50
    S, X = rng.random((n, k)), rng.standard_normal((n, d))
    t = race({"einsum": lambda: np.einsum("ij,ip,iq->jiqp", S, X, S).reshape(k * n, k * d),
              "broadcast": lambda: (S.T[:, :, None, None] * (S[:, :, None] * X[:, None, :])[None]).reshape(k * n, k * d)},
             max(3, repeat // 3))
    print(f"{'reshape(einsum(ij,ip,iq->jiqp)) as np.einsum  vs broadcast':58s} emitted {t['einsum'] * 1e3:9.2f} ms   "
          f"plain {t['broadcast'] * 1e3:9.2f} ms   ratio {t['einsum'] / t['broadcast']:6.3f}x")


if __name__ == "__main__":
    main("--quick" in sys.argv)
