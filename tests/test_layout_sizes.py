"""The layout rules of matcalc/ops/layout_code.py at sizes where their run-time tests hold.

The gallery's declared sizes are small, so there the emitted modules take the ``else``
branch of ``(W1.T @ X.T).T if n > 64 and n > h and n > m >= 128 else X @ W1``.  Here
every function of each module runs at sizes past those tests and is compared with the
reference evaluator (:func:`matcalc.evaluate.evaluate`, the language's semantics, no
emission rule), so the branch laid out by columns is checked by numbers, not by text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import matcalc
from matcalc.evaluate import evaluate

REPO = Path(__file__).resolve().parent.parent

CHAIN = {"name": "chain3", "symbols": {"X": {"shape": ["n", "m"]}, **{f"W{i}": {"shape": ["m", "m"]} for i in (1, 2, 3)}},
         "expr": "sum(tanh(tanh(tanh(X @ W1) @ W2) @ W3))", "wrt": ["W1", "W2", "W3"]}
BIAS = {"name": "bias", "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]}, "b": {"shape": ["k"]},
                                    "G": {"shape": ["n", "k"]}},
        "expr": "sum(tanh(X @ W + b) * G) + sum(sigmoid(X @ W) * G)", "wrt": ["W", "b"]}
RELU = {"name": "relu", "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]}, "V": {"shape": ["k", "p"]}},
        "expr": "sum(maximum(X @ W, 0) @ V) + sum(exp(X @ W / m) * (X @ W))", "wrt": ["W", "V"]}


def _gallery(name: str) -> dict:
    return yaml.safe_load((REPO / "derivations" / f"{name}.yaml").read_text())


CASES = [
    (_gallery("mlp_two_layer"), {"n": 300, "m": 140, "h": 130, "k": 5}),
    (_gallery("output_layer_hessian"), {"n": 300, "d": 140, "h": 130, "k": 4}),
    (CHAIN, {"n": 300, "m": 140}),
    (BIAS, {"n": 300, "m": 150, "k": 130}),
    (RELU, {"n": 300, "m": 150, "k": 130, "p": 3}),
]


def _values(d, dims: dict, rng) -> dict:
    out = {}
    for name, sym in d.problem.symbols.items():
        shape = tuple(dims[s] if isinstance(s, str) else s for s in sym.shape)
        a = rng.normal(size=shape) / np.sqrt(max(shape[0], 1) if len(shape) == 2 and name.startswith("W") else 1)
        if "onehot" in sym.props:
            a = np.eye(shape[1])[rng.integers(shape[1], size=shape[0])]
        elif "nonnegative" in sym.props:
            a = np.abs(a)
        out[name] = a
    return out


@pytest.mark.parametrize("doc, dims", CASES, ids=[c[0]["name"] for c in CASES])
def test_every_function_at_sizes_where_the_layout_tests_hold(doc, dims):
    d = matcalc.derive({**doc, "dims": dims}, verify=False)
    assert ">= 128 else" in d.code          # a tall product laid out by columns at these sizes
    module = d.function()
    values = _values(d, dims, np.random.default_rng(len(dims)))
    want_value = evaluate(d.problem.expr, values, dims)
    assert module.value(**values) == pytest.approx(float(want_value), rel=1e-9)
    wants = {key: evaluate(r.matrix, values, dims) for key, r in d.results.items() if r.kind == "gradient"}
    for key, want in wants.items():
        got = getattr(module, f"grad_{key}")(**values)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11 * max(1.0, float(np.max(np.abs(want)))))
    value, grads = module.value_and_grad(**values)
    assert value == pytest.approx(float(want_value), rel=1e-9)
    for key, want in wants.items():
        np.testing.assert_allclose(grads[key], want, rtol=1e-9, atol=1e-11 * max(1.0, float(np.max(np.abs(want)))))
    for key, r in d.results.items():
        if r.kind == "hessian":
            want = evaluate(r.matrix, values, dims)
            np.testing.assert_allclose(getattr(module, f"hess_{key}")(**values), want, rtol=1e-9,
                                       atol=1e-11 * max(1.0, float(np.max(np.abs(want)))))
