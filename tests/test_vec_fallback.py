"""Every term of a derivative in the vec convention has a reading (issue 15).

A term the three Kronecker pairings do not read is read with a middle diag
(Magnus–Neudecker: ``-S_ij X_ip S_iq`` → ``-diag(vec S) (1 1ᵀ ⊗ I) diag(vec S) (I ⊗ X)``),
and what no Kronecker form reads is ``reshape(einsum('...->jiqp', ...), (a*b, m*n))``,
a form of the language that parses back and evaluates the same in plain numpy.  Each
derivation is checked against central differences of a numpy implementation written
here, in the vec convention (``vec`` stacks columns: ``A.reshape(-1, order="F")``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from matcalc import derive, ir
from matcalc.errors import MatcalcError
from matcalc.evaluate import evaluate
from matcalc.index.nodes import Index
from matcalc.matrix.kronecker import read_einsum, read_vec
from matcalc.parse import parse
from matcalc.render.latex import to_latex
from matcalc.render.text import to_text
from matcalc.render.unicode import to_unicode

N, M, K = 5, 3, 4
DIMS = {"n": N, "m": M, "k": K}


def vec(A):
    return np.asarray(A).reshape(-1, order="F")


def jacobian_fd(f, W, h=1e-6):
    """``∂ vec f / ∂ (vec W)ᵀ`` by central differences."""
    cols = []
    for c in range(W.size):
        dW = np.zeros(W.size)
        dW[c] = h
        dW = dW.reshape(W.shape, order="F")
        cols.append((vec(f(W + dW)) - vec(f(W - dW))) / (2 * h))
    return np.array(cols).T


def softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def values():
    rng = np.random.default_rng(7)
    return {"X": rng.normal(size=(N, M)), "W": rng.normal(size=(M, K)), "Y": rng.random((N, K)), "lam": 0.3}


def result(doc, name="W"):
    return derive(doc, verify=False).results[name]


SOFTMAX = {"dims": DIMS, "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]}},
           "expr": "softmax(X @ W, axis=1)", "wrt": ["W"]}


def test_softmax_jacobian_wrt_W_is_magnus_neudecker(values):
    r = result(SOFTMAX)
    S = "diag(vec(softmax(X @ W, axis=1)))"
    assert to_text(r.matrix) == f"({S} - {S} @ kron(ones(k, k), eye(n)) @ {S}) @ kron(eye(k), X)"
    assert r.matrix.shape == ("k*n", "k*m")
    X = values["X"]
    np.testing.assert_allclose(evaluate(r.matrix, values, DIMS), jacobian_fd(lambda W: softmax(X @ W), values["W"]),
                               atol=1e-8)
    assert {t.kind for t in r.vec_terms} == {"straight", "middle"}


def test_softmax_regression_hessian_wrt_W(values):
    doc = {"dims": DIMS, "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]},
                                     "Y": {"shape": ["n", "k"]}, "lam": {"shape": []}},
           "expr": "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)", "wrt": ["W"], "order": 2}
    r = result(doc)
    X, Y, lam = values["X"], values["Y"], values["lam"]

    def grad(W):      # the gradient written by hand: Xᵀ (S ∘ (Y 1) − Y) / n + 2 lam W
        return X.T @ (softmax(X @ W) * Y.sum(axis=1, keepdims=True) - Y) / N + 2 * lam * W

    H = evaluate(r.matrix, values, DIMS)
    np.testing.assert_allclose(H, jacobian_fd(grad, values["W"]), atol=1e-8)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    S = "diag(vec(softmax(X @ W, axis=1)))"      # (I ⊗ Xᵀ)(D − D (1 1ᵀ ⊗ I) D)(I ⊗ diag(Y 1) X) / n + 2 lam I
    assert to_text(r.matrix) == (f"(kron(eye(k), X.T) - kron(eye(k), X.T) @ {S} @ kron(ones(k, k), eye(n))) @ {S} "
                                 "@ kron(eye(k), diag(sum(Y, axis=1)) @ X) / n + 2 * lam * eye(k*m)")
    assert [t.kind for t in r.vec_terms] == ["middle", "middle", "straight"]


def test_summed_hub_hessian(values):
    """``Σ_i X_ip E_iq X_it E_ir``: a summed index joining all four free ones."""
    doc = {"dims": DIMS, "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]}},
           "expr": "sum(sum(exp(X @ W), axis=1) ** 2)", "wrt": ["W"], "order": 2}
    r = result(doc)
    X = values["X"]
    H = evaluate(r.matrix, values, DIMS)
    np.testing.assert_allclose(H, jacobian_fd(lambda W: 2 * X.T @ (np.exp(X @ W) * np.exp(X @ W).sum(1, keepdims=True)),
                                              values["W"]), rtol=1e-6, atol=1e-6)
    E = "diag(vec(exp(X @ W)))"
    assert to_text(r.matrix) == (f"2 * kron(eye(k), X.T) @ ({E} @ (kron(eye(k), diag(sum(exp(X @ W), axis=1)) @ X) "
                                 f"+ kron(ones(k, k), eye(n)) @ {E} @ kron(eye(k), X)))")


# -- random terms, read directly ----------------------------------------------------

FREE = (Index("i", "a"), Index("j", "b"), Index("p", "c"), Index("q", "d"))
HUBS = (Index("h", "e"), Index("g", "f"))
SIZES = {"a": 2, "b": 3, "c": 4, "d": 2, "e": 3, "f": 2}


def _term(rng, hubs: int):
    """A random product: each free index joined to a hub (or to another free index),
    with weights and the odd δ; returns factors, the summed, and the symbols' values."""
    factors, vals = [], {}
    for n, ix in enumerate(FREE):
        other = HUBS[n % hubs] if hubs and rng.random() < 0.8 else FREE[(n + 1 + rng.integers(3)) % 4]
        name = f"A{n}"
        vals[name] = rng.normal(size=(SIZES[ix.dim], SIZES[other.dim]))
        factors.append((ir.Symbol((ix.dim, other.dim), name), (ix, other)))
    if hubs == 2:
        vals["C"] = rng.normal(size=(SIZES["e"], SIZES["f"]))
        factors.append((ir.Symbol(("e", "f"), "C"), HUBS))
    for ix in HUBS[:hubs] + FREE[:1]:
        if rng.random() < 0.5:
            vals[f"w{ix.name}"] = rng.normal(size=SIZES[ix.dim])
            factors.append((ir.Symbol((ix.dim,), f"w{ix.name}"), (ix,)))
    return factors, list(HUBS[:hubs]), vals


