"""Random well-typed expressions, drawn from the operation registry.

Nothing here lists the operations of the language: :data:`SIGNATURES` is
computed by running every registered operation's own shape rule
(:func:`matcalc.ir.apply`) over a small universe of shapes and parameter
values, so a new operation is fuzzed as soon as it is registered.

An expression is built as IR (fast, and well-typed by construction) and printed
with :func:`matcalc.render.text.to_text`, so that a whole expr.yaml document can
go through :func:`matcalc.derive`.

Where an operation needs its argument in a domain (the ``domain`` of its
record: ``positive`` for ``log``, ``invertible`` for ``inv``, ``spd`` for
``logdet``, ``nonzero`` for a denominator), the argument is drawn from a
sub-grammar whose values lie there *by construction* (``exp(...)``,
``softplus(...)``, a positive symbol; ``S @ S.T + eye(n)``; ...), so a failed
check means a wrong derivative, not a log of a negative number.

>>> sorted({sig.op for sig in SIGNATURES}) == sorted(OPS)
True
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from matcalc import ir
from matcalc.ops import OPS
from matcalc.props import CONFLICTS, PROPS
from matcalc.render.text import to_text
from matcalc.shapes import ShapeMismatch

# The shapes a subexpression may have: scalars, [n] and [m] vectors, matrices
# of every orientation, and the broadcasting [n, 1] / [1, m] forms.
SHAPES: tuple[tuple[Any, ...], ...] = (
    (), ("n",), ("m",), ("n", "n"), ("m", "m"), ("n", "m"), ("m", "n"),
    ("n", 1), (1, "m"), ("m", 1), (1, "n"),
)
SQUARE = [s for s in SHAPES if len(s) == 2 and s[0] == s[1]]
PARAM_VALUES = {"axis": (None, 0, 1, -1), "ord": (None, "fro")}
NUMBERS = (Fraction(2), Fraction(3), Fraction(1, 2), Fraction(-1), Fraction(1, 4), Fraction(3, 2))
EXPONENTS = (Fraction(2), Fraction(3), Fraction(-1), Fraction(1, 2), Fraction(3, 2))
DIM_SIZES = ({"n": 3, "m": 4}, {"n": 4, "m": 2}, {"n": 2, "m": 3})


@dataclass(frozen=True)
class Signature:
    """One way to apply an operation: argument shapes, parameters, result shape."""

    op: str
    args: tuple[tuple[Any, ...], ...]
    attrs: tuple[tuple[str, Any], ...]
    out: tuple[Any, ...]


def _arity(op, values) -> int:
    """How many arguments ``op`` takes with these parameter values (einsum's depend on them)."""
    return op.arity if op.arity >= 0 else op.arity_of(dict(zip(op.params, values)))


def _signatures() -> list[Signature]:
    """Every (operation, argument shapes, parameters) the registry accepts over SHAPES."""
    found: dict[tuple, Signature] = {}
    # MATCALC_FUZZ_WITHOUT=einsum,log1p leaves operations out: a campaign drawn as an
    # older registry drew it, to compare two commits on the same expressions
    without = set(filter(None, os.environ.get("MATCALC_FUZZ_WITHOUT", "").split(",")))
    for op in OPS.values():
        if op.name in without:
            continue
        if op.dim_args:
            candidates = [((), {"dims": tuple(s)}) for s in SHAPES if s and 1 not in s] + \
                         [((), {"dims": (d,)}) for d in ("n", "m")] + \
                         [((), {"dims": tuple(d)}) for d in op.samples.get("dims", ())]   # K_n1 = I_n
        else:
            samples = op.samples    # a variadic op (einsum) names its own
            params = [samples.get(p, PARAM_VALUES.get(p, (None,))) for p in op.params]
            candidates = [(shapes, {p: v for p, v in zip(op.params, values) if v is not None})
                          for values in itertools.product(*params)
                          for shapes in itertools.product(SHAPES, repeat=_arity(op, values))]
        for shapes, attrs in candidates:
            dummies = [ir.Symbol(s, f"_{i}") for i, s in enumerate(shapes)]
            try:
                node = ir.apply(op.name, dummies, attrs)
            except ShapeMismatch:
                continue
            if node.shape not in SHAPES or not _few(op, shapes, node.shape):
                continue
            sig = Signature(op.name, tuple(shapes), tuple(sorted(attrs.items())), node.shape)
            found.setdefault((sig.op, sig.args, sig.attrs), sig)
    return list(found.values())


def _few(op, shapes, out) -> bool:
    """Three or more broadcasting arguments (where(A > B, P, Q), clip) would make
    thousands of signatures and crowd out every other operation: each argument has
    the result's shape, or one of them is a scalar."""
    return len(shapes) < 3 or not op.elementwise or (all(s in (out, ()) for s in shapes) and sum(s != out for s in shapes) <= 1)


SIGNATURES = _signatures()
BY_SHAPE: dict[tuple, list[Signature]] = {s: [g for g in SIGNATURES if g.out == s] for s in SHAPES}


# -- the symbols of one drawn expression ---------------------------------------

# Which props a symbol drawn in each domain may have (their random values must
# lie in the domain: an orthogonal matrix has negative entries, a onehot one is
# singular).
MODE_PROPS = {
    "free": tuple(PROPS),
    "positive": ("positive", "symmetric", "stochastic", "constant"),
    "invertible": ("symmetric", "spd", "orthogonal", "diagonal", "constant", "psd", "lower_triangular",
                   "upper_triangular"),
    "spd": ("spd", "constant"),
}


@dataclass
class Scope:
    """The symbols drawn so far, each with the domain it was made for."""

    symbols: dict[str, ir.Symbol] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)

    def symbol(self, draw, shape, mode: str) -> ir.Symbol:
        reuse = [s for n, s in self.symbols.items() if s.shape == shape and self.modes[n] == mode]
        if reuse and draw(st.booleans()):
            return draw(st.sampled_from(reuse))
        allowed = [p for p in MODE_PROPS[mode] if PROPS[p].fits_shape(shape)]
        props: set[str] = set()
        for _ in range(draw(st.sampled_from((0, 0, 1, 1, 2)))):
            if not allowed:
                break
            p = draw(st.sampled_from(allowed))
            if not any({p, q} == {a, b} for a, b, _ in CONFLICTS for q in props):
                props.add(p)
        if mode == "spd":   # the verifier draws spd for logdet(S) itself, not for logdet(2 * S)
            props.add("spd")
        prefix = {0: "s", 1: "v", 2: "M"}[len(shape)]
        name = f"{prefix}{len(self.symbols)}"
        sym = ir.Symbol(tuple(shape), name, frozenset(props))
        self.symbols[name] = sym
        self.modes[name] = mode
        return sym


