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

Inside :func:`.work.shared` (a whole derivation) the engines outlive a call:
every gradient of an L-layer chain meets the same forward chain and adjoints,
which are then tidied once, not once per gradient (L² work becomes L), and each
call's log is still the one a fresh engine would have written (:class:`Engine`).
"""

from __future__ import annotations

from .. import ir
from ..shapes import broadcast
from . import build as B
from .algebra import is_elementwise, out_of_time, simplify_elementwise
from .rule import Fact, Rule, Step
from .work import Memo, current

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
        # which rules, by identity (hashing 100 rule records field by field at every call costs)
        self.key = (tuple(map(id, self.rules)), tuple(map(id, self.region)))


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
    """One pass of a rule set over a graph (memoized by structural hash).

    An engine may serve several calls (:mod:`.work`: every gradient of one
    derivation): ``begin(log, notes)`` starts a call.  Its :class:`~.work.Memo`
    outlives the call and replays a computation known from an earlier call into
    this one, so that each call gets the result and the log a fresh engine gives."""

    def __init__(self, rules: RuleSet, log: list | None = None, notes: list | None = None):
        self.rules = rules
        self.memo = Memo()
        self.computed = 0                        # nodes computed (memo misses), for the measures
        self.algebra = 0                         # elementwise subtrees given to sympy
        self.begin(log, notes)

    def begin(self, log: list | None, notes: list | None) -> Engine:
        """Start a call: its steps go to ``log``, its facts to ``notes``."""
        self.memo.begin(log, notes)
        self.busy: set[str] = set()
        return self

    # -- the full pass: algebra on elementwise subtrees, rules elsewhere ---------
    def run(self, node: ir.Expr) -> ir.Expr:
        key = ir.digest(node)
        known = self.memo.found(("run", key))
        if known is not None:
            return known
        self._start()
        if is_elementwise(node):
            self.algebra += 1
            out = simplify_elementwise(node, self.run)
            if out_of_time():       # a form kept past sympy's time budget: not for a call with a budget of its own
                self.memo.impure()
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
        self.memo.register(ir.digest(out), out)
        self.memo.done(("run", key), out)
        return out

    # -- rules alone, on a subterm a rule built ------------------------------------
    def settle(self, node: ir.Expr) -> ir.Expr:
        """``node`` with the rules applied bottom-up (no algebra)."""
        key = ir.digest(node)
        known = self.memo.registered_form(key)
        if known is not None:
            return known
        if key in self.busy:
            self.memo.impure()
            return node
        if not isinstance(node, ir.Apply):
            return node
        known = self.memo.found(("settle", key))
        if known is not None:
            return known
        self.busy.add(key)
        self._start()
        args = [restore_shape(self.settle(a), a.shape) for a in node.args]
        same = all(x is y for x, y in zip(args, node.args))
        out = node if same else ir.apply(node.op, args, dict(node.attrs))
        if not is_elementwise(out):
            out = self.fire(out, self.rules.by_op)
        self.busy.discard(key)
        self.memo.register(key, out, replace=True)
        self.memo.register(ir.digest(out), out)
        self.memo.done(("settle", key), out)
        return out

    def _start(self) -> None:
        self.computed += 1
        self.memo.start()

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
        self.memo.step(Step(rule, before, after, fact))


def rewrite(expr: ir.Expr, rules: RuleSet, *, log: list | None = None, notes: list | None = None,
            rounds: int = MAX_ROUNDS) -> ir.Expr:
    """``expr`` rewritten by ``rules`` until a pass gives a form seen before (by
    structural hash); of two forms that alternate, the smaller is kept.  Inside
    :func:`.work.shared`, pass k of every call is one engine (its memo shared)."""
    work = current()
    if work is not None:
        work.calls += 1
    form = expr
    seen = {ir.digest(form)}
    for k in range(rounds):
        if work is None:
            engine = Engine(rules, log, notes)
        else:
            engine = work.engine((rules.key, k), lambda: Engine(rules)).begin(log, notes)
        nxt = engine.run(form)
        if ir.digest(nxt) in seen:
            form = nxt if size(nxt) <= size(form) else form
            break
        seen.add(ir.digest(nxt))
        form = nxt
    return form