def _expected(factors, summed, vals):
    """``T[i, j, p, q]`` by numpy's einsum, then the vec convention: row i + a j, column p + c q."""
    letters = {ix: c for ix, c in zip(FREE + HUBS, "ijpqhg")}
    spec = ",".join("".join(letters[x] for x in idx) for _, idx in factors) + "->ijpq"
    T = np.einsum(spec, *[vals[M.name] for M, _ in factors])
    a, b, c, d = T.shape
    return T.transpose(1, 0, 3, 2).reshape(b * a, d * c)


def _read(factors, summed):
    rows, cols = FREE[:2], FREE[2:]
    return read_vec(factors, summed, rows, cols) or read_einsum(factors, summed, rows, cols)


@pytest.mark.parametrize("seed,hubs", list(itertools.product(range(8), (1, 2))))
def test_random_four_index_terms(seed, hubs):
    rng = np.random.default_rng(seed)
    factors, summed, vals = _term(rng, hubs)
    form = _read(factors, summed)
    got = evaluate(form, vals, SIZES)
    np.testing.assert_allclose(got, _expected(factors, summed, vals), atol=1e-12)
    symbols = {M.name: M for M, _ in factors}
    text = to_text(form)
    again = parse(text, symbols, SIZES)             # the printed form parses back, the same value
    np.testing.assert_allclose(evaluate(again, vals, SIZES), got, atol=1e-12)
    assert to_latex(form) and to_unicode(form)


