"""The operation record and the registry it lives in, below the IR.

The IR builds every node through its operation's shape rule, so it needs the
registry; the operations (:mod:`matcalc.ops`) need the IR to write their
derivatives.  This module holds what both need and imports neither:
:class:`Op` (one typed record per operation: the only place an operation is
described), :data:`OPS`, and :func:`register`, which :mod:`matcalc.ops` calls
to fill it.

>>> from matcalc.registry import lookup
>>> lookup("matmul").written, lookup("exp").elementwise
('@', True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .shapes import Shape, ShapeMismatch

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
    """One operation of the language: everything about it, in one place.

    ``syntax`` is how it is written: ``"call"`` (``exp(A)``), ``"infix"``
    (``A + B``), ``"prefix"`` (``-A``) or ``"postfix"`` (``A.T``).
    ``params`` are the keyword parameters, in the order they may also be given
    positionally after the expression arguments (``sum(A, 0)``).
    ``dim_args`` marks constructors whose arguments are dimensions
    (``ones(n, m)``).  ``domain`` names, per argument, the prop a random input
    must have for the operation to be defined there (``log`` needs
    ``positive``; ``logdet`` needs ``spd``); it may depend on the node
    (``A ** 0.5`` needs a positive base, ``A ** 2`` does not).

    Templates: ``numpy`` and ``array_api`` (``{0}``, ``{1}`` the arguments,
    ``{axis}``, ``{axis_kw}``, ``{dims}``, ``{like}``), ``latex`` and
    ``unicode`` (``{0}``... the printed arguments, see :mod:`matcalc.render.template`;
    empty: ``name(args)``).
    ``helpers`` maps the name of each function the numpy template calls to its
    source, which a generated module copies.
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
    array_api: str = ""
    latex: str = ""
    unicode: str = ""
    binds: str = "atom"            # how strongly the filled latex/unicode template binds
    domain: tuple[str | None, ...] | Callable[[Any], tuple[str | None, ...]] = ()
    doc: str = ""
    normalize: Callable[[list[Shape], dict[str, Any]], dict[str, Any]] | None = None
    # The derivative, as a vector-Jacobian product in matrix form:
    # vjp(g, node) -> one adjoint contribution (or None) per argument, where g is
    # the adjoint of node (an expression of node's shape).
    vjp: Callable[[Any, Any], tuple[Any, ...]] | None = None
    elementwise: bool = False
    # Elementwise functions: the scalar definition in sympy, a function of
    # ``sympy_args`` (one symbol per argument); derivatives are sympy.diff of it.
    sympy: Any = None
    sympy_args: tuple[Any, ...] = ()
    # Index notation: index(node, args, indices, pool) -> the entry of node at
    # indices, where args[i](indices) lowers argument i (see matcalc.index.lower).
    index: Callable[..., Any] | None = None
    # ops opaque in index notation (inv, det): their derivative there, by hand
    index_deriv: Callable[..., Any] | None = None
    # numpy implementation: fn(*arrays, **attrs) -> array (used by evaluate / verify)
    fn: Callable[..., Any] | None = None
    # the same in extended precision (numpy.longdouble), for the index-notation
    # evaluator; None where fn already keeps the precision
    einsum: Callable[..., Any] | None = None
    # the same on object arrays of mpmath numbers (the stability probe's exact reference,
    # see ops.mp); None where fn already works on them (numpy's object loops: + * @ sum ...)
    mp: Callable[..., Any] | None = None
    helpers: Mapping[str, str] = field(default_factory=dict, compare=False)
    rowwise: bool = False          # acts along an axis, like softmax
    letter: str = ""               # the name a derivation gives it as an intermediate
    log_form: str = ""             # the op that computes log of it stably (softmax: log_softmax)
    sums_to_one: bool = False      # its entries along its axis sum to 1 (softmax)
    range: str | None = None       # "nonnegative", "unit": what its values can be
    keeps_nonnegative: bool = False   # nonnegative arguments give a nonnegative value (+ * / sum)
    # a call whose first argument is a string (einsum('ij,jk->ik', A, B)): the parser
    # stores it as the first param; leading_string(node) prints it back, quoted
    leading_string: Callable[[Any], str] | None = None
    # variadic ops (arity -1): arity_of(attrs) -> how many arguments, and the attrs
    # the registry-parametrized tests and the fuzzer apply it with
    arity_of: Callable[[Mapping[str, Any]], int] | None = None
    samples: Mapping[str, tuple[Any, ...]] = field(default_factory=dict, compare=False)
    # a call whose first argument is a comparison (where(A > B, P, Q)): the parser reads
    # `L cmp R` there and compare(cmp, L, R, rest) gives the node's arguments; spell(node,
    # printed args, style) writes the call back in the language ("text"), "unicode" or "latex"
    compare: Callable[[str, Any, Any, list], list] | None = None
    spell: Callable[..., str] | None = None
    # its value is a constant to differentiation (stop_gradient): its VJP is nothing, and
    # the finite differences that check a derivative hold its value fixed
    frozen: bool = False
    # check(node) of a call as the user wrote it, beyond shapes (cholesky of a symbol
    # declared spd): raises ShapeMismatch, which the parser shows with a caret
    check: Callable[[Any], None] | None = None
    # forms whose parameters are printed in place (reshape(A, (p, q)), X[0:n-1, :]): the
    # language template ({0} the argument, {0:atom} wrapped unless it binds like .T; empty:
    # the call form name(args, key=value)), and fields(node, target) -> the text of each
    # named template field ({shape}, {at}) for target "text", "numpy", "array_api",
    # "latex" or "unicode"
    language: str = ""
    fields: Callable[[Any, str], Mapping[str, str]] | None = None

    @property
    def written(self) -> str:
        return self.spelling or self.name

    @property
    def extra(self) -> dict[str, Any]:
        """Read-only view of the named fields under the names of the former free-form
        ``extra`` dict, for code not yet reading the fields (prefer the fields)."""
        pairs = {"helpers": tuple(self.helpers), "rowwise": self.rowwise, "letter": self.letter,
                 "log_form": self.log_form, "sums_to_one": self.sums_to_one, "range": self.range,
                 "index_deriv": self.index_deriv}
        return {k: v for k, v in pairs.items() if v}

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
    the operation it is about; :func:`matcalc.codegen.stabilize` applies them all.
    The same record, registered by :func:`code_rewrite`, is a cheaper form instead
    (:mod:`matcalc.codegen.algebra` applies those)."""

    name: str
    identity: str
    root: str
    apply: Callable[[Any], Any]


@dataclass(frozen=True)
class EmitRule:
    """A cheaper way to compute a node in emitted code, same value: its name, the
    identity as a person writes it, the op at the root of its left side, and
    ``apply(node, printer)`` giving None (no match), an equal IR node (printed in
    its place), or ``(text, precedence)``.  ``printer`` is the code generator's
    :class:`~matcalc.codegen.emit.Emitter`; ``helpers`` the numpy helper functions
    the text calls (name -> source).  :mod:`matcalc.ops.kron_code` holds them."""

    name: str
    identity: str
    root: str
    apply: Callable[[Any, Any], Any]
    helpers: Mapping[str, str] = field(default_factory=dict)


OPS: dict[str, Op] = {}
EMIT_RULES: dict[str, list[EmitRule]] = {}   # root op -> its emission rules, in order
CALLABLE: dict[str, Op] = {}   # spelling in a call -> op
REWRITES: dict[str, list[Rewrite]] = {}   # root op -> its rewrites
# root op -> its code rewrites: a cheaper equal form for emitted code, applied to every root of a
# function (value and derivatives) before common subexpressions are found, so the work they leave
# is shared (matcalc.codegen.algebra; e.g. sum((X @ P) * X) -> sum(P * (X.T @ X)))
CODE_REWRITES: dict[str, list[Rewrite]] = {}
# A form of two calls that the IR holds as one node, so that no node has more than two
# axes: reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m)).  FUSE[outer op](node) gives
# the one node (None: not that form); WIDE[inner op] = (message, hint) when a result of
# more than two axes of that op stands anywhere else (the parser's error).
FUSE: dict[str, Callable[[Any], Any]] = {}
WIDE: dict[str, tuple[str, str]] = {}
# (name, identity, make): more equal forms of an elementwise subtree, make(sympy expr) -> the
# form or None, which the elementwise algebra offers beside its own (where's merged choices)
ALGEBRA_FORMS: list[tuple[str, str, Callable[[Any], Any]]] = []


def rewrite(rule: Rewrite) -> Rewrite:
    REWRITES.setdefault(rule.root, []).append(rule)
    return rule


def code_rewrite(rule: Rewrite) -> Rewrite:
    CODE_REWRITES.setdefault(rule.root, []).append(rule)
    return rule


def emit_rule(rule: EmitRule) -> EmitRule:
    EMIT_RULES.setdefault(rule.root, []).append(rule)
    return rule


def register(op: Op) -> Op:
    if op.name in OPS:
        raise ValueError(f"operation {op.name!r} registered twice")
    OPS[op.name] = op
    if op.syntax == "call":
        CALLABLE[op.written] = op
    return op


def lookup(name: str) -> Op:
    """The record of ``name``.  The records are registered by :mod:`matcalc.ops`,
    loaded here on first use by name (not imported: it is above this module)."""
    if not OPS:
        importlib.import_module("matcalc.ops")
    return OPS[name]
