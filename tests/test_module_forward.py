"""One forward pass per module (issue 16): the gradient functions of a module share one
helper, ``_forward_backward``, that computes the value and every gradient with each
shared intermediate once and stops at the gradient asked for; ``grad_Wi`` and
``value_and_grad`` check their arguments and call it, ``value()`` stays forward only.
So an L-layer chain's module grows linearly with L (matcalc/codegen/forward.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import matcalc
from matcalc.codegen import arguments, emit_module, load_module
from matcalc.evaluate import evaluate


def chain(L: int, let: bool = False, names=("X", "Y")) -> dict:
    """J = sum((tanh(W_L @ ... tanh(W_1 @ X)) - Y) ** 2) w.r.t. every W_i."""
    x, y = names
    symbols = {x: {"shape": ["d", "n"], "props": ["constant"]}, y: {"shape": ["d", "n"], "props": ["constant"]}}
    e, lets = x, {}
    for i in range(1, L + 1):
        symbols[f"W{i}"] = {"shape": ["d", "d"]}
        e = f"tanh(W{i} @ {e})"
        if let:
            lets[f"H{i}"], e = e, f"H{i}"
    doc = {"dims": {"n": 5, "d": 3}, "symbols": symbols, "expr": f"sum(({e} - {y}) ** 2)",
           "wrt": [f"W{i}" for i in range(1, L + 1)]}
    return {**doc, "let": lets} if let else doc


def body(code: str, name: str) -> list[str]:
    """The lines of a function after its docstring."""
    text = code.split(f"\ndef {name}(")[1].split("\ndef ")[0]
    return [line.strip() for line in text.split('"""')[2].strip().splitlines()]


def point(L: int, rng, n: int = 5, d: int = 3) -> dict:
    return {"X": rng.normal(size=(d, n)), "Y": rng.normal(size=(d, n)) * 0.5,
            **{f"W{i}": rng.normal(size=(d, d)) for i in range(1, L + 1)}}


def differences(f, values: dict, wrt: str, h: float = 1e-6) -> np.ndarray:
    """The central-difference gradient of ``f`` w.r.t. ``values[wrt]``."""
    out = np.zeros_like(values[wrt])
    for index in np.ndindex(out.shape):
        up, down = ({**values, wrt: values[wrt].copy()} for _ in range(2))
        up[wrt][index] += h
        down[wrt][index] -= h
        out[index] = (f(**up) - f(**down)) / (2 * h)
    return out


def test_a_three_layer_chain_has_one_forward_helper_and_thin_wrappers():
    d = matcalc.derive(chain(3))
    assert d.verified, d.verification
    code = d.code
    # (the sizes n, d too: the layout rules choose a product's orientation from them at run time)
    assert code.count("def _forward_backward(X, Y, W1, W2, W3, n, d, stop=None):") == 1
    for i in (1, 2, 3):
        assert body(code, f"grad_W{i}") == [
            f'X, Y, W1, W2, W3, n, d = _arguments("grad_W{i}", (\'n\', \'d\'), X, Y, W1, W2, W3)',
            f'return _forward_backward(X, Y, W1, W2, W3, n, d, stop="W{i}")']
    assert body(code, "value_and_grad")[-1] == "return _forward_backward(X, Y, W1, W2, W3, n, d)"
    # value() is forward only: one line, no gradient, no helper
    assert body(code, "value") == ['X, Y, W1, W2, W3 = _arguments("value", (), X, Y, W1, W2, W3)',
                                   "return np.sum((np.tanh(W3 @ np.tanh(W2 @ np.tanh(W1 @ X))) - Y) ** 2)"]
    helper = body(code, "_forward_backward")
    # the forward chain written once, the gradients from the last layer back, each stop right after its work
    forward = [line.split("  #")[0] for line in helper[:5]]
    assert forward == ["t1 = W1 @ X", "t2 = np.tanh(t1)", "t3 = W2 @ t2", "t4 = np.tanh(t3)", "t5 = W3 @ t4"]
    stops = [line for line in helper if line.startswith("if ")]
    assert stops == ['if stop == "W3":', 'if stop == "W2":', 'if stop == "W1":']
    assert helper[helper.index('if stop == "W3":') + 1] == "return t7 @ t4.T"
    # t10: W2.T @ ... (layout), multiplied by 1 - tanh² in place (tanh-backprop)
    assert helper[helper.index('if stop == "W1":') - 1] == "grad_W1 = _times_sech2(t10, t1, t2, scratch=True) @ X.T"
    assert helper[-1] == 'return value, {"W1": grad_W1, "W2": grad_W2, "W3": grad_W3}'
    assert code.count("np.tanh(t1)") == 1 and code.count(" = W1 @ X") == 1     # the forward pass once


