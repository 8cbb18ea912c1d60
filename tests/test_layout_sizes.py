"""The layout rules of matcalc/ops/layout_code.py at sizes where their run-time tests hold.

The gallery's declared sizes are small, so there the emitted modules take the ``else``
branch of ``(W1.T @ X.T).T if n > 64 and n > h and n > m >= 128 else X @ W1``.  Here
every function of each module runs at sizes past those tests and is compared with the
reference evaluator (:func:`matcalc.evaluate.evaluate`, the language's semantics, no
emission rule), so the branch laid out by columns is checked by numbers, not by text."""

from __future__ import annotations

import random
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


ACTIVATIONS = ("tanh({})", "sigmoid({})", "maximum({}, 0)", "exp({} / m)", "softplus({})", "({}) * tanh({})")
LOSSES = ("-sum(Y * log(softmax({}, axis=1))) / n", "sum(({} - Y) ** 2) / 2", "sum(logsumexp({}, axis=1))",
          "sum({} * Y)")


def _network(seed: int) -> tuple[dict, dict]:
    """A random network of one to three layers (activation, optional bias, a loss), sized
    so that some products pass the layout tests, with weights from small to saturating."""
    r = random.Random(seed)
    dims = {"n": r.choice([100, 300]), "m": r.choice([20, 130, 150]), "h": r.choice([10, 128, 140]),
            "k": r.choice([3, 12])}
    symbols = {"X": {"shape": ["n", "m"]}, "Y": {"shape": ["n", "k"]}}
    expr, width, layers = "X", "m", r.randint(1, 3)
    for i in range(1, layers + 1):
        out = "k" if i == layers else "h"
        symbols[f"W{i}"] = {"shape": [width, out]}
        z = f"{expr} @ W{i}"
        if r.random() < 0.3:
            symbols[f"b{i}"] = {"shape": [out]}
            z = f"({z} + b{i})"
        expr = z if i == layers else r.choice(ACTIVATIONS).replace("{}", z)
        width = out
    scale = r.choice([0.3, 1.0, 5.0])
    doc = {"name": "net", "dims": dims, "symbols": symbols, "expr": r.choice(LOSSES).format(expr),
           "wrt": [s for s in symbols if s not in ("X", "Y")]}
    return doc, {"scale": scale}


def test_random_networks_at_sizes_where_the_layout_tests_hold():
    """80 random networks: every gradient function and value_and_grad against the reference
    evaluator (the value too where the evaluator's naive log-softmax is finite)."""
    flipped = 0
    for seed in range(80):
        doc, extra = _network(seed)
        dims = doc["dims"]
        d = matcalc.derive(doc, verify=False)
        flipped += ".T).T if" in d.code
        module = d.function()
        rng = np.random.default_rng(seed)
        values = {s: rng.standard_normal([dims[x] for x in v["shape"]])
                  * (extra["scale"] / np.sqrt(dims[v["shape"][0]]) if s.startswith("W") else 1.0)
                  for s, v in doc["symbols"].items()}
        with np.errstate(all="ignore"):
            value, grads = module.value_and_grad(**values)
            want_value = float(evaluate(d.problem.expr, values, dims))
            if np.isfinite(want_value):
                assert value == pytest.approx(want_value, rel=1e-9), (seed, doc["expr"])
            for key, r in d.results.items():
                want = np.asarray(evaluate(r.matrix, values, dims))
                tol = 1e-10 * max(1.0, float(np.max(np.abs(want))))
                for got in (grads[key], getattr(module, f"grad_{key}")(**values)):
                    np.testing.assert_allclose(got, want, rtol=1e-8, atol=tol, err_msg=f"{seed}: {doc['expr']} {key}")
    assert flipped >= 40, flipped
