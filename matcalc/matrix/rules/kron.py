"""Kronecker products, ``vec`` and commutation matrices, as Magnus and Neudecker write
them: scalars out (``(c A) ⊗ B = c (A ⊗ B)``), sums factored (``I ⊗ A + I ⊗ Aᵀ =
I ⊗ (A + Aᵀ)``), the mixed product (``(A ⊗ B)(C ⊗ D) = A C ⊗ B D``), the vec trick
(``(Aᵀ ⊗ B) vec X = vec(B X A)``) and the commutation matrix ``K_mn`` (``K_mn vec A =
vec Aᵀ`` for ``A`` [m, n]) moved to the right of a product and cancelled.

A ``[n]`` vector inside ``kron`` is the column ``[n, 1]`` (:func:`matcalc.ops.linalg._kron`),
so the shapes below read a vector as ``(n, 1)``.

>>> from matcalc.ir import Symbol
>>> from matcalc.matrix import build as B
>>> from matcalc.render.text import to_text
>>> A = Symbol(("n", "n"), "A")
>>> to_text(kron_factor.apply(B.add(B.call("kron", B.eye("n"), A), B.call("kron", B.eye("n"), B.T(A))), None))
'kron(eye(n), A + A.T)'
"""

from __future__ import annotations

from ... import ir
from ...shapes import dim_poly, dim_product
from .. import build as B
from .common import chain, product, rule, split_scalar, terms
from .sums import signed_sum


def _same(a, b) -> bool:
    """Two dimensions equal as polynomials (``m*n`` is ``n*m``)."""
    return dim_poly(a) == dim_poly(b)


def _as_matrix(shape) -> tuple:
    """A shape as kron reads it: a vector is its column."""
    return (shape[0], 1) if len(shape) == 1 else tuple(shape)


