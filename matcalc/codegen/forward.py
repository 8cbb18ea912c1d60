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
        if stop == "W1":              # grad_W1: one more step back
            return t6 @ X.T
        value = ...
        return value, {"W1": t6 @ X.T, "W2": t4 @ t2.T}

so ``grad_W2`` alone does no more work than before: the gradients come in the
order of the work they need (the smallest first), and a gradient goes through
the helper only when everything the helper computes before its stop is work its
own function computes anyway (:func:`wasteful`).  Each gradient's last step (its
return expression) is computed only at its stop, or at the end for
``value_and_grad``; ``value()`` stays a forward-only function of its own.
A helper pays off when at least two functions besides ``value_and_grad`` go
through it (:data:`ENOUGH`); otherwise the module is written function by function.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir

# The helper's name in the module (a module-level definition, like _softmax).
HELPER = "_forward_backward"
# At least this many functions besides value_and_grad must go through the helper.
ENOUGH = 2


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


def closure(root: ir.Expr) -> set[ir.Expr]:
    """The operation nodes under ``root`` (itself included), each once by structure:
    the work computing ``root`` does."""
    seen: set[ir.Expr] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node in seen or not isinstance(node, ir.Apply):
            continue
        seen.add(node)
        stack.extend(node.args)
    return seen


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
    segments = []
    for key in stops + [k for k in grads if k not in stops]:
        lines, known = len(em.lines), len(em.names)
        texts[key] = em.value(grads[key])
        named = list(em.names)[known:]
        segments.append(Segment(key, named, len(em.lines) - lines - len(named)))
        if key in stops:
            em.lines += [f'if {stop} == "{key}":', f"    return {texts[key]}"]
    value_text = em.value(value)
    value_name, local = scope.claim("value"), {k: scope.claim(f"grad_{k}") for k in grads}
    out = em.lines + [f"{value_name} = {value_text}"] + [f"{local[k]} = {texts[k]}" for k in grads]
    out.append(f"return {value_name}, {{" + ", ".join(f'"{k}": {local[k]}' for k in grads) + "}")
    return out, segments


def wasteful(segments: list[Segment], stops: list[str], joint: dict[str, ir.Expr],
             alone: dict[str, ir.Expr], work: dict[str, set[ir.Expr]]) -> list[str]:
    """The stops that would do work their own function does not: the helper's text
    for the gradient (``joint[key]``, printed with the others' shared work) or an
    intermediate named before its stop is not in the work (``work[key]``) of the
    function printed alone (``alone[key]``), or an emission rule's statement comes before its stop.
    (``softmax(A)`` computed as ``exp(log_softmax(A))`` because the value needs the
    log: more work for ``grad_W2`` alone, which then keeps its own text.)"""
    done: set[ir.Expr] = set()
    statements = False
    out = []
    for segment in segments:
        key = segment.key
        if key not in stops:
            continue
        own = joint[key] is alone[key] or closure(joint[key]) <= work[key]
        if statements or not own or not done <= work[key]:
            out.append(key)
        done.update(segment.named)
        statements = statements or segment.statements > 0
    return out


def order(grads: dict[str, ir.Expr]) -> list[str]:
    """The keys by the size of the work each gradient needs, the smallest first (in
    a chain the last layer's gradient needs the forward pass and one step back, the
    first layer's all of the backward pass); ties keep the order of ``wrt``."""
    size = {k: len(closure(g)) for k, g in grads.items()}
    return sorted(grads, key=lambda k: size[k])


def plan(joint: dict[str, ir.Expr], alone: dict[str, ir.Expr], counts: dict[str, int], attempt):
    """The helper's stops and what ``attempt(stops)`` printed for them (``attempt``
    returns ``(printed, segments)``): first every gradient a function returns
    (``alone``), by :func:`order`; a :func:`wasteful` one printed again after the
    stops, until none is.  No stops when fewer than :data:`ENOUGH` functions would
    call the helper."""
    stops = [k for k in order(joint) if k in alone]
    work = {k: closure(alone[k]) for k in stops}
    while sum(counts[k] for k in stops) >= ENOUGH:
        printed, segments = attempt(stops)
        bad = wasteful(segments, stops, joint, alone, work)
        if not bad:
            return stops, printed
        stops = [k for k in stops if k not in bad]
    return [], None
