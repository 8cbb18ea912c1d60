"""The props a symbol may declare: one row each.

A row says which shapes the prop fits, which props it implies, and (used by
the verifier) how to draw a random value that has it.  The simplifier's facts
(``Σ_l Y_il = 1`` for onehot rows) live with the rules that use them and name
the prop they rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

from .shapes import Shape, is_square


@dataclass(frozen=True)
class Prop:
    name: str
    meaning: str
    fits: str            # "any", "square", "array" (vector or matrix)
    implies: tuple[str, ...] = ()

    def fits_shape(self, shape: Shape) -> bool:
        if self.fits == "square":
            return is_square(shape)
        if self.fits == "array":
            return len(shape) >= 1
        return True

    def shape_requirement(self) -> str:
        return {"square": "a square matrix", "array": "a vector or a matrix", "any": "any shape"}[self.fits]


PROPS: dict[str, Prop] = {p.name: p for p in [
    Prop("symmetric", "A_ij = A_ji", "square"),
    Prop("spd", "symmetric positive definite", "square", implies=("symmetric",)),
    Prop("diagonal", "zero off the diagonal", "square", implies=("symmetric",)),
    Prop("orthogonal", "Q^T Q = I", "square"),
    Prop("positive", "every entry > 0", "any"),
    Prop("onehot", "each row one-hot (one entry 1, the rest 0)", "array", implies=("stochastic",)),
    Prop("stochastic", "rows are probability vectors (entries >= 0, summing to 1)", "array"),
    Prop("constant", "never differentiated", "any"),
]}

# Pairs no matrix (other than a trivial one) can have at once.
CONFLICTS: list[tuple[str, str, str]] = [
    ("onehot", "positive", "a one-hot row has zeros"),
    ("onehot", "spd", "a one-hot matrix is not positive definite in general"),
    ("orthogonal", "spd", "the only orthogonal spd matrix is the identity"),
    ("orthogonal", "positive", "no orthogonal matrix larger than 1 x 1 has every entry > 0"),
    ("diagonal", "onehot", "the only diagonal one-hot matrix is the identity (write eye(n))"),
    ("diagonal", "stochastic", "the only diagonal stochastic matrix is the identity (write eye(n))"),
]
# (diagonal and positive together mean positive diagonal entries: the zeros off the
# diagonal are what diagonal says)


def closure(props: set[str] | frozenset[str]) -> frozenset[str]:
    """The declared props with everything they imply: ``spd`` brings ``symmetric``."""
    out = set(props)
    changed = True
    while changed:
        changed = False
        for p in list(out):
            for q in PROPS[p].implies:
                if q not in out:
                    out.add(q)
                    changed = True
    return frozenset(out)
