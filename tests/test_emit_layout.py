"""Emission rules of matcalc/ops/layout_code.py (issue 16): short-axis-softmax and
transposed-product (a matrix product written both ways, ``(D.T @ X).T if m > k and n > 64 else X.T @ D``,
so the result is laid out with its long side contiguous where that was measured faster,
chosen from the sizes at run time), tall-product (``X @ W`` with many inner terms laid out the
same way, and that layout kept through elementwise work) and tanh-derivative (``4 σ(2x) σ(-2x)``
emitted as ``_sech2(x) = 1 / cosh²(x)``, or from ``tanh(x)`` where the function computes it).  Each test reads the emitted text and checks the numbers
(numpy by hand, finite differences), on both sides of each run-time test."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc import ir
from matcalc.codegen import HELPERS, emit_module, expression
from matcalc.ops import EMIT_RULES
from matcalc.parse import parse

REPO = Path(__file__).resolve().parent.parent
SOFTMAX = {"name": "softmax_regression", "dims": {"n": 12, "m": 4, "k": 3},
           "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]},
                       "Y": {"shape": ["n", "k"], "props": ["onehot"]}, "lam": {"shape": []}},
           "expr": "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)", "wrt": ["W"]}
MLP = {"name": "mlp", "dims": {"n": 16, "m": 6, "h": 5, "k": 3},
       "symbols": {"X": {"shape": ["n", "m"]}, "W1": {"shape": ["m", "h"]}, "W2": {"shape": ["h", "k"]},
                   "Y": {"shape": ["n", "k"], "props": ["onehot"]}},
       "expr": "-sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1))) / n", "wrt": ["W1", "W2"]}


def parse_expr(text: str, shapes: dict[str, tuple[int, ...]]):
    return parse(text, {name: ir.Symbol(shape, name) for name, shape in shapes.items()}, {})


def _body(code: str, function: str) -> str:
    """The statements of one emitted function (no docstring, no comments)."""
    text = code.split(f"def {function}(")[1].split("\ndef ")[0]
    text = text.split('"""')[-1]
    return "\n".join(line.split("  #")[0].strip() for line in text.splitlines() if line.strip())


def _helper(name: str):
    space = {"np": np}
    exec(HELPERS[name], space)        # noqa: S102  (matcalc's own helper source)
    return space[name]


def _softmax_regression_by_hand(X, W, Y, lam):
    n = X.shape[0]
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    L = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -np.sum(Y * L) / n + lam * np.sum(W * W), X.T @ (np.exp(L) - Y) / n + 2 * lam * W


def test_the_rules_are_registered_under_their_roots():
    names = {(rule.name, root) for root, rules in EMIT_RULES.items() for rule in rules}
    for root in ("softmax", "log_softmax", "logsumexp"):
        assert ("short-axis-softmax", root) in names
    assert ("transposed-product", "matmul") in names and ("tanh-derivative", "mul") in names
    assert all(("tall-product", root) in names for root in ("mul", "add", "sub", "div"))


def test_softmax_regression_computes_the_logits_and_the_gradient_in_the_measured_layout():
    d = matcalc.derive(SOFTMAX)
    assert d.verified, d.verification
    assert _body(d.code, "value").splitlines()[1:] == [
        "t1 = (W.T @ X.T).T if n > 64 and n > k and (k <= 32 or m >= k) else X @ W",
        "return -_sum_log_softmax(Y, t1, axis=1, unit_rows=True, scratch=True) / n + lam * _vdot(W, W)"]
    assert _body(d.code, "value_and_grad").splitlines()[1:6] == [
        "t1 = (W.T @ X.T).T if n > 64 and n > k and (k <= 32 or m >= k) else X @ W",
        "t2 = _log_softmax(t1, axis=1)",
        "del t1",                                                                           # freed when done with
        "t3 = ((np.exp(t2) - Y).T @ X).T if m > k and n > 64 else X.T @ (np.exp(t2) - Y)",   # one of them runs
        "value = -_vdot(Y, t2) / n + lam * _vdot(W, W)"]
    assert "# [m, k]: X.T @ (exp(log_softmax(X @ W, axis=1)) - Y)" in d.code


