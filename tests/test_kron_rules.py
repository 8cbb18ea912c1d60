"""Issue 15, the Kronecker/vec algebra of the tidy pass (matcalc/matrix/rules/kron.py):
each raw form the recognizer makes comes out as short as Magnus and Neudecker write it.
Every case asserts the printed form, the rules that fired, that the form did not grow
(unless a canonical rule moved it: transposes and inverses onto the factors), and
that numpy gives the same numbers before and after at random inputs."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc import ir
from matcalc.errors import ExprSyntaxError, ShapeError
from matcalc.evaluate import evaluate
from matcalc.matrix import build as B
from matcalc.matrix.rules import rule_named, rule_table
from matcalc.matrix.simplify import simplify
from matcalc.ops.shape import commutation
from matcalc.parse import parse
from matcalc.render.latex import to_latex
from matcalc.render.text import to_text
from matcalc.render.unicode import to_unicode
from matcalc.shapes import dim_size

SHAPES = {"A": ("n", "n"), "X": ("n", "n"), "P": ("m", "n"), "Q": ("p", "q"), "D": ("m", "m"),
          "E": ("m", "m"), "Y": ("m", "n"), "x": ("n",), "w": ("n",), "u": (1, 1), "c": ()}
SYMS = {name: ir.Symbol(shape, name) for name, shape in SHAPES.items()}
DIMS = {"n": 3, "m": 2, "p": 4, "q": 5}
INVERTIBLE = {"X", "D"}


def values(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in SHAPES.items():
        v = rng.normal(size=tuple(dim_size(d, DIMS) for d in shape))
        out[name] = v + 4 * np.eye(v.shape[0]) if name in INVERTIBLE else v
    return out


def tidy(text):
    before = parse(text, SYMS, DIMS)
    log = []
    after = simplify(before, log=log)
    for seed in (0, 1):
        np.testing.assert_allclose(evaluate(after, values(seed), DIMS), evaluate(before, values(seed), DIMS),
                                   rtol=1e-10, atol=1e-12, err_msg=text)
    return before, after, [step.rule.name for step in log]


# raw form, tidied form, a rule that fires
CASES = [
    ("kron(eye(n), A) + kron(eye(n), A.T)", "kron(eye(n), A + A.T)", "kron-factor"),
    ("kron(A, D) - kron(A, E)", "kron(A, D - E)", "kron-factor"),
    ("-kron(A, D) - kron(A, E)", "-kron(A, D + E)", "kron-factor"),
    ("2 * kron(A, D) + 3 * kron(X, D)", "kron(2 * A + 3 * X, D)", "kron-factor"),
    ("2 * kron(A, D) - 2 * kron(A, E)", "2 * kron(A, D - E)", "kron-factor"),
    ("c * kron(A, D) + kron(A, c * E)", "c * kron(A, D + E)", "kron-factor"),
    ("kron(x, D) + kron(w, D)", "kron(w + x, D)", "kron-factor"),
    ("kron(eye(n), eye(m))", "eye(m*n)", "kron-of-identities"),
    ("kron(ones(n, 1), ones(1, m))", "ones(n, m)", "kron-of-identities"),
    ("kron(ones(1, 1), A)", "A", "kron-with-one-entry"),
    ("kron(u, A)", "A * u", "kron-with-one-entry"),
    ("kron(c * A, -D)", "-c * kron(A, D)", "kron-scalars-out"),
    ("kron(A, D / c)", "kron(A, D) / c", "kron-scalars-out"),
    ("kron(A, D) @ kron(X, E)", "kron(A @ X, D @ E)", "kron-mixed-product"),
    ("kron(eye(n), A) @ kron(eye(n), X)", "kron(eye(n), A @ X)", "kron-mixed-product"),
    ("kron(A, D) @ kron(X, E) @ kron(A, D)", "kron(A @ X @ A, D @ E @ D)", "kron-mixed-product"),
    ("kron(eye(m), A) @ vec(Y.T)", "vec(A @ Y.T)", "kron-vec"),
    ("kron(D, eye(n)) @ vec(Y.T)", "vec(Y.T @ D.T)", "kron-vec"),
    ("commutation(m, n) @ vec(Y)", "vec(Y.T)", "commutation-vec"),
    ("commutation(m, n) @ commutation(n, m)", "eye(m*n)", "commutation-inverse"),
    ("kron(X, A) @ commutation(n, n) @ commutation(n, n)", "kron(X, A)", "commutation-inverse"),
    ("inv(commutation(m, n))", "commutation(n, m)", "commutation-inverse"),
    ("commutation(m, n).T", "commutation(n, m)", "commutation-transpose"),
    ("commutation(m, 1)", "eye(m)", "commutation-trivial"),
    ("commutation(1, n)", "eye(n)", "commutation-trivial"),
    ("commutation(p, m) @ kron(P, Q)", "kron(Q, P) @ commutation(q, n)", "commutation-swap"),
    ("commutation(p, m) @ kron(P, Q) @ commutation(n, q)", "kron(Q, P)", "commutation-swap"),
    ("commutation(n, m) @ kron(D, A.T)", "kron(A.T, D) @ commutation(n, m)", "commutation-swap"),
    ("commutation(m, n) @ kron(x, D)", "kron(D, x)", "commutation-swap"),      # x: the column [n, 1]
    ("diag(vec(A)) @ diag(vec(X))", "diag(vec(A * X))", "vec-linear"),
    ("vec(A) + 2 * vec(X)", "vec(A + 2 * X)", "vec-linear"),
    ("2 * vec(Y) - vec(P)", "vec(2 * Y - P)", "vec-linear"),
    ("kron(eye(n), A + A.T).T", "kron(eye(n), A + A.T)", "transpose-symmetric-form"),     # S ⊗ T is symmetric
    ("commutation(n, n).T", "commutation(n, n)", "transpose-symmetric-form"),
    ("kron(A, D) * kron(X, E)", "kron(A * X, D * E)", "kron-hadamard"),
    ("kron(ones(n, n), D) * kron(A, ones(m, m))", "kron(A, D)", "kron-hadamard"),
    ("kron(eye(n), D) @ kron(x, E)", "kron(x, D @ E)", "kron-mixed-product"),         # x: the column [n, 1]
    ("kron(A, D) @ kron(x, P @ w)", "kron(A @ x, D @ (P @ w))", "kron-mixed-product"),
    ("kron(A, D) @ kron(X, E) + kron(A, D)", "kron(A @ X, D @ E) + kron(A, D)", "kron-mixed-product"),
    ("reshape(vec(Y.T), (m, n))", "Y", "reshape-of-vec-transpose"),
    ("reshape(vec(Y.T), (n, m))", "reshape(Y, (n, m))", "reshape-of-vec-transpose"),
]
# canonical: the factors carry the transpose or the inverse, one node more
CANONICAL = [
    ("kron(A, D).T", "kron(A.T, D.T)", "kron-transpose"),
    ("inv(kron(X, D))", "kron(inv(X), inv(D))", "kron-inverse"),
    ("kron(P, D) @ vec(Y)", "vec(D @ Y @ P.T)", "kron-vec"),         # the Kronecker product never built
    ("inv(kron(eye(n), X))", "kron(eye(n), inv(X))", "kron-inverse"),
]
# already as short as they go
KEPT = ["kron(A.T, D) @ commutation(n, m)", "outer(vec(A), vec(X))", "diag(vec(Y)) @ kron(eye(n), D)",
        "kron(ones(p, 1), A)", "-kron(inv(X).T, inv(X))", "kron(X.T, eye(n)) + kron(eye(n), X)",
        "kron(x, diag(w))"]


@pytest.mark.parametrize("raw,tidied,rule", CASES, ids=[c[0] for c in CASES])
def test_a_raw_form_tidies_and_never_grows(raw, tidied, rule):
    before, after, fired = tidy(raw)
    assert to_text(after) == tidied
    assert rule in fired
    assert ir.written_size(after) <= ir.written_size(before)
    assert to_text(parse(tidied, SYMS, DIMS)) == tidied       # the printed form reads back


@pytest.mark.parametrize("raw,tidied,rule", CANONICAL, ids=[c[0] for c in CANONICAL])
def test_transposes_and_inverses_go_onto_the_factors(raw, tidied, rule):
    _, after, fired = tidy(raw)
    assert to_text(after) == tidied
    assert rule in fired
    assert rule_named(rule).canonical


@pytest.mark.parametrize("raw", KEPT)
def test_the_shortest_forms_stay(raw):
    before, after, _ = tidy(raw)
    assert to_text(after) == to_text(before)


def test_the_commutation_swap_identity_holds_numerically():
    """K_pm (A ⊗ B) K_nq = B ⊗ A for A [m, n], B [p, q] (Magnus and Neudecker, ch. 3,
    with K_mn vec(A) = vec(Aᵀ) for A [m, n])."""
    rng = np.random.default_rng(4)
    m, n, p, q = 2, 3, 4, 5
    A, Bm = rng.normal(size=(m, n)), rng.normal(size=(p, q))
    np.testing.assert_allclose(commutation((p, m)) @ np.kron(A, Bm) @ commutation((n, q)), np.kron(Bm, A))
    np.testing.assert_allclose(commutation((p, m)) @ np.kron(A, Bm), np.kron(Bm, A) @ commutation((q, n)))


def test_the_rules_are_listed_with_their_identities():
    table = {name: (identity, eq) for name, identity, _, eq in rule_table()}
    for name in ("kron-of-identities", "kron-with-one-entry", "kron-scalars-out", "kron-transpose", "kron-inverse",
                 "kron-mixed-product", "kron-vec", "commutation-vec", "commutation-inverse", "commutation-swap",
                 "commutation-transpose", "commutation-trivial", "reshape-of-vec-transpose", "kron-factor",
                 "kron-hadamard", "vec-linear"):
        assert name in table
    assert table["kron-mixed-product"] == ("(A ⊗ B)(C ⊗ D) = A C ⊗ B D; (I ⊗ A)(I ⊗ B) = I ⊗ A B", "(511)")
    assert table["kron-vec"][1] == "(520)"


def test_matcalc_rules_prints_them():
    from typer.testing import CliRunner

    from matcalc.cli import app
    out = CliRunner().invoke(app, ["rules"])
    assert out.exit_code == 0
    assert "commutation-swap" in out.output and "kron-factor" in out.output


# -- printing: as Magnus and Neudecker write it ----------------------------------------

def _form(text):
    return simplify(parse(text, SYMS, DIMS))


PRINTED = [
    ("kron(eye(n), A) + kron(eye(n), A.T)", r"I_{n} \otimes \left(A + A^T\right)", "Iₙ ⊗ (A + Aᵀ)"),
    ("-kron(inv(X).T, inv(X))", r"-X^{-T} \otimes X^{-1}", "−X⁻ᵀ ⊗ X⁻¹"),
    ("kron(A.T, D) @ commutation(n, m)", r"\left(A^T \otimes D\right) K_{nm}", "(Aᵀ ⊗ D) Kₙₘ"),
    ("diag(vec(exp(X)))", r"\operatorname{diag}(\operatorname{vec}(\exp(X)))", "diag(vec(exp(X)))"),
    ("kron(eye(n), eye(m))", "I", "I"),
    ("kron(x, eye(q))", r"x \otimes I_{q}", "x ⊗ I_q"),
]


@pytest.mark.parametrize("text,latex,uni", PRINTED, ids=[p[0] for p in PRINTED])
def test_kronecker_forms_read_well(text, latex, uni):
    e = _form(text)
    assert to_latex(e) == latex
    assert to_unicode(e) == uni


def test_commutation_subscripts_with_dimension_products():
    assert to_latex(B.call("commutation", dims=("m*n", "p"))) == "K_{mn,p}"
    assert to_latex(B.call("commutation", dims=("n",))) == "K_{nn}"
    assert to_unicode(B.call("commutation", dims=("m*n", "p"))) == "K_mn,p"
    assert to_latex(B.call("kron", B.eye("m*n"), SYMS["A"])) == r"I_{mn} \otimes A"


def test_ones_factors_carry_their_size():
    """The block sums of kron's adjoint: (I_p ⊗ 1_rᵀ)(M ⊙ (1_{p×q} ⊗ B))(I_q ⊗ 1_s)."""
    Bm, M = ir.Symbol(("r", "s"), "B"), ir.Symbol(("p*r", "q*s"), "M")
    e = B.matmul(B.matmul(B.call("kron", B.eye("p"), B.ones((1, "r"))),
                          B.mul(M, B.call("kron", B.ones(("p", "q")), Bm))), B.call("kron", B.eye("q"), B.ones(("s", 1))))
    assert to_latex(e) == (r"\left(I_{p} \otimes \mathbf{1}_{r}^T\right) \left(M \odot \left(\mathbf{1}_{p \times q} "
                           r"\otimes B\right)\right) \left(I_{q} \otimes \mathbf{1}_{s}\right)")
    assert to_unicode(e) == "(Iₚ ⊗ 𝟏ᵣᵀ)(M ⊙ (𝟏_p×q ⊗ B))(I_q ⊗ 𝟏ₛ)"


