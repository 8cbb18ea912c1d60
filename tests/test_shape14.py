"""Issue 14, shape operations: reshape, vec, indexing and slicing, commutation, and the
kron adjoints with no Kronecker form.  Each derivation is checked by its printed form
and by its numbers (the verifier's finite differences, and a second evaluation here)."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc import ir
from matcalc.errors import ExprSyntaxError, ForbiddenSyntaxError, ShapeError, UnknownNameError
from matcalc.evaluate import evaluate
from matcalc.language import to_text
from matcalc.ops.shape import commutation
from matcalc.parse import parse
from matcalc.render.latex import to_latex
from matcalc.render.unicode import to_unicode

SYMS = {"X": ir.Symbol(("n", "m"), "X"), "x": ir.Symbol(("n",), "x"), "A": ir.Symbol((6, 4), "A"),
        "G": ir.Symbol(("m*p", "n*q"), "G")}
DIMS = {"n": 3, "m": 4, "p": 2, "q": 12}

# form, shape, printed back (the language), LaTeX
TABLE = [
    ("reshape(X, (m, n))", ("m", "n"), "reshape(X, (m, n))", r"\operatorname{reshape}\left(X, (m, n)\right)"),
    ("reshape(X, (m*n,))", ("m*n",), "reshape(X, (m*n,))", None),
    ("reshape(x, (n, 1))", ("n", 1), "reshape(x, (n, 1))", None),
    ("reshape(A, (p, q))", ("p", "q"), "reshape(A, (p, q))", None),       # 24 entries by the sizes
    ("reshape(G, (n*q, m*p))", ("n*q", "m*p"), "reshape(G, (n*q, m*p))", None),
    ("vec(X)", ("m*n",), "vec(X)", r"\operatorname{vec}(X)"),
    ("vec(x)", ("n",), "vec(x)", None),
    ("X[0]", ("m",), "X[0]", "X[0]"),
    ("X[0, :]", ("m",), "X[0]", None),
    ("X[:, 0]", ("n",), "X[:, 0]", None),
    ("X[0:n-1, :]", ("n-1", "m"), "X[:n-1]", None),
    ("X[1:, 1:3]", ("n-1", 2), "X[1:, 1:3]", None),
    ("x[1:n]", ("n-1",), "x[1:]", None),
    ("x[-1]", (), "x[n-1]", None),
    ("X[0, m-1]", (), "X[0, m-1]", None),
    ("(X + X)[0]", ("m",), "(X + X)[0]", r"\left(X + X\right)[0]"),
    ("X.T[0]", ("n",), "X.T[0]", None),
    ("commutation(m, n)", ("m*n", "m*n"), "commutation(m, n)", "K_{mn}"),
    ("commutation(n)", ("n*n", "n*n"), "commutation(n)", "K_{nn}"),
]


@pytest.mark.parametrize("text,shape,back,latex", TABLE, ids=[t[0] for t in TABLE])
def test_the_forms_parse_with_their_shapes_and_print_back(text, shape, back, latex):
    e = parse(text, SYMS, DIMS)
    assert e.shape == shape
    assert to_text(e) == back
    assert parse(back, SYMS, DIMS) == e
    if latex is not None:
        assert to_latex(e) == latex
    assert to_unicode(e)


def test_the_forms_evaluate_as_numpy():
    rng = np.random.default_rng(0)
    X, x = rng.normal(size=(3, 4)), rng.normal(size=3)
    values = {"X": X, "x": x}
    cases = {"reshape(X, (m, n))": X.reshape(4, 3), "vec(X)": X.T.reshape(-1), "X[:, 0]": X[:, 0],
             "X[0:n-1, :]": X[:2], "x[1:n]": x[1:], "x[-1]": x[-1], "X[1:, 1:3]": X[1:, 1:3],
             "commutation(n, m) @ vec(X)": X.reshape(-1)}      # K_nm vec(X) = vec(Xᵀ)
    for text, want in cases.items():
        np.testing.assert_allclose(evaluate(parse(text, SYMS, DIMS), values, DIMS), want, err_msg=text)


def test_the_commutation_matrix_transposes_vec():
    A = np.arange(12.0).reshape(3, 4)
    K = commutation((3, 4))
    np.testing.assert_array_equal(K @ A.reshape(-1, order="F"), A.T.reshape(-1, order="F"))
    np.testing.assert_array_equal(K.T @ K, np.eye(12))


def derive(expr, symbols, wrt, dims=None, **kw):
    doc = {"dims": dims or {"n": 3, "m": 4}, "symbols": symbols, "expr": expr, "wrt": wrt}
    d = matcalc.derive(doc, **kw)
    assert d.verified, d.verification
    return d


def test_a_column_squared():
    d = derive("sum(X[:, 0] ** 2)", {"X": {"shape": ["n", "m"]}}, ["X"])
    assert d.results["X"].text == "2 * outer(X[:, 0], eye(m)[0])"
    X = np.random.default_rng(1).normal(size=(3, 4))
    want = np.zeros((3, 4))
    want[:, 0] = 2 * X[:, 0]
    np.testing.assert_allclose(evaluate(d.results["X"].matrix, {"X": X}, {"n": 3, "m": 4}), want)


def test_slices_put_the_adjoint_back():
    d = derive("sum(sin(X[1:n, :])) + x[0] * x[-1] + sum(x[1:] ** 3)",
               {"X": {"shape": ["n", "m"]}, "x": {"shape": ["n"]}}, ["X", "x"])
    assert d.results["X"].text == "eye(n)[1:].T @ cos(X[1:])"
    assert d.results["x"].text == "3 * eye(n)[1:].T @ x[1:] ** 2 + x[n-1] * eye(n)[0] + x[0] * eye(n)[n-1]"
    x = np.array([0.5, -1.0, 2.0])
    got = evaluate(d.results["x"].matrix, {"x": x, "X": np.zeros((3, 4))}, {"n": 3, "m": 4})
    np.testing.assert_allclose(got, [x[2], 3 * x[1] ** 2, x[0] + 3 * x[2] ** 2])


def test_vec_of_a_product_dotted_with_a_vec():
    """vec(A X B) · vec(Y) = tr((A X B)ᵀ Y), so ∂/∂X = Aᵀ Y Bᵀ (Cookbook eq. 100 with vec)."""
    d = derive("vec(A @ X @ B) @ vec(Y)", {"A": {"shape": ["n", "n"]}, "X": {"shape": ["n", "m"]},
                                           "B": {"shape": ["m", "m"]}, "Y": {"shape": ["n", "m"]}}, ["X", "Y"])
    assert d.results["X"].text == "A.T @ (Y @ B.T)"
    assert d.results["Y"].text == "A @ X @ B"


def test_reshape_gives_its_adjoint_back_reshaped():
    d = derive("sum(reshape(X, (m, n)) @ A)", {"X": {"shape": ["n", "m"]}, "A": {"shape": ["n", "n"]}}, ["X"])
    assert d.results["X"].text == "reshape(ones(m, n) @ A.T, (n, m))"


def test_the_commutation_matrix_in_a_derivation():
    """vec(Xᵀ) · K_nm vec(X) = ‖X‖², whose gradient is 2X."""
    d = derive("vec(X.T) @ commutation(n, m) @ vec(X)", {"X": {"shape": ["n", "m"]}}, ["X"])
    X = np.random.default_rng(2).normal(size=(3, 4))
    np.testing.assert_allclose(evaluate(d.results["X"].matrix, {"X": X}, {"n": 3, "m": 4}), 2 * X, atol=1e-12)
    assert parse(d.results["X"].text, {"X": SYMS["X"]}, {"n": 3, "m": 4}) is not None


def test_the_nearest_kronecker_product():
    """min ‖M - A ⊗ B‖²: the adjoint of kron with no Kronecker form is a block sum,
    Ā = (I ⊗ 1ᵀ)(G ∘ (1 ⊗ B))(I ⊗ 1), B̄ = (1ᵀ ⊗ I)(G ∘ (A ⊗ 1))(1 ⊗ I)."""
    dims = {"p": 3, "q": 2, "r": 2, "s": 3}
    d = derive("sum((reshape(M, (p*r, q*s)) - kron(A, B)) ** 2)",
               {"M": {"shape": [6, 6], "props": ["constant"]}, "A": {"shape": ["p", "q"]},
                "B": {"shape": ["r", "s"]}}, ["A", "B"], dims)
    assert d.results["A"].text == ("2 * (sum(B ** 2) * A - kron(eye(p), ones(1, r)) @ (kron(ones(p, q), B) "
                                   "* reshape(M, (p*r, q*s))) @ kron(eye(q), ones(s, 1)))")
    assert d.results["B"].text == ("2 * (sum(A ** 2) * B - kron(ones(1, p), eye(r)) @ (kron(A, ones(r, s)) "
                                   "* reshape(M, (p*r, q*s))) @ kron(ones(q, 1), eye(s)))")
    rng = np.random.default_rng(3)
    M, A, B = rng.normal(size=(6, 6)), rng.normal(size=(3, 2)), rng.normal(size=(2, 3))
    R = M - np.kron(A, B)           # Ā_ij = -2 Σ_kl R_(2i+k),(3j+l) B_kl, by einsum on the 4-D view
    want_a = -2 * np.einsum("ikjl,kl->ij", R.reshape(3, 2, 2, 3), B)
    want_b = -2 * np.einsum("ikjl,ij->kl", R.reshape(3, 2, 2, 3), A)
    values = {"M": M, "A": A, "B": B}
    np.testing.assert_allclose(evaluate(d.results["A"].matrix, values, dims), want_a, rtol=1e-12)
    np.testing.assert_allclose(evaluate(d.results["B"].matrix, values, dims), want_b, rtol=1e-12)


def test_kron_of_vectors_with_an_unstructured_adjoint():
    d = derive("sum(sin(kron(x, y)))", {"x": {"shape": ["n"]}, "y": {"shape": ["m"]}}, ["x", "y"])
    assert d.results["x"].text == "kron(eye(n), ones(1, m)) @ (cos(kron(x, y)) * kron(ones(n), y))"
    assert d.results["y"].text == "kron(ones(1, n), eye(m)) @ (cos(kron(x, y)) * kron(x, ones(m)))"


def test_the_emitted_code_for_every_target():
    d = derive("sum(reshape(X, (m, n)) ** 2) + vec(X) @ commutation(m, n) @ vec(X.T) + sum(X[1:, 0] ** 3)",
               {"X": {"shape": ["n", "m"]}}, ["X"], targets=("numpy", "array-api"))
    assert ".reshape(m, n)" in d.code and "X[1:, 0]" in d.code
    assert "_commutation(" not in d.code       # issue 15: a product with K_mn is a reshape, never a matrix product


# -- errors: what is wrong, where (a caret), a hint --------------------------------------

HOSTILE = [
    ("reshape(X, (m, m))", ShapeError, "reshape cannot make [m, m] of [n, m]", "as many entries"),
    ("reshape(X, (n, m, 1))", ShapeError, "3 axes", "vector or a matrix"),
    ("reshape(X, n)", ExprSyntaxError, "tuple", "reshape(A, (p, q))"),
    ("reshape(X, (-1,))", ExprSyntaxError, "not -1", "m*n"),
    ("X[0:n+1, :]", ShapeError, "runs past the end of axis 0", "indices 0 to n-1"),
    ("x[5]", ShapeError, "index 5 is out of range", "n (= 3) entries"),
    ("x[-4]", ShapeError, "out of range", "indices 0 to n-1"),
    ("X[2:1]", ShapeError, "is empty", None),
    ("X[0, 0, 0]", ShapeError, "too many indices", "X[i, j]"),
    ("X[[0, 1]]", ForbiddenSyntaxError, "lists and tuples of indices", "one index or one slice"),
    ("X[0.5]", ExprSyntaxError, "must be an integer", "whole numbers"),
    ("X[i]", ExprSyntaxError, "unknown dimension 'i'", "dims:"),
    ("X[x]", ExprSyntaxError, "not the symbol 'x'", "integers and names from dims"),
    ("x[::2]", ForbiddenSyntaxError, "step", "contiguous"),
    ("vec(2)", ShapeError, "not a scalar", None),
    ("commutation(n, m, m)", ShapeError, "one or two dimensions", "commutation(m, n)"),
    ("M - kron(A, B)", ShapeError, "q*s (= 6) are equal here", "reshape(..., (p*r, q*s))"),
]


@pytest.mark.parametrize("text,error,message,hint", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_bad_shape_forms_are_located_with_a_hint(text, error, message, hint):
    doc = {"dims": {"n": 3, "m": 4, "p": 3, "q": 2, "r": 2, "s": 3},
           "symbols": {"X": {"shape": ["n", "m"]}, "x": {"shape": ["n"]}, "M": {"shape": [6, 6]},
                       "A": {"shape": ["p", "q"]}, "B": {"shape": ["r", "s"]}},
           "expr": f"sum({text})"}
    with pytest.raises(error) as info:
        matcalc.derive(doc, verify=False)
    err = info.value
    assert message in err.message, err.message
    assert err.location is not None and err.location.caret_end > err.location.caret_start
    if hint is not None:
        assert err.hint and hint in err.hint, err.hint


def test_the_cli_exits_2_with_a_caret(tmp_path):
    from support import run_cli
    path = tmp_path / "t.yaml"
    path.write_text("dims: {n: 3, m: 4}\nsymbols:\n  X: {shape: [n, m]}\nexpr: sum(X[0:n+2, :])\n")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2
    assert "^" in result.output + (result.stderr or "") and "runs past the end" in result.output + (result.stderr or "")


def test_unknown_name_in_an_index_suggests_the_dimension():
    with pytest.raises(ExprSyntaxError) as info:
        parse("x[nn]", SYMS, DIMS)
    assert "'n'" in (info.value.hint or "")
    assert not isinstance(info.value, UnknownNameError)
