"""The emission rules sum-of-product and sum-of-log-softmax (matcalc/ops/dot_code.py) and
the pass that spells a product of transposes as the transposed product where that
product is computed anyway (codegen/algebra.shared_forms): the emitted text, and the
numbers against numpy and the module's own other functions."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.ops.dot_code import LOG_SOFTMAX_SUM, VDOT


def body(code: str, name: str) -> list[str]:
    text = code.split(f"\ndef {name}(")[1].split("\ndef ")[0]
    return [line.split("  #")[0].strip() for line in text.split('"""')[2].strip().splitlines()]


def helpers() -> dict:
    space: dict = {"np": np}
    exec(VDOT, space)             # noqa: S102  (the module's own helper sources)
    exec(LOG_SOFTMAX_SUM, space)  # noqa: S102
    return space


@pytest.mark.parametrize("layout", ["CC", "FF", "CF", "FC"])
def test_vdot_is_the_sum_of_the_product_in_every_layout(layout):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 7)), rng.normal(size=(50, 7))
    a = np.asfortranarray(a) if layout[0] == "F" else a
    b = np.asfortranarray(b) if layout[1] == "F" else b
    assert helpers()["_vdot"](a, b) == pytest.approx(np.sum(a * b), rel=1e-13)
    assert helpers()["_vdot"](a[:, 0], b[:, 0]) == pytest.approx(np.sum(a[:, 0] * b[:, 0]), rel=1e-13)


@pytest.mark.parametrize("unit_rows", [True, False])
@pytest.mark.parametrize("scale", [1.0, 1e-8, 1e8])
def test_the_sum_of_a_log_softmax_is_the_log_softmax_summed(unit_rows, scale):
    rng = np.random.default_rng(2)
    z = rng.normal(size=(40, 6)) * scale
    y = np.eye(6)[rng.integers(6, size=40)] if unit_rows else rng.random(size=(40, 6))
    want = np.sum(y * (z - np.max(z, axis=1, keepdims=True)
                       - np.log(np.sum(np.exp(z - np.max(z, axis=1, keepdims=True)), axis=1, keepdims=True))))
    f = helpers()["_sum_log_softmax"]
    assert f(y, z.copy(), 1, unit_rows) == pytest.approx(want, rel=1e-12)
    scratch = np.asfortranarray(z)
    assert f(y, scratch, 1, unit_rows, scratch=True) == pytest.approx(want, rel=1e-12)
    assert f(y.T.copy(), z.T.copy(), 0, False) == pytest.approx(want, rel=1e-12)


def softmax_regression():
    return matcalc.derive({"dims": {"n": 9, "m": 4, "k": 3},
                           "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]},
                                       "Y": {"shape": ["n", "k"], "props": ["onehot"]}, "lam": {"shape": []}},
                           "expr": "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)", "wrt": ["W"]})


def test_the_cross_entropy_value_never_writes_the_log_softmax():
    d = softmax_regression()
    assert d.verified, d.verification
    value = body(d.code, "value")
    assert value[-1] == "return -_sum_log_softmax(Y, t1, axis=1, unit_rows=True, scratch=True) / n + lam * _vdot(W, W)"
    # value_and_grad shares the log-softmax with the gradient's softmax: kept, summed by _vdot
    both = body(d.code, "value_and_grad")
    assert "t2 = _log_softmax(t1, axis=1)" in both and "value = -_vdot(Y, t2) / n + lam * _vdot(W, W)" in both
    rng = np.random.default_rng(3)
    for n in (9, 200):           # either side of the layout's run-time test
        X, W = rng.normal(size=(n, 4)), rng.normal(size=(4, 3))
        Y = np.eye(3)[rng.integers(3, size=n)]
        f = d.function()
        v, _ = f.value_and_grad(X=X, W=W, Y=Y, lam=0.1)
        assert f.value(X=X, W=W, Y=Y, lam=0.1) == pytest.approx(v, rel=1e-12)
        Z = X @ W
        L = Z - np.max(Z, axis=1, keepdims=True)
        L -= np.log(np.sum(np.exp(L), axis=1, keepdims=True))
        assert v == pytest.approx(-np.sum(Y * L) / n + 0.1 * np.sum(W * W), rel=1e-12)


def test_a_general_target_weighs_the_normalizers_by_its_row_sums():
    d = matcalc.derive({"dims": {"n": 5, "k": 3}, "symbols": {"Z": {"shape": ["n", "k"]}, "P": {"shape": ["n", "k"]}},
                        "expr": "sum(P * log(softmax(Z, axis=1)))", "wrt": ["Z"]})
    assert d.verified, d.verification
    assert body(d.code, "value")[-1] == "return _sum_log_softmax(P, Z, axis=1, unit_rows=False)"


def test_a_sum_of_squares_is_a_dot_of_a_named_array_only():
    d = matcalc.derive({"dims": {"n": 5}, "symbols": {"A": {"shape": ["n", "n"]}, "B": {"shape": ["n", "n"]}},
                        "expr": "sum(A ** 2) + sum((A @ B) ** 2)", "wrt": ["A"]})
    assert d.verified, d.verification
    # A is a name: a dot; A @ B would be printed (and computed) twice: left as written
    assert body(d.code, "value")[-1] == "return _vdot(A, A) + np.sum((A @ B) ** 2)"


def test_broadcast_and_axis_sums_are_left_as_written():
    d = matcalc.derive({"dims": {"n": 5, "k": 3}, "symbols": {"A": {"shape": ["n", "k"]}, "v": {"shape": ["k"]}},
                        "expr": "sum(A * v) + sum(sum(A * A, axis=1))", "wrt": ["A"]})
    assert d.verified, d.verification
    value = body(d.code, "value")[-1]
    assert "_vdot(" not in value and "np.sum(A * v)" in value


def test_a_product_of_transposes_is_the_transposed_product_where_that_product_is_computed():
    d = matcalc.derive({"dims": {"n": 6, "d": 4},
                        "symbols": {"X": {"shape": ["n", "d"]}, "W": {"shape": ["d", "d"]}, "G": {"shape": ["d", "n"]}},
                        "expr": "sum(G * (W.T @ X.T)) + sum(X @ W)", "wrt": ["W"]})
    assert d.verified, d.verification
    value = body(d.code, "value")
    assert value[1:] == ["t1 = X @ W", "return _vdot(G, t1.T) + np.sum(t1)"], value
    # alone, Wᵀ Xᵀ stays as written (OpenBLAS: a transposed view multiplied may be slower)
    d = matcalc.derive({"dims": {"n": 6, "d": 4},
                        "symbols": {"X": {"shape": ["n", "d"]}, "W": {"shape": ["d", "d"]}, "G": {"shape": ["n", "d"]}},
                        "expr": "sum(G @ (W.T @ X.T))", "wrt": ["W"]})
    assert d.verified, d.verification
    value = body(d.code, "value")
    assert "X @ W" not in "\n".join(value) and value[-1].endswith("@ X.T)"), value
