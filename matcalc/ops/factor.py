"""Solves, factors, triangles and powers: ``solve cholesky tril triu matrix_power``.

One record each.  ``solve(A, B)`` is ``inv(A) @ B`` (its index form is that
product, with ``inv`` opaque); ``cholesky`` is opaque in index notation and
carries its derivative (Murray 2016); ``tril``/``triu`` are linear, an
indicator factor times the argument; ``matrix_power(A, k)`` is the product of
``k`` copies of ``A`` (``k`` a constant parameter, like ``axis``).

>>> from matcalc.registry import lookup
>>> lookup("solve").numpy, lookup("matrix_power").params
('np.linalg.solve({0}, {1})', ('k',))
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from .. import ir
from ..index import nodes as I
from ..language import to_text
from ..matrix import build as B
from ..registry import OPS, Op, register
from ..shapes import ShapeMismatch, is_square, show
from . import mp

# -- tril, triu: a mask times the argument -------------------------------------------

def _mask(name: str, shape) -> ir.Expr:
    """The constant indicator ``tril(ones(n, m))``: 1 on and below the diagonal."""
    return ir.apply(name, [B.ones(shape)])


def _triangle_index(name: str):
    def index(node, args, idx, pool):
        """tril(A)_ij = [i ≥ j] A_ij  (triu: [i ≤ j]): an indicator factor."""
        mask = _mask(name, node.shape)
        return I.Mul((I.Opaque(mask, tuple(idx), to_text(mask)), args[0](tuple(idx))))
    return index


def _triangle_index_deriv(name: str):
    def deriv(entry, d_arg, pool):
        """∂tril(A)_ij = [i ≥ j] ∂A_ij (the mask is constant)."""
        mask = _mask(name, entry.expr.shape)
        return I.Mul((I.Opaque(mask, entry.indices, to_text(mask)), d_arg(entry.indices)))
    return deriv


def _triangle_vjp(name: str):
    def vjp(g, node):
        """G : d tril(A) = tril(G) : dA (tril is a projection, its own adjoint)."""
        if g.rank != 2:
            g = B.mul(g, B.ones(node.shape))
        return (B.call(name, g),)
    return vjp


def _matrix_rule(name: str):
    def rule(shapes, attrs):
        s = shapes[0]
        if len(s) != 2:
            raise ShapeMismatch(f"{name} needs a matrix, not {'a scalar' if not s else show(s)}",
                                f"{name} keeps the {'lower' if name == 'tril' else 'upper'} triangle of a matrix")
        return s
    return rule


for _name, _fn, _side in (("tril", np.tril, "lower"), ("triu", np.triu, "upper")):
    register(Op(_name, "call", 1, _matrix_rule(_name), numpy=f"np.{_name}({{0}})", array_api=f"xp.{_name}({{0}})",
                latex=f"\\operatorname{{{{{_name}}}}}({{0}})",
                doc=f"the {_side} triangle, diagonal included", vjp=_triangle_vjp(_name), fn=_fn,
                keeps_nonnegative=True, index=_triangle_index(_name), index_deriv=_triangle_index_deriv(_name)))


# -- solve ----------------------------------------------------------------------------

def _solve_shape(shapes, attrs):
    a, b = shapes
    if not is_square(a):
        raise ShapeMismatch(f"solve(A, B) needs a square matrix A, not {'a scalar' if not a else show(a)}",
                            "solve(A, B) is inv(A) @ B for a square A")
    if len(b) not in (1, 2) or b[0] != a[0]:
        raise ShapeMismatch(f"solve(A, B) needs B with as many rows as A: {show(a)} and "
                            f"{'a scalar' if not b else show(b)} do not fit",
                            f"B is a vector [{a[0]}] or a matrix [{a[0]}, k]")
    return b


def _index_solve(node, args, idx, pool):
    """solve(A, B)_ij = Σ_k (A⁻¹)_ik B_kj, with (A⁻¹)_ik opaque."""
    a, b = node.args
    inv = ir.apply("inv", [a])
    product = ir.apply("matmul", [inv, b])
    return OPS["matmul"].index(product, [lambda ix: I.Opaque(inv, tuple(ix), to_text(inv)), args[1]], idx, pool)


def _vjp_solve(g, node):
    """X = A⁻¹B:  dX = A⁻¹(dB - dA X), so  B̄ = solve(Aᵀ, G),  Ā = -B̄ Xᵀ."""
    a, b = node.args
    b_bar = B.call("solve", B.T(a), g)
    a_bar = B.neg(B.outer(b_bar, node) if b.rank == 1 else B.matmul(b_bar, B.T(node)))
    return a_bar, b_bar


def _mp_solve(a, b):
    return mp.inv(a) @ mp.as_mp(b)


register(Op("solve", "call", 2, _solve_shape, numpy="np.linalg.solve({0}, {1})",
            array_api="_solve(xp, {0}, {1})", latex="{0:atom}^{{-1}} {1:mul}", unicode="{0:atom}⁻¹{1:mul}",
            binds="mul", domain=("invertible", None), doc="inv(A) @ B without forming the inverse",
            vjp=_vjp_solve, fn=np.linalg.solve, mp=_mp_solve, index=_index_solve))


# -- cholesky -------------------------------------------------------------------------

def _phi(m: ir.Expr) -> ir.Expr:
    """Φ(M) = tril(M) with the diagonal halved: tril(M) - diag(diag(M)) / 2."""
    return B.sub(B.call("tril", m), B.div(B.call("diag", B.call("diag", m)), B.num(2)))


def _vjp_cholesky(g, node):
    """L = chol(A), L̄ = G:  dL = L Φ(L⁻¹ dA L⁻ᵀ), so (Murray 2016, eq. 10, symmetrised
    since A is symmetric)  Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹),  sym(P) = (P + Pᵀ)/2,
    written with ``inv``, ``tril`` and ``diag``.

    A term ``diag(v)`` of L̄ (from ``Σ log Lᵢᵢ``) takes the short way: Lᵀ diag(v) is upper
    triangular, so Φ of it is its diagonal halved, and its part of Ā is
    L⁻ᵀ diag(diag(L) ∘ v) L⁻¹ / 2 (``sum(log(diag(L)))`` gives ``inv(K) / 2``)."""
    from ..matrix.rules.common import terms
    inv = B.call("inv", node)
    rest, total = None, None
    for sign, t in terms(g) if g.rank == 2 else [(1, g)]:
        if B.is_op(t, "diag") and t.args[0].rank == 1:
            scaled = B.call("diag", B.mul(B.call("diag", node), t.args[0]))
            part = B.div(B.matmul(B.matmul(B.T(inv), scaled), inv), B.num(2))
            total = B.add(total, part) if sign > 0 else B.sub(total, part)
        else:
            rest = B.add(rest, t) if sign > 0 else B.sub(rest, t)
    if rest is not None:
        p = B.matmul(B.matmul(B.T(inv), _phi(B.matmul(B.T(node), rest))), inv)
        total = B.add(total, B.div(B.add(p, B.T(p)), B.num(2)))
    return (total,)


def _index_cholesky(node, args, idx, pool):
    """chol(A) has no index form: L_ij is an opaque entry."""
    return I.Opaque(node, tuple(idx), to_text(node))


def _index_deriv_cholesky(entry, d_arg, pool):
    """∂L_ij = Σ_k L_ik Φ(M)_kj,  M = L⁻¹ sym(∂A) L⁻ᵀ,  Φ(M)_kj = [k ≥ j] M_kj - ½ δ_kj M_kj."""
    i, j = entry.indices
    n = entry.expr.shape[0]
    node = entry.expr
    inv = ir.apply("inv", [node])
    mask = _mask("tril", node.shape)

    def m(k, j):
        a, b = pool.fresh(n), pool.fresh(n)
        sym = I.Mul((I.Num(Fraction(1, 2)),
                     I.Add((d_arg((a, b)), d_arg((b, a))))))
        return I.Sum(a, I.Sum(b, I.Mul((I.Opaque(inv, (k, a), to_text(inv)), sym,
                                        I.Opaque(inv, (j, b), to_text(inv))))))
    k = pool.fresh(n)
    below = I.Sum(k, I.Mul((I.Opaque(node, (i, k), entry.label), I.Opaque(mask, (k, j), to_text(mask)), m(k, j))))
    diagonal = I.Mul((I.Num(Fraction(-1, 2)), I.Opaque(node, (i, j), entry.label), m(j, j)))
    return I.Add((below, diagonal))


def cholesky(a):
    """The lower Cholesky factor of the symmetric part of ``a`` (the language admits
    only symmetric arguments, where it is numpy's; every direction then agrees with
    the symmetric derivative)."""
    a = np.asarray(a)
    return np.linalg.cholesky((a + np.swapaxes(a, -1, -2)) / 2)


def _mp_cholesky(a):
    a = mp.as_mp(a)
    try:
        factor = mpmath.cholesky(mpmath.matrix(((a + a.T) / 2).tolist()))
    except (ValueError, ZeroDivisionError):
        return np.full(a.shape, mp.NAN, dtype=object)
    return np.array(factor.tolist(), dtype=object).reshape(a.shape)


def _transposes_folded(e: ir.Expr) -> ir.Expr:
    """``e`` rebuilt with ``(Aᵀ)ᵀ = A`` (and ``Iᵀ = I``...) folded, so that ``X.T @ X.T.T``
    reads as the Gram matrix it is."""
    if not isinstance(e, ir.Apply):
        return e
    args = [_transposes_folded(a) for a in e.args]
    if e.op == "transpose":
        return B.T(args[0])
    return ir.apply(e.op, args, dict(e.attrs))


def spd_form(a) -> bool:
    """What cholesky accepts: a symbol declared spd, or a form matcalc can tell is
    symmetric (``S @ S.T + eye(n)``), which the verifier draws spd."""
    from ..matrix.rules.common import is_symmetric
    return "spd" in a.props if isinstance(a, ir.Symbol) else is_symmetric(_transposes_folded(a))


def _check_cholesky(node) -> None:
    """cholesky needs an spd argument (:func:`spd_form`)."""
    from ..matrix.rules.common import is_symmetric
    a = node.args[0]
    if isinstance(a, ir.Symbol):
        if "spd" not in a.props:
            raise ShapeMismatch(f"cholesky needs a symmetric positive definite matrix, and {a.name} is not "
                                "declared spd", f"declare {a.name} spd (props: [spd])")
    elif not is_symmetric(_transposes_folded(a)):
        raise ShapeMismatch(f"cholesky needs a symmetric positive definite matrix, and matcalc cannot tell "
                            f"that {to_text(a)} is symmetric",
                            "write it as S @ S.T + c * eye(n), or declare the matrix spd")


def _square_rule(name: str):
    def rule(shapes, attrs):
        s = shapes[0]
        if not is_square(s):
            raise ShapeMismatch(f"{name} needs a square matrix, not {'a scalar' if not s else show(s)}",
                                f"{name}(A.T @ A) or {name}(A @ A.T) is square" if len(s) == 2 else None)
        return s
    return rule


register(Op("cholesky", "call", 1, _square_rule("cholesky"), numpy="np.linalg.cholesky({0})",
            array_api="_cholesky(xp, {0})", latex="\\operatorname{{chol}}({0})",
            domain=("spd",), doc="the lower Cholesky factor L of an spd A = L Lᵀ", letter="L",
            vjp=_vjp_cholesky, fn=cholesky, mp=_mp_cholesky, index=_index_cholesky,
            index_deriv=_index_deriv_cholesky, check=_check_cholesky))


# -- matrix_power ---------------------------------------------------------------------

MAX_POWER = 100

def _normalize_power(shapes, attrs):
    k = attrs.get("k")
    if k is None:
        raise ShapeMismatch("matrix_power needs its power k", "write matrix_power(A, 2)")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ShapeMismatch(f"matrix_power needs a non-negative integer power k, not {k!r}",
                            "for a negative power write matrix_power(inv(A), k)")
    if k > MAX_POWER:      # its derivative is a sum of k products
        raise ShapeMismatch(f"matrix_power's power k is at most {MAX_POWER}, not {k}",
                            f"its derivative is a sum of k products; write a power up to {MAX_POWER}")
    return {"k": k}


def power(a: ir.Expr, k: int) -> ir.Expr:
    """Aᵏ as the language writes it: eye for k = 0, A for k = 1."""
    if k == 0:
        return B.eye(a.shape[0])
    if k == 1:
        return a
    return ir.apply("matrix_power", [a], {"k": k})


def _index_power(node, args, idx, pool):
    """(Aᵏ)_ij = Σ_{l1..l(k-1)} A_{i l1} A_{l1 l2} ... A_{l(k-1) j};  A⁰ = δ_ij."""
    k = node.attr("k")
    if k == 0:
        return I.Delta(idx[0], idx[1])
    chain = [idx[0]] + [pool.fresh(node.shape[0]) for _ in range(k - 1)] + [idx[1]]
    body = I.Mul(tuple(args[0]((chain[n], chain[n + 1])) for n in range(k)))
    for ix in reversed(chain[1:-1]):
        body = I.Sum(ix, body)
    return body


def _vjp_power(g, node):
    """d(Aᵏ) = Σ_{i<k} Aⁱ dA Aᵏ⁻¹⁻ⁱ, so  Ā = Σ_{i<k} (Aᵀ)ⁱ G (Aᵀ)ᵏ⁻¹⁻ⁱ."""
    a, k = node.args[0], node.attr("k")
    at = B.T(a)
    total = None
    for i in range(k):      # (with G = I each term is (Aᵀ)ᵏ⁻¹: trace(Aᵏ) gives k (Aᵀ)ᵏ⁻¹)
        term = power(at, k - 1) if B.is_eye(g) else B.matmul(B.matmul(power(at, i), g), power(at, k - 1 - i))
        total = B.add(total, term)
    return (B.ZERO if total is None else total,)


def _mp_power(a, k):
    a = mp.as_mp(a)
    out = np.array(mpmath.eye(a.shape[0]).tolist(), dtype=object)
    for _ in range(k):
        out = out @ a
    return out


register(Op("matrix_power", "call", 1, _square_rule("matrix_power"), params=("k",),
            numpy="np.linalg.matrix_power({0}, {k})", array_api="xp.linalg.matrix_power({0}, {k})",
            latex="{0:atom}^{{{k}}}", unicode="{0:atom}^{k}", binds="pow",
            normalize=_normalize_power, samples={"k": (0, 1, 2, 3)},
            doc="A @ A @ ... @ A (k a non-negative integer)", vjp=_vjp_power,
            fn=lambda a, k: np.linalg.matrix_power(a, k), mp=_mp_power, index=_index_power))
