"""Issue 12, hangs and resource limits: what the numerical check costs.

Counted, never timed: linear-algebra calls whose cost is cubic in the size,
evaluations of the module against the check's budget, the memory estimate's
refusal before anything big is allocated (under an address-space limit), and
operations as the number of symbols grows.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.codegen import load_module
from matcalc.verify import check_module


def _derive(doc, **kw):
    return matcalc.derive(doc, **kw)


# -- norms that cost what the data costs ------------------------------------------------

CUBIC = ("svd", "cond", "eigvalsh", "eigh", "eig", "det", "slogdet", "inv", "qr")


@pytest.fixture
def cubic_calls(monkeypatch):
    """The O(n³) numpy.linalg calls made while it is active, by name (a 2-norm
    of a matrix is an SVD)."""
    calls: list[str] = []
    for name in CUBIC:
        real = getattr(np.linalg, name)

        def counted(*a, _real=real, _name=name, **k):
            calls.append(_name)
            return _real(*a, **k)
        monkeypatch.setattr(np.linalg, name, counted)
    real_norm = np.linalg.norm

    def norm(x, ord=None, *a, **k):
        if ord in (2, -2, "nuc") and np.ndim(x) == 2:
            calls.append("norm(., 2)")
        return real_norm(x, ord, *a, **k)
    monkeypatch.setattr(np.linalg, "norm", norm)
    return calls


@pytest.mark.parametrize("expr, props", [("sum(X * X)", []), ("sum(sin(X) * X)", []),
                                         ("sum(S * S) + sum(exp(-S))", ["spd"])])
def test_an_elementwise_check_makes_no_cubic_linear_algebra_call(cubic_calls, expr, props):
    """sum(X * X) with n = 4000 took over 300 s: an SVD per comparison and a condition number."""
    name = "S" if "S" in expr else "X"
    d = _derive({"dims": {"n": 12}, "symbols": {name: {"shape": ["n", "n"], "props": props}}, "expr": expr},
                verify=False)
    module = load_module(d.code)
    sampled = len(cubic_calls)            # (none: drawing an spd matrix is a product, not a factorization)
    got = check_module(d.problem, d.results, module)[name]
    assert got.passed, got
    assert cubic_calls[sampled:] == []


def test_a_solve_still_takes_the_condition_number_into_account(cubic_calls):
    """Where the symbol goes through inv / logdet the rounding floor keeps its condition number."""
    d = _derive({"dims": {"n": 5}, "symbols": {"A": {"shape": ["n", "n"], "props": ["spd"]}},
                 "expr": "logdet(A) + sum(A * A)"}, verify=False)
    got = check_module(d.problem, d.results, load_module(d.code), stability=False)["A"]
    assert got.passed, got
    assert "cond" in cubic_calls


# -- a budget of evaluations ------------------------------------------------------------

class _Counting:
    """A module whose functions count their calls."""

    def __init__(self, module):
        self.calls: dict[str, int] = {}
        for name in ("value", "value_and_grad") + tuple(n for n in dir(module) if n.startswith(("grad_", "hess_"))):
            setattr(self, name, self._counted(name, getattr(module, name)))

    def _counted(self, name, fn):
        def call(**kw):
            self.calls[name] = self.calls.get(name, 0) + 1
            return fn(**kw)
        return call


@pytest.mark.parametrize("shape", [[20, 20], [400], [20, 19]])
def test_the_check_spends_at_most_its_budget_of_evaluations(shape):
    """Up to 400 entries were each compared at three scales: thousands of evaluations;
    the check is now a bounded multiple of one evaluation whatever the sizes."""
    import matcalc.verify
    budget = getattr(matcalc.verify, "EVALUATIONS", 2000)   # (what it is: the code before it had none)
    dims = {f"d{i}": n for i, n in enumerate(shape)}
    d = _derive({"dims": dims, "symbols": {"X": {"shape": list(dims)}}, "expr": "sum(sin(X) * X)"},
                verify=False)
    module = _Counting(load_module(d.code))
    got = check_module(d.problem, d.results, module, stability=False)["X"]
    assert got.passed and got.scales == (1.0, 1e-3, 1e3), got
    assert module.calls["value"] <= budget + 5  # (+ the run of every function once, and value_and_grad's)
    assert 0 < got.entries < np.prod(shape)          # a random subset of the entries, at each scale
