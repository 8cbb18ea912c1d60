"""The rule einsum-read (matrix/rules/einsum.py): an einsum whose contraction has a
matrix reading is that reading, scalar operands outside.  The einsum VJP writes the
output adjoint as an operand (a 1 for a scalar result), which used to print as
``einsum(',ni,nj->ij', 1, X, Y)``."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.evaluate import evaluate
from matcalc.verify import draw_inputs

CASES = [
    # (expr, wrt, symbols, expected result)
    ("einsum('ni,ij,nj->', X, A, Y)", "A",
     {"X": ["n", "m"], "Y": ["n", "k"], "A": ["m", "k"]}, "X.T @ Y"),
    ("einsum('ij,jk->', X, A)", "A", {"X": ["n", "m"], "A": ["m", "k"]}, "outer(sum(X, axis=0), ones(k))"),
    ("sum(G * einsum('ij,kj->ik', X, W))", "W", {"X": ["n", "m"], "W": ["k", "m"], "G": ["n", "k"]},
     "G.T @ X"),
    ("einsum('i,ij,j->', x, A, y)", "A", {"x": ["n"], "y": ["m"], "A": ["n", "m"]}, "outer(x, y)"),
]


@pytest.mark.parametrize("expr,wrt,shapes,expected", CASES)
def test_an_einsum_adjoint_reads_as_matrix_products(expr, wrt, shapes, expected):
    doc = {"dims": {"n": 4, "m": 3, "k": 2}, "expr": expr, "wrt": [wrt],
           "symbols": {s: {"shape": sh, **({} if s == wrt else {"props": ["constant"]})}
                       for s, sh in shapes.items()}}
    d = matcalc.derive(doc)
    assert d.verified, d.verification[wrt].why
    text = d.results[wrt].text
    assert "einsum" not in text
    assert text == expected
    values = draw_inputs(d.problem.expr, d.problem.symbols, d.problem.dims, np.random.default_rng(1))
    got = evaluate(d.results[wrt].matrix, values, d.problem.dims)
    x0, grad, h = values[wrt], np.zeros_like(values[wrt]), 1e-6
    for ix in np.ndindex(x0.shape):           # central differences of the expression itself
        step = np.zeros_like(x0)
        step[ix] = h
        up = evaluate(d.problem.expr, {**values, wrt: x0 + step}, d.problem.dims)
        down = evaluate(d.problem.expr, {**values, wrt: x0 - step}, d.problem.dims)
        grad[ix] = (up - down) / (2 * h)
    assert np.allclose(got, grad, atol=1e-6)