# -- expressions ----------------------------------------------------------------

class _Gen:
    def __init__(self, draw, scope: Scope):
        self.draw = draw
        self.scope = scope

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def leaf(self, shape, mode="free") -> ir.Expr:
        d = self.draw
        if shape == () and mode in ("free", "positive") and d(st.integers(0, 3)) == 0:
            if d(st.booleans()):
                return ir.Dim((), self.pick(("n", "m")))
            values = NUMBERS if mode == "free" else [v for v in NUMBERS if v > 0]
            return ir.number(self.pick(values))
        if mode in ("free", "positive") and len(shape) >= 1 and 1 not in shape and d(st.integers(0, 7)) == 0:
            return ir.apply("ones", [], {"dims": tuple(shape)})
        if mode in ("invertible", "spd") and d(st.integers(0, 5)) == 0:
            return ir.apply("eye", [], {"dims": (shape[0],)})
        return self.scope.symbol(d, shape, mode)

    def expr(self, shape, depth: int) -> ir.Expr:
        """Any expression of ``shape``, at most ``depth`` operations deep."""
        if depth <= 0 or self.draw(st.integers(0, 7)) == 0 or not BY_SHAPE.get(shape):
            return self.leaf(shape)
        sig = self.pick(BY_SHAPE[shape])
        attrs = dict(sig.attrs)
        if OPS[sig.op].dim_args:
            return ir.apply(sig.op, [], attrs)
        if sig.op == "pow":
            args = [self.expr(sig.args[0], depth - 1), self.exponent(depth)]
        else:
            args = [self.expr(s, depth - 1) for s in sig.args]
        return self.in_domain(sig.op, args, attrs, depth)

    def exponent(self, depth):
        if self.draw(st.integers(0, 3)) == 0:
            return self.positive((), depth - 2)   # a symbolic exponent: the base must be positive
        return ir.number(self.pick(EXPONENTS))

    def in_domain(self, op: str, args: list[ir.Expr], attrs, depth: int) -> ir.Expr:
        """Apply ``op``, redrawing each argument its domain constrains."""
        node = ir.apply(op, args, attrs)
        domain = OPS[op].domain
        domain = domain(node) if callable(domain) else domain
        changed = False
        for i, dom in enumerate(domain):
            if dom is None:
                continue
            changed = True
            if dom in ("positive", "nonzero"):
                args[i] = self.positive(args[i].shape, depth - 1)
            elif dom == "invertible":
                args[i] = self.invertible(args[i].shape, depth - 1)
            elif dom == "spd":
                args[i] = self.spd(args[i].shape, depth - 1)
            else:
                raise AssertionError(f"no sub-grammar for domain {dom!r} of {op}")
        return ir.apply(op, args, attrs) if changed else node

    # Sub-grammars whose values lie in a domain by construction.

    def positive(self, shape, depth: int) -> ir.Expr:
        """Entries > 0 (and not tiny): exp, softplus, sigmoid, softmax, sums and products of those."""
        if depth <= 0 or self.draw(st.integers(0, 3)) == 0:
            return self.leaf(shape, "positive")
        d = depth - 1
        kinds = ["exp", "softplus", "sigmoid", "square+1", "add", "mul", "div", "pow"]
        if shape:
            kinds.append("softmax")
        if shape == ():
            kinds += ["sum", "mean", "norm+1"]
        kind = self.pick(kinds)
        if kind in ("exp", "softplus", "sigmoid"):
            # a shallow argument: exp of a deep random tree overflows
            return ir.apply(kind, [self.expr(shape, min(d, 2))])
        if kind == "softmax":
            return ir.apply("softmax", [self.expr(shape, min(d, 2))], {"axis": self.pick((0, -1))})
        if kind == "square+1":
            return ir.apply("add", [ir.apply("pow", [self.expr(shape, min(d, 2)), ir.number(2)]),
                                    ir.number(1)])
        if kind in ("add", "mul", "div"):
            return ir.apply(kind, [self.positive(shape, d), self.positive(self.broadcastable(shape), d)])
        if kind == "pow":
            return ir.apply("pow", [self.positive(shape, d), ir.number(self.pick(EXPONENTS))])
        if kind in ("sum", "mean"):
            inner = self.pick([s for s in SHAPES if s])
            return ir.apply(kind, [self.positive(inner, d)])
        inner = self.pick([s for s in SHAPES if s])   # norm+1
        return ir.apply("add", [ir.apply("norm", [self.expr(inner, min(d, 2))]), ir.number(1)])

    def broadcastable(self, shape):
        """A shape that broadcasts to ``shape`` (itself, a scalar, or a row/column of it)."""
        options = [shape, ()]
        if len(shape) == 2:
            options += [(shape[0], 1), (1, shape[1]), (shape[1],)]
        return self.pick([s for s in options if s in SHAPES])

    def invertible(self, shape, depth: int) -> ir.Expr:
        """Well-conditioned square matrices."""
        if depth <= 0 or self.draw(st.integers(0, 2)) == 0:
            return self.leaf(shape, "invertible")
        d = depth - 1
        kind = self.pick(("spd", "diag", "matmul", "transpose", "inv", "scale"))
        if kind == "spd":
            return self.spd(shape, depth)
        if kind == "diag":
            return ir.apply("diag", [self.positive((shape[0],), d)])
        if kind == "matmul":
            return ir.apply("matmul", [self.invertible(shape, d), self.invertible(shape, d)])
        if kind == "transpose":
            return ir.apply("transpose", [self.invertible(shape, d)])
        if kind == "inv":
            return ir.apply("inv", [self.invertible(shape, d)])
        return ir.apply("mul", [self.positive((), d), self.invertible(shape, d)])

    def spd(self, shape, depth: int) -> ir.Expr:
        """Symmetric positive definite matrices: S @ S.T + eye(n), diag(positive), sums."""
        if depth <= 0 or self.draw(st.integers(0, 2)) == 0:
            return self.leaf(shape, "spd")
        d = depth - 1
        kind = self.pick(("gram", "diag", "add", "inv", "scale"))
        if kind == "gram":
            other = self.pick([s for s in SHAPES if len(s) == 2 and s[0] == shape[0]])
            f = self.expr(other, min(d, 2))
            return ir.apply("add", [ir.apply("matmul", [f, ir.apply("transpose", [f])]),
                                    ir.apply("eye", [], {"dims": (shape[0],)})])
        if kind == "diag":
            return ir.apply("diag", [self.positive((shape[0],), d)])
        if kind == "add":
            return ir.apply("add", [self.spd(shape, d), self.spd(shape, d)])
        if kind == "inv":
            return ir.apply("inv", [self.spd(shape, d)])
        return ir.apply("mul", [self.positive((), d), self.spd(shape, d)])


