"""The recognizer (matcalc/matrix/recognize.py, contraction.py): index form back to
matrix form, one reading per test, each checked by its numbers and its printed form;
Jacobians and Hessians the old read-off patterns (now gone) refused; the einsum operation.

The numbers are checked by a route independent of the reading: a linear map ``L(u)``
evaluated at the basis vectors gives ``∂L/∂u`` column by column; a derivation's
result is compared with central differences of the expression itself.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc import ir
from matcalc.errors import MatcalcError
from matcalc.evaluate import evaluate
from matcalc.index.einsum import evaluate_index
from matcalc.index.lower import Pool, lower
from matcalc.index.nodes import Index
from matcalc.matrix.contraction import read_term
from matcalc.matrix.recognize import recognize
from matcalc.render.latex import to_latex
from matcalc.render.text import to_text
from matcalc.render.unicode import to_unicode
from support import SYMBOLS, compact_doc, parse_in_scope

DIMS = {"n": 3, "m": 4, "k": 5}
U = ir.Symbol(("n",), "u")


def _values(seed=0):
    rng = np.random.default_rng(seed)
    out = {name: rng.normal(size=tuple(DIMS.get(d, d) for d in s.shape)) for name, s in SYMBOLS.items()}
    out["A"] = out["A"] @ out["A"].T + 3 * np.eye(3)
    return out


def _map_matrix(L: ir.Expr, values) -> np.ndarray:
    """∂L/∂u with u's axis first, by evaluating the linear map at the basis vectors."""
    cols = [np.asarray(evaluate(L, dict(values, u=e), DIMS), dtype=float) for e in np.eye(3)]
    return np.array(cols)


def _parse_map(text: str) -> ir.Expr:
    return matcalc.parse.parse(text, dict(SYMBOLS, u=U), DIMS)


# -- each reading, through the whole recognizer -------------------------------------------

@pytest.mark.parametrize("text, form", [
    # a matmul chain, transposes from the index order: L = A B u gives ∂L/∂u = (A B)ᵀ
    ("B @ (A @ u)", "(B @ A).T"),
    ("B.T @ u", "B"),
    # a vector on the path is diag(·)
    ("z * u", "diag(z)"),
    ("B @ (z * u)", "diag(z) @ B.T"),
    # factors sharing both free indices: Hadamard
    ("(A * B) @ u", "(A * B).T"),
    # disconnected parts: outer
    ("z * (x @ u)", "outer(x, z)"),
    # a scalar factor stays outside, a reciprocal is a division
    ("s * (B @ u) / p", "s * B.T / p"),
])
def test_reading(text, form):
    L = _parse_map(text)
    K = recognize(L, U)
    assert to_text(K) == form
    values = _values()
    np.testing.assert_allclose(np.asarray(evaluate(K, values, DIMS), dtype=float),
                               _map_matrix(L, values), rtol=1e-10, atol=1e-12)


def test_a_scalar_map_reads_as_a_vector():
    """L = xᵀ B u is w @ u with w = Bᵀ x."""
    L = _parse_map("x @ (B @ u)")
    w = recognize(L, U)
    assert to_text(w) == "B.T @ x"
    values = _values()
    np.testing.assert_allclose(evaluate(w, values, DIMS), _map_matrix(L, values), rtol=1e-10)


A, Bm, C = (ir.Symbol(("n", "n"), name) for name in "ABC")
X = ir.Symbol(("n",), "x")
i, j, k, l, m = (Index(c, "n") for c in "ijklm")


def _term_value(factors, summed, free, values):
    """Σ_summed Π factors, by numpy.einsum over the factors' values (an independent route)."""
    letters = {ix: c for ix, c in zip([*free, *summed], "abcdefgh")}
    spec = ",".join("".join(letters[ix] for ix in idx) for _, idx in factors)
    arrays = [np.asarray(evaluate(M, values, DIMS), dtype=float) for M, _ in factors]
    return np.einsum(spec + "->" + "".join(letters[ix] for ix in free), *arrays)


