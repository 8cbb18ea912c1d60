"""Random well-typed expressions (drawn from the operation registry, see
``strategies.py``) through the whole pipeline.

For each drawn expression (scalar-valued, or vector-valued with a vector wrt;
order 1 or 2):

(a) every returned result verifies against finite differences; a result that
    does not is a WRONG result;
(b) each result's text parses again and evaluates to the same numbers, and the
    expression's index form has the value of its matrix form;
(c) anything refused raises DerivationError / NoMatrixFormError with a clear
    message; any other exception is a crash.

A failing draw is shrunk to a small document (``fuzz_check.shrink``) and shown.
Failures found so far are kept below as explicit regression cases; those that
are open engine bugs are marked xfail (non-strict), so they pass once fixed,
and the random test tolerates draws that shrink to one of them (remove the
entry from ENGINE_BUGS when it is fixed).
"""

from __future__ import annotations

import json
import os
import re

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings

from fuzz_check import BAD, examine, shrink
from strategies import derivations

DIMS = {"n": 3, "m": 4}


def doc(expr: str, symbols: str, wrt: str, order: int = 1, dims=None) -> dict:
    """A document from compact symbols: ``"M0:[n,1] v1:[m]:positive"``."""
    syms = {}
    for decl in symbols.split():
        name, shape, *props = decl.split(":")
        dims_ = [d for d in shape.strip("[]").split(",") if d]
        syms[name] = {"shape": [int(d) if d.isdigit() else d for d in dims_]}
        if props:
            syms[name]["props"] = props[0].split(",")
    return {"name": "regression", "dims": dict(dims or DIMS), "symbols": syms, "expr": expr,
            "wrt": [wrt], "order": order}


# Open engine bugs found by the fuzzer: a minimal document, the outcome
# signature it shows today (kind, exception and innermost engine frame), a
# phrase of the outcome's detail that marks this bug (or None), and what is wrong.
ENGINE_BUGS = {
    "mean-of-broadcast-scalar": (
        doc("mean(mean(x) - y)", "x:[n,1] y:[n,1]", "x"),
        ("wrong", ""), "sum(1 / ",
        "gradient of mean(mean(x) - y) w.r.t. x is printed as sum(1 / n) / n * ones(n, 1): "
        "1/n^2 instead of 1/n (the mean's adjoint 1/n is summed as a scalar, not spread then summed)"),
    "mean-axis-of-broadcast-scalar": (
        doc("mean(norm(x, 'fro') - v, axis=0)", "x:[m,1] v:[n]", "x"),
        ("wrong", ""), "sum(1 / ",
        "gradient is sum(1 / n) * x / norm(x, 'fro'), i.e. x / (n norm(x)) instead of x / norm(x)"),
    "outer-of-scalar": (
        doc("mean(sum(a * (x / B @ c), axis=1), axis=0)", "x:[n,1] c:[m,1] B:[n,m] a:[m]", "x"),
        ("crash", "ShapeMismatch in ops/linalg.py:_outer"), None,
        "simplify builds outer() of a scalar and a vector (ShapeMismatch)"),
    "matmul-of-scalar": (
        doc("mean(softmax(mean(X - sum(v, axis=0), axis=1)))", "X:[n,1] v:[m]", "v", order=2),
        ("crash", "ShapeMismatch in ops/arith.py:<lambda>"), None,
        "Hessian: builds @ between scalars (ShapeMismatch)"),
    "softmax-of-scalar": (
        doc("mean(softmax(s + ones(n, m), axis=1))", "s:[]", "s"),
        ("crash", "ShapeMismatch in ops/reductions.py:normalize"), None,
        "simplify builds softmax of a scalar (ShapeMismatch)"),
    "sum-axis-of-scalar": (
        doc("mean(v - Z)", "v:[m] Z:[n,m]:constant", "v"),
        ("crash", "ShapeMismatch in ops/reductions.py:_check_axis"), None,
        "builds sum(<scalar>, axis=0) while unbroadcasting (ShapeMismatch: sum of a scalar has no axis 0)"),
    "diag-of-row": (
        doc("logsumexp(diag(Z - r))", "r:[1,m] Z:[m,m]:constant", "r"),
        ("crash", "ShapeMismatch in ops/linalg.py:_diag"), None,
        "the adjoint of diag(Z - r) w.r.t. a [1, m] row builds diag of a [1, m] matrix (ShapeMismatch)"),
    "norm-of-broadcast": (
        doc("norm(v * ones(n, m), 'fro')", "v:[m]", "v"),
        ("wrong", ""), re.compile(r"\* ones\(\w+\)\s+fails"),
        "norm of a broadcast vector: gradient printed as sum(v, axis=0) / norm(v, 'fro') * ones(m) "
        "instead of n * v / norm(v * ones(n, m), 'fro') (also norm(ones(n, m) / v, 'fro'))"),
    "dot-with-scalar-adjoint": (
        doc("mean(log_softmax(dot(M, ones(m) * s)), axis=0)", "M:[m,m] s:[]", "s"),
        ("crash", "ShapeMismatch in ops/linalg.py:<lambda>"), None,
        "the adjoint of dot(M, v) builds @ between scalars (ShapeMismatch)"),
    "sympy-E": (
        doc("exp(ones(n, m)) @ v", "v:[m]", "v"),
        ("crash", "ValueError in matrix/algebra.py:to_ir"), None,
        "sympy's E (exp(1)) has no way back to IR: ValueError unexpected sympy node Exp1"),
    "sympy-recursion": (
        doc("sigmoid(norm(x ** m, 'fro'))", "x:[n,1]", "x", dims={"n": 4, "m": 2}),
        ("crash", "RecursionError in matrix/algebra.py:<listcomp>"), None,
        "RecursionError inside sympy while simplifying an elementwise expression"),
    "index-mean-of-scalar": (
        doc("sum(v) - mean(s)", "v:[m] s:[]:constant", "v"),
        ("crash", "IndexError in ops/reductions.py:_index_mean"), None,
        "the index rule of mean fails on a scalar argument (IndexError), so lower() crashes"),
}


