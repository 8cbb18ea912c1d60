"""Matrix products: scalars pulled out, identities and inverse pairs cancelled,
``vᵀ M`` written ``Mᵀ v``, diagonal matrices turned into Hadamard products, and
sums distributed when that is shorter."""

from __future__ import annotations

from ... import ir
from .. import build as B
from ..rewrite import size
from .common import (
    chain,
    end,
    inverse_form,
    inverse_pair,
    is_square,
    mul_opt,
    product,
    rule,
    split_scalar,
)


@rule("scalar-out-of-product", "(c A)(d B) = c d (A B)", ["matmul"], canonical=True)
def scalar_out_of_product(e, ctx):
    a, b = e.args
    sa, ca = split_scalar(a)
    sb, cb = split_scalar(b)
    if ca is None and cb is None:
        return None
    return B.mul(mul_opt(ca, cb), B.matmul(sa, sb))


@rule("identity-product", "I A = A = A I; 0 A = 0", ["matmul"])
def identity_product(e, ctx):
    a, b = e.args
    out = B.matmul(a, b)
    return None if B.is_op(out, "matmul") and out.args[0] is a and out.args[1] is b else out


@rule("inverse-pair", "P P⁻¹ = I = P⁻¹ P inside a chain: A P P⁻¹ B = A B", ["matmul"])
def inverse_pair_rule(e, ctx):
    a, b = e.args
    if not inverse_pair(end(a, 1), end(b, 0)):
        return None
    rest = chain(a)[:-1] + chain(b)[1:]
    return product(rest) if rest else B.eye(a.shape[0])


def _inverse_factors(f: ir.Expr):
    """``inv(P₁ ⋯ P_k)`` (square factors) read as ``P_k⁻¹ ⋯ P₁⁻¹``; transposed, as
    ``P₁⁻ᵀ ⋯ P_k⁻ᵀ``.  Returns (the Ps, transposed) or None."""
    base, inverted, transposed = inverse_form(f)
    if not inverted or not B.is_op(base, "matmul"):
        return None
    ps = chain(base)
    if not all(is_square(p) for p in ps):
        return None
    return ps, transposed


def _one_inverse(p: ir.Expr, transposed: bool) -> ir.Expr:
    out = B.call("inv", p)
    return B.T(out) if transposed else out


@rule("inverse-of-product", "P (Q P)⁻¹ = Q⁻¹ and (P Q)⁻¹ P = Q⁻¹ for square P, Q: (A B)⁻¹ = B⁻¹ A⁻¹",
      ["matmul"], cookbook="1")
def inverse_of_product(e, ctx):
    a, b = e.args
    x, y = end(a, 1), end(b, 0)
    for side, other, f in ((1, x, y), (0, y, x)):
        read = _inverse_factors(f)
        if read is None:
            continue
        ps, transposed = read
        # the inverse's factors in the order they multiply (side 1: b's first; side 0: a's last)
        order = list(range(len(ps))) if transposed else list(range(len(ps)))[::-1]
        k = order[0 if side == 1 else -1]          # the factor of ps whose inverse meets `other`
        if not inverse_pair(other, _one_inverse(ps[k], transposed)):
            continue
        rest = ps[:k] + ps[k + 1:]     # (by position: a factor that is itself inv(M9) is not M9)
        inner = B.call("inv", product(rest))
        inner = B.T(inner) if transposed else inner
        return product(chain(a)[:-1] + [inner] + chain(b)[1:])
    return None


@rule("row-vector-product", "vᵀ M = (Mᵀ v)ᵀ: a vector on the left is written on the right", ["matmul"],
      canonical=True)
def row_vector_product(e, ctx):
    a, b = e.args
    return B.matmul(B.T(b), a) if a.rank == 1 and b.rank == 2 else None


def _diag_of_vector(x: ir.Expr) -> bool:
    return B.is_op(x, "diag") and x.args[0].rank == 1


@rule("diag-times-vector", "diag(v) x = v ∘ x", ["matmul"])
def diag_times_vector(e, ctx):
    a, b = e.args
    return B.mul(a.args[0], b) if _diag_of_vector(a) and b.rank == 1 else None


@rule("diag-times-diag", "diag(v) diag(w) = diag(v ∘ w)", ["matmul"])
def diag_times_diag(e, ctx):
    a, b = e.args
    return B.call("diag", B.mul(a.args[0], b.args[0])) if _diag_of_vector(a) and _diag_of_vector(b) else None


@rule("diag-times-outer", "diag(v) x yᵀ = (v ∘ x) yᵀ and x yᵀ diag(v) = x (v ∘ y)ᵀ", ["matmul"])
def diag_times_outer(e, ctx):
    a, b = e.args
    if B.is_op(b, "outer") and _diag_of_vector(a):
        return B.outer(B.mul(a.args[0], b.args[0]), b.args[1])
    if B.is_op(a, "outer") and _diag_of_vector(b):
        return B.outer(a.args[0], B.mul(b.args[0], a.args[1]))
    return None


@rule("row-sums", "A 1 = Σ_j A_ij (row sums); Aᵀ 1 = Σ_i A_ij (column sums)", ["matmul"])
def row_sums(e, ctx):
    a, b = e.args
    if not (a.rank == 2 and b.rank == 1 and B.is_ones(b)):
        return None
    if B.is_op(a, "transpose"):
        return B.sum_(a.args[0], 0)
    return B.sum_(a, 1)


@rule("distribute-product", "(A + B) C = A C + B C, when no product is left and that is shorter",
      ["matmul"])
def distribute_product(e, ctx):
    a, b = e.args
    for i, side in ((0, a), (1, b)):
        if B.is_op(side, "add", "sub") and all(t.shape == side.shape for t in side.args):
            other = b if i == 0 else a
            parts = [ctx.settle(B.matmul(t, other) if i == 0 else B.matmul(other, t)) for t in side.args]
            if all(not B.is_op(p, "matmul") for p in parts):
                alt = B.add(parts[0], parts[1]) if side.op == "add" else B.sub(parts[0], parts[1])
                if size(alt) < size(e):
                    return alt
    return None


# -- outer and dot ---------------------------------------------------------------

@rule("ones-outer", "1 1ᵀ = ones(n, m)", ["outer"])
def ones_outer(e, ctx):
    x, y = e.args
    return B.ones(e.shape) if B.is_ones(x) and B.is_ones(y) else None


@rule("scalar-out-of-outer", "(c x)(d y)ᵀ = c d x yᵀ", ["outer"], canonical=True)
def scalar_out_of_outer(e, ctx):
    x, y = e.args
    sx, cx = split_scalar(x)
    sy, cy = split_scalar(y)
    if cx is None and cy is None:
        return None
    return B.mul(mul_opt(cx, cy), B.outer(sx, sy))


RULES = (scalar_out_of_product, identity_product, inverse_pair_rule, inverse_of_product,
         row_vector_product, diag_times_vector, diag_times_diag, diag_times_outer, row_sums,
         distribute_product, ones_outer, scalar_out_of_outer)
