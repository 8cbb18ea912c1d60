"""Shapes as products and sums of dimensions (issue 14): ``[p*r, q*s]``, ``[n+1]``,
``[2*n]``, read by a tiny grammar (never eval), canonical so two spellings are one
dimension, and refused in the house style where they do not read."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import matcalc
from matcalc import dimexpr
from matcalc.errors import SpecError


def test_doctests():
    assert doctest.testmod(dimexpr).failed == 0


@pytest.mark.parametrize("text, canonical", [
    ("p*r", "p*r"), ("r*p", "p*r"), ("n+1", "n+1"), ("1+n", "n+1"), ("2*n", "2*n"), ("n*2", "2*n"),
    ("(n+1)*m", "m*n+m"), ("m*(1+n)", "m*n+m"), ("n + n", "2*n"), ("2*3", 6), ("n-1", "n-1"),
    ("((n))", "n"), ("n*n", "n*n"),
])
def test_canonical(text, canonical):
    assert dimexpr.canonical(text) == canonical


def test_size_and_code_agree():
    sizes = {"m": 3, "n": 5}
    for text in ("m*n+m", "2*n-1", "n+1", "m*n"):
        code = dimexpr.code(text)
        value = eval(code, {}, dict(sizes))
        assert value == dimexpr.size(text, sizes)


def test_kron_shape_equals_a_declared_product():
    """kron(A, X) with A [p, q], X [r, s] has the shape of G declared [p*r, q*s]
    (written here as r*p: the same dimension), so sum(G * kron(A, X)) type-checks."""
    p = matcalc.derive({"name": "k", "dims": {"p": 3, "q": 2, "r": 2, "s": 3},
                        "symbols": {"G": {"shape": ["r*p", "q*s"]}, "A": {"shape": ["p", "q"]},
                                    "X": {"shape": ["r", "s"]}},
                        "expr": "sum(G * kron(A, X)) + sum(G * G)", "wrt": ["G"]})
    assert p.problem.symbols["G"].shape == ("p*r", "q*s")
    assert p.results["G"].text == "2 * G + kron(A, X)"
    assert p.verified


def test_sums_derive_and_verify():
    """A [2*n, n+1] and x [n+1]: the check draws arrays of 8x5 and 5 at n = 4."""
    d = matcalc.derive({"name": "s", "dims": {"n": 4, "m": 3},
                        "symbols": {"x": {"shape": ["n+1"]}, "A": {"shape": ["2*n", "n+1"]},
                                    "B": {"shape": ["m*(n+1)", "m"]}},
                        "expr": "sum(tanh(A @ x)) + sum(B * B) / (n + 1)"})
    assert d.verified
    assert d.results["B"].text == "2 * B / (1 + n)"
    assert d.results["B"].shape == ("m*n+m", "m")
    assert d.results["x"].text == "A.T @ (1 - tanh(A @ x) ** 2)"
    assert [c.shape for c in d.verification.values()] == [(5,), (8, 5), (15, 3)]
    f = d.function()
    rng = np.random.default_rng(1)
    x, A, B = rng.normal(size=5), rng.normal(size=(8, 5)), rng.normal(size=(15, 3))
    assert np.allclose(f.grad_B(x=x, A=A, B=B), 2 * B / 5)


def test_mean_over_a_sum_dimension_divides_by_it():
    d = matcalc.derive({"name": "m", "dims": {"n": 4}, "symbols": {"x": {"shape": ["n+1"]}},
                        "expr": "mean(x * x)"})
    assert d.verified
    assert d.results["x"].text == "2 * x / (1 + n)"
    from matcalc.render.unicode import index_unicode

    assert index_unicode(d.results["x"].explanation.index_form).endswith("/(n+1)")


DOC = "name: b\ndims: {{n: 4}}\nsymbols:\n  x: {{shape: [{dim}]}}\nexpr: sum(x * x)\n"


@pytest.mark.parametrize("dim, message, caret, hint", [
    ("n+", "ends too early", "^", "finish it"),
    ("n+k", "undefined dimension 'k'", "^", "under dims"),
    ("n-4", "is 0 at n = 4", "^^^", "positive"),
    ("n**2", "unexpected '*'", "^", "p*r or n+1"),
    ("(n+1", "'(' is not closed", "^", "')'"),
    ("n+1)", "unexpected ')'", "^", None),
    ("3*n-3*n", "is 0", "^^^^^^^", "positive"),
    ("n;1", "';' cannot appear", "^", None),
    ("n.x", "'.' cannot appear", "^", None),
    ("__import__('os')", "cannot appear", "^", None),
    ("1000*1000", "at most 100,000", None, None),
    ("(" * 30 + "n" + ")" * 30, "nested more than 20", "^", None),
])
def test_bad_dimension_is_one_located_spec_error(dim, message, caret, hint):
    text = DOC.format(dim=dim)
    with pytest.raises(SpecError) as info:
        matcalc.derive(text, verify=False)
    err = info.value
    assert message in err.message
    assert err.location.line == 4
    if caret:
        shown = "\n".join(err.location.snippet())
        assert caret in shown
        column = text.splitlines()[3].index(dim)
        assert err.location.caret_start >= column
    if hint:
        assert hint in err.hint


def test_bad_dimension_on_the_command_line_exits_2(tmp_path):
    from support import run_cli

    path = tmp_path / "b.yaml"
    path.write_text(DOC.format(dim="n+k"))
    result = run_cli("derive", str(path))
    assert result.exit_code == 2
    assert "undefined dimension 'k'" in result.output and "^" in result.output


def test_a_long_dimension_text_is_refused_before_reading():
    with pytest.raises(dimexpr.DimSyntax):
        dimexpr.parse("n+" * 200 + "1")


def test_a_product_of_names_against_a_number_says_how_to_declare_it():
    from matcalc.errors import ShapeError

    with pytest.raises(ShapeError) as info:
        matcalc.derive({"dims": {"p": 3, "q": 2, "r": 2, "s": 3},
                        "symbols": {"M": {"shape": [6, 6]}, "A": {"shape": ["p", "q"]}, "B": {"shape": ["r", "s"]}},
                        "expr": "sum(M * kron(A, B))"}, verify=False)
    # both sizes are 6 with these dims: the message says so and how to declare it
    assert "6 and q*s (= 6) are equal here" in info.value.message
    assert "declare the shape as [p*r, q*s]" in info.value.hint