def known_bug(outcome) -> str | None:
    """The ENGINE_BUGS entry an outcome is an instance of, if any."""
    for key, (_, signature, marker, _) in ENGINE_BUGS.items():
        if outcome.signature != signature:
            continue
        if marker is None or (marker.search(outcome.detail) if isinstance(marker, re.Pattern)
                              else marker in outcome.detail):
            return key
    return None


# Failures found by the fuzzer and fixed (kept so they stay fixed).
FIXED: list[dict] = []


def _judge(d: dict):
    outcome = examine(d)
    assert outcome.kind not in BAD, f"{outcome.kind}: {outcome.detail}\ndocument: {d}"


@pytest.mark.parametrize("key", sorted(ENGINE_BUGS))
def test_engine_bug_regression(key, request):
    d, _, _, reason = ENGINE_BUGS[key]
    request.applymarker(pytest.mark.xfail(strict=False, reason=f"engine bug: {reason}"))
    _judge(d)


@pytest.mark.parametrize("d", FIXED, ids=[d["expr"] for d in FIXED])
def test_fixed_regression(d):
    _judge(d)


@settings(max_examples=300, derandomize=True, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate],   # fuzz_check.shrink does the shrinking
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(derivations())
def test_random_expressions(drawn):
    outcome = examine(drawn.doc)
    event(outcome.kind)
    if outcome.kind not in BAD:
        return
    known = known_bug(outcome)
    if known:
        event(f"known engine bug: {known}")
        return
    small, small_outcome = shrink(drawn.doc, outcome, budget=150)
    known = known_bug(small_outcome)
    if known:
        event(f"known engine bug: {known}")
        return
    report = os.environ.get("MATCALC_FUZZ_REPORT")
    if report:   # collect every failure of a run instead of stopping at the first
        with open(report, "a") as f:
            f.write(json.dumps({"signature": small_outcome.signature, "shrunk": small,
                                "detail": small_outcome.detail, "drawn": drawn.doc}) + "\n")
        return
    raise AssertionError(f"{outcome.kind}: {outcome.detail}\n  drawn: {drawn.doc}\n"
                         f"  shrunk: {small}\n  shrunk outcome: {small_outcome.detail}")
