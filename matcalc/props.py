"""The props a symbol may declare: one row each.

A row says which shapes the prop fits, which props it implies, the simplifier's
rules it licenses (by name: ``Σ_l Y_il = 1`` for onehot rows is the rule
``prop-rows-sum-to-one``, which lives in :mod:`matcalc.matrix.rules.facts` and
names the props it needs), and the sentence a derivation says when one of them
fires.  This module imports no part of the engine.

A derivative w.r.t. a symbol with a structural prop (``symmetric``, ``diagonal``,
``lower_triangular``, ...) is judged along that prop's set, as the verifier perturbs
the symbol only inside it (:func:`matcalc.verify.sample.direction`): the gradient of
``sum(C * L)`` w.r.t. a lower triangular ``L`` may print as ``C``, which agrees with
``tril(C)`` on every lower triangular direction (and with what an autodiff tool that
knows no props returns).
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
    rules: tuple[str, ...] = ()      # the simplifier's rules this prop licenses, by name
    sentence: str = ""               # said when one of them fires; {name} is the symbol

    def says(self, name: str) -> str:
        """The sentence for symbol ``name``: ``each row of Y is one-hot``."""
        return self.sentence.format(name=name)

    def fits_shape(self, shape: Shape) -> bool:
        if self.fits == "square":
            return is_square(shape)
        if self.fits == "array":
            return len(shape) >= 1
        return True

    def shape_requirement(self) -> str:
        return {"square": "a square matrix", "array": "a vector or a matrix", "any": "any shape"}[self.fits]


PROPS: dict[str, Prop] = {p.name: p for p in [
    Prop("symmetric", "A_ij = A_ji", "square", rules=("prop-symmetric",), sentence="{name} is symmetric: {name}ᵀ = {name}"),
    Prop("spd", "symmetric positive definite", "square", implies=("symmetric",)),
    Prop("diagonal", "zero off the diagonal", "square", implies=("symmetric", "lower_triangular", "upper_triangular")),
    Prop("orthogonal", "Q^T Q = I", "square", rules=("prop-orthogonal",),
         sentence="{name} is orthogonal: {name}ᵀ {name} = I"),
    Prop("positive", "every entry > 0", "any"),
    Prop("onehot", "each row one-hot (one entry 1, the rest 0)", "array", implies=("stochastic",),
         rules=("prop-rows-sum-to-one", "prop-unit-rows-times-ones"), sentence="each row of {name} is one-hot, so it sums to 1"),
    Prop("stochastic", "rows are probability vectors (entries >= 0, summing to 1)", "array",
         rules=("prop-rows-sum-to-one", "prop-unit-rows-times-ones"),
         sentence="each row of {name} is a probability vector, so it sums to 1"),
    Prop("constant", "never differentiated", "any"),
    Prop("nonnegative", "every entry >= 0", "any", rules=("prop-nonnegative",),
         sentence="the entries of {name} are >= 0: |{name}| = relu({name}) = {name}"),
    Prop("psd", "symmetric positive semidefinite", "square", implies=("symmetric",)),
    Prop("lower_triangular", "zero above the diagonal", "square", rules=("prop-triangular",),
         sentence="{name} is lower triangular: tril({name}) = {name}"),
    Prop("upper_triangular", "zero below the diagonal", "square", rules=("prop-triangular",),
         sentence="{name} is upper triangular: triu({name}) = {name}"),
]}

# Props that together mean another: a matrix both lower and upper triangular (or
# triangular and symmetric) is diagonal.
TOGETHER: list[tuple[frozenset[str], str]] = [
    (frozenset({"lower_triangular", "upper_triangular"}), "diagonal"),
    (frozenset({"lower_triangular", "symmetric"}), "diagonal"),
    (frozenset({"upper_triangular", "symmetric"}), "diagonal"),
]

# Pairs no matrix (other than a trivial one) can have at once.
CONFLICTS: list[tuple[str, str, str]] = [
    ("onehot", "positive", "a one-hot row has zeros"),
    ("onehot", "spd", "a one-hot matrix is not positive definite in general"),
    ("orthogonal", "spd", "the only orthogonal spd matrix is the identity"),
    ("orthogonal", "positive", "no orthogonal matrix larger than 1 x 1 has every entry > 0"),
    ("diagonal", "onehot", "the only diagonal one-hot matrix is the identity (write eye(n))"),
    ("diagonal", "stochastic", "the only diagonal stochastic matrix is the identity (write eye(n))"),
    ("nonnegative", "orthogonal", "an orthogonal matrix with entries >= 0 is a permutation matrix"),
    ("psd", "orthogonal", "the only orthogonal psd matrix is the identity"),
    ("psd", "onehot", "a one-hot matrix is not positive semidefinite in general"),
] + [(tri, other, why) for tri in ("lower_triangular", "upper_triangular") for other, why in (
    ("orthogonal", "an orthogonal triangular matrix is diagonal with entries ±1 (declare it diagonal and orthogonal)"),
    ("onehot", "a triangular matrix with one-hot rows is the identity in general (write eye(n))"),
    ("stochastic", "a triangular matrix with rows summing to 1 is not a random probability matrix"),
    ("positive", "a triangular matrix has zero entries (declare it nonnegative)"),
)]
# (diagonal and positive together mean positive diagonal entries: the zeros off the
# diagonal are what diagonal says)


def closure(props: set[str] | frozenset[str]) -> frozenset[str]:
    """The declared props with everything they imply: ``spd`` brings ``symmetric``;
    ``lower_triangular`` with ``upper_triangular`` brings ``diagonal`` (:data:`TOGETHER`)."""
    out = set(props)
    changed = True
    while changed:
        changed = False
        implied = {q for p in out for q in PROPS[p].implies}
        implied |= {q for together, q in TOGETHER if together <= out}
        if not implied <= out:
            out |= implied
            changed = True
    return frozenset(out)