def _kron(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    return B.call("kron", a, b)


def _dims(k: ir.Expr) -> tuple:
    """``(m, n)`` of ``commutation(m, n)`` (``commutation(n)`` is ``K_nn``)."""
    dims = k.attr("dims")
    return (dims[0], dims[-1])


def _commutation(m, n) -> ir.Expr:
    """``K_mn``; ``K_m1 = K_1m = I_m``."""
    if m == 1 or n == 1:
        return B.eye(n if m == 1 else m)
    return B.call("commutation", dims=(m, n))


# -- kron alone ---------------------------------------------------------------------

@rule("kron-of-identities", "I_a ⊗ I_b = I_ab; 1 ⊗ 1 = 1 (ones)", ["kron"])
def kron_of_identities(e, ctx):
    a, b = e.args
    if B.is_eye(a) and B.is_eye(b):
        return B.eye(e.shape[0])
    if B.is_ones(a) and B.is_ones(b):
        return B.ones(e.shape)
    return None


def _one_entry(x: ir.Expr) -> bool:
    return all(d == 1 for d in x.shape)


@rule("kron-with-one-entry", "c ⊗ B = c B = B ⊗ c for a [1, 1] (or [1]) c; 1 ⊗ B = B", ["kron"])
def kron_with_one_entry(e, ctx):
    a, b = e.args
    for one, other in ((a, b), (b, a)):
        if _one_entry(one) and other.shape == e.shape:
            if B.is_ones(one) or B.is_eye(one):
                return other
            out = B.mul(one, other)
            return out if out.shape == e.shape else None
    return None


@rule("kron-scalars-out", "(c A) ⊗ (d B) = c d (A ⊗ B); A ⊗ (-B) = -(A ⊗ B); A ⊗ (B / c) = (A ⊗ B) / c",
      ["kron"], cookbook="509")
def kron_scalars_out(e, ctx):
    (a, c), (b, d) = (split_scalar(x) for x in e.args)
    if c is None and d is None:
        return None
    scalar = c if d is None else d if c is None else B.mul(c, d)
    if B.is_op(scalar, "div") and B.is_num(scalar.args[0], 1):     # A ⊗ (B / c) = (A ⊗ B) / c
        return B.div(_kron(a, b), scalar.args[1])
    return B.mul(scalar, _kron(a, b))


@rule("kron-transpose", "(A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ", ["transpose"], cookbook="510", canonical=True)
def kron_transpose(e, ctx):
    a = e.args[0]
    if not (B.is_op(a, "kron") and all(x.rank == 2 for x in a.args)):
        return None      # (x ⊗ B)ᵀ is no kron of a [n] vector: xᵀ is a row
    return _kron(B.T(a.args[0]), B.T(a.args[1]))


@rule("kron-inverse", "(A ⊗ B)⁻¹ = A⁻¹ ⊗ B⁻¹ for square A, B", ["inv"], cookbook="512", canonical=True)
def kron_inverse(e, ctx):
    a = e.args[0]
    if not (B.is_op(a, "kron") and all(x.rank == 2 and _same(*x.shape) for x in a.args)):
        return None
    return _kron(*(x if B.is_eye(x) else B.call("inv", x) for x in a.args))


# -- products -----------------------------------------------------------------------

def _pairwise(e: ir.Expr, merge) -> ir.Expr | None:
    """The product chain of ``e`` with the first neighbours ``x, y`` for which
    ``merge(x, y)`` gives factors replacing them; None when no pair merges."""
    factors = chain(e)
    for i in range(len(factors) - 1):
        got = merge(factors[i], factors[i + 1])
        if got is not None:
            return product(factors[:i] + got + factors[i + 2:])
    return None


def _mixed(x: ir.Expr, y: ir.Expr):
    """``(A ⊗ B)(C ⊗ D)``; C and D may be vectors (columns): ``(A ⊗ B)(c ⊗ D) = A c ⊗ B D``."""
    if not (B.is_op(x, "kron") and B.is_op(y, "kron")):
        return None
    (a, b), (c, d) = x.args, y.args
    if not (a.rank == 2 and b.rank == 2 and c.rank >= 1 and d.rank >= 1):
        return None
    if _same(a.shape[1], c.shape[0]) and _same(b.shape[1], d.shape[0]):
        return [_kron(B.matmul(a, c), B.matmul(b, d))]
    return None


@rule("kron-mixed-product", "(A ⊗ B)(C ⊗ D) = A C ⊗ B D; (I ⊗ A)(I ⊗ B) = I ⊗ A B", ["matmul"],
      cookbook="511")
def kron_mixed_product(e, ctx):
    return _pairwise(e, _mixed)


def _vec_trick(x: ir.Expr, y: ir.Expr):
    if not (B.is_op(x, "kron") and B.is_op(y, "vec") and y.args[0].rank == 2):
        return None
    a, b = x.args
    m = y.args[0]
    if a.rank == 2 and b.rank == 2 and _same(b.shape[1], m.shape[0]) and _same(a.shape[1], m.shape[1]):
        return [B.call("vec", B.matmul(B.matmul(b, m), B.T(a)))]
    return None


@rule("kron-vec", "(A ⊗ B) vec(X) = vec(B X Aᵀ): the Kronecker product never built ((I ⊗ B) vec X = vec(B X))",
      ["matmul"], cookbook="520", canonical=True)
def kron_vec(e, ctx):
    """Canonical: ``Aᵀ`` may add a node, but ``n m × n m`` entries become two products
    (and ``vec(B X Aᵀ) + vec(Bᵀ X A)`` then adds up under one vec)."""
    return _pairwise(e, _vec_trick)


def _k_vec(x: ir.Expr, y: ir.Expr):
    if B.is_op(x, "commutation") and B.is_op(y, "vec") and y.args[0].rank == 2:
        m, n = _dims(x)
        a = y.args[0]
        if _same(a.shape[0], m) and _same(a.shape[1], n):
            return [B.call("vec", B.T(a))]
    return None


@rule("commutation-vec", "K_mn vec(A) = vec(Aᵀ) for A [m, n]", ["matmul"])
def commutation_vec(e, ctx):
    return _pairwise(e, _k_vec)


def _k_pair(x: ir.Expr, y: ir.Expr):
    if B.is_op(x, "commutation") and B.is_op(y, "commutation"):
        (m, n), (p, q) = _dims(x), _dims(y)
        if _same(m, q) and _same(n, p):
            return [B.eye(x.shape[0])]
    return None


def _k_past_kron(x: ir.Expr, y: ir.Expr):
    """``K_pm (A ⊗ B) = (B ⊗ A) K_qn`` for A [m, n], B [p, q]."""
    if not (B.is_op(x, "commutation") and B.is_op(y, "kron")):
        return None
    a, b = y.args
    (m, n), (p, q) = _as_matrix(a.shape), _as_matrix(b.shape)
    km, kn = _dims(x)
    if not (_same(km, p) and _same(kn, m)):
        return None
    return [_kron(b, a), _commutation(q, n)]


@rule("commutation-inverse", "K_mn⁻¹ = K_mnᵀ = K_nm: K_mn K_nm = I", ["matmul", "inv"])
def commutation_inverse(e, ctx):
    if B.is_op(e, "inv"):
        k = e.args[0]
        return _commutation(*reversed(_dims(k))) if B.is_op(k, "commutation") else None
    return _pairwise(e, _k_pair)


@rule("commutation-swap", "K_pm (A ⊗ B) = (B ⊗ A) K_qn for A [m, n], B [p, q]: K_pm (A ⊗ B) K_nq = B ⊗ A",
      ["matmul"])
def commutation_swap(e, ctx):
    return _pairwise(e, _k_past_kron)


@rule("commutation-transpose", "K_mnᵀ = K_nm", ["transpose"])
def commutation_transpose(e, ctx):
    k = e.args[0]
    return _commutation(*reversed(_dims(k))) if B.is_op(k, "commutation") else None


@rule("commutation-trivial", "K_m1 = K_1m = I_m", ["commutation"])
def commutation_trivial(e, ctx):
    m, n = _dims(e)
    return B.eye(dim_product(m, n)) if m == 1 or n == 1 else None


@rule("reshape-of-vec-transpose", "reshape(vec(Aᵀ), s) = reshape(A, s): vec(Aᵀ) is A's rows stacked, "
      "numpy's row-major order (reshape(vec(Aᵀ), shape of A) = A)", ["reshape"])
def reshape_of_vec_transpose(e, ctx):
    a = e.args[0]
    if B.is_op(a, "vec") and B.is_op(a.args[0], "transpose") and a.args[0].rank == 2:
        inner = a.args[0].args[0]
        return inner if inner.shape == e.shape else ir.apply("reshape", [inner], dict(e.attrs))
    return None


# -- sums (inside elementwise results) ------------------------------------------------

def _scaled(t: ir.Expr, s: int, c) -> ir.Expr:
    """``s c t`` as one term (c None for 1)."""
    t = t if c is None else B.mul(c, t)
    return t if s > 0 else B.neg(t)


def _factored(parts, side: int):
    """``Σ sᵢ cᵢ (Aᵢ ⊗ C) = (Σ sᵢ cᵢ Aᵢ) ⊗ C`` (side 1: C common on the right), for the
    largest group of two or more terms sharing C; None when no two share one."""
    groups: dict[tuple, list[int]] = {}
    for i, (_, t, _) in enumerate(parts):
        if B.is_op(t, "kron"):
            rest = t.args[1 - side]
            groups.setdefault((t.args[side], rest.shape), []).append(i)
    best = max(groups.items(), key=lambda kv: len(kv[1]), default=None)
    if best is None or len(best[1]) < 2:
        return None
    (common, _), idx = best
    inner = [(s, t.args[1 - side] if c is None else B.mul(c, t.args[1 - side])) for s, t, c in
             (parts[i] for i in idx)]
    sign = -1 if all(s < 0 for s, _ in inner) else 1       # -(A ⊗ B) - (A ⊗ C) = -(A ⊗ (B + C))
    inner_sum = signed_sum([(s * sign, x) for s, x in inner])
    factored = _kron(common, inner_sum) if side == 0 else _kron(inner_sum, common)
    return sign, factored, [p for i, p in enumerate(parts) if i not in idx]


@rule("kron-factor", "A ⊗ B + A ⊗ C = A ⊗ (B + C), A ⊗ C - B ⊗ C = (A - B) ⊗ C (also with scalar "
      "coefficients)", ["add", "sub"], cookbook="506")
def kron_factor(e, ctx):
    parts = []
    for s, t in terms(e):
        inner, c = split_scalar(t)
        parts.append((s, inner, c))
    if sum(B.is_op(t, "kron") for _, t, _ in parts) < 2:
        return None
    for side in (0, 1):
        got = _factored(parts, side)
        if got is not None:
            sign, factored, others = got
            return signed_sum([(sign, factored)] + [(s, _scaled(t, 1, c)) for s, t, c in others])
    return None


@rule("kron-hadamard", "(A ⊗ B) ∘ (C ⊗ D) = (A ∘ C) ⊗ (B ∘ D) for A, C of one shape and B, D of one shape; "
      "(1 ⊗ B) ∘ (A ⊗ 1) = A ⊗ B", ["mul"])
def kron_hadamard(e, ctx):
    x, y = e.args
    if not (B.is_op(x, "kron") and B.is_op(y, "kron")):
        return None
    (a, b), (c, d) = x.args, y.args
    if a.shape == c.shape and b.shape == d.shape:
        return _kron(B.mul(a, c), B.mul(b, d))
    return None


@rule("vec-linear", "vec(A) + vec(B) = vec(A + B), c vec(A) - vec(B) = vec(c A - B), vec(A) ∘ vec(B) = "
      "vec(A ∘ B) for A, B of one shape", ["add", "sub", "mul"], cookbook="522")
def vec_linear(e, ctx):
    if B.is_op(e, "mul"):
        a, b = e.args
        if B.is_op(a, "vec") and B.is_op(b, "vec") and a.args[0].shape == b.args[0].shape:
            return B.call("vec", B.mul(a.args[0], b.args[0]))
        return None
    parts = []
    for s, t in terms(e):
        inner, c = split_scalar(t)
        parts.append((s, inner, c))
    shapes = [t.args[0].shape for _, t, _ in parts if B.is_op(t, "vec")]
    shape = max(set(shapes), key=shapes.count, default=None)
    idx = [i for i, (_, t, _) in enumerate(parts) if B.is_op(t, "vec") and t.args[0].shape == shape]
    if len(idx) < 2:
        return None
    merged = B.call("vec", signed_sum([(parts[i][0], _scaled(parts[i][1].args[0], 1, parts[i][2])) for i in idx]))
    others = [(s, _scaled(t, 1, c)) for i, (s, t, c) in enumerate(parts) if i not in idx]
    return signed_sum([(1, merged)] + others)


RULES = (kron_of_identities, kron_with_one_entry, kron_scalars_out, kron_transpose, kron_inverse,
         kron_mixed_product, kron_vec, commutation_vec, commutation_inverse, commutation_swap,
         commutation_transpose, commutation_trivial, reshape_of_vec_transpose)
REGION = (kron_factor, kron_hadamard, vec_linear)