@dataclass(frozen=True)
class Drawn:
    """A drawn derivation: the IR, its text, and the expr.yaml document."""

    expr: ir.Expr
    text: str
    symbols: dict[str, ir.Symbol]
    dims: dict[str, int]
    wrt: str
    order: int

    @property
    def doc(self) -> dict:
        return document(self.text, self.symbols, self.dims, self.wrt, self.order)

    def __repr__(self) -> str:   # what hypothesis prints for a falsifying example
        return f"Drawn({self.doc!r})"


def document(text: str, symbols: dict[str, ir.Symbol], dims: dict[str, int], wrt: str, order: int) -> dict:
    """The expr.yaml document (as a dict) for one derivation."""
    syms = {}
    for name, sym in sorted(symbols.items()):
        entry: dict[str, Any] = {"shape": list(sym.shape)}
        if sym.props:
            entry["props"] = sorted(sym.props)
        syms[name] = entry
    return {"name": "fuzz", "dims": dict(dims), "symbols": syms, "expr": text, "wrt": [wrt], "order": order}


def _differentiable(sym: ir.Symbol) -> bool:
    return "constant" not in sym.props


@st.composite
def expressions(draw, shape=(), max_depth: int = 6) -> ir.Expr:
    """An expression of ``shape`` (IR only), over fresh symbols."""
    return _Gen(draw, Scope()).expr(shape, draw(st.integers(1, max_depth)))


