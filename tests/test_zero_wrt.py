"""A ``wrt`` symbol that does not occur in the expression (issue 14): the zero
derivative, as SymPy answers, not a refusal.  Printed ``0`` (latex ``0``), with the
symbol's shape, emitted as zeros of the shape read off the argument, verified (finite
differences are 0), and a note saying why."""

from __future__ import annotations

import json

import numpy as np

import matcalc

DOC = {"name": "unused", "dims": {"n": 4, "m": 3},
       "symbols": {"X": {"shape": ["n", "m"]}, "S": {"shape": ["m", "m"]}, "v": {"shape": ["m"]},
                   "c": {"shape": []}},
       "expr": "sum(X * X)", "wrt": ["X", "S", "v", "c"]}


def test_gradient_of_an_unused_symbol_is_zero_with_a_note():
    d = matcalc.derive(DOC)
    assert d.results["X"].text == "2 * X" and d.results["X"].note is None
    for name, shape in (("S", ("m", "m")), ("v", ("m",)), ("c", ())):
        r = d.results[name]
        assert r.text == "0"
        assert r.shape == shape
        assert r.note == f"{name} does not occur in the expression: its derivative is 0"
        assert d.verification[name].status == "passed"
    f = d.function()
    args = {"X": np.ones((6, 2)), "S": np.ones((2, 2)), "v": np.ones(2), "c": 1.0}   # other sizes than dims:
    assert f.grad_S(**args).shape == (2, 2) and not f.grad_S(**args).any()
    assert f.grad_v(**args).shape == (2,) and not f.grad_v(**args).any()
    assert f.grad_c(**args) == 0
    assert np.allclose(f.grad_X(**args), 2 * args["X"])


def test_json_holds_text_latex_shape_and_note():
    from matcalc.render.report import as_dict

    out = json.loads(json.dumps(as_dict(matcalc.derive(DOC))))
    assert out["results"]["S"] == {"matrix": "0", "latex": "0", "shape": ["m", "m"], "kind": "gradient",
                                   "note": "S does not occur in the expression: its derivative is 0"}
    assert "note" not in out["results"]["X"]
    assert "np.zeros((m, m))" in out["code"]


def test_the_derivation_says_so():
    d = matcalc.derive(DOC)
    assert "S does not occur in the expression: its derivative is 0." in d.markdown()
    assert "S does not occur in the expression" in d.latex()


def test_hessian_of_an_unused_vector_is_zeros_n_by_n():
    doc = {"name": "unused2", "dims": {"n": 4, "m": 3},
           "symbols": {"x": {"shape": ["n"]}, "v": {"shape": ["m"]}, "c": {"shape": []}},
           "expr": "sum(x * x * x)", "wrt": ["x", "v", "c"], "order": 2}
    d = matcalc.derive(doc)
    assert d.verified
    assert d.results["x"].text == "6 * diag(x)"
    assert d.results["v"].text == "0" and d.results["v"].shape == ("m", "m")
    assert d.results["v"].note is not None
    f = d.function()
    assert f.hess_v(x=np.ones(4), v=np.ones(5), c=0.0).shape == (5, 5)
    assert not f.hess_v(x=np.ones(4), v=np.ones(5), c=0.0).any()


def test_jacobian_of_an_unused_vector_is_zeros_out_by_in():
    doc = {"name": "unused3", "dims": {"n": 4, "m": 3},
           "symbols": {"x": {"shape": ["n"]}, "v": {"shape": ["m"]}},
           "expr": "exp(x)", "wrt": ["x", "v"]}
    d = matcalc.derive(doc)
    assert d.verified
    assert d.results["v"].text == "0" and d.results["v"].shape == ("n", "m")
    assert d.function().grad_v(x=np.ones(4), v=np.ones(3)).shape == (4, 3)


def test_cli_exit_0_and_the_note_is_printed(tmp_path):
    from support import run_cli

    path = tmp_path / "u.yaml"
    path.write_text("dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\n  y: {shape: [n]}\n"
                    "expr: sum(x * x)\nwrt: [x, y]\n")
    result = run_cli("derive", str(path))
    assert result.exit_code == 0
    assert "y does not occur in the expression: its derivative is 0" in result.output
