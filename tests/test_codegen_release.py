"""Intermediates are freed when done with (codegen.names.released): ``del t1`` after the
last line that reads ``t1``, none before a return that computes nothing."""

from __future__ import annotations

import numpy as np

import matcalc
from matcalc.codegen.names import released


def test_a_name_is_deleted_after_its_last_reader_and_not_before_a_bare_return():
    lines = ["t1 = A @ B  # [n, n]: A @ B", "t2 = t1 * 2", "t3 = t2 + C", "value = t1.sum() + t3.sum()",
             "grad = t3 @ t2", 'return value, {"A": grad}']
    assert released(lines, {"t1", "t2", "t3"}) == [
        "t1 = A @ B  # [n, n]: A @ B", "t2 = t1 * 2", "t3 = t2 + C", "value = t1.sum() + t3.sum()", "del t1",
        "grad = t3 @ t2", 'return value, {"A": grad}']
    # a name read by the computing return is not deleted; one never read again after its line is not
    assert released(["t1 = A @ B", "t2 = t1 + 1", "return t2 @ t1"], {"t1", "t2"}) == \
        ["t1 = A @ B", "t2 = t1 + 1", "return t2 @ t1"]
    # a comment naming an intermediate is not a read
    assert released(["t1 = A @ B", "t2 = t1 + 1  # t1 + 1", "t3 = t2 * 2  # t1 again", "return t3 @ t3"],
                    {"t1", "t2", "t3"}) == ["t1 = A @ B", "t2 = t1 + 1  # t1 + 1", "del t1", "t3 = t2 * 2  # t1 again",
                                            "del t2", "return t3 @ t3"]


def test_the_emitted_module_frees_the_logits_before_the_gradients_product():
    d = matcalc.derive("derivations/softmax_regression.yaml")
    assert d.verified, d.verification
    body = d.code.split("\ndef value_and_grad(")[1]
    assert body.index("del t1") < body.index("t3 = ")
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(200, 10)), rng.normal(size=(10, 5))
    Y = np.eye(5)[rng.integers(5, size=200)]
    f = d.function()
    v, g = f.value_and_grad(X=X, W=W, Y=Y, lam=0.1)
    assert np.isclose(v, f.value(X=X, W=W, Y=Y, lam=0.1)) and np.allclose(g["W"], f.grad_W(X=X, W=W, Y=Y, lam=0.1))