def test_sizes_the_declaration_fixes_decide_when_printed():
    doc = {**SOFTMAX, "dims": {"n": 12}, "symbols": {**SOFTMAX["symbols"], "X": {"shape": ["n", 4]},
                                                    "W": {"shape": [4, 3]}, "Y": {"shape": ["n", 3]}}}
    d = matcalc.derive(doc)
    assert d.verified, d.verification
    body = _body(d.code, "value_and_grad")
    assert "t1 = (W.T @ X.T).T if n > 64 else X @ W" in body       # k = 3: n > 64 > k, k <= 32
    assert "t4 = (t3.T @ X).T if n > 64 else X.T @ t3" in body    # 4 > 3: decided; t3 holds a sum, named
    square = {"dims": {"n": 5}, "symbols": {"A": {"shape": ["n", "n"]}, "B": {"shape": ["n", "n"]}},
              "expr": "sum(logsumexp(A @ B, axis=1)) + sum(A.T @ B)", "wrt": ["B"]}
    d = matcalc.derive(square)
    assert d.verified and " if " not in d.code.split("def value(")[1]  # n > n: as written


@pytest.mark.parametrize("n, m, k", [(12, 4, 3), (3, 4, 12), (200, 40, 50), (40, 8, 64), (7, 7, 7)],
                         ids=["tall", "wide", "tall-many-classes", "tall-short-inner", "square"])
