"""One forward pass per module: the gradient functions share one private helper.

Written out function by function, an L-layer chain's module repeats the forward
chain in every ``grad_Wi`` (7,289 lines at L = 64).  So when several functions of
a module return gradients that share work, the module defines one helper
``_forward_backward`` computing the value and every gradient with each shared
intermediate named once, and ``grad_Wi`` / ``value_and_grad`` become thin
wrappers: they check their arguments and call it.  The helper computes the
gradients in turn, each as soon as its work is done, and stops there when
asked::

    def _forward_backward(X, W1, W2, stop=None):
        t1 = W1 @ X  # ...
        ...
        if stop == "W2":              # grad_W2: the forward pass and one step back
            return t4 @ t2.T
        ...
        grad_W1 = t6 @ X.T            # grad_W1: one more step back
        if stop == "W1":
            return grad_W1
        value = ...
        grad_W2 = t4 @ t2.T
        return value, {"W1": grad_W1, "W2": grad_W2}

so ``grad_W2`` alone does no more work than before: the gradients come in the
order of the work they need (the smallest first), and a gradient goes through
the helper only when everything the helper computes before its stop is work its
own function computes anyway (:func:`wasteful`).  Each gradient's last step (its
return expression) is computed only at its stop, or at the end for
``value_and_grad``; ``value()`` stays a forward-only function of its own.
The price: a gradient that stops early holds the intermediates the later ones
need until it returns (the memory of ``value_and_grad``), where its own function
freed them as it went.  A helper pays off when at least two gradients go through it (:data:`ENOUGH`) and
they share work; otherwise the module is written function by function.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir

# The helper's name in the module (a module-level definition, like _softmax).
HELPER = "_forward_backward"
# At least this many gradients must go through the helper (grad_x and jac_x of
# one Jacobian are one gradient: a helper would only add a call).
ENOUGH = 2
# The functions written one by one must do at least this many times the distinct work
# for the helper to be written (:func:`repeats`): an L-layer chain does (L + 1) / 2 times
# (its module grows as L² written one by one); batch normalisation's three gradients 1.5.
REPEATED = 2.0


@dataclass(frozen=True)
class Helper:
    """The helper as the module prints it: ``params`` (the arguments the wrappers
    pass, by position), ``stop`` (the name of its last parameter) and ``stops``
    (the result keys it can stop at, in the order it computes them)."""
    name: str
    params: tuple[str, ...]
    stop: str
    stops: tuple[str, ...]
    source: str
    used: set[str]        # the module-level helpers it calls, itself included

    def call(self, arguments: str, key: str | None = None) -> str:
        """The wrappers' line: ``return _forward_backward(X, W1, W2, stop="W1")``."""
        stop = f', {self.stop}="{key}"' if key is not None else ""
        return f"return {self.name}({arguments}{stop})"


class Labels:
    """Structure as small integers: equal subtrees get one label, computed bottom-up
    from the children's labels by identity, so comparing the work of two gradients
    (sets of labels) never walks a tree (structurally equal copies of a 64-layer
    forward chain compare in time of their depth, again and again)."""

    def __init__(self):
        self._of: dict[int, int] = {}
        self._key: dict[tuple, int] = {}
        self._kept: list[ir.Expr] = []      # (an id stays valid while its node lives)

    def __call__(self, node: ir.Expr) -> int:
        stack = [(node, False)]
        while stack:
            e, ready = stack.pop()
            if id(e) in self._of:
                continue
            if isinstance(e, ir.Apply) and not ready:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if id(a) not in self._of)
                continue
            key = (e.op, e.shape, e.attrs, tuple(self._of[id(a)] for a in e.args)) if isinstance(e, ir.Apply) \
                else ("leaf", e)
            self._of[id(e)] = self._key.setdefault(key, len(self._key))
            self._kept.append(e)
        return self._of[id(node)]

    def closure(self, root: ir.Expr) -> set[int]:
        """The operation nodes under ``root`` (itself included): the work computing it does."""
        self(root)
        out: set[int] = set()
        seen: set[int] = set()
        stack = [root]
        while stack:
            e = stack.pop()
            if id(e) in seen or not isinstance(e, ir.Apply):
                continue
            seen.add(id(e))
            out.add(self._of[id(e)])
            stack.extend(e.args)
        return out


@dataclass
class Segment:
    """What the helper prints for one gradient: the intermediates it names and
    how many other statements (an emission rule's lines) come with them."""
    key: str
    named: list[ir.Expr]
    statements: int


