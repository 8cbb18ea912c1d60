"""``let:`` (issue 14): named intermediates, in order, each may use the earlier ones.
The user's names are the ones the steps use, a result is written in them where that is
shorter (its JSON object then holds their definitions, so it parses again), the emitted
code computes each once under its name, and the documents state them.  Every test
checks the printed form and the numbers (the derivation's own check of the emitted
module against finite differences, and a read-back of the JSON text)."""

from __future__ import annotations

import json

import numpy as np

import matcalc
from matcalc.evaluate import evaluate
from matcalc.pipeline import read_back
from matcalc.render.report import as_dict
from matcalc.verify import draw_inputs

TWO_LAYER = {"name": "two_layer", "dims": {"n": 8, "d": 4, "h": 5, "k": 3},
             "symbols": {"X": {"shape": ["n", "d"], "props": ["constant"]},
                         "Y": {"shape": ["n", "k"], "props": ["onehot"]},
                         "W1": {"shape": ["d", "h"]}, "W2": {"shape": ["h", "k"]}},
             "let": {"H": "tanh(X @ W1)", "P": "softmax(H @ W2, axis=1)"},
             "expr": "-sum(Y * log(P)) / n", "wrt": ["W1", "W2"]}

ATTENTION = {"name": "attention_head", "dims": {"n": 6, "d": 4},
             "symbols": {"X": {"shape": ["n", "d"], "props": ["constant"]}, "Wq": {"shape": ["d", "d"]},
                         "Wk": {"shape": ["d", "d"]}, "Wv": {"shape": ["d", "d"]},
                         "G": {"shape": ["n", "d"], "props": ["constant"]}},
             "let": {"Q": "X @ Wq", "K": "X @ Wk", "V": "X @ Wv", "S": "softmax(Q @ K.T / sqrt(d), axis=1)"},
             "expr": "sum(G * (S @ V))", "wrt": ["Wq", "Wk", "Wv"]}

SOFTMAX_REGRESSION = {"name": "softmax_regression", "dims": {"n": 8, "m": 4, "k": 3},
                      "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]},
                                  "Y": {"shape": ["n", "k"], "props": ["onehot"]}, "lam": {"shape": []}},
                      "let": {"Z": "X @ W", "S": "softmax(Z, axis=1)"},
                      "expr": "-sum(Y * log(S)) / n + lam * sum(W * W)", "wrt": ["W"]}


def _reads_back(d) -> None:
    """Each JSON result, parsed again with its ``let``, has the value of the result."""
    out = json.loads(json.dumps(as_dict(d)))
    p = d.problem
    values = draw_inputs([p.expr], p.symbols, p.dims, np.random.default_rng(3))
    for name, r in d.results.items():
        entry = out["results"][name]
        again = read_back(entry["matrix"], list(entry.get("let", {}).items()), d.problem, entry["shape"])
        np.testing.assert_allclose(evaluate(again, values, d.problem.dims),
                                   evaluate(r.matrix, values, d.problem.dims), rtol=1e-10, atol=1e-12)


def test_softmax_regression_gradient_in_the_let_names():
    d = matcalc.derive(SOFTMAX_REGRESSION)
    r = d.results["W"]
    assert r.text == "X.T @ (S - Y) / n + 2 * lam * W"
    out = as_dict(d)
    assert out["results"]["W"]["let"] == {"Z": "X @ W", "S": "softmax(Z, axis=1)"}
    assert out["let"] == {"Z": "X @ W", "S": "softmax(Z, axis=1)"}
    assert d.verified
    _reads_back(d)


def test_two_layer_network_reads_well_and_verifies():
    d = matcalc.derive(TWO_LAYER)
    assert d.results["W2"].text == "H.T @ (P - Y) / n"
    assert d.results["W1"].text == "X.T @ ((P - Y) @ W2.T * (1 - H ** 2)) / n"
    assert d.verified
    _reads_back(d)
    steps = [x.name for x in d.results["W1"].record.definitions]
    assert "H" in steps and "P" in steps          # the user's names, not S or a numbered H
    assert "S" not in steps


def test_attention_head_reads_well_and_verifies():
    d = matcalc.derive(ATTENTION)
    assert d.results["Wv"].text == "X.T @ (S.T @ G)"
    back = "S * (G @ V.T - sum(G @ V.T * S, axis=1, keepdims=True))"    # the softmax backward, shared
    assert d.results["Wq"].text == f"X.T @ ({back} @ K) / sqrt(d)"
    assert d.results["Wk"].text == f"X.T @ (({back}).T @ Q) / sqrt(d)"
    assert list(as_dict(d)["results"]["Wv"]["let"]) == ["Q", "K", "S"]     # only what the text needs
    assert d.verified
    _reads_back(d)