@st.composite
def derivations(draw, max_depth: int = 6, kinds: tuple[str, ...] = ()) -> Drawn:
    """A scalar expression with a wrt symbol (order 1 or 2), or a vector
    expression with a vector wrt (its Jacobian); ``kinds`` adds ``vec_jacobian``
    (a matrix or vector w.r.t. a matrix or vector, in the vec convention) and
    ``matrix_hessian`` (order 2 w.r.t. a matrix) to the draw."""
    scope = Scope()
    gen = _Gen(draw, scope)
    kind = draw(st.sampled_from(("gradient",) * 6 + ("jacobian", "hessian") + kinds))
    shape = ("n",) if kind == "jacobian" else (draw(st.sampled_from((("n", "m"), ("n",), ("m", "n"))))
                                               if kind == "vec_jacobian" else ())
    depth = draw(st.integers(min(3, max_depth), max_depth))
    expr = gen.expr(shape, depth)
    if kind == "jacobian":
        # make sure a vector symbol takes part
        expr = ir.apply("add", [expr, gen.expr(("n",), 2) if draw(st.booleans())
                                else ir.apply("matmul", [gen.expr(("n", "m"), 1), gen.leaf(("m",))])])
    candidates = sorted((s for s in expr.symbols if _differentiable(s)), key=lambda s: s.name)
    if kind in ("jacobian", "hessian"):
        candidates = [s for s in candidates if len(s.shape) == 1] or \
                     ([] if kind == "jacobian" else [s for s in candidates if s.shape == ()])
    elif kind == "vec_jacobian":        # a matrix or vector w.r.t. a matrix or vector: the vec convention
        candidates = [s for s in candidates if s.shape]
    elif kind == "matrix_hessian":
        candidates = [s for s in candidates if len(s.shape) == 2]
    if not candidates:
        # nothing to differentiate: add a term with a differentiable symbol
        want = {"gradient": gen.pick(SHAPES), "vec_jacobian": shape, "matrix_hessian": ("n", "m")}
        v = gen.leaf(want.get(kind, ("n",)))
        while not (isinstance(v, ir.Symbol) and _differentiable(v)):
            v = scope.symbol(draw, v.shape, "free")
        extra = v if kind in ("jacobian", "vec_jacobian") else ir.apply("sum", [ir.apply("mul", [v, v])])
        expr = ir.apply("add", [expr, extra])
        candidates = [v]
    wrt = draw(st.sampled_from(candidates))
    dims = draw(st.sampled_from(DIM_SIZES))
    symbols = {s.name: s for s in expr.symbols}
    return Drawn(expr, to_text(expr), symbols, dict(dims), wrt.name, 2 if "hessian" in kind else 1)