# -- a vector beside a matrix in kron is its column -----------------------------------

def test_kron_of_a_vector_and_a_matrix_takes_the_column():
    e = parse("kron(x, Q)", SYMS, DIMS)
    assert e.shape == ("n*p", "q")
    assert parse("kron(Q, x)", SYMS, DIMS).shape == ("n*p", "q")
    assert parse("kron(x, w)", SYMS, DIMS).shape == ("n*n",)       # two vectors: a vector
    v = values()
    np.testing.assert_allclose(evaluate(e, v, DIMS), np.kron(v["x"][:, None], v["Q"]))
    np.testing.assert_allclose(evaluate(parse("kron(Q, x)", SYMS, DIMS), v, DIMS), np.kron(v["Q"], v["x"][:, None]))


def derive(expr, symbols, wrt, dims=None, **kw):
    doc = {"dims": dims or {"n": 3, "p": 2, "q": 4}, "symbols": symbols, "expr": expr, "wrt": wrt}
    d = matcalc.derive(doc, **kw)
    assert d.verified, d.verification
    return d


def test_the_derivative_through_a_kron_of_a_vector_and_a_matrix():
    """sum(G ∘ (x ⊗ B)): x̄_i = Σ_kl G_(ip+k),l B_kl and B̄ = Σ_i x_i G_i (the blocks of G)."""
    d = derive("sum(G * kron(x, B))", {"G": {"shape": ["n*p", "q"]}, "x": {"shape": ["n"]},
                                        "B": {"shape": ["p", "q"]}}, ["x", "B"], targets=("numpy", "array-api"))
    assert "np.kron(x[:, None], B)" in d.code or "np.kron(x.reshape(n, 1), B)" in d.code   # x as its column
    rng = np.random.default_rng(5)
    G, x, Bm = rng.normal(size=(6, 4)), rng.normal(size=3), rng.normal(size=(2, 4))
    got = {s: evaluate(d.results[s].matrix, {"G": G, "x": x, "B": Bm}, {"n": 3, "p": 2, "q": 4}) for s in "xB"}
    blocks = G.reshape(3, 2, 4)
    np.testing.assert_allclose(got["x"], np.einsum("ikl,kl->i", blocks, Bm), rtol=1e-12)
    np.testing.assert_allclose(got["B"], np.einsum("ikl,i->kl", blocks, x), rtol=1e-12)


