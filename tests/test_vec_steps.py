"""The steps of derivatives in the vec convention read as Magnus and Neudecker write them:
index notation with four indices, the differential term by term (``dJ = A dX B``), vectorized
with the vec rules named where first used (``d vec J = (Bᵀ ⊗ A) d vec X``), the tidy rules,
and the boxed ``∂ vec J/∂(vec X)ᵀ``; for a Hessian w.r.t. a matrix the gradient's steps first
and the Hessian-vector product after; mixed second derivatives likewise.  Every case is checked
in the terminal text, LaTeX and Markdown, and by numbers: the differential the steps print
against central differences of the expression, the Kronecker form they arrive at against the
engine's result, and the vec convention itself (vec stacks columns) against numpy."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import matcalc
from matcalc import differentiate, pipeline
from matcalc.evaluate import evaluate
from matcalc.ir import Apply, Symbol, walk
from matcalc.matrix import build as B
from matcalc.matrix import simplify as simplify_module
from matcalc.matrix.kronecker import VecTerm
from matcalc.render.document import build, to_console_lines
from matcalc.render.text import to_text
from matcalc.render.unicode import to_unicode
from matcalc.vecsteps import differential, kron_form
from matcalc.verify import draw_inputs

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not on PATH")


def vec(a: np.ndarray) -> np.ndarray:
    """The columns stacked (Magnus and Neudecker's vec): Fortran order."""
    return np.asarray(a, dtype=float).reshape(-1, order="F")


def doc(name, dims, symbols, expr, wrt, **more):
    return {"name": name, "dims": dims, "symbols": {k: {"shape": v} for k, v in symbols.items()},
            "expr": expr, "wrt": wrt, **more}


AXB = doc("vec_axb", {"a": 3, "m": 4, "n": 5, "b": 2}, {"A": ["a", "m"], "X": ["m", "n"], "B": ["n", "b"]},
          "A @ X @ B", "X")
XT = doc("transpose", {"m": 4, "n": 3}, {"X": ["m", "n"]}, "X.T", "X")
INV = doc("inverse", {"n": 3}, {"X": ["n", "n"]}, "inv(X)", "X")
EXP = doc("exponential", {"m": 4, "n": 3}, {"X": ["m", "n"]}, "exp(X)", "X")
SQUARE = doc("square", {"n": 3}, {"X": ["n", "n"]}, "X @ X", "X")
TANH = doc("tanh_layer", {"m": 4, "n": 3}, {"W": ["m", "n"], "x": ["n"]}, "tanh(W @ x)", "W")
TRACE = doc("trace_quadratic", {"n": 4, "m": 3}, {"A": ["n", "n"], "X": ["n", "m"]}, "trace(X.T @ A @ X)", "X",
            order=2)
MIXED = doc("two_factors", {"n": 5, "d": 3, "h": 4}, {"X": ["n", "d"], "W1": ["d", "h"], "W2": ["h", "d"]},
            "sum((X @ W1 @ W2 - X) ** 2)", ["W1", "W2"], order=2, mixed=True)


def console(d, width: int = 80) -> list[str]:
    return [line for _, line in to_console_lines(build(d), width)]


def joined(d) -> str:
    return "\n".join(console(d))


# -- numbers: the printed steps are the derivative ------------------------------------------------

def _values(d, rng, extra=()):
    p = d.problem
    values = draw_inputs([p.expr, *extra], p.symbols, p.dims, rng)
    return {k: np.asarray(v, dtype=float) for k, v in values.items()}


def _fd(f, values, name, direction, h=1e-6):
    """Central difference of f along ``direction`` of the symbol ``name``."""
    up, down = dict(values), dict(values)
    up[name] = values[name] + h * direction
    down[name] = values[name] - h * direction
    return (np.asarray(f(up), dtype=float) - np.asarray(f(down), dtype=float)) / (2 * h)


def check_jacobian_numbers(d, symbol: str):
    """vec(dJ) of the printed differential = central differences of J along dX; the printed
    Kronecker form = the engine's result; and both map vec(dX) to vec(dJ) (vec stacks columns)."""
    p, r = d.problem, d.results[symbol]
    v = r.vec
    rng = np.random.default_rng(7)
    values = _values(d, rng)
    dX = rng.standard_normal(np.shape(values[symbol]))
    shown = np.asarray(evaluate(v.total, {**values, v.dX.name: dX}, p.dims))
    moved = _fd(lambda vals: evaluate(p.expr, vals, p.dims), values, symbol, dX)
    np.testing.assert_allclose(shown, moved, rtol=1e-6, atol=1e-8)
    form = sum(np.asarray(evaluate(t.form, values, p.dims)) for t in v.terms)     # the log's forms, added up
    np.testing.assert_allclose(form, np.asarray(evaluate(r.matrix, values, p.dims)), rtol=1e-10, atol=1e-12)
    if not any(isinstance(n, Apply) and n.op == "kron" and min(a.rank for a in n.args) < 2
               for f in v.forms for n in walk(f)):      # as printed, when no vector factor is shown as a row
        np.testing.assert_allclose(np.asarray(evaluate(v.form_total, values, p.dims)), form, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(form @ vec(dX), vec(moved), rtol=1e-6, atol=1e-8)


JACOBIANS = [
    # (case, wrt, differential, vec rule, vectorized, boxed result)
    (AXB, "X", "dJ = A dX B", "vec(ABC) = (Cᵀ ⊗ A) vec B", "= (Bᵀ ⊗ A) d vec X", "∂ vec J/∂(vec X)ᵀ = Bᵀ ⊗ A"),
    (XT, "X", "dJ = dXᵀ", "vec(Xᵀ) = K_mn vec X", "= Kₘₙ d vec X", "∂ vec J/∂(vec X)ᵀ = "),
    (INV, "X", "dJ = −X⁻¹ dX X⁻¹", "vec(ABC) = (Cᵀ ⊗ A) vec B", "= (−X⁻ᵀ ⊗ X⁻¹) d vec X",
     "∂ vec J/∂(vec X)ᵀ = −X⁻ᵀ ⊗ X⁻¹"),
    (EXP, "X", "dJ = exp(X) ⊙ dX", "vec(A ⊙ B) = diag(vec A) vec B", "= diag(vec(exp(X))) d vec X",
     "∂ vec J/∂(vec X)ᵀ = "),
    (SQUARE, "X", "dJ = X dX + dX X", "vec(ABC) = (Cᵀ ⊗ A) vec B", "= (Iₙ ⊗ X + Xᵀ ⊗ Iₙ) d vec X",
     "∂ vec J/∂(vec X)ᵀ = Xᵀ ⊗ Iₙ + Iₙ ⊗ X"),
    (TANH, "W", "dJ = diag(1 − tanh(Wx)²) dW x", "vec(ABC) = (Cᵀ ⊗ A) vec B",
     "= (xᵀ ⊗ diag(1 − tanh(Wx)²)) d vec W", "∂J/∂(vec W)ᵀ = "),
]


@pytest.mark.parametrize("case, wrt, dJ, rule, vectorized, boxed", JACOBIANS, ids=[c[0]["name"] for c in JACOBIANS])
def test_jacobian_steps_in_the_terminal_and_their_numbers(case, wrt, dJ, rule, vectorized, boxed):
    d = matcalc.derive(case, verify=False)
    r = d.results[wrt]
    assert r.kind == "jacobian" and r.vec is not None
    check_jacobian_numbers(d, wrt)
    lines = [line.strip() for line in console(d, 1000)]
    text = "\n".join(lines)
    # 1. index notation with the deltas, four indices (three for a vector-valued one)
    assert "Differentiated entry by entry (∂X_ij/∂X_pq = δ_ip δ_jq" in text
    assert any(line.startswith(("∂J_ij/∂", "∂J_i/∂")) for line in lines)
    # 2. the differential, term by term; 3. vectorized, each rule named; the boxed result
    assert dJ in lines
    heading = next(line for line in lines if "Vectorized (vec stacks columns) with" in line)
    assert rule in heading
    assert vectorized in lines
    result = next(line for line in lines if line.startswith(boxed))
    assert result.endswith(f"[{', '.join(str(x) for x in r.shape)}]")


def test_each_vec_rule_is_named_once_where_first_used():
    d = matcalc.derive(doc("gram", {"m": 4, "n": 3}, {"X": ["m", "n"]}, "X.T @ X", "X"), verify=False)
    text = joined(d)
    heading = next(line for line in console(d, 1000) if "Vectorized" in line)
    assert heading.count("vec(ABC) = (Cᵀ ⊗ A) vec B") == 1 and heading.count("vec(Xᵀ) = K_mn vec X") == 1
    assert heading.index("vec(ABC)") < heading.index("vec(Xᵀ)")      # the order they are first used in
    assert "dJ = Xᵀ dX + dXᵀX" in text
    assert "(Xᵀ ⊗ Iₙ) Kₘₙ d vec X" in text
    check_jacobian_numbers(d, "X")


def test_the_outer_reading_is_a_trace_then_vec_a_vec_b_transposed():
    d = matcalc.derive(doc("trace_scaled", {"m": 4, "n": 3}, {"A": ["m", "n"], "B": ["m", "n"], "X": ["m", "n"]},
                           "A * trace(B.T @ X)", "X"), verify=False)
    text = joined(d)
    assert "dJ = A tr(Bᵀ dX)" in text
    assert "vec(A (B : X)) = vec(A) vec(B)ᵀ vec X" in text
    assert "∂ vec J/∂(vec X)ᵀ = vec(A) vec(B)ᵀ" in text
    check_jacobian_numbers(d, "X")


def test_vector_factors_print_as_a_row_or_a_column():
    """``reshape(b, (m, 1))`` in a VecTerm is the column b, ``reshape(x, (1, n))`` the row xᵀ."""
    d = matcalc.derive(doc("outer_of_product", {"m": 4, "n": 3}, {"A": ["m", "n"], "x": ["n"], "b": ["m"]},
                           "outer(A @ x, b)", "x"), verify=False)
    text = joined(d)
    assert "dJ = (A dx)bᵀ" in text and "= (b ⊗ A) dx" in text and "∂ vec J/∂xᵀ = " in text
    check_jacobian_numbers(d, "x")
    x, D = Symbol(("n",), "x"), Symbol(("m", "m"), "D")
    W, dW = Symbol(("m", "n"), "W"), Symbol(("m", "n"), "dW")
    row = B.call("reshape", x, shape=(1, "n"))
    t = VecTerm("straight", D, row, None, None, None, B.call("kron", row, D))
    assert to_text(differential(t, dW)) == "D @ dW @ x"
    assert to_text(kron_form(t, W)) == "kron(x.T, D)"


# -- the Hessian w.r.t. a matrix, and its Hessian-vector product ----------------------------------

def test_hessian_of_a_trace_shows_the_gradient_then_its_differential_and_the_hvp():
    d = matcalc.derive(TRACE, verify=False)
    r = d.results["X"]
    assert r.text == "kron(eye(m), A + A.T)" and to_text(r.hvp) == "(A + A.T) @ dX"
    lines = [line.strip() for line in console(d, 1000)]
    text = "\n".join(lines)
    # the gradient's own steps (the record of its sweep), ending in dJ = G : dX
    assert "∂J/∂X    = (A + Aᵀ)X   [n, m]" in lines
    assert "dJ = ((A + Aᵀ)X) : dX" in lines
    # then the differential of the gradient, vectorized, tidied, boxed
    assert "G  = (A + Aᵀ)X" in lines and "dG = (A + Aᵀ)ᵀ dX" in lines
    assert "d vec G = vec((A + Aᵀ)ᵀ dX)" in lines and "= (Iₘ ⊗ (A + Aᵀ)ᵀ) d vec X" in lines
    assert any(line.startswith("6. Tidied") and "transpose-symmetric-form" in line for line in lines)
    assert "∂²J/∂vec X ∂(vec X)ᵀ = Iₘ ⊗ (A + Aᵀ)   [n*m, n*m]" in lines or \
        "∂²J/∂vec X ∂(vec X)ᵀ = Iₘ ⊗ (A + Aᵀ)   [m*n, m*n]" in lines
    assert "H vec(dX) = vec((A + Aᵀ) dX)" in lines
    assert text.index("∂²J/∂vec X") < text.index("H vec(dX)")
    # numbers: H = I ⊗ (A + Aᵀ) by numpy, the printed H vec(dX) and differential agree with it
    p = d.problem
    rng = np.random.default_rng(3)
    values = _values(d, rng)
    A, X = values["A"], values["X"]
    dX = rng.standard_normal(X.shape)
    H = np.kron(np.eye(X.shape[1]), A + A.T)
    np.testing.assert_allclose(evaluate(r.vec.form_total, values, p.dims), H, rtol=1e-12)
    np.testing.assert_allclose(vec(evaluate(r.hvp, {**values, "dX": dX}, p.dims)), H @ vec(dX), rtol=1e-10)
    np.testing.assert_allclose(vec(evaluate(r.vec.total, {**values, "dX": dX}, p.dims)), H @ vec(dX), rtol=1e-10)
    grad = lambda vals: (vals["A"] + vals["A"].T) @ vals["X"]
    np.testing.assert_allclose(vec(_fd(grad, values, "X", dX)), H @ vec(dX), rtol=1e-6)


def test_mixed_second_derivative_steps_and_numbers():
    d = matcalc.derive(MIXED, verify=False)
    r = d.results["W1,W2"]
    assert r.kind == "mixed" and r.vec is not None
    lines = [line.strip() for line in console(d, 1000)]
    assert "Mixed second derivative with respect to W₁ and W₂" in lines
    step = next(line for line in lines if line.startswith("1. The gradient G = ∂J/∂W₁ (its steps are above"))
    assert step.endswith("and its differential in W₂, term by term:")
    assert "dG = 2((XW₁ W₂ − X)ᵀX)ᵀ dW₂ᵀ + 2XᵀX W₁ dW₂ W₂ᵀ" in lines
    heading = next(line for line in lines if line.startswith("2. Vectorized"))
    assert "vec(ABC) = (Cᵀ ⊗ A) vec B" in heading and "vec(Xᵀ) = K_mn vec X" in heading
    boxed = next(line for line in lines if line.startswith("∂²J/∂vec W₁ ∂(vec W₂)ᵀ = "))
    assert "K_hd" in boxed and boxed.endswith("[d*h, d*h]")
    # numbers: uᵀ M v against a mixed central difference of J itself (independent of the engine)
    p = d.problem
    rng = np.random.default_rng(5)
    values = _values(d, rng)
    U, V = rng.standard_normal(values["W1"].shape), rng.standard_normal(values["W2"].shape)
    M = np.asarray(evaluate(r.vec.form_total, values, p.dims))
    np.testing.assert_allclose(M, np.asarray(evaluate(r.matrix, values, p.dims)), rtol=1e-10, atol=1e-12)
    h = 1e-4

    def J(su, sv):
        return float(evaluate(p.expr, {**values, "W1": values["W1"] + su * h * U, "W2": values["W2"] + sv * h * V},
                              p.dims))
    mixed = (J(1, 1) - J(1, -1) - J(-1, 1) + J(-1, -1)) / (4 * h * h)
    np.testing.assert_allclose(vec(U) @ M @ vec(V), mixed, rtol=1e-5)


# -- LaTeX and Markdown ------------------------------------------------------------------------------

CASES = [AXB, XT, INV, EXP, SQUARE, TANH, TRACE, MIXED]


@pytest.fixture(scope="module")
def derived():
    return [matcalc.derive(c, verify=False) for c in CASES]


def test_latex_and_markdown_hold_the_differential_the_vec_rules_and_the_boxed_result(derived):
    axb, xt, inv, exp, square, tanh, trace, mixed = derived
    for d, dJ, rule, box in (
            (square, "dJ &= X \\,dX + dX\\, X", "\\operatorname{vec}(ABC)",
             "(\\operatorname{vec} X)^T} = X^T \\otimes I_{n} + I_{n} \\otimes X} \\in \\mathbb{R}^{n^{2} \\times n^{2}}"),
            (tanh, "dJ &= \\operatorname{vec}\\left(\\operatorname{diag}(1 - \\tanh(W x)^{2}) \\,dW\\, x\\right)",
             "&= \\left(x^T \\otimes \\operatorname{diag}(1 - \\tanh(W x)^{2})\\right) \\,d\\operatorname{vec} W",
             "\\boxed{\\frac{\\partial J}{\\partial (\\operatorname{vec} W)^T} = "),
            (axb, "dJ &= A \\,dX\\, B", "\\operatorname{vec}(ABC) = (C^T \\otimes A) \\operatorname{vec} B",
             "\\boxed{\\frac{\\partial \\operatorname{vec} J}{\\partial (\\operatorname{vec} X)^T} = B^T \\otimes A}"),
            (xt, "dJ &= dX^T", "\\operatorname{vec}(X^T) = K_{mn} \\operatorname{vec} X",
             "\\frac{\\partial \\operatorname{vec} J}{\\partial (\\operatorname{vec} X)^T}"),
            (inv, "dJ &= -X^{-1} \\,dX\\, X^{-1}", "\\operatorname{vec}(ABC)",
             "= -X^{-T} \\otimes X^{-1}}"),
            (exp, "dJ &= \\exp(X) \\odot \\,dX", "\\operatorname{diag}(\\operatorname{vec} A)", "\\boxed"),
            (trace, "dG &= \\left(A + A^T\\right)^T \\,dX", "(C^T \\otimes A)",
             ("\\boxed{\\frac{\\partial^2 J}{\\partial \\operatorname{vec} X\\, \\partial (\\operatorname{vec} X)^T}"
              " = I_{m} \\otimes \\left(A + A^T\\right)}")),
            (mixed, "dG &= 2 \\left(\\left(X W_{1} W_{2} - X\\right)^T X\\right)^T \\,dW_{2}^T",
             "K_{mn}", "\\partial \\operatorname{vec} W_{1}\\, \\partial (\\operatorname{vec} W_{2})^T}")):
        latex, md = d.latex(), d.markdown()
        for text in (latex, md):
            assert dJ in text and rule in text and box in text, d.name
        assert "\\operatorname{vec}" in latex
    assert "H \\operatorname{vec}(dX) &= \\operatorname{vec}\\left(\\left(A + A^T\\right) \\,dX\\right)" in trace.latex()
    assert "K_{hd}" in mixed.latex()


@needs_pdflatex
def test_the_document_compiles_without_overfull_boxes(derived, tmp_path):
    from matcalc.render.document import to_latex_document

    (tmp_path / "vec.tex").write_text(to_latex_document(derived, figures=False), encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "vec.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    log = (tmp_path / "vec.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert done.returncode == 0 and not errors, "\n".join(errors) or log[-2000:]
    overfull = [line for line in log.splitlines() if "Overfull \\hbox" in line]
    assert not overfull, "\n".join(overfull)


def test_terminal_fits_80_columns(derived):
    for d in derived:
        long = [line for line in console(d, 80) if len(line) > 80]
        assert not long, (d.name, long)


# -- from the log, never the engine ------------------------------------------------------------------

def _refuse(*_, **__):
    raise AssertionError("the printer ran the engine")


def test_printing_formats_the_log_and_runs_no_engine(monkeypatch):
    d = matcalc.derive(MIXED, verify=False).make_steps()
    before = joined(d)
    for module, name in ((differentiate, "backprop"), (differentiate, "jacobian"), (differentiate, "hessian"),
                         (pipeline, "backprop"), (pipeline, "jacobian"), (pipeline, "hessian"),
                         (simplify_module, "simplify"), (pipeline, "simplify"), (pipeline, "vec_steps"),
                         (pipeline, "record"), (pipeline, "entrywise")):
        monkeypatch.setattr(module, name, _refuse)
    assert joined(d) == before
    assert "\\otimes" in d.latex() and "\\otimes" in d.markdown()


def test_the_differential_is_named_apart_from_a_symbol_called_dX():
    """A symbol already named dX: the differential (and the direction) is dX_, and the
    document still compiles."""
    case = doc("taken", {"n": 3, "m": 2}, {"A": ["n", "n"], "X": ["n", "m"], "dX": ["n", "m"]},
               "trace(X.T @ A @ X) + sum(dX * X)", "X", order=2)
    d = matcalc.derive(case, verify=False)
    r = d.results["X"]
    assert r.vec.dX.name == "dX_" and r.direction.name == "dX_"
    text = joined(d)
    assert "dG = (A + Aᵀ)ᵀ dX_" in text and "H vec(dX_)" in text


def test_identity_zero_and_vector_cases_read_plainly():
    """``2 A`` w.r.t. A: ``d vec J = 2I d vec A`` (no rule to name); a linear J: ``dG = 0`` and
    ``H vec(dX) = 0``; a Hessian w.r.t. a vector gets its product ``H dx`` too."""
    scaled = matcalc.derive(doc("scaled", {"n": 3, "m": 2}, {"A": ["n", "m"]}, "2 * A", "A"), verify=False)
    lines = [line.strip() for line in console(scaled, 1000)]
    assert "4. Vectorized (vec stacks columns):" in lines and "= 2I d vec A" in lines
    check_jacobian_numbers(scaled, "A")
    linear = matcalc.derive(doc("linear", {"n": 3, "m": 2}, {"A": ["m", "n"], "X": ["n", "m"]}, "trace(A @ X)", "X",
                                order=2), verify=False)
    lines = [line.strip() for line in console(linear, 1000)]
    assert "G  = Aᵀ" in lines and "dG = 0" in lines and "H vec(dX) = 0" in lines
    assert "∂²J/∂vec X ∂(vec X)ᵀ = 0   [m*n, m*n]" in lines
    quad = matcalc.derive(doc("quad", {"n": 3}, {"A": ["n", "n"], "x": ["n"]}, "x @ A @ x", "x", order=2),
                          verify=False)
    lines = [line.strip() for line in console(quad, 1000)]
    r = quad.results["x"]
    hvp_line = next(line for line in lines if line.startswith("H dx = "))
    assert hvp_line == f"H dx = {to_unicode(r.hvp)}" and "dx" in hvp_line
    values = _values(quad, np.random.default_rng(2))
    dx = np.random.default_rng(4).standard_normal(3)
    np.testing.assert_allclose(evaluate(r.hvp, {**values, "dx": dx}, quad.problem.dims),
                               (values["A"] + values["A"].T) @ dx, rtol=1e-10)


def test_a_hessian_is_not_called_h_when_an_intermediate_is():
    """tanh(X W1) is the intermediate H: the Hessian-vector product is ∇²J vec(dW₂)."""
    d = matcalc.derive(doc("two_layer_output", {"n": 5, "d": 3, "h": 4, "k": 2},
                           {"X": ["n", "d"], "W1": ["d", "h"], "W2": ["h", "k"], "Y": ["n", "k"]},
                           "sum((tanh(X @ W1) @ W2 - Y) ** 2) / n", "W2", order=2), verify=False)
    r = d.results["W2"]
    lines = [line.strip() for line in console(d, 1000)]
    assert "H  = tanh(Z₁)   [n, h]" in lines
    assert any(line.startswith("∇²J vec(dW₂) = vec(") for line in lines)
    assert not any(line.startswith("H vec(") for line in lines)
    assert "\\nabla^2 J \\operatorname{vec}(dW_{2})" in d.latex()
    values = _values(d, np.random.default_rng(9))
    dW = np.random.default_rng(10).standard_normal(values["W2"].shape)
    H = np.tanh(values["X"] @ values["W1"])
    np.testing.assert_allclose(evaluate(r.hvp, {**values, "dW2": dW}, d.problem.dims), 2 * H.T @ H @ dW / 5,
                               rtol=1e-10)
    np.testing.assert_allclose(np.asarray(evaluate(r.matrix, values, d.problem.dims)) @ vec(dW),
                               vec(2 * H.T @ H @ dW / 5), rtol=1e-10)
