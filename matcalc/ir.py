"""The typed matrix IR: frozen nodes that know their shape.

Four node kinds, all immutable:

* :class:`Symbol`  a declared matrix, vector or scalar, with its props
* :class:`Number`  an exact number (``2``, ``0.5`` is 1/2, ``1e-3`` is 1/1000)
* :class:`Dim`     a dimension name used as a scalar (``n`` in ``sum(A) / n``)
* :class:`Apply`   an operation of the registry applied to argument nodes

Every :class:`Apply` is built by :func:`apply`, which runs the operation's
shape rule, so a tree that exists is a tree that type-checks.  Source spans
ride along for error messages but never take part in equality.
"""

from __future__ import annotations

import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

from .registry import lookup
from .shapes import Shape


@dataclass(frozen=True)
class Span:
    """0-based [start, end) character offsets into the expression text."""

    start: int
    end: int


@dataclass(frozen=True)
class Expr:
    shape: Shape

    @property
    def rank(self) -> int:
        return len(self.shape)

    @cached_property
    def symbols(self) -> frozenset["Symbol"]:
        """Every symbol under this node."""
        found: set[Symbol] = set()
        seen: set[int] = set()     # each node once: a graph with sharing is not walked path by path
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, Symbol):
                found.add(node)
            elif isinstance(node, Apply):
                cached = node.__dict__.get("symbols")
                if cached is not None:
                    found.update(cached)
                else:
                    stack.extend(node.args)
        return frozenset(found)

    @property
    def props(self) -> dict[str, frozenset[str]]:
        """The props of the symbols under this node, by symbol name."""
        return {s.name: s.props for s in self.symbols}

    def children(self) -> tuple["Expr", ...]:
        return ()


@dataclass(frozen=True)
class Symbol(Expr):
    name: str = ""
    props: frozenset[str] = frozenset()
    span: Span | None = field(default=None, compare=False, repr=False)

    def has(self, prop: str) -> bool:
        return prop in self.props


@dataclass(frozen=True)
class Number(Expr):
    value: Fraction | float = Fraction(0)
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Dim(Expr):
    name: str = ""
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class Apply(Expr):
    op: str = ""
    args: tuple[Expr, ...] = ()
    attrs: tuple[tuple[str, Any], ...] = ()
    span: Span | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        # Hash once, from the children's cached hashes: the dataclass default would
        # recurse through the whole tree (a 10,000-term sum overflows the stack).
        object.__setattr__(self, "_hash", hash((self.shape, self.op, self.args, self.attrs)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        """Structural equality in time linear in the graph: the dataclass default
        recurses through every written-out path, which for two separately built
        copies of a graph with sharing is exponential (and deep ones overflow the
        stack).  Pairs already found equal are not compared again."""
        if self is other:
            return True
        if not isinstance(other, Apply) or self._hash != other._hash:
            return False
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[Expr, Expr]] = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a is b or (id(a), id(b)) in seen:
                continue
            seen.add((id(a), id(b)))
            if isinstance(a, Apply):
                if (not isinstance(b, Apply) or a._hash != b._hash or a.op != b.op or a.shape != b.shape
                        or a.attrs != b.attrs or len(a.args) != len(b.args)):
                    return False
                stack.extend(zip(a.args, b.args))
            elif a != b:
                return False
        return True

    def attr(self, name: str, default: Any = None) -> Any:
        for key, value in self.attrs:
            if key == name:
                return value
        return default

    def children(self) -> tuple[Expr, ...]:
        return self.args


EXACT_BITS = 128


def free_name(base: str, taken) -> str:
    """``base``, or ``base_``, ``base__``, ...: the first name not in ``taken`` (how a
    direction ``dW`` or a gradient ``G`` steps aside from a symbol of that name)."""
    while base in taken:
        base += "_"
    return base


def number(value: int | float | Fraction, span: Span | None = None) -> Number:
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int):
        value = Fraction(value)
    if isinstance(value, Fraction) and max(abs(value.numerator), value.denominator).bit_length() > EXACT_BITS:
        # exact arithmetic makes 1 / 1.0001 ** 3000 a fraction of 12,000 digits, which
        # nobody reads and Python will not even print: past ~38 digits, a float
        try:
            value = float(value)
        except OverflowError:
            # (math.copysign(inf, value) converted value again and raised the same error)
            raise _beyond_float(value) from None
    return Number(shape=(), value=value, span=span)


def _beyond_float(value: Fraction):
    """``10 ** 400`` is exact here but no float64: the emitted code could not hold it."""
    from .errors import DerivationError

    exponent = round((abs(value.numerator).bit_length() - value.denominator.bit_length()) * math.log10(2))
    return DerivationError(f"a number of about {'-' if value < 0 else ''}1e{exponent} arises, beyond the "
                           "largest float64 (1.8e308) the emitted code computes with",
                           hint="keep the constants within 1e-300 .. 1e300, as for numbers written out")


def apply(op: str, args: tuple[Expr, ...] | list[Expr], attrs: dict[str, Any] | None = None,
          span: Span | None = None) -> Apply:
    """Build ``op(*args)`` after checking shapes with the op's rule.

    Raises :class:`matcalc.shapes.ShapeMismatch` when the shapes do not fit.
    """
    record = lookup(op)
    args = tuple(args)
    attrs = dict(attrs or {})
    attrs = record.normalize_attrs([a.shape for a in args], attrs)
    shape = record.shape([a.shape for a in args], attrs)
    return Apply(shape=tuple(shape), op=op, args=args, attrs=tuple(sorted(attrs.items())), span=span)