def test_one_summed_hub_reads_in_kronecker_form():
    """``Σ_h A_ih B_jh C_ph D_qh`` → ``P diag(vec M) Q`` twice over, no einsum."""
    e = HUBS[0]
    names = ["A", "B", "C", "D"]
    factors = [(ir.Symbol((ix.dim, "e"), n), (ix, e)) for n, ix in zip(names, FREE)]
    form = read_vec(factors, [e], FREE[:2], FREE[2:])
    assert form is not None and "einsum" not in to_text(form)
    rng = np.random.default_rng(0)
    vals = {n: rng.normal(size=(SIZES[ix.dim], 3)) for n, ix in zip(names, FREE)}
    np.testing.assert_allclose(evaluate(form, vals, SIZES), _expected(factors, [e], vals), atol=1e-12)


def test_two_hubs_are_an_einsum_that_numpy_reads():
    """``Σ_hg A_ih B_jg C_ph D_qg E_hg``: no Kronecker reading; the einsum, letters j i q p."""
    h, g = HUBS
    factors = [(ir.Symbol(("a", "e"), "A"), (FREE[0], h)), (ir.Symbol(("b", "f"), "B"), (FREE[1], g)),
               (ir.Symbol(("c", "e"), "C"), (FREE[2], h)), (ir.Symbol(("d", "f"), "D"), (FREE[3], g)),
               (ir.Symbol(("e", "f"), "E"), (h, g)), (ir.Symbol(("e",), "w"), (h,))]
    form = read_einsum(factors, [h, g], FREE[:2], FREE[2:])
    assert read_vec(factors, [h, g], FREE[:2], FREE[2:]) is None
    assert to_text(form) == "reshape(einsum('ik,jl,pk,ql,kl,k->jiqp', A, B, C, D, E, w), (a*b, c*d))"
    rng = np.random.default_rng(1)
    vals = {M.name: rng.normal(size=tuple(SIZES[d] for d in M.shape)) for M, _ in factors}
    expected = _expected(factors, [h, g], vals)
    np.testing.assert_allclose(evaluate(form, vals, SIZES), expected, atol=1e-12)
    plain = np.einsum("ik,jl,pk,ql,kl,k->jiqp", *[vals[n] for n in "ABCDEw"]).reshape(2 * 3, 4 * 2)
    np.testing.assert_allclose(plain, expected, atol=1e-12)       # the text is numpy's own


# -- the language form reshape(einsum(...->jiqp), (p, q)) ----------------------------

SYMS = {"S": ir.Symbol(("n", "k"), "S"), "X": ir.Symbol(("n", "m"), "X"), "A": ir.Symbol(("n", "n"), "A"),
        "C": ir.Symbol(("k*n", "k*m"), "C")}
TEXT = "reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m))"


def test_reshaped_einsum_parses_prints_and_evaluates_as_numpy():
    node = parse(TEXT, SYMS, DIMS)
    assert node.rank == 2 and node.shape == ("k*n", "k*m")
    assert to_text(node) == TEXT
    assert parse(to_text(node), SYMS, DIMS) == node
    assert "reshape" in to_latex(node) and "einsum" in to_unicode(node)
    rng = np.random.default_rng(2)
    vals = {"S": rng.random((N, K)), "X": rng.normal(size=(N, M))}
    plain = np.einsum("ij,ip,iq->jiqp", vals["S"], vals["X"], vals["S"]).reshape(K * N, K * M)
    np.testing.assert_allclose(evaluate(node, vals, DIMS), plain)