def test_softmax_regression_numbers_on_both_sides_of_the_layout_choice(n, m, k):
    module = matcalc.derive(SOFTMAX, verify=False).function()
    rng = np.random.default_rng(n * m * k)
    X, W = rng.normal(size=(n, m)), rng.normal(size=(m, k))
    Y, lam = np.eye(k)[rng.integers(k, size=n)], 0.3
    value, grad = module.value_and_grad(X=X, W=W, Y=Y, lam=lam)
    want_value, want_grad = _softmax_regression_by_hand(X, W, Y, lam)
    assert value == pytest.approx(want_value, rel=1e-12)
    np.testing.assert_allclose(grad["W"], want_grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(module.grad_W(X=X, W=W, Y=Y, lam=lam), want_grad, rtol=1e-10, atol=1e-13)
    assert module.value(X=X, W=W, Y=Y, lam=lam) == pytest.approx(want_value, rel=1e-12)
    h, (i, j) = 1e-6, (m // 2, k - 1)                   # one entry by central differences
    E = np.zeros_like(W)
    E[i, j] = h
    fd = (module.value(X=X, W=W + E, Y=Y, lam=lam) - module.value(X=X, W=W - E, Y=Y, lam=lam)) / (2 * h)
    assert grad["W"][i, j] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_huge_logits_stay_finite_through_the_transposed_layout():
    module = matcalc.derive(SOFTMAX, verify=False).function()
    rng = np.random.default_rng(1)
    X, W, Y = rng.normal(size=(50, 4)) * 1e4, rng.normal(size=(4, 3)), np.eye(3)[rng.integers(3, size=50)]
    value, grad = module.value_and_grad(X=X, W=W, Y=Y, lam=0.0)
    want_value, want_grad = _softmax_regression_by_hand(X, W, Y, 0.0)
    assert np.isfinite(value) and np.all(np.isfinite(grad["W"]))
    assert value == pytest.approx(want_value, rel=1e-10)
    np.testing.assert_allclose(grad["W"], want_grad, rtol=1e-8, atol=1e-6)


@pytest.mark.parametrize("n, m, k, transposed", [
    (100, 5, 3, True),          # tall, few columns: the reduction along a row runs along the long side
    (100, 64, 40, True),        # tall, as many inner terms as columns
    (100, 5, 40, False),        # tall, many columns, short inner dimension: as written
    (3, 5, 100, False),         # wide: as written
])
def test_the_logits_are_laid_out_as_measured(n, m, k, transposed):
    lines, _, _ = expression(parse_expr("sum(log_softmax(A @ B, axis=1))", {"A": ("n", "m"), "B": ("m", "k")}))
    rng = np.random.default_rng(n + k)
    space = {"A": rng.normal(size=(n, m)), "B": rng.normal(size=(m, k)), "n": n, "m": m, "k": k}
    assert lines == ["t1 = (B.T @ A.T).T if n > 64 and n > k and (k <= 32 or m >= k) else A @ B  # [n, k]: A @ B"]
    exec(lines[0], space)                 # noqa: S102  (matcalc's own output)
    np.testing.assert_allclose(space["t1"], space["A"] @ space["B"], rtol=1e-13, atol=1e-13)
    assert space["t1"].flags.f_contiguous == transposed and space["t1"].flags.c_contiguous == (not transposed)


def test_logsumexp_and_softmax_of_a_product_along_the_columns():
    lines, text, helpers = expression(parse_expr("sum(logsumexp(A @ B, axis=1)) + sum(softmax(A @ C, axis=1) * D)",
                                                 {"A": ("n", "m"), "B": ("m", "k"), "C": ("m", "k"), "D": ("n", "k")}))
    assert text == "np.sum(_logsumexp(t1, axis=1)) + _vdot(_softmax(t2, axis=1), D)"
    assert [line.split("  #")[0] for line in lines] == [
        "t1 = (B.T @ A.T).T if n > 64 and n > k and (k <= 32 or m >= k) else A @ B",
        "t2 = (C.T @ A.T).T if n > 64 and n > k and (k <= 32 or m >= k) else A @ C"]
    assert {"_logsumexp", "_softmax"} <= helpers
    d = matcalc.derive({"dims": {"n": 9, "k": 2}, "symbols": {"A": {"shape": ["n", "k"]}, "B": {"shape": ["k", "k"]}},
                        "expr": "sum(logsumexp(A @ B, axis=1, keepdims=True) * A)", "wrt": ["B"]})
    assert d.verified, d.verification
    assert _body(d.code, "value").splitlines()[1:] == [
        "t1 = (B.T @ A.T).T if n > 64 and n > k else A @ B",       # k <= 32 or k >= k: always
        "return np.sum(_logsumexp(t1, axis=1, keepdims=True) * A)"]


@pytest.mark.parametrize("expr, shapes, kept", [
    ("sum(softmax(A @ B, axis=0))", {"A": (8, 3), "B": (3, 2)}, "_softmax(A @ B, axis=0)"),   # along the rows
    ("sum(A.T @ A)", {"A": (8, 3)}, "A.T @ A"),                                  # Gram: numpy's syrk
    ("sum(inv(S).T @ A.T)", {"S": (3, 3), "A": (8, 3)}, "solve"),                # inv stays solve
    ("sum(A @ B)", {"A": (8, 3), "B": (3, 2)}, "A @ B"),                         # no reduction along a row
    ("sum(A.T @ v)", {"A": (8, 3), "v": (8,)}, "A.T @ v"),                       # a vector
])
def test_the_layout_rules_leave_other_products_as_written(expr, shapes, kept):
    lines, text, _ = expression(parse_expr(expr, shapes))
    assert kept in text and not lines, (lines, text)


def test_the_array_api_module_is_left_as_written():
    for doc in (SOFTMAX, MLP):
        portable = emit_module(matcalc.derive(doc, verify=False), target="array-api")
        assert ".T).T" not in portable and "_sech2" not in portable


def _mlp_by_hand(X, W1, W2, Y):
    H = np.tanh(X @ W1)
    Z = H @ W2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    D = (P - Y) / X.shape[0]
    return X.T @ ((D @ W2.T) * (1 - H * H)), H.T @ D


def test_the_mlp_hidden_layer_is_laid_out_by_columns_through_its_elementwise_work():
    """tall-product: ``X @ W1`` (128 inner terms or more) is computed as ``(W1.T @ X.T).T``;
    ``t5 @ W2.T``, multiplied elementwise with ``sech²`` of it, under the same test; and
    ``X.T @ D`` for that ``D`` as ``(D.T @ X).T`` whenever the test holds.  tanh-backprop:
    ``_times_sech2(t6, t1, t2)`` multiplies by ``1 - tanh²`` from the tanh the forward pass
    computed, into ``t6``, made for it alone.  Numbers on both sides of
    the test."""
    d = matcalc.derive(MLP)
    assert d.verified, d.verification
    body = _body(d.code, "value_and_grad").splitlines()
    tall = "n > 64 and n > h and n > m >= 128"
    assert body[1] == f"t1 = (W1.T @ X.T).T if {tall} else X @ W1", body
    assert body[2] == "t2 = np.tanh(t1)", body
    assert f"t6 = (W2 @ t5.T).T if {tall} else t5 @ W2.T" in body, body
    assert (f"t7 = (_times_sech2(t6, t1, t2, scratch=True).T @ X).T if ({tall} or m > h and n > 64) "
            f"else X.T @ _times_sech2(t6, t1, t2, scratch=True)") in body, body
    assert "_sigmoid" not in d.code
    module = d.function()
    for n, m, h in ((16, 6, 5), (200, 130, 20), (200, 130, 150), (200, 20, 9)):   # the test false, true, true, false
        rng = np.random.default_rng(n + m)
        X, W1, W2 = rng.normal(size=(n, m)), rng.normal(size=(m, h)) / 4, rng.normal(size=(h, 3))
        Y = np.eye(3)[rng.integers(3, size=n)]
        _, grads = module.value_and_grad(X=X, W1=W1, W2=W2, Y=Y)
        g1, g2 = _mlp_by_hand(X, W1, W2, Y)
        np.testing.assert_allclose(grads["W1"], g1, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(grads["W2"], g2, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(module.grad_W1(X=X, W1=W1, W2=W2, Y=Y), g1, rtol=1e-10, atol=1e-14)


def test_a_tall_product_meeting_an_argument_is_laid_out_by_rows():
    """``X @ W - Y``: an argument is laid out by rows, so the product is too (an elementwise
    pass over operands laid out differently costs more than the product's layout gains);
    the numbers at sizes where the tall-product test would hold."""
    d = matcalc.derive({"dims": {"n": 9, "m": 4, "k": 2},
                        "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]}, "Y": {"shape": ["n", "k"]}},
                        "expr": "sum((X @ W - Y) ** 2)", "wrt": ["W"]})
    assert d.verified, d.verification
    for function in ("value", "grad_W", "value_and_grad"):
        text = _body(d.code, function)
        assert "X @ W - Y" in text and "(W.T @ X.T).T" not in text, text
    module = d.function()
    for n, m, k in ((9, 4, 2), (300, 140, 5)):
        rng = np.random.default_rng(n)
        X, W, Y = rng.normal(size=(n, m)), rng.normal(size=(m, k)), rng.normal(size=(n, k))
        np.testing.assert_allclose(module.grad_W(X=X, W=W, Y=Y), 2 * X.T @ (X @ W - Y), rtol=1e-10)
        assert module.value(X=X, W=W, Y=Y) == pytest.approx(np.sum((X @ W - Y) ** 2), rel=1e-12)


def test_sech2_is_accurate_where_one_minus_tanh_squared_cancels():
    sech2 = _helper("_sech2")
    x = np.array([0.0, 0.5, -3.0, 20.0, -40.0, 300.0, 356.0, 700.0, 720.0, -1e5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no overflow warning past |x| = 710
        got = sech2(x)
    e = np.exp(-2 * np.abs(x))
    want = 4 * e / (1 + e) ** 2                        # sech² written without cosh
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
    assert got[3] > 0 and 1 - np.tanh(20.0) ** 2 == 0   # where the cancelling form gives 0
    assert sech2(2.0) == pytest.approx(1 - np.tanh(2.0) ** 2, rel=1e-14)   # a number works too


def test_sech2_from_the_tanh_is_as_accurate_in_every_layout():
    """``_sech2(x, tanh(x))``: ``1 - t²`` where that keeps its digits, ``1 / cosh²(x)`` at the
    few entries where ``t`` rounds near 1 (both in one array), and everywhere when many do,
    for C, Fortran and strided arrays; small arrays, and an empty one."""
    sech2 = _helper("_sech2")
    rng = np.random.default_rng(7)

    def exact(a):
        e = np.exp(-2 * np.abs(a))
        return 4 * e / (1 + e) ** 2

    x = rng.normal(size=(40, 30)) * 1.5
    x.flat[[5, 100, 700]] = 20.0, -40.0, 800.0            # a few near 1, off the probed entries
    for a in (x, np.asfortranarray(x), x[::2, 1::3], x.T, 20 * x, x[:5, :5]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")                 # no overflow warning past |x| = 710
            got = sech2(a, np.tanh(a))
        np.testing.assert_allclose(got, exact(a), rtol=1e-10, atol=0)
        assert got.shape == a.shape
    assert sech2(x, np.tanh(x)).flat[5] > 0 and 1 - np.tanh(20.0) ** 2 == 0   # where 1 - t² gives 0
    calm = rng.normal(size=(40, 40))                       # no entry near 1: 1 - t² as it is
    t = np.tanh(calm)
    assert np.array_equal(sech2(calm, t), 1 - t * t)
    np.testing.assert_allclose(sech2(calm, t), exact(calm), rtol=1e-13)
    assert sech2(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0, 3)


def test_the_tanh_derivative_rule_needs_the_exact_form():
    _, text, helpers = expression(parse_expr("4 * sigmoid(2 * x) * sigmoid(-(2 * x))", {"x": (4,)}))
    assert text == "_sech2(x)" and "_sech2" in helpers
    _, text, _ = expression(parse_expr("4 * sigmoid(2 * x) * sigmoid(-(3 * x))", {"x": (4,)}))
    assert "_sech2" not in text


def test_the_transposed_product_of_an_mlp_on_both_sides_of_its_test():
    module = matcalc.derive(MLP, verify=False).function()
    for n, m, h in ((80, 9, 4), (80, 4, 9), (20, 9, 4)):     # m > h and n > 64: (t6.T @ X).T
        rng = np.random.default_rng(m)
        X, W1, W2 = rng.normal(size=(n, m)), rng.normal(size=(m, h)), rng.normal(size=(h, 3))
        Y = np.eye(3)[rng.integers(3, size=n)]
        _, grads = module.value_and_grad(X=X, W1=W1, W2=W2, Y=Y)
        H = np.tanh(X @ W1)
        P = np.exp(H @ W2 - (H @ W2).max(axis=1, keepdims=True))
        D = (P / P.sum(axis=1, keepdims=True) - Y) / n
        np.testing.assert_allclose(grads["W1"], X.T @ ((D @ W2.T) * (1 - H * H)), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(module.grad_W2(X=X, W1=W1, W2=W2, Y=Y), H.T @ D, rtol=1e-10, atol=1e-14)


def test_a_transposed_operand_is_computed_once():
    """``S.T @ G`` with ``S`` a softmax: ``S`` is named, and both ``(G.T @ S).T`` and
    ``S.T @ G`` read the name (the text holds the product twice, the softmax once)."""
    d = matcalc.derive(REPO / "derivations" / "attention_head.yaml")
    assert d.verified, d.verification
    body = _body(d.code, "grad_Wv")
    assert body.count("_softmax(") == 1, body
    assert "t3 = (G.T @ t2).T if n > d and n > 64 else t2.T @ G" in body, body


def _run(expr: str, shapes: dict, values: dict):
    """The code ``expression`` prints for ``expr``, run: (its text, its value)."""
    lines, text, helpers = expression(parse_expr(expr, shapes))
    space = {"np": np, **values}
    for name in helpers:
        exec(HELPERS[name], space)        # noqa: S102  (matcalc's own helper source)
    for line in lines:
        exec(line, space)                 # noqa: S102  (matcalc's own emitted line)
    return text, eval(text, space)        # matcalc's own emitted text


def test_tanh_backprop_multiplies_in_blocks_into_a_product_made_for_it_only():
    """``G * 4 σ(2x) σ(-2x)`` with ``tanh(x)`` computed anyway: ``_times_sech2(G, x, t)``, with
    ``scratch=True`` for a product ``A @ B`` printed for it, never for an argument ``G``
    (which stays as it was); the numbers against ``G * (1 - tanh(x)²)``."""
    sech = "4 * sigmoid(2 * x) * sigmoid(-(2 * x))"
    rng = np.random.default_rng(11)
    x, G = rng.normal(size=(300, 250)), rng.normal(size=(300, 250))
    A, Bm = rng.normal(size=(300, 20)), rng.normal(size=(20, 250))
    want = G * (1 - np.tanh(x) ** 2) + np.tanh(x) ** 2
    before = G.copy()
    text, got = _run(f"G * ({sech}) + tanh(x) * tanh(x)", {"G": G.shape, "x": x.shape}, {"G": G, "x": x})
    assert text.startswith("_times_sech2(G, x, t1) + "), text
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.array_equal(G, before)
    text, got = _run(f"(A @ B) * ({sech}) + tanh(x) * tanh(x)", {"A": A.shape, "B": Bm.shape, "x": x.shape},
                     {"A": A, "B": Bm, "x": x})
    assert "_times_sech2(A @ B, x, t1, scratch=True)" in text, text
    np.testing.assert_allclose(got, (A @ Bm) * (1 - np.tanh(x) ** 2) + np.tanh(x) ** 2, rtol=1e-12)


def test_times_sech2_is_exact_on_every_path():
    """Blocks (a last partial one, entries near 1 in two of them), a saturated array (cosh for
    all), a small one, Fortran and mismatched layouts; into g exactly when scratch."""
    times = _helper("_times_sech2")
    space = {"np": np}
    exec(HELPERS["_sech2"], space)                   # noqa: S102  (matcalc's own helper source)
    times.__globals__.update(_sech2=space["_sech2"])
    rng = np.random.default_rng(5)

    def exact(g, x):
        e = np.exp(-2 * np.abs(x))
        return g * (4 * e / (1 + e) ** 2)

    x = rng.normal(size=(400, 500)) * 1.5              # 200,000 entries: four blocks
    x.flat[[7, 70_000, 199_999]] = 30.0, -25.0, 800.0
    g = rng.normal(size=x.shape)
    cases = [(g, x), (np.asfortranarray(g), np.asfortranarray(x)), (g, np.asfortranarray(x)),
             (g[:20, :30], x[:20, :30]), (g, 40 * x), (g[::2], x[::2])]
    for gg, xx in cases:
        want = exact(gg, xx)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            kept = gg.copy()
            got = times(gg, xx, np.tanh(xx))
            assert np.array_equal(gg, kept) and got is not gg       # not scratch: g as it was
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
            mine = gg.copy()
            got = times(mine, xx, np.tanh(xx), scratch=True)
            assert got is mine or np.shares_memory(got, mine)
            np.testing.assert_allclose(mine, want, rtol=1e-10, atol=0)
    assert times(g, x, np.tanh(x)).flat[7] > 0                    # where 1 - t² would give 0
