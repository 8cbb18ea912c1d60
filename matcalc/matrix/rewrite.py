"""The one rewrite engine: a rule set applied bottom-up to a fixed point, every
firing logged.

A pass visits the graph children first.  At each node the rules whose ``roots``
name its op are tried in order; the first whose ``apply(node, ctx)`` gives a new
form fires, provided the form is no larger written out (a rule marked
``canonical`` may grow it: ``(A B)ᵀ → Bᵀ Aᵀ`` adds a node so that transposes sit
on the leaves).  The new form is settled the same way, so a rule only writes its
right side and never calls another rule.  Each firing appends
``Step(rule, before, after, fact)`` to the ``log`` list given (nothing global).
Passes repeat until the result's structural hash (:func:`ir.digest`) is one
seen before.

A maximal elementwise subtree is one stage of its own: sympy's algebra
(:func:`.algebra.simplify_elementwise`, within its time budget), logged as the
step ``elementwise-algebra``, then the ``region`` rules (sums and products of
matrix terms) inside it.
"""

from __future__ import annotations

from .. import ir
from ..shapes import broadcast
from . import build as B
from .algebra import is_elementwise, simplify_elementwise
from .rule import Fact, Rule, Step

MAX_ROUNDS = 8      # passes over the whole result
MAX_FIRINGS = 64    # rules fired at one node before it is left as it is

ALGEBRA = Rule("elementwise-algebra", "a maximal elementwise subtree through sympy: cancel, collect, factor",
               roots=(), canonical=True)


def size(expr: ir.Expr) -> int:
    """Nodes written out (shared subtrees at every use), cached on each node."""
    return ir.written_size(expr)


def restore_shape(expr: ir.Expr, shape) -> ir.Expr:
    """Broadcast a result that lost its shape in algebra (``ones(n, m) * c -> c``)."""
    if expr.shape == tuple(shape):
        return expr
    if not shape:
        raise ValueError(f"result has shape {expr.shape}, expected a scalar")
    if broadcast(expr.shape, shape) == tuple(shape):
        if B.is_zero(expr):
            return B.zeros(shape)
        if B.is_op(expr, "div") and B.is_num(expr.args[0], 1):      # ones(n, m) / (m * n)
            return B.div(B.ones(shape), expr.args[1])
        return ir.apply("mul", [expr, B.ones(shape)])
    raise ValueError(f"result has shape {expr.shape}, expected {shape}")


class RuleSet:
    """Rules indexed by the op at their root, in the order given (order breaks ties:
    the first rule that applies fires)."""

    def __init__(self, rules, region=()):
        self.rules = tuple(rules)
        self.region = tuple(region)
        self.by_op = _index(self.rules)
        self.region_by_op = _index(self.region)


def _index(rules) -> dict[str, tuple[Rule, ...]]:
    out: dict[str, list[Rule]] = {}
    for r in rules:
        for op in r.roots:
            out.setdefault(op, []).append(r)
    return {op: tuple(rs) for op, rs in out.items()}