def test_a_quadratic_form_in_vec_x_needs_no_kronecker_product():
    """vec(X)ᵀ (A ⊗ C) vec(X) = tr(Xᵀ C X Aᵀ): ∂/∂X = C X Aᵀ + Cᵀ X A (Cookbook eq. 520 with eq. 116)."""
    d = derive("vec(X) @ kron(A, C) @ vec(X)", {"X": {"shape": ["n", "p"]}, "A": {"shape": ["p", "p"]},
                                                "C": {"shape": ["n", "n"]}}, ["X"])
    assert d.results["X"].text == "C @ X @ A.T + C.T @ X @ A"
    rng = np.random.default_rng(7)
    X, A, C = rng.normal(size=(3, 2)), rng.normal(size=(2, 2)), rng.normal(size=(3, 3))
    np.testing.assert_allclose(evaluate(d.results["X"].matrix, {"X": X, "A": A, "C": C}, {"n": 3, "p": 2, "q": 4}),
                               C @ X @ A.T + C.T @ X @ A, rtol=1e-12)


def test_a_commutation_gradient_tidies_to_a_multiple_of_x():
    """Issue 14 printed reshape(commutation(n, m) @ vec(X.T), (n, m)).T + ...: vec(X)ᵀ K_nm vec(Xᵀ) = ‖X‖²."""
    d = derive("sum(vec(X) * (commutation(n, m) @ vec(X.T)))", {"X": {"shape": ["m", "n"]}}, ["X"],
               dims={"n": 3, "m": 2})
    assert d.results["X"].text == "2 * X"


