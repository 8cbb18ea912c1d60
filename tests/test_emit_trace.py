"""Emission rule trace-of-product (matcalc/ops/trace_code.py): tr(L R) = sum(L ∘ Rᵀ), the
product of the chain under a trace is never built (issue 16: trace(X @ P @ X.T) made an
[n, n] matrix for one number)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import matcalc
from matcalc.evaluate import evaluate

CASES = [
    # (expression, symbols, the product that must not appear)
    ("trace(X @ P @ X.T)", {"X": ["n", "d"], "P": ["d", "d"]}, "X.T)"),
    ("trace(A @ B)", {"A": ["n", "d"], "B": ["d", "n"]}, "A @ B"),
    ("trace(A @ B @ C @ D)", {"A": ["n", "d"], "B": ["d", "n"], "C": ["n", "d"], "D": ["d", "n"]}, None),
    ("trace(S @ S) + trace(S)", {"S": ["n", "n"]}, "S @ S"),
]


@pytest.mark.parametrize("expr, shapes, built", CASES, ids=[c[0] for c in CASES])
def test_the_trace_of_a_product_is_a_sum_of_an_elementwise_product(expr, shapes, built):
    doc = {"dims": {"n": 7, "d": 3}, "symbols": {k: {"shape": v} for k, v in shapes.items()},
           "expr": expr, "wrt": [next(iter(shapes))]}
    d = matcalc.derive(doc)
    assert d.verified, d.verification
    body = d.code.split("def value(")[1].split("def ")[0]
    code = "\n".join(line.split("#")[0] for line in body.splitlines() if '"""' not in line)
    assert "np.trace(" not in code.split("return")[-1] or "trace(S)" in expr
    assert "_vdot(" in code       # the sum of the elementwise product (sum-of-product: no temporary)
    if built is not None:
        assert built not in code.split("return")[-1]
    # the module's value is the trace, at random inputs (dims all different)
    rng = np.random.default_rng(4)
    values = {k: rng.normal(size=tuple(doc["dims"][x] for x in v)) for k, v in shapes.items()}
    np.testing.assert_allclose(d.function().value(**values), evaluate(d.problem.expr, values, d.problem.dims),
                               rtol=1e-12)


def test_the_split_keeps_the_inner_dimension():
    """X, Q [n, d]: the halves are [n, d] (X @ P and Q), never [n, n].  (trace(X @ P @ X.T)
    is the Gram's: sum(P * (X.T @ X)), tests/test_emit_algebra.py.)"""
    d = matcalc.derive({"dims": {"n": 7, "d": 3}, "symbols": {"X": {"shape": ["n", "d"]}, "P": {"shape": ["d", "d"]},
                                                             "Q": {"shape": ["n", "d"]}},
                        "expr": "trace(X @ P @ Q.T)", "wrt": ["P"]}, verify=False)
    value = d.code.split("def value(")[1].split("def ")[0]
    assert re.search(r"_vdot\(X @ P, Q\)", value), value
