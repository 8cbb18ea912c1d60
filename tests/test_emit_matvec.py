"""Emission rule matvec-of-sum (matcalc/ops/matvec_code.py): (A ± B) x = A x ± B x, so a
gradient like (A + A.T) @ x never builds the [n, n] sum (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.evaluate import evaluate

CASES = [
    # (expression, wrt, what the emitted gradient must not compute, what it computes instead)
    ("x @ A @ x + sum(exp(x))", "x", "(A + A.T)", "A @ x + x @ A"),
    ("x @ (A - B) @ x", "x", "(A - B", " @ x"),
    ("sum((A + B.T) @ x)", "x", "(A + B.T)", None),
    # a broadcast term ([1, n] + [n, n]) is not distributed: R @ x would be another shape (fuzzing)
    ("sum((A + R.T) @ x) + x @ (A + R) @ x", "x", "never", None),
]


@pytest.mark.parametrize("expr, wrt, unbuilt, built", CASES, ids=[c[0] for c in CASES])
def test_a_sum_of_matrices_times_a_vector_is_distributed(expr, wrt, unbuilt, built):
    doc = {"dims": {"n": 5}, "symbols": {"x": {"shape": ["n"]}, "A": {"shape": ["n", "n"]},
                                         "B": {"shape": ["n", "n"]},
                                         "R": {"shape": [1, "n"]}}, "expr": expr, "wrt": [wrt]}
    d = matcalc.derive(doc)
    assert d.verified, d.verification
    body = d.code.split(f"def grad_{wrt}(")[1].split("def ")[0]
    code = "\n".join(line.split("#")[0] for line in body.splitlines()[5:])   # past the docstring
    assert unbuilt not in code, code
    if built is not None:
        assert built in code, code
    rng = np.random.default_rng(3)
    values = {"x": rng.normal(size=5), "A": rng.normal(size=(5, 5)), "B": rng.normal(size=(5, 5)),
              "R": rng.normal(size=(1, 5))}
    np.testing.assert_allclose(getattr(d.function(), f"grad_{wrt}")(**values),
                               evaluate(d.results[wrt].matrix, values, d.problem.dims), rtol=1e-12)