class Context:
    """What a rule may ask of the engine while it builds its right side:
    ``settle(expr)`` (the rules applied to a new subterm) and ``note(fact)``
    (the declared prop it relied on)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.fact: Fact | None = None

    def settle(self, expr: ir.Expr) -> ir.Expr:
        return self.engine.settle(expr)

    def note(self, fact: Fact) -> None:
        self.fact = fact


class Engine:
    """One pass of a rule set over a graph (memoized by structural hash)."""

    def __init__(self, rules: RuleSet, log: list | None = None, notes: list | None = None):
        self.rules = rules
        self.log = log
        self.notes = notes
        self.passed: dict[str, ir.Expr] = {}    # digest -> result of the full pass (algebra included)
        self.settled: dict[str, ir.Expr] = {}   # digest -> result of the rules alone
        self.busy: set[str] = set()

    # -- the full pass: algebra on elementwise subtrees, rules elsewhere ---------
    def run(self, node: ir.Expr) -> ir.Expr:
        key = ir.digest(node)
        if key in self.passed:
            return self.passed[key]
        if is_elementwise(node):
            out = simplify_elementwise(node, self.run)
            if out is not node and ir.digest(out) != key:
                self._log(ALGEBRA, node, out, None)
            out = self.region(out, {})
            out = restore_shape(out, node.shape)
        elif isinstance(node, ir.Apply):
            # a child may come back as the number 0 (A - A), whatever its shape was
            args = [restore_shape(self.run(a), a.shape) for a in node.args]
            same = all(x is y for x, y in zip(args, node.args))
            out = node if same else ir.apply(node.op, args, dict(node.attrs))
            out = self.fire(out, self.rules.by_op)
        else:
            out = node
        self.passed[key] = out
        self.settled.setdefault(ir.digest(out), out)
        return out

    # -- rules alone, on a subterm a rule built ------------------------------------
    def settle(self, node: ir.Expr) -> ir.Expr:
        """``node`` with the rules applied bottom-up (no algebra)."""
        key = ir.digest(node)
        if key in self.settled:
            return self.settled[key]
        if key in self.busy or not isinstance(node, ir.Apply):
            return node
        self.busy.add(key)
        args = [restore_shape(self.settle(a), a.shape) for a in node.args]
        same = all(x is y for x, y in zip(args, node.args))
        out = node if same else ir.apply(node.op, args, dict(node.attrs))
        if not is_elementwise(out):
            out = self.fire(out, self.rules.by_op)
        self.busy.discard(key)
        self.settled[key] = out
        self.settled.setdefault(ir.digest(out), out)
        return out

    def region(self, node: ir.Expr, memo: dict) -> ir.Expr:
        """The region rules inside an elementwise result, children first (its
        leaves, already simplified, are left alone)."""
        if not is_elementwise(node):
            return node
        if id(node) in memo:
            return memo[id(node)][1]
        args = [self.region(a, memo) for a in node.args]
        out = node if all(x is y for x, y in zip(args, node.args)) else ir.apply(node.op, args, dict(node.attrs))
        out = self.fire(out, self.rules.region_by_op, settle=False)
        memo[id(node)] = (node, out)       # (node kept alive: ids are keys)
        return out

    # -- one node ------------------------------------------------------------------
    def fire(self, node: ir.Expr, by_op, settle: bool = True) -> ir.Expr:
        """Fire the first rule that applies at ``node``, then settle what it made,
        until none applies."""
        for _ in range(MAX_FIRINGS):
            if not isinstance(node, ir.Apply):
                return node
            for rule in by_op.get(node.op, ()):
                ctx = Context(self)
                after = rule.apply(node, ctx)
                if after is None or after is node:
                    continue
                after = restore_shape(after, node.shape)
                if ir.digest(after) == ir.digest(node):
                    continue
                if not rule.canonical and size(after) > size(node):
                    continue
                self._log(rule, node, after, ctx.fact)
                node = self.settle(after) if settle else after
                break
            else:
                return node
        return node

    def _log(self, rule: Rule, before: ir.Expr, after: ir.Expr, fact: Fact | None) -> None:
        if fact is not None and self.notes is not None and fact not in self.notes:
            self.notes.append(fact)
        if self.log is not None:
            self.log.append(Step(rule, before, after, fact))


def rewrite(expr: ir.Expr, rules: RuleSet, *, log: list | None = None, notes: list | None = None,
            rounds: int = MAX_ROUNDS) -> ir.Expr:
    """``expr`` rewritten by ``rules`` until a pass gives a form seen before (by
    structural hash); of two forms that alternate, the smaller is kept."""
    current = expr
    seen = {ir.digest(current)}
    for _ in range(rounds):
        nxt = Engine(rules, log, notes).run(current)
        if ir.digest(nxt) in seen:
            current = nxt if size(nxt) <= size(current) else current
            break
        seen.add(ir.digest(nxt))
        current = nxt
    return current
