"""Powers of one matrix in a product: ``Aⁱ Aʲ = Aⁱ⁺ʲ`` with inverses as negative
powers (``Aᵀ (A³)⁻ᵀ Aᵀ = A⁻ᵀ``), and ``det(Aᵏ) = det(A)ᵏ``."""

from __future__ import annotations

from ... import ir
from .. import build as B
from .common import chain, is_symmetric, product, rule


def power_form(e: ir.Expr) -> tuple[ir.Expr, int]:
    """``(P, p)`` with ``e = Pᵖ``: ``matrix_power(A, 3)`` is ``(A, 3)``, ``inv(A).T`` is
    ``(Aᵀ, -1)``, ``inv(matrix_power(A, 2))`` is ``(A, -2)``; any other ``e`` is ``(e, 1)``."""
    if B.is_op(e, "matrix_power"):
        base, p = power_form(e.args[0])
        return base, p * e.attr("k")
    if B.is_op(e, "inv"):
        base, p = power_form(e.args[0])
        return base, -p
    if B.is_op(e, "transpose"):
        base, p = power_form(e.args[0])
        return (base if is_symmetric(base) else B.T(base)), p
    return e, 1


def power_of(base: ir.Expr, p: int) -> ir.Expr:
    """``baseᵖ`` as a person writes it: ``I``, ``A``, ``matrix_power(A, p)``, ``inv(A)``,
    ``inv(matrix_power(A, 2))``; a transposed base keeps its transpose outside an inverse
    (``inv(A).T``)."""
    if p == 0:
        return B.eye(base.shape[0])
    if p > 0:
        return base if p == 1 else ir.apply("matrix_power", [base], {"k": p})
    if B.is_op(base, "transpose"):
        return B.T(power_of(base.args[0], p))
    return B.call("inv", power_of(base, -p))


def _special(e: ir.Expr) -> bool:
    """A factor written as a power or an inverse (what the rule merges with its neighbours)."""
    while B.is_op(e, "transpose"):
        e = e.args[0]
    return B.is_op(e, "matrix_power", "inv")


@rule("matrix-power-product", "Aⁱ Aʲ = Aⁱ⁺ʲ (A⁻¹ = A to the power -1), where one of them is a "
      "matrix_power or an inverse", ["matmul"], canonical=True)
def power_product(e, ctx):
    factors = chain(e)
    if len(factors) < 2 or not any(abs(power_form(f)[1]) >= 2 for f in factors if f.rank == 2):
        return None
    out: list[tuple[ir.Expr, int, ir.Expr, bool]] = []     # (base, power, as written, merged)
    changed = False
    for f in factors:
        base, p = power_form(f) if f.rank == 2 else (f, 1)
        if out and f.rank == 2 and out[-1][0].rank == 2 and ir.digest(out[-1][0]) == ir.digest(base) \
                and (_special(f) or _special(out[-1][2])):
            prev = out.pop()
            merged = prev[1] + p
            out.append((base, merged, power_of(base, merged), True))
            changed = True
        else:
            out.append((base, p, f, False))
    if not changed:
        return None
    kept = [written for _, _, written, _ in out if not B.is_eye(written)]
    if not kept:
        return B.eye(e.shape[0])
    return product(kept)


@rule("det-of-power", "det(Aᵏ) = det(A)ᵏ", ["det"], canonical=True)
def det_of_power(e, ctx):
    a = e.args[0]
    if not B.is_op(a, "matrix_power"):
        return None
    return B.power(B.call("det", a.args[0]), B.num(a.attr("k")))


RULES = (power_product, det_of_power)
