"""The operation registry: one record per operation of the language.

A record holds everything about an operation in one place: how the language
spells it, its shape rule, the keyword parameters it takes, how it prints in
the language, in numpy and in LaTeX, its precedence, and the input domain the
numerical checks must respect (``positive`` for ``log``).  The engine's
index-level definition is attached to the same record by the module that
defines the operation.

Modules: :mod:`.arith` (``+ - * / ** @ .T``), :mod:`.elementwise`
(``exp log ...``), :mod:`.reductions` (``sum mean trace softmax ...``),
:mod:`.linalg` (``det logdet inv diag outer dot kron``), :mod:`.constants`
(``ones eye``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..shapes import Shape, ShapeMismatch

ShapeRule = Callable[[list[Shape], dict[str, Any]], Shape]

# Printing precedence in the language (Python's own ordering).
PREC_ADD = 10
PREC_MUL = 20
PREC_NEG = 30
PREC_POW = 40
PREC_POSTFIX = 50
PREC_ATOM = 60


@dataclass(frozen=True)
class Op:
    """One operation of the language.

    ``syntax`` is how it is written: ``"call"`` (``exp(A)``), ``"infix"``
    (``A + B``), ``"prefix"`` (``-A``) or ``"postfix"`` (``A.T``).
    ``params`` are the keyword parameters, in the order they may also be given
    positionally after the expression arguments (``sum(A, 0)``).
    ``dim_args`` marks constructors whose arguments are dimensions
    (``ones(n, m)``).  ``domain`` names, per argument, the prop a random input
    must have for the operation to be defined there (``log`` needs
    ``positive``; ``logdet`` needs ``spd``); it may depend on the node
    (``A ** 0.5`` needs a positive base, ``A ** 2`` does not).
    """

    name: str
    syntax: str
    arity: int
    shape_rule: ShapeRule
    spelling: str = ""
    params: tuple[str, ...] = ()
    dim_args: bool = False
    precedence: int = PREC_ATOM
    numpy: str = ""
    latex: str = ""
    domain: tuple[str | None, ...] | Callable[[Any], tuple[str | None, ...]] = ()
    doc: str = ""
    normalize: Callable[[list[Shape], dict[str, Any]], dict[str, Any]] | None = None
    # The derivative, as a vector-Jacobian product in matrix form:
    # vjp(g, node) -> one adjoint contribution (or None) per argument, where g is
    # the adjoint of node (an expression of node's shape).
    vjp: Callable[[Any, Any], tuple[Any, ...]] | None = None
    # Elementwise functions: f'(x) as an expression in x.
    deriv: Callable[[Any], Any] | None = None
    elementwise: bool = False
    # Index notation: index(node, args, indices, pool) -> the entry of node at
    # indices, where args[i](indices) lowers argument i (see matcalc.index.lower).
    index: Callable[..., Any] | None = None
    # numpy implementation: fn(*arrays, **attrs) -> array (used by evaluate / verify)
    fn: Callable[..., Any] | None = None
    # the same on object arrays of mpmath numbers (the stability probe's exact reference,
    # see .mp); None where fn already works on them (numpy's object loops: + * @ sum ...)
    mp: Callable[..., Any] | None = None
    # extra: "helpers" (functions generated code needs), "rowwise" (softmax-like: acts
    # along an axis), "letter" (the name a derivation gives it as an intermediate),
    # "log_form" (the op that computes log of it stably), "sympy" (scalar definition),
    # "sums_to_one" (its entries along its axis sum to 1: softmax)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def written(self) -> str:
        return self.spelling or self.name

    def shape(self, shapes: list[Shape], attrs: dict[str, Any]) -> Shape:
        if self.arity >= 0 and len(shapes) != self.arity:
            raise ShapeMismatch(f"{self.written} takes {self.arity} argument"
                                f"{'s' if self.arity != 1 else ''}, got {len(shapes)}")
        return self.shape_rule(shapes, attrs)

    def normalize_attrs(self, shapes: list[Shape], attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(attrs) - set(self.params) - ({"dims"} if self.dim_args else set())
        if unknown:
            raise ShapeMismatch(f"{self.written} takes no parameter {sorted(unknown)[0]!r}")
        if self.normalize is not None:
            return self.normalize(shapes, attrs)
        return attrs


@dataclass(frozen=True)
class Rewrite:
    """A numerically better form of the same value, for emitted code: the identity
    as a person writes it, the op at the root of its left side, and ``apply(node)``
    giving the right side (None when ``node`` does not match).  Each is defined with
    the operation it is about; :func:`matcalc.codegen.stabilize` applies them all."""

    name: str
    identity: str
    root: str
    apply: Callable[[Any], Any]


OPS: dict[str, Op] = {}
CALLABLE: dict[str, Op] = {}   # spelling in a call -> op
REWRITES: dict[str, list[Rewrite]] = {}   # root op -> its rewrites


def rewrite(rule: Rewrite) -> Rewrite:
    REWRITES.setdefault(rule.root, []).append(rule)
    return rule


def register(op: Op) -> Op:
    if op.name in OPS:
        raise ValueError(f"operation {op.name!r} registered twice")
    OPS[op.name] = op
    if op.syntax == "call":
        CALLABLE[op.written] = op
    return op


def by_syntax(syntax: str) -> dict[str, Op]:
    return {op.written: op for op in OPS.values() if op.syntax == syntax}


from . import arith, constants, elementwise, linalg, reductions  # noqa: E402,F401  (fill the registry)
from . import einsum  # noqa: E402,F401