def test_every_function_agrees_with_finite_differences_and_the_evaluator():
    d = matcalc.derive(chain(3))
    f = d.function()
    values = point(3, np.random.default_rng(1))
    value, grads = f.value_and_grad(**values)
    assert value == pytest.approx(f.value(**values), rel=1e-13)
    assert value == pytest.approx(float(evaluate(d.problem.expr, values, d.problem.dims)), rel=1e-12)
    for s in ("W1", "W2", "W3"):
        alone = getattr(f, f"grad_{s}")(**values)
        np.testing.assert_allclose(alone, grads[s], rtol=1e-13, atol=0)
        np.testing.assert_allclose(alone, evaluate(d.results[s].matrix, values, d.problem.dims), rtol=1e-11)
        np.testing.assert_allclose(alone, differences(f.value, values, s), rtol=1e-6, atol=1e-8)


def test_the_module_grows_linearly_with_the_chain():
    lines = {L: len(matcalc.derive(chain(L), verify=False).code.splitlines()) for L in (4, 8, 16)}
    assert lines[16] / lines[8] <= 2.0, lines          # (2.22 when each grad_Wi wrote out its forward chain)
    assert lines[8] / lines[4] <= 2.0, lines
    # the same lines a layer: the growth from 8 to 16 is twice the growth from 4 to 8 (give or take)
    assert abs((lines[16] - lines[8]) - 2 * (lines[8] - lines[4])) <= 8, lines


def test_let_names_are_the_helpers_intermediates():
    d = matcalc.derive(chain(3, let=True))
    assert d.verified, d.verification
    helper = "\n".join(body(d.code, "_forward_backward"))
    for i in (1, 2, 3):
        assert helper.count(f"H{i} = np.tanh(") == 1
    assert d.code.count("np.tanh(") == 3 + 3          # the helper's and value()'s, nowhere else


def test_functions_still_check_their_arguments():
    f = matcalc.derive(chain(3), verify=False).function()
    values = point(3, np.random.default_rng(2))
    with pytest.raises(ValueError, match=r"grad_W2\(\): argument W2 has shape \(3,\), but it is declared \[d, d\]"):
        f.grad_W2(**{**values, "W2": values["W2"][0]})
    with pytest.raises(ValueError, match=r"value_and_grad\(\): argument X"):
        f.value_and_grad(**{**values, "X": "nope"})


def test_symbols_named_like_the_helpers_parts_are_kept_clear():
    # a symbol called stop, value or _forward_backward: the helper moves out of the way
    d = matcalc.derive(chain(3, names=("stop", "value")) | {"symbols": {
        **chain(3, names=("stop", "value"))["symbols"], "_forward_backward": {"shape": ["d", "n"]}},
        "expr": "sum((tanh(W3 @ tanh(W2 @ tanh(W1 @ stop))) - value) ** 2) + sum(_forward_backward)"})
    assert d.verified, d.verification
    assert "def _forward_backward(stop, value, W1, W2, W3, _forward_backward, n, d, stop_=None):" in d.code
    assert 'return _forward_backward_(stop, value, W1, W2, W3, _forward_backward, n, d, stop_="W1")' in d.code
    assert "value_ = _vdot(t6, t6) + np.sum(_forward_backward)" in d.code
    assert "_forward_backward_ = _forward_backward" in d.code