@pytest.mark.parametrize("factors, summed, free, form", [
    # a closed loop is a trace: Σ_kl A_kl B_lk = tr(B A)
    ([(A, (k, l)), (Bm, (l, k)), (X, (i,))], [k, l], (i,), "trace(B @ A) * x"),
    ([(A, (k, l)), (Bm, (l, m)), (C, (m, k))], [k, l, m], (), "trace(C @ A @ B)"),
    # an index seen only in ones is a sum over that axis: Σ_k A_ik x_j
    ([(A, (i, k)), (X, (j,))], [k], (i, j), "outer(sum(A, axis=1), x)"),
    # a chain with a vector on its path
    ([(A, (i, k)), (X, (k,)), (Bm, (k, j))], [k], (i, j), "A @ diag(x) @ B"),
    # a self-loop at a free index is a diagonal: A_ii x_i
    ([(A, (i, i)), (X, (i,))], [], (i,), "diag(A) * x"),
    # Σ_k x_k x_k is an inner product
    ([(X, (k,)), (X, (k,)), (A, (i, j))], [k], (i, j), "x @ x * A"),
])
def test_contraction_graph_readings(factors, summed, free, form):
    from matcalc.matrix.recognize import _factor   # A_ii is diag(A)_i, as the recognizer reads it
    table = {"A": A, "B": Bm, "C": C, "x": X}
    from matcalc.index.nodes import Entry
    read = [_factor(Entry(M.name, idx), table) for M, idx in factors]
    out, left = read_term(read, list(summed), free)
    assert left == [] and to_text(out) == form
    values = _values(1)
    values.update(C=np.random.default_rng(2).normal(size=(3, 3)))
    want = _term_value([(M, idx) for M, idx in factors if len(set(idx)) == len(idx)] +
                       [(ir.apply("diag", [M]), idx[:1]) for M, idx in factors if len(set(idx)) < len(idx)],
                       summed, free, values)
    np.testing.assert_allclose(np.asarray(evaluate(out, values, DIMS), dtype=float) * np.ones(want.shape),
                               want, rtol=1e-10, atol=1e-12)


def test_a_term_with_no_matrix_reading_is_an_einsum():
    """Σ_kl A_ik B_jk C_kl A_il B_jl: k and l each meet three edges (no chain, loop or
    Hadamard product), so the recognizer writes an einsum of the language."""
    L = _parse_map("einsum('ik,jk,kl,il,jl,j->i', A, B, B, A, B, u)")
    K = recognize(L, U)
    assert to_text(K) == "einsum('jk,ik,kl,jl,il->ij', A, B, B, A, B)"
    values = _values()
    np.testing.assert_allclose(np.asarray(evaluate(K, values, DIMS), dtype=float),
                               _map_matrix(L, values), rtol=1e-10, atol=1e-12)


# -- Jacobians and Hessians the old read-off patterns refused -----------------------------

REFUSED_BEFORE = [
    ("diag(A @ (B * outer(x, z)) @ C)", "A:[n,n] B:[n,n] C:[n,n] x:[n] z:[n]", 1,
     "A * (C.T @ diag(z) @ B.T)"),
    ("diag(A @ diag(x) @ B) * (C @ x)", "A:[n,n] B:[n,n] C:[n,n] x:[n]", 1,
     "diag(C @ x) @ (A * B.T) + diag(diag(A @ diag(x) @ B)) @ C"),
    ("sum((A @ diag(x) @ B) * C, axis=0)", "A:[n,n] B:[n,n] C:[n,n] x:[n]", 1, "(A.T @ C * B).T"),
    ("trace(A @ diag(x) @ B @ diag(x))", "A:[n,n] B:[n,n] x:[n]", 2, "A * B.T + A.T * B"),
    ("sum((A @ diag(x) @ B) ** 2)", "A:[n,n] B:[n,n] x:[n]", 2, "2 * A.T @ A * (B @ B.T)"),
    # no matrix reading (Σ_il A_ij A_ik E_il B_kl B_jl): an einsum, never a refusal
    ("sum(exp(A @ diag(x) @ B))", "A:[n,n] B:[n,n] x:[n]", 2,
     "einsum('kj,ki,il,kl,jl->ij', A, A, B, exp(A @ diag(x) @ B), B)"),
]


