"""One derivation's rewrite work, shared by every ``simplify`` call in it.

The gradients of an L-layer network w.r.t. its L weights share the forward chain
and the backward adjoints: simplified one by one, each with an engine of its own,
every gradient would tidy the shared parts again (L tidies of O(L) nodes: L²).
Inside :func:`shared` the rewrite engine keeps one :class:`~.rewrite.Engine` per
rule set and pass, whose memo (node -> its tidy form, by structural hash) lives
as long as the derivation, so a subtree is tidied once for all the gradients; the
engine replays the log of a subtree it knows into each call that meets it, so
every call logs exactly the rules a fresh engine would have logged.

``Work.once(key, make)`` keeps any other pure result the derivation asks for
more than once (the table of the user's ``let`` names, made once, not once per
gradient).  :meth:`Work.counts` is the deterministic measure of the work done
(simplify calls, nodes the rules were computed at, sympy calls): what the tests bound.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_WORK: ContextVar[Work | None] = ContextVar("matcalc_rewrite_work", default=None)


class Work:
    """The engines and memos of one derivation."""

    def __init__(self):
        self.engines: dict[tuple, Any] = {}     # (rules, region rules, pass) -> Engine
        self.values: dict[Hashable, Any] = {}
        self.calls = 0                          # rewrite calls (one per simplify)

    def engine(self, key: tuple, make: Callable[[], Any]):
        if key not in self.engines:
            self.engines[key] = make()
        return self.engines[key]

    def once(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key not in self.values:
            self.values[key] = make()
        return self.values[key]

    def counts(self) -> dict[str, int]:
        """``calls``: rewrite calls (one per ``simplify``); ``nodes``: nodes the rules
        were computed at (a memo hit is free); ``sympy``: elementwise subtrees given to sympy."""
        engines = self.engines.values()
        return {"calls": self.calls, "nodes": sum(e.computed for e in engines),
                "sympy": sum(e.algebra for e in engines)}


@contextmanager
def shared(work: Work | None = None) -> Iterator[Work]:
    """The derivation's :class:`Work`: the enclosing one when there is one, else
    ``work`` (a derivation's, kept for its steps, made when first printed) or a new one."""
    active = _WORK.get()
    if active is not None:
        yield active
        return
    work = Work() if work is None else work
    token = _WORK.set(work)
    try:
        yield work
    finally:
        _WORK.reset(token)


def current() -> Work | None:
    return _WORK.get()


def once(key: Hashable, make: Callable[[], Any]) -> Any:
    """``make()``, made once per derivation for ``key`` (every time outside one)."""
    work = _WORK.get()
    return make() if work is None else work.once(key, make)


# -- the memo of one engine, kept between calls -----------------------------------------

Ref = tuple[str, str]      # ("run" or "settle", digest): one computation of the engine


class Memo:
    """What an engine computed (``run``: the full pass, ``settle``: the rules alone), by
    structural hash, kept between calls, with each computation's events: the steps it
    logged, the computations it met, the forms it registered as settled (a fresh
    engine's ``settle`` takes such a form as it is).

    A call (``begin``) sees what a fresh engine would see: the computations it has met
    (``met``) and the forms registered in it (``registered``).  A computation known
    from an earlier call is *replayed* into this one (its steps logged, its
    registrations made) when it is valid here: every form it found registered is
    registered here too, and no computation it made is a form registered here (a
    fresh engine would take that form as it is).  Otherwise it is computed again, for
    this call only; so is one that met a node on the stack (the rules' recursion guard).
    """

    def __init__(self):
        self.known: dict[Ref, Any] = {}          # computations valid in any call -> result
        self.events: dict[Ref, list] = {}
        self.begin(None, None)

    def begin(self, log: list | None, notes: list | None) -> None:
        self.log, self.notes = log, notes
        self.met: set[Ref] = set()
        self.local: dict[Ref, Any] = {}          # computed in this call only
        self.registered: dict[str, Any] = {}     # the fresh engine's settled forms
        self.frames: list[list] = []             # events of the computations under way
        self.pure: list[bool] = []

    # -- lookups ---------------------------------------------------------------------
    def registered_form(self, key: str):
        """The settled form of the node ``key`` registered in this call (else None)."""
        if key in self.registered:
            ref = ("settle", key)
            self._event(ref if ref in self.met else ("registered", key))
            return self.registered[key]
        return None

    def found(self, ref: Ref):
        """What the computation ``ref`` gave, when it is known here (else None)."""
        if ref in self.met:
            self._event(ref)
            return self.local[ref] if ref in self.local else self.known[ref]
        if ref in self.known and self._walk(ref, act=False):
            self._event(ref)
            self._walk(ref, act=True)
            return self.known[ref]
        return None

    # -- a computation -----------------------------------------------------------------
    def start(self) -> None:
        self.frames.append([])
        self.pure.append(True)

    def register(self, key: str, form, replace: bool = False) -> None:
        """``form`` is the settled form of the node ``key`` (kept if there is one, unless ``replace``)."""
        if replace or key not in self.registered:
            self.registered[key] = form
            self._event(("form", key, form, replace))

    def step(self, step, record: bool = True) -> None:
        if record:
            self._event(step)
        if step.fact is not None and self.notes is not None and step.fact not in self.notes:
            self.notes.append(step.fact)
        if self.log is not None:
            self.log.append(step)

    def impure(self) -> None:
        """The computations under way depend on where they run (a node on the stack, the
        time left to sympy)."""
        self.pure = [False] * len(self.pure)

    def done(self, ref: Ref, out) -> None:
        events, pure = self.frames.pop(), self.pure.pop()
        self.met.add(ref)
        if pure and ref not in self.known:
            self.known[ref], self.events[ref] = out, events
        else:               # computed again here: what holds it is local to this call too
            self.local[ref] = out
            self.impure()
        self._event(ref)

    def _event(self, event) -> None:
        if self.frames:
            self.frames[-1].append(event)

    # -- replay ------------------------------------------------------------------------
    def _walk(self, ref: Ref, act: bool) -> bool:
        """Walk the events of ``ref`` as a fresh engine here would meet them: with
        ``act``, log and register them; else say whether they are valid here."""
        met, registered = set(), set()       # (what the walk would add, when not acting)
        stack: list = [ref]
        while stack:
            event = stack.pop()
            kind = event[0] if isinstance(event, tuple) else "step"
            if kind == "step":
                if act:
                    self.step(event, record=False)
            elif kind == "form":
                if not act:
                    registered.add(event[1])
                elif event[3] or event[1] not in self.registered:
                    self.registered[event[1]] = event[2]
            elif kind == "registered":
                if not act and event[1] not in self.registered and event[1] not in registered:
                    return False
            elif event not in self.met and event not in met:
                if not act and (event not in self.known or (kind == "settle" and (
                        event[1] in self.registered or event[1] in registered))):
                    return False
                (self.met if act else met).add(event)
                stack.extend(reversed(self.events[event]))
        return True