@pytest.mark.parametrize("expr, wrt, why", [
    # grad_W2 alone computes softmax(A); with the value's log it would be exp(log_softmax(A)): more work
    ("-sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1))) / n", ["W1", "W2"], "the value's log"),
    ("sum(G * (X @ W1 @ W2))", ["W1", "W2"], "no shared work"),
    ("sum(tanh(X @ W1))", ["W1"], "one gradient"),
])
def test_a_helper_only_where_it_saves_work(expr, wrt, why):
    doc = {"dims": {"n": 6, "m": 4, "h": 5, "k": 3},
           "symbols": {"X": {"shape": ["n", "m"], "props": ["constant"]}, "W1": {"shape": ["m", "h"]},
                       "W2": {"shape": ["h", "k"]}, "Y": {"shape": ["n", "k"], "props": ["onehot", "constant"]},
                       "G": {"shape": ["n", "k"], "props": ["constant"]}},
           "expr": expr, "wrt": wrt}
    d = matcalc.derive(doc)
    assert d.verified, d.verification
    assert "_forward_backward" not in d.code, why
    assert all(len(body(d.code, f"grad_{s}")) >= 2 for s in wrt)


def test_an_attention_head_computes_its_softmax_once():
    doc = {"dims": {"n": 6, "d": 4},
           "symbols": {"X": {"shape": ["n", "d"], "props": ["constant"]}, "Wq": {"shape": ["d", "d"]},
                       "Wk": {"shape": ["d", "d"]}, "Wv": {"shape": ["d", "d"]},
                       "G": {"shape": ["n", "d"], "props": ["constant"]}},
           "let": {"Q": "X @ Wq", "K": "X @ Wk", "V": "X @ Wv", "S": "softmax(Q @ K.T / sqrt(d), axis=1)"},
           "expr": "sum(G * (S @ V))", "wrt": ["Wq", "Wk", "Wv"]}
    d = matcalc.derive(doc)
    assert d.verified, d.verification
    # K = X @ Wk and the gradients' Wk.T @ X.T are one product (product-of-transposes), so the
    # softmax is computed once in every function
    for name in ("value_and_grad", "grad_Wq", "grad_Wk", "grad_Wv"):
        text = "\n".join(body(d.code, name))
        assert text.count("_softmax(") + text.count("_forward_backward(") == 1, text


def test_past_many_symbols_the_wrappers_pass_the_checked_tuple(monkeypatch):
    monkeypatch.setattr(arguments, "MANY", 3)
    d = matcalc.derive(chain(3))
    assert d.verified, d.verification
    assert "def _forward_backward(X, Y, W1, W2, W3, n, d, stop=None):" in d.code
    assert body(d.code, "grad_W2") == ['arguments = _arguments("grad_W2", (\'n\', \'d\'), *_values("grad_W2", symbols))',
                                      'return _forward_backward(*arguments, stop="W2")']


def test_the_array_api_module_has_the_same_structure_and_numbers():
    d = matcalc.derive(chain(3), verify=False)
    source = emit_module(d, target="array-api")
    assert "def _forward_backward(xp, X, Y, W1, W2, W3, stop=None):" in source
    assert body(source, "grad_W1")[-1] == 'return _forward_backward(xp, X, Y, W1, W2, W3, stop="W1")'
    pytest.importorskip("array_api_compat")
    portable, numpy_module = load_module(source, "portable"), d.function()
    values = point(3, np.random.default_rng(3))
    for s in ("W1", "W2", "W3"):
        np.testing.assert_allclose(getattr(portable, f"grad_{s}")(**values),
                                   getattr(numpy_module, f"grad_{s}")(**values), rtol=1e-13)
    np.testing.assert_allclose(portable.value_and_grad(**values)[1]["W1"],
                               numpy_module.value_and_grad(**values)[1]["W1"], rtol=1e-13)