def _fd_derivative(d, name):
    """∂ (expr or its gradient) / ∂ name by central differences of the expression itself."""
    p = d.problem
    values = _values(3)
    vals = {s: values.get(s, np.random.default_rng(4).normal(size=tuple(p.dims.get(x, x) for x in sym.shape)))
            for s, sym in p.symbols.items()}
    f = (lambda v: np.asarray(evaluate(p.expr, v, p.dims), dtype=float)) if p.order == 1 else \
        (lambda v: np.asarray(evaluate(d.results[name].gradient, v, p.dims), dtype=float))
    h = 1e-6
    cols = []
    for e in np.eye(vals[name].shape[0]):
        plus, minus = dict(vals, **{name: vals[name] + h * e}), dict(vals, **{name: vals[name] - h * e})
        cols.append((f(plus) - f(minus)) / (2 * h))
    return vals, np.array(cols).T


@pytest.mark.parametrize("expr, symbols, order, form", REFUSED_BEFORE, ids=[c[0] for c in REFUSED_BEFORE])
def test_refused_before_now_derived(expr, symbols, order, form):
    d = matcalc.derive(compact_doc(expr, symbols, "x", order, dims={"n": 3}))
    assert d.verification["x"].passed
    assert d.results["x"].text == form
    vals, want = _fd_derivative(d, "x")
    got = np.asarray(evaluate(d.results["x"].matrix, vals, d.problem.dims), dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# -- the einsum operation ---------------------------------------------------------------

def test_einsum_parses_prints_and_evaluates():
    e = parse_in_scope("einsum('ij,jk->ik', X, Y)")
    assert e.shape == ("n", "k")
    assert to_text(e) == "einsum('ij,jk->ik', X, Y)"
    assert to_text(parse_in_scope(to_text(e))) == to_text(e)
    assert to_unicode(e) == "einsum('ij,jk->ik', X, Y)"
    assert to_latex(e) == "\\operatorname{einsum}_{\\texttt{ij,jk}\\to\\texttt{ik}}\\left(X, Y\\right)"
    values = _values()
    values["Y"] = np.random.default_rng(5).normal(size=(4, 5))
    np.testing.assert_allclose(evaluate(e, values, DIMS), values["X"] @ values["Y"])
    pool = Pool()
    out = tuple(pool.fresh(d) for d in e.shape)
    np.testing.assert_allclose(evaluate_index(lower(e, out, pool), values, DIMS, out), values["X"] @ values["Y"])


@pytest.mark.parametrize("text, phrase", [
    ("einsum('ij,jk', X, Y)", "explicit form"),
    ("einsum('ii->i', A)", "repeat a letter"),
    ("einsum('ij,ij->i', X, Y)", "letter 'i'"),
    ("einsum('ij->ik', X)", "must each appear"),
    ("einsum('ij,jk->ik', X)", "name 2 operands"),
    ("einsum(X, Y)", "subscripts first"),
    ("sum(X, 'ij')", "strings are not allowed"),
])
def test_einsum_misuse_is_a_clear_error(text, phrase):
    with pytest.raises(MatcalcError) as info:
        parse_in_scope(text)
    assert phrase in str(info.value)


def test_einsum_is_differentiated():
    """The gradient through einsum is an einsum (its VJP), read as matrix products where it
    has a reading (rule einsum-read), checked by finite differences."""
    doc = compact_doc("sum(einsum('ij,jk->ik', X, Y) * G)", "X:[n,m] Y:[m,k] G:[n,k]:constant", "X",
                      dims={"n": 3, "m": 4, "k": 5})
    d = matcalc.derive(doc)
    assert d.verification["X"].passed
    assert d.results["X"].text == "G @ Y.T"