def test_the_code_computes_each_let_once_under_its_name():
    d = matcalc.derive(TWO_LAYER)
    grad_w2 = d.code.split("def grad_W2")[1].split("def ")[0]
    assert grad_w2.count("H = np.tanh(t1)") == 1          # t1: X @ W1 laid out (ops/layout_code.py)
    assert grad_w2.count("t1 = (W1.T @ X.T).T if n > 64 and n > h and n > d >= 128 else X @ W1") == 1
    assert grad_w2.count("P = _softmax(t2, axis=1)") == 1     # t2: H @ W2 laid out
    assert "    H = tanh(X @ W1)" in d.code.split('"""')[1]        # the module's docstring states them
    f = d.function()
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.normal(size=(8, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5, 3))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    H = np.tanh(X @ W1)
    Z = H @ W2
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    np.testing.assert_allclose(f.grad_W2(X=X, Y=Y, W1=W1, W2=W2), H.T @ (P - Y) / 8, rtol=1e-10)


def test_the_documents_state_the_definitions():
    d = matcalc.derive(TWO_LAYER, verify=False)
    head = d.markdown().split("## Gradient")[0]
    assert "H &= \\tanh(X W_{1})" in head
    assert "P &= \\operatorname{softmax}\\left(H W_{2}\\right)" in head
    assert "\\log(P)" in head                         # J written in the let names
    tex = d.latex().split("\\section*")[0]
    assert "H &= \\tanh(X W_{1})" in tex and "\\log(P)" in tex


def test_a_scalar_let_used_twice():
    d = matcalc.derive({"name": "sq", "dims": {"n": 3}, "symbols": {"X": {"shape": ["n", "n"]}},
                        "let": {"s": "sum(X * X)", "u": "s * s"}, "expr": "u + s"})
    assert d.results["X"].text == "(2 + 4 * s) * X"
    assert d.verified
    _reads_back(d)


def test_a_let_that_does_not_shorten_the_result_is_not_used():
    d = matcalc.derive({"name": "lin", "dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}, "a": {"shape": ["n"]}},
                        "let": {"z": "a @ x"}, "expr": "z"})
    assert d.results["x"].text == "a" and not d.results["x"].let
    assert "let" not in as_dict(d)["results"]["x"]


def test_derivations_list_and_yaml_text():
    text = ("derivations:\n  - name: one\n    dims: {n: 3}\n    symbols:\n      x: {shape: [n]}\n"
            "    let:\n      e: exp(x)\n      s: sum(e)\n    expr: log(s)\n"
            "  - name: two\n    dims: {n: 3}\n    symbols:\n      x: {shape: [n]}\n    expr: sum(x * x)\n")
    one, two = matcalc.derive(text)
    assert one.results["x"].text == "e / s"
    assert one.verified and two.verified
    assert not two.problem.let


def test_a_let_may_use_dims_and_scalars_and_cli_json(tmp_path):
    from support import run_cli

    path = tmp_path / "t.yaml"
    path.write_text("dims: {n: 4}\nsymbols:\n  x: {shape: [n]}\n  c: {shape: []}\n"
                    "let:\n  m: sum(x) / n\n  C: x - m\nexpr: C @ C / n + c * m\n")
    result = run_cli("derive", str(path), "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["let"] == {"m": "sum(x) / n", "C": "x - m"}
    assert all(v["passed"] for v in out["verification"].values())


def test_hessian_and_jacobian_with_lets_use_the_names():
    base = {"dims": {"n": 4, "m": 3},
            "symbols": {"A": {"shape": ["m", "n"], "props": ["constant"]}, "x": {"shape": ["n"]}}}
    h = matcalc.derive({**base, "name": "h", "let": {"z": "A @ x", "e": "exp(z)"}, "expr": "log(sum(e))",
                        "order": 2})
    assert h.results["x"].text == "(A.T @ diag(e) @ A - outer(A.T @ e, A.T @ e) / sum(e)) / sum(e)"
    assert h.verified
    _reads_back(h)
    j = matcalc.derive({**base, "name": "j", "let": {"z": "A @ x", "s": "softmax(z)"}, "expr": "s * s"})
    assert j.results["x"].text == "2 * (diag(s ** 2) @ A - outer(s ** 2, A.T @ s))"
    assert j.verified
    _reads_back(j)
    assert [d.name for d in j.results["x"].entrywise.definitions] == ["z", "s"]