def body(em, scope, value: ir.Expr, grads: dict[str, ir.Expr], stops: list[str],
         stop: str) -> tuple[list[str], list[Segment]]:
    """The helper's body printed by ``em``: the gradients of ``stops`` in turn, each
    followed by its early return, then the other gradients, the value last, and
    ``return value, {key: gradient}`` in the order of ``grads`` (its locals claimed
    from ``scope``, clear of the arguments: a symbol may be called ``value``)."""
    texts: dict[str, str] = {}
    local: dict[str, str] = {}
    segments = []
    for key in stops + [k for k in grads if k not in stops]:
        lines, known = len(em.lines), len(em.names)
        texts[key] = em.value(grads[key])
        named = list(em.names)[known:]
        segments.append(Segment(key, named, len(em.lines) - lines - len(named)))
        if key == stops[-1]:          # needed by value_and_grad after it, by no other stop
            local[key] = scope.claim(f"grad_{key}")
            em.lines += [f"{local[key]} = {texts[key]}", f'if {stop} == "{key}":', f"    return {local[key]}"]
        elif key in stops:
            em.lines += [f'if {stop} == "{key}":', f"    return {texts[key]}"]
    value_text = em.value(value)
    value_name = scope.claim("value")
    local.update((k, scope.claim(f"grad_{k}")) for k in grads if k not in local)
    out = em.lines + [f"{value_name} = {value_text}"]
    out += [f"{local[k]} = {texts[k]}" for k in grads if k != stops[-1]]
    out.append(f"return {value_name}, {{" + ", ".join(f'"{k}": {local[k]}' for k in grads) + "}")
    return out, segments


def wasteful(segments: list[Segment], stops: list[str], work: dict[str, set[int]], labels: Labels) -> list[str]:
    """The stops whose function would do work it does not do printed alone
    (``work[key]``): an intermediate named before its stop is not in that work, or
    an emission rule's statement comes before its stop."""
    done: set[int] = set()
    statements = False
    out = []
    for segment in segments:
        if segment.key not in stops:
            continue
        if statements or not done <= work[segment.key]:
            out.append(segment.key)
        done.update(map(labels, segment.named))
        statements = statements or segment.statements > 0
    return out


def order(reach: dict[str, set[int]], work: dict[str, set[int]], named: set[int]) -> list[str]:
    """The stops, in the order the helper computes them: each time the gradient
    whose work (``reach[key]``) the fewest others would then have to skip, the one
    needing the least work first (in a chain the last layer's gradient, the forward
    pass and one step back; the first layer's comes last).  A gradient is left
    out when the helper would compute a part ``named`` before its stop that its
    own function (``work[key]``) does not: ``Wk`` of an attention head waits for
    ``K = X @ Wk``, named by ``Wq``'s gradient while its own reads ``Wk.T @ X.T``."""
    shared = {k: r & named for k, r in reach.items()}
    remaining = sorted((k for k in work if reach[k] <= work[k]), key=lambda k: len(reach[k]))
    done: set[int] = set()
    out = []
    while remaining:
        new = {k: shared[k] - done for k in remaining}

        def harm(k: str) -> int:
            return sum(1 for r in remaining if r != k and not new[k] <= work[r])

        best = next((k for k in remaining if harm(k) == 0), None) or min(remaining, key=harm)
        out.append(best)
        done |= new[best]
        remaining = [k for k in remaining if k != best and new[best] <= work[k]]
    return out


def shares(segments: list[Segment], stops: list[str], work: dict[str, set[int]], labels: Labels) -> bool:
    """Whether an intermediate the helper names for one stop is work of another."""
    return any(sum(labels(n) in work[k] for k in stops) >= 2 for segment in segments if segment.key in stops
               for n in segment.named)


def repeats(work: dict[str, set[int]]) -> bool:
    """Whether the functions written one by one would repeat enough work for a helper to
    pay: their parts counted function by function at least :data:`REPEATED` times the
    distinct parts, as where the module would grow faster than the expression.  (A helper
    holds every intermediate until it returns; where less is repeated, as in batch
    normalisation's three gradients, that costs more than it saves: 1.2-3.5x on the
    gallery's grad_gamma called in a loop, the allocator giving the freed memory back and
    touching it afresh.)"""
    distinct = set().union(*work.values()) if work else set()
    return sum(map(len, work.values())) >= REPEATED * len(distinct)


def plan(joint: dict[str, ir.Expr], alone: dict[str, ir.Expr], named: set[ir.Expr], attempt):
    """The helper's stops and what ``attempt(stops)`` printed for them (``attempt``
    returns ``(printed, segments)``), or ``([], None)`` when a helper does not pay off:
    fewer than :data:`ENOUGH` gradients would go through it or they share no work.
    ``joint`` are the gradients as the helper prints them (the value's log shared:
    ``softmax(A)`` as ``exp(log_softmax(A))``), ``alone`` as their own functions print
    them (for the gradients a function returns), ``named`` the parts named.  A stop
    found :func:`wasteful` once printed (an emission rule's statement, say) moves
    past the stops."""
    labels = Labels()
    work = {k: labels.closure(g) for k, g in alone.items()}
    if not repeats(work):
        return [], None
    reach = {k: work[k] if joint[k] is alone[k] else labels.closure(joint[k]) for k in alone}
    stops = order(reach, work, {labels(n) for n in named})
    while len(stops) >= ENOUGH:
        printed, segments = attempt(stops)
        bad = wasteful(segments, stops, work, labels)
        if not bad:
            return (stops, printed) if shares(segments, stops, work, labels) else ([], None)
        stops = [k for k in stops if k not in bad]
    return [], None
