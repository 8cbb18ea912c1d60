"""The pipeline, one direction: load -> parse -> (lower -> differentiate ->
simplify -> recognize -> tidy) -> outputs and verification.

:func:`derive` is the public entry point; the CLI calls nothing else.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from . import higher, ir
from .checking import check
from .differentiate import ChainStep, backprop, gradients, hessian, jacobian, per_symbol
from .errors import MatcalcError, SpecError
from .ir import deep_recursion
from .letspec import engine_form, let_symbol
from .matrix import build as B
from .matrix.algebra import budget
from .matrix.rule import Fact, Step
from .matrix.share import inline
from .matrix.work import Work, shared
from .matrix.simplify import restore_shape, simplify
from .record import MAX_STEP_NODES, Record, given_names, record, written_form
from .render.text import to_text
from .shapes import Shape, known_sizes
from .spec import Problem, load
from .steps import Entrywise, Explanation, entrywise, explain
from .vecsteps import VecSteps, vec_steps
from .verify import Check, Progress


@dataclass
class Result:
    """The derivative w.r.t. one symbol, in matrix form.

    ``kind`` is ``gradient`` (scalar expression), ``jacobian`` (vector-valued
    expression, shape ``[out, in]``) or ``hessian`` (order 2, ``[in, in]``).
    ``raw`` is the form straight out of the chain rule, before tidying;
    ``steps`` are the chain-rule steps that produced it (the sweep's log: for a
    Jacobian, none yet); ``facts`` and ``rules`` are the props and the rules
    (:class:`~matcalc.matrix.rule.Fact`, :class:`~matcalc.matrix.rule.Step`) the
    tidying of ``raw`` used.  For an expression small enough to show its steps,
    ``record`` is the gradient's log in named intermediates (:mod:`matcalc.record`)
    and ``explanation`` / ``entrywise`` the steps formatted from it
    (:mod:`matcalc.steps`): the printers read these, they derive nothing.
    """

    symbol: str
    kind: str
    matrix: ir.Expr
    raw: ir.Expr
    steps: list[ChainStep] = field(default_factory=list, repr=False)
    gradient: ir.Expr | None = None   # for a Hessian: the gradient it differentiates
    # a result whose written-out form is much bigger than its graph is written in
    # named intermediates (matrix/share.py): ``named`` uses them, ``let`` defines them
    named: ir.Expr | None = None
    let: list[tuple[str, ir.Expr]] = field(default_factory=list, repr=False)
    facts: list[Fact] = field(default_factory=list, repr=False)
    rules: list[Step] = field(default_factory=list, repr=False)
    # a sentence on the result shown with it: "S does not occur in the expression: its derivative is 0"
    note: str | None = None
    # order 2: the Hessian-vector product H vec(dS) as a matrix expression in the symbols and the
    # direction ``direction`` (a symbol shaped like S, named dS); a mixed result ("W1,W2") names its pair
    hvp: ir.Expr | None = None
    direction: ir.Symbol | None = None
    pair: tuple[str, str] | None = None
    # a derivative in the vec convention: each term as the recognizer read it (matrix/kronecker.VecTerm)
    vec_terms: list = field(default_factory=list, repr=False)
    # the steps are made from the recorded log once, when first asked for (printing
    # them is what most derivations never do): ``_make_steps`` fills the three below
    _make_steps: Any = field(default=None, repr=False, compare=False)
    _record: Record | None = field(default=None, repr=False, compare=False)
    _explanation: Explanation | None = field(default=None, repr=False, compare=False)
    _entrywise: Entrywise | None = field(default=None, repr=False, compare=False)
    _vec: VecSteps | None = field(default=None, repr=False, compare=False)

    def _steps_made(self) -> Result:
        if self._make_steps is not None:
            make, self._make_steps = self._make_steps, None
            make(self)
        return self

    @property
    def record(self) -> Record | None:
        return self._steps_made()._record

    @property
    def explanation(self) -> Explanation | None:
        return self._steps_made()._explanation

    @property
    def entrywise(self) -> Entrywise | None:
        return self._steps_made()._entrywise

    @property
    def vec(self) -> VecSteps | None:
        """The steps in the vec convention (d vec F = J d vec X), read off ``vec_terms``."""
        return self._steps_made()._vec

    @property
    def written(self) -> ir.Expr:
        """The form to write out: in the ``let`` names when there are any."""
        return self.named if self.named is not None else self.matrix

    @property
    def text(self) -> str:
        """The result in the expression language (it parses again, in the
        context of :attr:`let` when that is not empty).  An identically zero result
        is ``0`` (the contract's text; its shape is :attr:`shape`)."""
        return "0" if B.is_zeros(self.matrix) else to_text(self.written)

    @property
    def shape(self) -> Shape:
        return self.matrix.shape

    def __repr__(self) -> str:
        return f"{self.kind} w.r.t. {self.symbol}: {self.text}"


@dataclass
class Derivation:
    """One derivation: the problem as understood, and what was derived."""

    problem: Problem
    results: dict[str, Result] = field(default_factory=dict)
    verification: dict[str, Check] = field(default_factory=dict)
    _code: str | None = field(default=None, repr=False, compare=False)

    def make_steps(self) -> Derivation:
        """Make the steps of every result from the engine's recorded log now (they are
        otherwise made when first printed): after this, printing runs no engine."""
        for r in self.results.values():
            r._steps_made()
        return self

    @property
    def verified(self) -> bool:
        """True when every result was checked numerically and passed."""
        return bool(self.verification) and all(c.passed for c in self.verification.values())

    @property
    def name(self) -> str:
        return self.problem.name

    @property
    def expr(self) -> str:
        return self.problem.expr_text

    @property
    def order(self) -> int:
        return self.problem.order

    @property
    def shape(self) -> Shape:
        return self.problem.expr.shape

    def subexpressions(self) -> list[tuple[int, str, Shape]]:
        """(depth, text, shape) of every node, parents first: what the CLI tree shows."""
        out: list[tuple[int, str, Shape]] = []
        memo: dict[int, str] = {}  # shared, so a 10,000-term sum is printed once, not 10,000 times
        stack: list[tuple[int, ir.Expr]] = [(0, self.problem.expr)]
        while stack:
            depth, node = stack.pop()
            out.append((depth, to_text(node, memo), node.shape))
            stack.extend((depth + 1, c) for c in reversed(node.children()))
        return out

    @property
    def code(self) -> str:
        """The source of a self-contained numpy module (see :mod:`matcalc.codegen`):
        the module the check ran."""
        if self._code is None:
            from .codegen import emit_module
            self._code = emit_module(self)
        return self._code

    def latex(self) -> str:
        """A complete LaTeX document with the derivation (compiles with pdflatex)."""
        from .render.document import to_latex_document
        return to_latex_document([self])

    def markdown(self) -> str:
        """The derivation as Markdown with $$ math (GitHub, Jupyter)."""
        from .render.document import to_markdown
        return to_markdown([self])

    def _repr_html_(self) -> str:
        """Jupyter: the steps and the boxed result in MathML, the code in <details>."""
        from .render.notebook import to_html
        return to_html(self)

    def _repr_latex_(self) -> str:
        from .render.notebook import to_latex
        return to_latex(self)

    def function(self):
        """The emitted module, loaded: its callables (``value``, ``grad_S`` /
        ``hess_S``, ``value_and_grad``) without writing a file."""
        from .codegen import callables
        return callables(self)

    def __repr__(self) -> str:
        if not self.results:
            return f"Derivation({self.name}: {self.expr} w.r.t. {', '.join(self.problem.wrt)})"
        shown = "; ".join(f"d/d{r.symbol} = {r.text}" for r in self.results.values())
        return f"<Derivation {self.name}: {shown}>"


def derive(source: Any, *, verify: bool = True, seed: int = 0,
           targets: tuple[str, ...] = ("numpy",),
           progress: Progress | None = None) -> Derivation | list[Derivation]:
    """Derive what an expr.yaml asks for.

    ``source`` is a path, YAML text, or a dict with the keys of expr.yaml.
    Returns one :class:`Derivation`, or a list of them for a file with
    ``derivations:``.  Every result is checked against finite differences
    unless ``verify=False``: the emitted module of each code target in
    ``targets`` (``"numpy"``, ``"array-api"``) is run.  Raises
    :class:`matcalc.MatcalcError` for bad input or a derivative with no
    matrix form.  ``seed`` is any non-negative integer (numpy's
    ``default_rng`` spreads it through a SeedSequence, so there is no upper
    limit).
    ``progress(text, done, total)`` hears how far each check has got (``done``
    of ``total`` results, fractions included): the CLI draws it.
    """
    seed = _seed(seed)
    problems, many = load(source)
    derivations = [run(p, verify=verify, seed=seed, targets=targets, progress=progress) for p in problems]
    return derivations if many else derivations[0]


def _seed(seed: Any) -> int:
    """``seed`` as a Python int, or a SpecError: numpy would raise a raw
    TypeError for 1.5 and ValueError for -1, and takes True as 1."""
    import numbers

    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise SpecError(f"the seed must be a non-negative integer, not {seed!r}",
                    hint="any of 0, 1, 2, ... (each gives other random inputs for the check)")


def run(problem: Problem, *, verify: bool = True, seed: int = 0,
        targets: tuple[str, ...] = ("numpy",), progress: Progress | None = None) -> Derivation:
    """Differentiate, tidy and (optionally) verify one problem."""
    d = Derivation(problem)
    # one memo of the rewrite engine for every result: the tidy parts they share are tidied once
    with deep_recursion(), located(problem), known_sizes(problem.dims), shared() as memo:
        work = replace(problem, expr=engine_form(problem.let, problem.expr_named)[0] if problem.let
                       else ir.rebalance(problem.expr))
        raw, chains = None, {}
        used = {s.name for s in work.expr.symbols}
        kept = memo if ir.written_within(problem.expr, MAX_STEP_NODES) else None   # for the steps, when shown
        if problem.order == 1 and work.expr.rank == 0:     # every gradient in one reverse sweep
            chain: list[ChainStep] = []
            raw = gradients(work.expr, [work.symbols[n] for n in problem.wrt], steps=chain)
            chains = per_symbol(chain, list(problem.wrt)) if len(problem.wrt) > 1 else {problem.wrt[0]: chain}
        for name in problem.wrt:
            known = (raw[name], chains[name]) if raw is not None else None
            d.results[name] = differentiate(work, name, known)
            if name not in used:     # an unused parameter: the zero derivative, said so
                d.results[name].note = f"{name} does not occur in the expression: its derivative is 0"
            d.results[name]._make_steps = functools.partial(_explain_steps, problem, work, kept)
        if problem.mixed:
            for a, b in itertools.combinations(problem.wrt, 2):
                d.results[f"{a},{b}"] = mixed(work, d.results[a], b)
                d.results[f"{a},{b}"]._make_steps = functools.partial(_explain_steps, problem, work, kept)
        if verify:
            d.verification = check(work, d, seed=seed, targets=targets, progress=progress)
    return d


@contextmanager
def located(problem: Problem):
    """An error found while deriving (``x / 0`` divides by zero; a result past the
    size budget) comes from no single key of the input: it points at the expression."""
    try:
        yield
    except MatcalcError as err:
        if err.location is None and problem.where is not None:
            raise err.with_location(problem.where) from None
        raise


def differentiate(problem: Problem, name: str, known: tuple[ir.Expr, list[ChainStep]] | None = None) -> Result:
    """The result w.r.t. ``name``; ``known``, when given, is its raw gradient and
    chain steps from :func:`~matcalc.differentiate.gradients` (one sweep for every symbol)."""
    with budget():   # sympy's share of the time is bounded; past it, forms stay as they are
        return _differentiate(problem, name, known)


def _differentiate(problem: Problem, name: str, known=None) -> Result:
    expr, sym = problem.expr, problem.symbols[name]
    steps: list[ChainStep] = []
    vec_terms: list = []
    gradient = None
    if problem.order == 2:
        kind = "hessian"
        gradient = restore_shape(simplify(backprop(expr, sym, steps=steps)), sym.shape)
        raw = hessian(expr, sym, simplify, vec_terms, grad=gradient)     # the gradient made once
        shape = higher.vec_shape(sym.shape, sym.shape)
    elif expr.rank == 0:
        kind = "gradient"
        if known is not None:
            raw, steps = known
        else:
            raw = backprop(expr, sym, steps=steps)
        shape = sym.shape
    else:
        kind = "jacobian"
        raw = jacobian(expr, sym, simplify, vec_terms)
        shape = higher.vec_shape(expr.shape, sym.shape)
    facts: list[Fact] = []
    rules: list[Step] = []
    matrix = tidy(raw, shape, facts, rules) if not B.is_zero(raw) else restore_shape(raw, shape)
    if kind == "hessian" and sym.rank == 2:     # for a symmetric S, the symmetric one
        matrix = higher.symmetric_part(matrix, sym)
    named, let = written_form(matrix, problem.let, set(problem.symbols) | set(problem.dims), tidy)
    out = Result(name, kind, matrix, raw, steps, gradient, named, let, facts, rules, vec_terms=vec_terms)
    if kind == "hessian":
        taken = set(problem.symbols) | set(problem.dims) | {x.name for x in problem.let}
        out.direction = higher.direction(taken, sym)
        out.hvp = higher.hvp(gradient, sym, out.direction)
    return out


def mixed(problem: Problem, first: Result, second: str) -> Result:
    """``∂² J / ∂ vec W1 ∂ (vec W2)ᵀ``: the Jacobian of W1's gradient w.r.t. W2, ``[size(W1), size(W2)]``."""
    terms: list = []
    raw, shape = higher.mixed(first.gradient, problem.symbols[second], terms)
    facts: list[Fact] = []
    rules: list[Step] = []
    with budget():
        matrix = tidy(raw, shape, facts, rules) if not B.is_zero(raw) else restore_shape(raw, shape)
    return Result(f"{first.symbol},{second}", "mixed", matrix, raw, facts=facts, rules=rules,
                  pair=(first.symbol, second), vec_terms=terms, gradient=first.gradient)


def tidy(expr: ir.Expr, shape: Shape, facts: list[Fact], rules: list[Step]) -> ir.Expr:
    """``simplify`` to ``shape``: the props it used are appended to ``facts`` and, when
    the simplifier keeps a log, the rules that fired to ``rules``.

    THE ONE PLACE where the simplifier's log is asked for: until ``simplify`` takes
    ``log=`` (the rules branch adds it), ``rules`` stays empty."""
    if _SIMPLIFY_LOGS:
        return restore_shape(simplify(expr, notes=facts, log=rules), shape)
    return restore_shape(simplify(expr, notes=facts), shape)


_SIMPLIFY_LOGS = "log" in inspect.signature(simplify).parameters


def _explain_steps(problem: Problem, work: Problem, memo: Work | None, r: Result) -> None:
    """Record and format the steps of ``r`` for the printers, when the expression is
    small enough to show them: the gradient's log in named intermediates, read off the
    sweep's chain steps (on ``work``, the tree the sweep ran on), and the entry-by-entry
    steps of a Jacobian or Hessian (index notation, on the problem as written)."""
    if not ir.written_within(problem.expr, MAX_STEP_NODES):    # bounded: not n steps for each of n symbols
        return
    with deep_recursion(), budget(), known_sizes(problem.dims), shared(memo):   # the results share their tidying
        _make_steps(problem, work, r)


def _make_steps(problem: Problem, work: Problem, r: Result) -> None:
    r._vec = vec_steps(problem, r)        # a Hessian w.r.t. a matrix: its gradient's log, then the vec steps
    grad = r.raw if r.kind == "gradient" else r.gradient if r._vec is not None and r.kind == "hessian" else None
    if grad is not None and not (B.is_zero(grad) or B.is_zeros(grad)):
        taken = set(problem.symbols) | set(problem.dims) | {"J"}
        r._record = record(work.expr, work.symbols[r.symbol], grad, r.steps, taken, tidy,
                           given_names(problem.let))
        r._explanation = explain(problem, r)
    elif r.kind in ("jacobian", "hessian"):
        r._entrywise = entrywise(problem, r)


def read_back(text: str, let: list[tuple[str, str]], problem: Problem, shape: Shape | None = None) -> ir.Expr:
    """A result's text (and its ``let`` definitions, in order, each may use the
    earlier ones) parsed again in the problem's symbols: what a script reading
    the JSON ``matrix`` and ``let`` does.  With the result's ``shape``, the text
    ``0`` (an identically zero result) is the zero matrix of that shape."""
    if text.strip() == "0" and shape:
        return B.zeros(tuple(shape))
    from .parse import parse

    env = dict(problem.symbols)
    full: dict[str, ir.Expr] = {}
    for name, definition in let:
        e = inline(parse(definition, env, problem.dims), full)
        full[name] = e
        env[name] = let_symbol(name, e)
    return inline(parse(text, env, problem.dims), full)
