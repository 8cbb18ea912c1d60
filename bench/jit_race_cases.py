"""The workloads of bench/jit_race.py (issue 16's "Done when"), each a list of contenders
(hand-written numpy, ``jax.jit``, matcalc's emitted numpy module, matcalc's array-API
module under ``jax.jit``) and the ratios judged on them.  Every matcalc module is
derived here, with the checkout's matcalc, from the expression text: no emitted text
is written down, so the race measures whatever the emitter prints today.

Names: a contender named ``hand X: how`` is one way of writing X by hand; a ratio
naming ``hand X`` takes the fastest of them in the run (the "best hand" contender).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from higher_order import Contender as _Contender
from higher_order import agreeing
from higher_order_hand import sr_hvp, sr_value_and_grad
from jit_race_hand import (
    chain_vg,
    logistic_hess_syrk,
    mlp_vg,
    mlp_vg_transposed,
    nll_cholesky_inv,
    nll_cholesky_only,
    nll_slogdet_inv,
    quad_exp_hess,
    quad_exp_vg,
    sr_value_cols,
    sr_value_rows,
    sr_vg_cols,
)

# ---------------------------------------------------------------- what a workload is

BLOCKS = 3


class Contender(_Contender):
    """bench/higher_order.py's contender, but each sample is the fastest of BLOCKS blocks
    of calls (together about as long as one of its samples): another process's time
    slice, or its traffic through the shared L3 cache, lands in a block now and then, and
    the fastest block is the one it missed.  A contender slower than the sample budget
    makes BLOCKS calls per sample."""

    def sample(self) -> None:
        per = max(1, self.number // BLOCKS)
        best = math.inf
        for _ in range(BLOCKS):
            start = time.perf_counter()
            for _ in range(per):
                self.run()
            best = min(best, (time.perf_counter() - start) / per)
        self.times.append(best)


@dataclass
class Ratio:
    """time(num) / time(den) (medians of the paired ratios), or a measured number
    (``fixed``, with ``shown`` for the table's times column); judged against ``bound``
    when ``target``, else printed as context."""
    label: str
    num: str = ""
    den: str = ""
    bound: float = 1.0
    at_most: bool = True
    target: bool = True
    fixed: float | None = None
    shown: str = ""
    why: str = ""                      # why a fixed number is not available


@dataclass
class Workload:
    key: str                           # the name --only selects
    title: str
    contenders: list[Contender]
    ratios: list[Ratio]
    notes: list[str] = field(default_factory=list)


def flat(result) -> np.ndarray:
    """Any result (a number, an array, a tuple of them, a dict of gradients) as one vector.
    A dict is read in the natural order of its keys (W1, W2, ..., W10): jax.jit returns
    dicts with their keys sorted as text (W1, W10, W2, ...)."""
    if isinstance(result, dict):
        return flat(tuple(result[k] for k in sorted(result, key=natural)))
    if isinstance(result, (tuple, list)):
        return np.concatenate([flat(r) for r in result]) if result else np.zeros(0)
    return np.ravel(np.asarray(result, dtype=float))


def natural(key: str) -> list:
    """W10 after W9: the digits in a key compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def check(reference) -> Callable[[object], str]:
    """A contender's check: its result, flattened, equals the hand result's."""
    return agreeing(flat(reference), flat, rtol=1e-7)


# ---------------------------------------------------------------- matcalc and jax


class Tools:
    """matcalc's modules for a spec, and jax (None when absent or left out)."""

    def __init__(self, jax):
        self.jax = jax

    def modules(self, spec: dict):
        """(numpy module, array-API module, the emitted numpy text, why not) for ``spec``."""
        import matcalc
        from matcalc.codegen import emit_module, load_module
        try:
            d = matcalc.derive(spec, verify=False)
            xp_text = emit_module(d, target="array-api")
        except Exception as exc:  # noqa: BLE001 -- a refusal or crash is reported, the race goes on
            return None, None, "", f"matcalc: {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:80]}"
        name = spec.get("name", "case")
        return load_module(d.code, f"np_{name}"), load_module(xp_text, f"xp_{name}"), d.code, ""

    def matcalc(self, label: str, module, why: str, attr: str, values: dict, ref) -> Contender:
        """Contender ``label``: ``module.attr(**values)``, or n/a with the reason."""
        f = getattr(module, attr, None) if module is not None else None
        if f is None:
            return Contender(label, None, why or f"the module defines no {attr}")
        return Contender(label, lambda: f(**values), check=check(ref))

    def xp(self, label: str, module, why: str, attr: str, values: dict, ref) -> Contender:
        """Contender ``label``: the array-API module's ``attr`` under ``jax.jit``, on device arrays."""
        if self.jax is None:
            return Contender(label, None, "jax is not installed (or --no-jax)")
        f = getattr(module, attr, None) if module is not None else None
        if f is None:
            return Contender(label, None, why or f"the module defines no {attr}")
        jitted, dev = self.jax.jit(f), self.device(values)
        return Contender(label, lambda: self.jax.block_until_ready(jitted(**dev)), check=check(ref))

    def jitted(self, label: str, build: Callable, args: tuple, ref) -> Contender:
        """Contender ``label``: ``jax.jit(build(jax, jnp))`` on device arrays."""
        if self.jax is None:
            return Contender(label, None, "jax is not installed (or --no-jax)")
        f = self.jax.jit(build(self.jax, self.jax.numpy))
        dev = tuple(self.jax.numpy.asarray(a) for a in args)
        return Contender(label, lambda: self.jax.block_until_ready(f(*dev)), check=check(ref))

    def device(self, values: dict) -> dict:
        return {k: self.jax.numpy.asarray(v) for k, v in values.items()}


def hand(label: str, f: Callable, args: tuple, ref=None) -> Contender:
    return Contender(label, lambda: f(*args), check=None if ref is None else check(ref))


# ---------------------------------------------------------------- softmax regression

GALLERY = Path(__file__).resolve().parent.parent / "derivations"


def gallery_spec(name: str, dims: dict, **more) -> dict:
    """The gallery case derivations/NAME.yaml (its expression, symbols and wrt) at ``dims``."""
    import yaml
    doc = yaml.safe_load((GALLERY / f"{name}.yaml").read_text())
    return {**{k: v for k, v in doc.items() if k != "description"}, "dims": dims, **more}



def softmax_problem(n: int, m: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X, W = rng.standard_normal((n, m)), 0.1 * rng.standard_normal((m, k))
    return X, W, np.eye(k)[rng.integers(0, k, n)], 0.01


def jax_softmax(jax, jnp):
    def J(W, X, Y, lam):
        return -jnp.sum(Y * jax.nn.log_softmax(X @ W, axis=1)) / X.shape[0] + lam * jnp.sum(W * W)
    return J


def softmax(tools: Tools, n: int, m: int, k: int, smallest: bool) -> Workload:
    """Softmax regression value+grad and value alone at (n, m, k)."""
    X, W, Y, lam = softmax_problem(n, m, k)
    vals, args = {"X": X, "W": W, "Y": Y, "lam": lam}, (W, X, Y, lam)
    npm, xpm, _, why = tools.modules(gallery_spec("softmax_regression", {"n": n, "m": m, "k": k}))
    vg, v = sr_value_and_grad(X, W, Y, lam), sr_value_rows(X, W, Y, lam)
    cs = [hand("hand vg: rows", sr_value_and_grad, (X, W, Y, lam)),
          hand("hand vg: (k x n)", sr_vg_cols, (X, W, Y, lam), vg),
          hand("hand value: rows", sr_value_rows, (X, W, Y, lam)),
          hand("hand value: (k x n)", sr_value_cols, (X, W, Y, lam), v),
          tools.jitted("jax.jit vg", lambda jax, jnp: jax.value_and_grad(jax_softmax(jax, jnp)), args, vg),
          tools.jitted("jax.jit value", jax_softmax, args, v),
          tools.matcalc("matcalc vg", npm, why, "value_and_grad", vals, vg),
          tools.matcalc("matcalc value", npm, why, "value", vals, v),
          tools.xp("matcalc xp vg (jit)", xpm, why, "value_and_grad", vals, vg),
          tools.xp("matcalc xp value (jit)", xpm, why, "value", vals, v)]
    bound = 1.2 if smallest else 1.15
    ratios = [Ratio("value+grad <= 1.0x jax.jit", "matcalc vg", "jax.jit vg", 1.0),
              Ratio(f"value+grad <= {bound:g}x best hand", "matcalc vg", "hand vg", bound),
              Ratio("value() <= 1.1x jax.jit(value)", "matcalc value", "jax.jit value", 1.1),
              Ratio("xp module (jit) vg / jax.jit vg", "matcalc xp vg (jit)", "jax.jit vg", target=False),
              Ratio("xp module (jit) value / jax.jit value", "matcalc xp value (jit)", "jax.jit value",
                    target=False),
              Ratio("best hand vg / jax.jit vg", "hand vg", "jax.jit vg", target=False),
              Ratio("matcalc value / best hand value", "matcalc value", "hand value", target=False)]
    return Workload("softmax", f"softmax regression (n, m, k) = ({n}, {m}, {k})", cs, ratios)


# ---------------------------------------------------------------- logistic Hessian


def logistic(tools: Tools, n: int, m: int) -> Workload:
    """The Hessian of sum(softplus(X @ w) - y * (X @ w)) w.r.t. w."""
    rng = np.random.default_rng(1)
    X, w = rng.standard_normal((n, m)), rng.standard_normal(m) / np.sqrt(m)
    y = (rng.random(n) < 0.5).astype(float)
    vals = {"X": X, "w": w, "y": y}
    spec = {"name": "logistic_hessian", "dims": {"n": n, "m": m}, "expr": "sum(softplus(X @ w) - y * (X @ w))",
            "symbols": {"X": {"shape": ["n", "m"], "props": ["constant"]}, "w": {"shape": ["m"]},
                        "y": {"shape": ["n"], "props": ["constant"]}}, "wrt": ["w"], "order": 2}
    npm, xpm, _, why = tools.modules(spec)
    H = logistic_hess_syrk(X, w)

    def jax_hess(jax, jnp):
        return jax.hessian(lambda w, X, y: jnp.sum(jax.nn.softplus(X @ w) - y * (X @ w)))

    cs = [hand("hand syrk", logistic_hess_syrk, (X, w)),
          tools.jitted("jax.jit(jax.hessian)", jax_hess, (w, X, y), H),
          tools.matcalc("matcalc hess_w", npm, why, "hess_w", vals, H),
          tools.xp("matcalc xp hess_w (jit)", xpm, why, "hess_w", vals, H)]
    ratios = [Ratio("hess_w <= 1.15x hand syrk", "matcalc hess_w", "hand syrk", 1.15),
              Ratio("hess_w >= 3x faster than jax.hessian", "jax.jit(jax.hessian)", "matcalc hess_w", 3.0,
                    at_most=False),
              Ratio("xp module (jit) hess_w / hand syrk", "matcalc xp hess_w (jit)", "hand syrk", target=False)]
    return Workload("logistic", f"logistic Hessian (n, m) = ({n}, {m})", cs, ratios)


# ---------------------------------------------------------------- two-layer MLP

def mlp(tools: Tools, n: int, m: int, h: int, k: int) -> Workload:
    """value_and_grad of derivations/mlp_two_layer.yaml's expression at (n, m, h, k)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, m))
    W1, W2 = rng.standard_normal((m, h)) / np.sqrt(m), rng.standard_normal((h, k)) / np.sqrt(h)
    Y = np.eye(k)[rng.integers(0, k, n)]
    vals = {"X": X, "W1": W1, "W2": W2, "Y": Y}
    npm, xpm, _, why = tools.modules(gallery_spec("mlp_two_layer", {"n": n, "m": m, "h": h, "k": k}))
    vg = mlp_vg(X, W1, W2, Y)

    def jax_vg(jax, jnp):
        def J(W1, W2, X, Y):
            return -jnp.sum(Y * jax.nn.log_softmax(jnp.tanh(X @ W1) @ W2, axis=1)) / X.shape[0]
        return jax.value_and_grad(J, argnums=(0, 1))

    cs = [hand("hand vg: X.T @ D", mlp_vg, (X, W1, W2, Y)),
          hand("hand vg: (D.T @ X).T", mlp_vg_transposed, (X, W1, W2, Y), vg),
          tools.jitted("jax.jit vg", jax_vg, (W1, W2, X, Y), vg),
          tools.matcalc("matcalc vg", npm, why, "value_and_grad", vals, vg),
          tools.xp("matcalc xp vg (jit)", xpm, why, "value_and_grad", vals, vg)]
    ratios = [Ratio("value+grad <= 1.0x jax.jit", "matcalc vg", "jax.jit vg", 1.0),
              Ratio("value+grad <= 1.15x best hand", "matcalc vg", "hand vg", 1.15),
              Ratio("xp module (jit) vg / jax.jit vg", "matcalc xp vg (jit)", "jax.jit vg", target=False)]
    return Workload("mlp", f"two-layer MLP (n, m, h, k) = ({n}, {m}, {h}, {k})", cs, ratios)


# ---------------------------------------------------------------- Gaussian NLL in the precision P

NLL_SUM = "sum(X @ P * X) / 2 - n / 2 * logdet(P)"
NLL_TRACE = "trace(X @ P @ X.T) / 2 - n / 2 * logdet(P)"


def nll_spec(expr: str, n: int, d: int) -> dict:
    return {"name": "gaussian_nll_P", "dims": {"n": n, "d": d}, "expr": expr, "wrt": ["P"],
            "symbols": {"X": {"shape": ["n", "d"], "props": ["constant"]}, "P": {"shape": ["d", "d"], "props": ["spd"]}}}


def nll_problem(n: int, d: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    return rng.standard_normal((n, d)), A @ A.T / d + np.eye(d)


def peak_over_nn(module, n: int, d: int) -> float:
    """The largest tracemalloc peak of one call of each public function of ``module``
    at X [n, d] (n >> d), as a fraction of an n x n float64 matrix (8 n^2 bytes)."""
    X, P = nll_problem(n, d, seed=4)
    worst = 0
    for name in sorted(a for a in vars(module) if not a.startswith("_") and callable(getattr(module, a))):
        f = getattr(module, name)
        if getattr(f, "__module__", None) != module.__name__:
            continue
        tracemalloc.start()
        try:
            f(X=X, P=P)
            worst = max(worst, tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return worst / (8.0 * n * n)


def nll(tools: Tools, n: int, d: int, probe: tuple[int, int]) -> Workload:
    """value_and_grad of the Gaussian NLL in an spd P, written with sum(... * ...) and with trace."""
    X, P = nll_problem(n, d)
    vals = {"X": X, "P": P}
    sum_np, sum_xp, _, why_s = tools.modules(nll_spec(NLL_SUM, n, d))
    tr_np, tr_xp, _, why_t = tools.modules(nll_spec(NLL_TRACE, n, d))
    vg = nll_cholesky_inv(X, P)

    def jax_vg(jax, jnp):
        def J(P, X):
            return jnp.sum(X @ P * X) / 2 - X.shape[0] / 2 * jnp.linalg.slogdet(P)[1]
        return jax.value_and_grad(J)

    peak = peak_over_nn(tr_np, *probe) if tr_np is not None else None
    trace_vg = tools.matcalc("matcalc vg (trace)", tr_np, why_t, "value_and_grad", vals, vg)
    if peak is not None and peak >= 0.5:          # it builds the n x n product: 8 n^2 bytes, not timed
        trace_vg = Contender(trace_vg.name, None, f"builds an n x n temporary (peak {peak:.2f} x 8n^2 bytes)")
    cs = [hand("hand vg: cholesky + inv", nll_cholesky_inv, (X, P)),
          hand("hand vg: slogdet + inv", nll_slogdet_inv, (X, P), vg),
          hand("hand vg: cholesky, inv(L)", nll_cholesky_only, (X, P), vg),
          tools.jitted("jax.jit vg", jax_vg, (P, X), vg),
          tools.matcalc("matcalc vg (sum)", sum_np, why_s, "value_and_grad", vals, vg),
          trace_vg,
          tools.xp("matcalc xp vg (sum, jit)", sum_xp, why_s, "value_and_grad", vals, vg),
          tools.xp("matcalc xp vg (trace, jit)", tr_xp, why_t, "value_and_grad", vals, vg)]
    ratios = [Ratio("sum form: value+grad <= 1.2x best hand", "matcalc vg (sum)", "hand vg", 1.2),
              Ratio("trace form: value+grad <= 1.5x best hand", "matcalc vg (trace)", "hand vg", 1.5),
              Ratio("trace form: no n x n temporary (peak / 8n^2 B)", bound=0.5, fixed=peak,
                    shown=f"tracemalloc, every function, (n, d) = {probe}", why=why_t),
              Ratio("matcalc vg (sum) / jax.jit vg", "matcalc vg (sum)", "jax.jit vg", target=False)]
    return Workload("nll", f"Gaussian NLL in P spd (n, d) = ({n}, {d})", cs, ratios)


# ---------------------------------------------------------------- x @ A @ x + sum(exp(x))

QUAD_EXP = "x @ A @ x + sum(exp(x))"


def quad_exp(tools: Tools, n: int) -> Workload:
    """value_and_grad (order 1 module) and hess_x (order 2 module) of x @ A @ x + sum(exp(x))."""
    rng = np.random.default_rng(5)
    x, A = rng.standard_normal(n) / np.sqrt(n), rng.standard_normal((n, n))
    vals = {"x": x, "A": A}
    spec = {"name": "quad_exp", "dims": {"n": n}, "expr": QUAD_EXP, "wrt": ["x"],
            "symbols": {"x": {"shape": ["n"]}, "A": {"shape": ["n", "n"]}}}
    np1, xp1, _, why1 = tools.modules(spec)
    np2, xp2, _, why2 = tools.modules({**spec, "order": 2})
    vg, H = quad_exp_vg(x, A), quad_exp_hess(x, A)

    def J(jax, jnp):
        return lambda x, A: x @ A @ x + jnp.sum(jnp.exp(x))

    cs = [hand("hand vg", quad_exp_vg, (x, A)),
          hand("hand hess", quad_exp_hess, (x, A)),
          tools.jitted("jax.jit vg", lambda jax, jnp: jax.value_and_grad(J(jax, jnp)), (x, A), vg),
          tools.jitted("jax.jit(jax.hessian)", lambda jax, jnp: jax.hessian(J(jax, jnp)), (x, A), H),
          tools.matcalc("matcalc vg", np1, why1, "value_and_grad", vals, vg),
          tools.matcalc("matcalc hess_x", np2, why2, "hess_x", vals, H),
          tools.xp("matcalc xp vg (jit)", xp1, why1, "value_and_grad", vals, vg),
          tools.xp("matcalc xp hess_x (jit)", xp2, why2, "hess_x", vals, H)]
    ratios = [Ratio("value+grad <= 1.0x jax.jit", "matcalc vg", "jax.jit vg", 1.0),
              Ratio("hess_x <= 1.15x hand", "matcalc hess_x", "hand hess", 1.15),
              Ratio("matcalc vg / hand vg", "matcalc vg", "hand vg", target=False),
              Ratio("xp module (jit) vg / jax.jit vg", "matcalc xp vg (jit)", "jax.jit vg", target=False),
              Ratio("jax.hessian / matcalc hess_x", "jax.jit(jax.hessian)", "matcalc hess_x", target=False)]
    return Workload("quadexp", f"x @ A @ x + sum(exp(x)), n = {n}", cs, ratios)


# ---------------------------------------------------------------- the L-layer tanh chain


def chain_spec(L: int, n: int = 5, m: int = 4) -> dict:
    """sum(tanh(... tanh(X @ W1) ... @ WL)) w.r.t. every W_i (bench/derive_compare.py's chain)."""
    expr = "X"
    for i in range(1, L + 1):
        expr = f"tanh({expr} @ W{i})"
    syms = {"X": {"shape": ["n", "m"]}} | {f"W{i}": {"shape": ["m", "m"]} for i in range(1, L + 1)}
    return {"name": f"chain{L}", "dims": {"n": n, "m": m}, "symbols": syms, "expr": f"sum({expr})",
            "wrt": [f"W{i}" for i in range(1, L + 1)]}


def function_lines(code: str, symbol: str = "W1", blank: bool = True) -> int:
    """Lines of the module's top-level definitions that mention ``symbol`` (the public
    functions and any helper they share, each with the blank lines after it; without
    them when not ``blank``), leaving out the fixed preamble (argument checks, numeric
    helpers), which does not grow with the expression."""
    blocks = re.split(r"\n(?=\S)", code)
    return sum(sum(1 for line in b.splitlines() if blank or line.strip()) for b in blocks
               if b.startswith("def ") and re.search(rf"\b{symbol}\b", b))


def chain(tools: Tools, n: int, m: int) -> Workload:
    """Module lines at L = 8 vs 16; grad_W1 against value_and_grad at L = 16."""
    rng = np.random.default_rng(6)
    mods = {L: tools.modules(chain_spec(L, n, m)) for L in (8, 16)}
    lines = {L: function_lines(mods[L][2]) for L in mods}
    dense = {L: function_lines(mods[L][2], blank=False) for L in mods}
    totals = {L: len(mods[L][2].splitlines()) for L in mods}
    L = 16
    X = rng.standard_normal((n, m))
    Ws = [rng.standard_normal((m, m)) / np.sqrt(m) for _ in range(L)]
    vals = {"X": X} | {f"W{i + 1}": W for i, W in enumerate(Ws)}
    npm, xpm, _, why = mods[L]
    vg = chain_vg(X, Ws)

    def jax_vg(jax, jnp):
        def J(Ws, X):
            H = X
            for W in Ws:
                H = jnp.tanh(H @ W)
            return jnp.sum(H)
        return jax.value_and_grad(J)

    cs = [hand("hand vg: backprop", chain_vg, (X, Ws)),
          jitted_list(tools, jax_vg, Ws, X, vg),
          tools.matcalc("matcalc vg", npm, why, "value_and_grad", vals, vg),
          tools.matcalc("matcalc grad_W1", npm, why, "grad_W1", vals, vg[1][0]),
          tools.xp("matcalc xp vg (jit)", xpm, why, "value_and_grad", vals, vg)]
    ok = all(mods[k][2] for k in mods)
    ratios = [Ratio("module lines L=16 / L=8 <= 2.5", bound=2.5, fixed=lines[16] / lines[8] if ok else None,
                    shown=f"function lines {lines[8]} -> {lines[16]} (non-blank {dense[8]} -> {dense[16]}, "
                          f"whole module {totals[8]} -> {totals[16]})",
                    why=mods[8][3] or mods[16][3]),
              Ratio("grad_W1 <= 1.5x value_and_grad (L=16)", "matcalc grad_W1", "matcalc vg", 1.5),
              Ratio("matcalc vg / jax.jit vg", "matcalc vg", "jax.jit vg", target=False),
              Ratio("matcalc vg / hand backprop", "matcalc vg", "hand vg", target=False)]
    return Workload("chain", f"L-layer tanh chain (n, m) = ({n}, {m})", cs, ratios)


def jitted_list(tools: Tools, build, Ws, X, ref) -> Contender:
    """jax.jit of a function of a list of weights (a pytree of device arrays)."""
    jax = tools.jax
    if jax is None:
        return Contender("jax.jit vg", None, "jax is not installed (or --no-jax)")
    f = jax.jit(build(jax, jax.numpy))
    dev = [jax.numpy.asarray(W) for W in Ws], jax.numpy.asarray(X)
    return Contender("jax.jit vg", lambda: jax.block_until_ready(f(*dev)), check=check(ref))


# ---------------------------------------------------------------- order 2: hvp_W of softmax regression


def hvp(tools: Tools, n: int, m: int, k: int) -> Workload:
    """hvp_W against value_and_grad (bench/higher_order.py's target 1, its hand code)."""
    X, W, Y, lam = softmax_problem(n, m, k)
    dW = np.random.default_rng(7).standard_normal((m, k))
    vals, args = {"X": X, "W": W, "Y": Y, "lam": lam}, (W, X, Y, lam)
    spec = gallery_spec("softmax_regression", {"n": n, "m": m, "k": k}, order=2)
    np2, xp2, _, why2 = tools.modules(spec)
    np1 = np2 if hasattr(np2, "value_and_grad") else tools.modules({**spec, "order": 1})[0]
    vg, hv = sr_value_and_grad(X, W, Y, lam), sr_hvp(X, W, Y, lam, dW)

    def jax_hvp(jax, jnp):
        J = jax_softmax(jax, jnp)
        return lambda W, X, Y, lam, dW: jax.jvp(lambda w: jax.grad(J)(w, X, Y, lam), (W,), (dW,))[1]

    cs = [hand("hand vg", sr_value_and_grad, (X, W, Y, lam)),
          hand("hand hvp", sr_hvp, (X, W, Y, lam, dW)),
          tools.jitted("jax.jit vg", lambda jax, jnp: jax.value_and_grad(jax_softmax(jax, jnp)), args, vg),
          tools.jitted("jax.jit hvp", jax_hvp, args + (dW,), hv),
          tools.matcalc("matcalc vg", np1, why2, "value_and_grad", vals, vg),
          tools.matcalc("matcalc hvp_W", np2, why2, "hvp_W", {**vals, "dW": dW}, hv),
          tools.xp("matcalc xp hvp_W (jit)", xp2, why2, "hvp_W", {**vals, "dW": dW}, hv)]
    ratios = [Ratio("hvp_W <= 4x value_and_grad", "matcalc hvp_W", "matcalc vg", 4.0),
              Ratio("hand hvp / hand vg", "hand hvp", "hand vg", target=False),
              Ratio("jax.jit hvp / jax.jit vg", "jax.jit hvp", "jax.jit vg", target=False),
              Ratio("matcalc hvp_W / jax.jit hvp", "matcalc hvp_W", "jax.jit hvp", target=False)]
    return Workload("hvp", f"order 2: hvp_W of softmax regression (n, m, k) = ({n}, {m}, {k})", cs, ratios)


# ---------------------------------------------------------------- derivation time


DERIVE_TIMES = r"""
import json, sys, time
sys.path[:0] = [sys.argv[1]]
import matcalc
from jit_race_cases import chain_spec
Ls, reps = json.loads(sys.argv[2]), int(sys.argv[3])
matcalc.derive(chain_spec(2), verify=False)              # imports and caches warmed up
times = {}
for L in Ls:
    samples = []
    for _ in range(reps if L <= 16 else 1):
        start = time.perf_counter()
        matcalc.derive(chain_spec(L), verify=False)
        samples.append(time.perf_counter() - start)
    times[L] = sorted(samples)[len(samples) // 2]
print(json.dumps(times))
"""


def derive_time(Ls: tuple[int, ...], reps: int) -> Workload:
    """matcalc.derive (no verification) of the L-layer chain w.r.t. every weight, in a fresh
    interpreter (this one's heap, grown by jax and the other workloads, slows the garbage
    collector); the growth exponent log(t_last / t_first) / log(L_last / L_first)."""
    here = Path(__file__).resolve().parent
    done = subprocess.run([sys.executable, "-c", DERIVE_TIMES, str(here), json.dumps(list(Ls)), str(reps)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(here.parent)}, check=False)
    title = f"derivation time of the L-layer chain, L = {', '.join(map(str, Ls))}"
    label = f"growth exponent L={Ls[0]}..{Ls[-1]} <= 1.5"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1][:100]
        return Workload("derive", title, [], [Ratio(label, bound=1.5, why=f"the derivations failed: {why}")])
    times = {int(L): t for L, t in json.loads(done.stdout).items()}
    exponent = math.log(times[Ls[-1]] / times[Ls[0]]) / math.log(Ls[-1] / Ls[0])
    shown = ", ".join(f"L={L}: {t:.2f} s" for L, t in times.items())
    return Workload("derive", title, [], [Ratio(label, bound=1.5, fixed=exponent, shown=shown)])