def walk(expr: Expr):
    """Every node as written out, parents before children (iterative: deep trees
    are fine).  A subtree shared by several parents is visited at each use, so on
    a graph with sharing this costs the written-out size: use :func:`distinct`
    to visit each node once, :func:`tree_size` to count."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children()))


# -- graph utilities ------------------------------------------------------------------

def tree_size(expr: Expr, memo: dict[int, int] | None = None, count=None) -> int:
    """How many nodes the tree has written out, shared subtrees counted at every
    use (what printing it costs), in time linear in the distinct nodes: a node
    shared by both arguments of each of 30 nested operations is counted 2**30
    times without being visited more than once.  With ``count``, only the
    nodes it holds true for are counted."""
    memo = {} if memo is None else memo
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        kids = node.children()
        if ready or not kids:
            memo[id(node)] = (1 if count is None or count(node) else 0) + sum(memo[id(c)] for c in kids)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in kids if id(c) not in memo)
    return memo[id(expr)]


def written_size(expr: Expr) -> int:
    """How many nodes ``expr`` has written out (shared subtrees at every use), cached
    on each node, so asking again of a node or of any tree holding it is free."""
    stack = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if "_size" in node.__dict__:
            continue
        kids = node.children()
        if ready or not kids:
            node.__dict__["_size"] = 1 + sum(c.__dict__["_size"] for c in kids)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in kids)
    return expr.__dict__["_size"]


def written_within(expr: Expr, limit: int) -> bool:
    """Whether ``expr`` written out (shared subtrees at every use: what printing it
    costs) has at most ``limit`` nodes, found in at most ``limit`` steps.  Counting
    distinct nodes instead lets a graph through whose text is exponentially long."""
    count, stack = 0, [expr]
    while stack:
        count += 1
        if count > limit:
            return False
        stack.extend(stack.pop().children())
    return True


def digest(expr: Expr) -> str:
    """A deterministic fingerprint of the structure (the same in every run, unlike
    ``hash``), cached on each node and computed without recursion."""
    import hashlib

    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if "_digest" in node.__dict__:
            continue
        kids = node.children()
        if ready or not kids:
            if isinstance(node, Apply):
                head = f"{node.op}{node.attrs!r}{node.shape!r}"
            else:
                head = f"{type(node).__name__}{getattr(node, 'name', '')}{getattr(node, 'value', '')}{node.shape!r}"
            h = hashlib.blake2b(head.encode(), digest_size=12)
            for c in kids:
                h.update(c.__dict__["_digest"].encode())
            node.__dict__["_digest"] = h.hexdigest()
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in kids)
    return expr.__dict__["_digest"]


def distinct(*roots: Expr) -> list[Expr]:
    """Every distinct node under ``roots`` once (by identity), in preorder (a node
    shared by two parents comes after the first of them only: for an order with
    every parent first, see ``matrix.share.topological``)."""
    seen: set[int] = set()
    out: list[Expr] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        stack.extend(reversed(node.children()))
    return out



def topological(root: Expr) -> list[Expr]:
    """Distinct nodes, children before parents (iterative, so deep trees are fine):
    the order of a forward evaluation; reversed, of a reverse sweep."""
    order: list[Expr] = []
    seen: set[Expr] = set()
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for child in reversed(node.children()):
            if child not in seen:
                stack.append((child, False))
    return order


@contextmanager
def deep_recursion(limit: int = 20_000):
    """The passes and printers recurse over the tree; an expression may nest up to
    the parser's limit, which needs more than Python's default 1,000 frames."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)

ASSOCIATIVE = ("add", "mul", "matmul")


def rebalance(expr: Expr) -> Expr:
    """Long chains of one associative operator (x + x + ... + x, A @ B @ ... @ Z)
    as balanced trees: same value, depth log n instead of n."""
    memo: dict[int, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        if not isinstance(node, Apply):
            memo[id(node)] = node
            continue
        operands = _chain(node) if node.op in ASSOCIATIVE else list(node.args)
        if node.op == "matmul" and not all(x.rank == 2 for x in operands):
            operands = list(node.args)   # a @ (b @ c) with vectors is not (a @ b) @ c
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in operands if id(a) not in memo)
            continue
        parts = [memo[id(a)] for a in operands]
        if node.op in ASSOCIATIVE and len(parts) > 2:
            while len(parts) > 1:
                pairs = [apply(node.op, [parts[i], parts[i + 1]]) for i in range(0, len(parts) - 1, 2)]
                parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
            memo[id(node)] = parts[0]
        elif parts != list(node.args):
            memo[id(node)] = apply(node.op, parts, dict(node.attrs))
        else:
            memo[id(node)] = node
    return memo[id(expr)]


def _chain(node: Apply) -> list[Expr]:
    """The operands of a left- or right-nested chain of node's operator, in order."""
    out: list[Expr] = []
    stack = [node]
    while stack:
        e = stack.pop()
        if isinstance(e, Apply) and e.op == node.op:
            stack.extend(reversed(e.args))
        else:
            out.append(e)
    return out