def test_reshaped_einsum_is_differentiated_and_verified():
    """Its VJP (through selection matrices), codegen and the check, end to end."""
    doc = {"dims": DIMS, "symbols": {"S": {"shape": ["n", "k"]}, "X": {"shape": ["n", "m"]},
                                     "C": {"shape": ["k*n", "k*m"]}},
           "expr": f"sum({TEXT} * C)", "wrt": ["X", "S"]}
    d = derive(doc)
    assert all(v.passed for v in d.verification.values()), d.verification


@pytest.mark.parametrize("text,words", [
    ("einsum('ij,ip,iq->jiqp', S, X, S)", "only as the direct argument of a reshape"),
    ("sum(einsum('ij,ip,iq->jiqp', S, X, S))", "only as the direct argument of a reshape"),
    ("einsum('ij,ip,iq->jiqp', S, X, S) + 1", "only as the direct argument of a reshape"),
    ("reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k, n, k*m))", "only as the direct argument of a reshape"),
    ("reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*n))", "entries and"),
    ("reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*m, k*n))", "does not group whole letters"),
    ("reshape(einsum('ij,ip,iq,ab->jiqpab', S, X, S, A), (k*n, k*m*n*n))", "more than four axes"),
])
def test_hostile_reshaped_einsum(text, words):
    with pytest.raises(MatcalcError) as info:
        parse(text, SYMS, DIMS)
    message = str(info.value)
    assert words in message and "^" in message and message.count("error") == 1
    if "direct argument" in words:
        assert "hint: write reshape(einsum(" in message


def test_two_layer_hessian_has_einsum_terms_that_are_right(values):
    """Softmax cross-entropy after a tanh layer, w.r.t. the first weights: terms with two
    hubs are the einsum form (a diag(Y 1) between two summed indices merges them first)."""
    rng = np.random.default_rng(3)
    doc = {"dims": DIMS, "symbols": {"X": {"shape": ["n", "m"]}, "W1": {"shape": ["m", "m"]},
                                     "W2": {"shape": ["m", "k"]}, "Y": {"shape": ["n", "k"]}},
           "expr": "-sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1)))", "wrt": ["W1"], "order": 2}
    r = result(doc, "W1")
    vals = {"X": values["X"], "Y": values["Y"], "W1": rng.normal(size=(M, M)), "W2": rng.normal(size=(M, K))}
    X, Y, W2 = vals["X"], vals["Y"], vals["W2"]

    def grad(W1):
        T = np.tanh(X @ W1)
        return X.T @ ((softmax(T @ W2) * Y.sum(axis=1, keepdims=True) - Y) @ W2.T * (1 - T ** 2))

    np.testing.assert_allclose(evaluate(r.matrix, vals, DIMS), jacobian_fd(grad, vals["W1"]), atol=1e-7)
    text = to_text(r.matrix)
    assert "reshape(einsum('pk,kq,kl,jl,lq,ki,kj,k->jiqp', X.T, " in text and ", (m*m, m*m))" in text
    assert "diag(sum(Y, axis=1))" not in text.split("reshape(einsum(")[1].split("), (m*m")[0]
    assert any(t.kind == "einsum" for t in r.vec_terms)


@pytest.mark.parametrize("expr,f", [
    ("vec(X)", lambda X: vec(X)),
    ("reshape(X, (m, n))", lambda X: X.reshape(M, N)),
    ("X @ reshape(X, (m, n))", lambda X: X @ X.reshape(M, N)),
    ("exp(reshape(X, (n*m,)))", lambda X: np.exp(X.reshape(-1))),
])
def test_reshape_and_vec_are_read_not_refused(values, expr, f):
    """Their index form holds a selection tensor of 3 or 4 axes: split into 2-D selections."""
    doc = {"dims": DIMS, "symbols": {"X": {"shape": ["n", "m"]}}, "expr": expr, "wrt": ["X"]}
    r = result(doc, "X")
    np.testing.assert_allclose(evaluate(r.matrix, values, DIMS), jacobian_fd(f, values["X"]), atol=1e-8)