# -- errors --------------------------------------------------------------------------

def test_kron_of_a_scalar_is_refused_with_a_hint():
    with pytest.raises(ShapeError) as err:
        parse("kron(c, A)", SYMS, DIMS)
    assert "kron needs two vectors or matrices" in str(err.value) and "c * A" in str(err.value)


@pytest.mark.parametrize("text,message", [("eye(m*r)", "unknown dimension 'r'"), ("eye(m*0)", "must be positive"),
                                          ("eye(m*1.5)", "must be an integer")])
def test_dimension_products_in_constructors_are_checked(text, message):
    with pytest.raises(ExprSyntaxError) as err:
        parse(text, SYMS, DIMS)
    assert message in str(err.value)
    assert "^" in str(err.value)


def test_the_array_api_module_takes_the_column_too(tmp_path):
    """The array-API helper ``_kron`` reads a vector beside a matrix as its column, as numpy's module does."""
    import importlib.util

    from matcalc.codegen import emit_module
    array_api_compat = pytest.importorskip("array_api_compat")
    d = derive("sum(G * kron(x, B)) + sum(H * kron(B, x))",
               {"G": {"shape": ["n*p", "q"]}, "H": {"shape": ["n*p", "q"]}, "x": {"shape": ["n"]},
                "B": {"shape": ["p", "q"]}}, ["x", "B"])
    path = tmp_path / "xp_kron.py"
    path.write_text(emit_module(d, "array-api"))
    spec = importlib.util.spec_from_file_location("xp_kron", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(6)
    G, H, x, Bm = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=3), rng.normal(size=(2, 4))
    xp = array_api_compat.array_namespace(G)
    want = np.sum(G * np.kron(x[:, None], Bm)) + np.sum(H * np.kron(Bm, x[:, None]))
    np.testing.assert_allclose(module.value(G=G, H=H, x=x, B=Bm), want)
    for s in ("x", "B"):
        got = getattr(module, f"grad_{s}")(G=xp.asarray(G), H=H, x=x, B=Bm)
        np.testing.assert_allclose(got, evaluate(d.results[s].matrix, {"G": G, "H": H, "x": x, "B": Bm},
                                                 {"n": 3, "p": 2, "q": 4}), rtol=1e-12)
