"""Judge one derivation, for the random-expression tests and the campaign.

:func:`examine` derives an expr.yaml document and sorts the outcome into one
of :data:`KINDS`.  Only ``verified`` and ``refused`` are acceptable; the
others are reported with enough detail to reproduce them.

* ``verified``  every result passed the finite-difference check, its text
  parses again to the same numbers, and the expression's index form has the
  value of its matrix form
* ``refused``   a :class:`~matcalc.errors.DerivationError` (no matrix form,
  unsupported) with a message that says what has no form
* ``wrong``     a result whose emitted module fails the check (finite
  differences disagree, a function raises or ``value_and_grad`` disagrees) at
  a point where the expression is finite: a wrong derivative (``derive()``
  marks it failed, but the CLI would print it)
* ``unstable``  a result the stability probe rejects: right, but its emitted
  code loses digits at large or small inputs (marked failed, never claimed)
* ``reprint``   the result's text does not parse again, or parses to other numbers
* ``index``     the index form of the expression disagrees with its matrix form
* ``rejected``  some other MatcalcError for a document that is valid by construction
* ``crash``     any other exception
* ``range``     the value overflows at the random point, or the check could not
  judge the result (not a claim about the derivative; the drawn expression
  left float64's range)
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

import numpy as np

import matcalc
from matcalc import ir
from matcalc.errors import DerivationError, MatcalcError
from matcalc.evaluate import evaluate
from matcalc.index.einsum import evaluate_index
from matcalc.index.lower import Pool, lower
from matcalc.ops import OPS
from matcalc.parse import parse
from matcalc.codegen.module import functions
from matcalc.pipeline import read_back
from matcalc.render.text import to_text
from matcalc.verify import draw_inputs

KINDS = ("verified", "refused", "wrong", "unstable", "reprint", "index", "rejected", "crash", "range")
BAD = ("wrong", "reprint", "index", "rejected", "crash")
HUGE = 1e8


@dataclass
class Outcome:
    kind: str
    detail: str = ""
    seconds: float = 0.0
    where: str = ""    # for a crash: exception type and the innermost engine frame
    functions: int = 0  # functions of the emitted module the check ran (value, grad_S, ...)
    derived: bool = False   # a derivation came out (so there is a module to load)

    @property
    def signature(self) -> tuple[str, str]:
        """What two outcomes share when they are the same bug."""
        return (self.kind, self.where)

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


_PLUMBING = ("/ir.py", "/ops/__init__.py", "/shapes.py")


def _crash(exc: BaseException, prefix: str, seconds: float) -> Outcome:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/matcalc/" in f.filename]
    inner = [f for f in frames if not f.filename.endswith(_PLUMBING)] or frames
    where = type(exc).__name__
    if inner:
        f = inner[-1]
        where += f" in {f.filename.split('/matcalc/')[-1]}:{f.name}"
    tb = "".join(traceback.format_list(frames[-4:]))
    return Outcome("crash", f"{prefix}{type(exc).__name__}: {exc}\n{tb}", seconds, where)


def _scalar(e: ir.Expr) -> ir.Expr:
    return e if e.rank == 0 else ir.apply("sum", [e])


NONSMOOTH = ("norm", "sqrt", "abs", "relu", "sign", "step")


def _nonsmooth_at_point(expr: ir.Expr, values, dims) -> str:
    """A function with a kink or pole at 0 (norm, sqrt, abs, ...) whose argument
    is exactly 0 there (``norm(log_softmax(x))`` for ``x: [n, 1]`` is norm(0))."""
    for node in ir.walk(expr):
        if isinstance(node, ir.Apply) and node.op in NONSMOOTH:
            arg = np.asarray(evaluate(node.args[0], values, dims), dtype=float)
            if np.any(np.abs(arg) < 1e-9):
                return f"the argument of {node.op} is 0 in {to_text(node)}"
        if isinstance(node, ir.Apply) and OPS[node.op].compare is not None:   # where(A > B, ...) at A = B
            gap = np.asarray(evaluate(node.args[0], values, dims) - evaluate(node.args[1], values, dims), dtype=float)
            if np.any(np.abs(gap) < 1e-9):     # (log_softmax of a onehot row [1, 0] ties log_sigmoid(1))
                return f"the comparison is a tie in {to_text(node)}"
    return ""


def _index_value(expr: ir.Expr, values, dims) -> np.ndarray:
    pool = Pool()
    idx = tuple(pool.fresh(d) for d in expr.shape)
    return evaluate_index(lower(expr, idx, pool), values, dims, idx)


def _finite(*arrays) -> bool:
    return all(np.all(np.isfinite(a)) and np.all(np.abs(a) < HUGE) for a in arrays)


def examine(doc: dict, *, seed: int = 0, check_index: bool = True) -> Outcome:
    """Derive ``doc`` and say what came out (see the module docstring)."""
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            d = matcalc.derive(doc, seed=seed)
    except DerivationError as exc:
        seconds = time.perf_counter() - start
        if not exc.message or len(exc.message) < 15 or "Traceback" in exc.message:
            return Outcome("crash", f"unclear refusal: {exc.message!r}", seconds)
        return Outcome("refused", exc.message, seconds)
    except MatcalcError as exc:
        return Outcome("rejected", f"{type(exc).__name__}: {exc.message}", time.perf_counter() - start)
    except Exception as exc:   # noqa: BLE001  (any other exception is the finding)
        return _crash(exc, "", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    try:
        with np.errstate(all="ignore"):
            outcome = _judge(d, seed, check_index, seconds)
    except Exception as exc:   # noqa: BLE001
        outcome = _crash(exc, "while checking: ", seconds)
    outcome.derived = True
    return outcome


def _judge(d, seed: int, check_index: bool, seconds: float) -> Outcome:
    outcome = _judge_results(d, seed, check_index, seconds)
    module = d.function()          # the module the check ran loads, and defines what it should
    names = ["value", "value_and_grad"] + [name for s, r in d.results.items()
                                           for name, _ in functions(d.problem, s, r)]
    missing = [n for n in names if not callable(getattr(module, n, None))]
    if missing:
        return Outcome("crash", f"the emitted module defines no {missing[0]}", seconds, "module")
    outcome.functions = len(names)
    return outcome


def _judge_results(d, seed: int, check_index: bool, seconds: float) -> Outcome:
    p = d.problem
    for name, result in d.results.items():
        # the verifier's own random point
        rng = np.random.default_rng(seed)
        target = p.expr if result.kind != "hessian" else result.gradient
        # (p.expr too: a Hessian's gradient may no longer hold the logdet that needs an spd input)
        domain = ir.apply("add", [ir.apply("add", [_scalar(target), _scalar(result.matrix)]), _scalar(p.expr)])
        values = draw_inputs(domain, p.symbols, p.dims, rng)
        value = np.asarray(evaluate(p.expr, values, p.dims), dtype=float)
        got = np.asarray(evaluate(result.matrix, values, p.dims), dtype=float)
        if not _finite(value):
            return Outcome("range", f"the value is not finite or > {HUGE:g} at the random point", seconds)
        c = d.verification[name]
        if c.cause == "runs":       # emitted code that does not load, raises or has the wrong shape
            return Outcome("crash", f"{result.kind} w.r.t. {name}: {c.why}", seconds, "module: " + c.why[:40])
        if c.status == "not judged":
            return Outcome("range", f"not judged: {c.why}", seconds)
        if c.cause == "stability":
            return Outcome("unstable", f"{result.kind} w.r.t. {name} = {result.text}: {c.why}", seconds)
        if not c.passed:
            singular = _nonsmooth_at_point(p.expr, values, p.dims)
            if singular:   # relu(M0 @ Y) with a onehot Y has exact zeros: a kink, no derivative
                return Outcome("range", f"not differentiable at the random point: {singular}", seconds)
            return Outcome("wrong", f"{result.kind} w.r.t. {name} = {result.text}  fails verification: {c.why} "
                           f"(max abs error {c.max_abs_error:.3g}, rel {c.max_rel_error:.3g})", seconds)
        # the printed result parses again and has the same numbers
        try:
            again = read_back(result.text, [(n, to_text(e)) for n, e in result.let], p, result.shape)
        except MatcalcError as exc:
            return Outcome("reprint", f"{result.text!r} does not parse again: {exc.message}", seconds)
        if again.shape != result.matrix.shape:
            return Outcome("reprint", f"{result.text!r} parses to shape {again.shape}, not "
                           f"{result.matrix.shape}", seconds)
        back = np.asarray(evaluate(again, values, p.dims), dtype=float)
        if _finite(got) and not np.allclose(back, got, rtol=1e-8, atol=1e-10):
            return Outcome("reprint", f"{result.text!r} parsed again evaluates to other numbers "
                           f"(max diff {np.max(np.abs(back - got)):.3g})", seconds)
    # (step(x) at x = 0 is 0 by numpy and may be 1 by einsum, where x is 1e-17: no claim there)
    if check_index and _finite(value) and not _nonsmooth_at_point(p.expr, values, p.dims):
        idx_value = _index_value(p.expr, values, p.dims)
        if not np.allclose(idx_value, value, rtol=1e-8, atol=1e-10):
            return Outcome("index", f"index form of {p.expr_text!r} evaluates to other numbers "
                           f"(max diff {np.max(np.abs(idx_value - value)):.3g})", seconds)
    return Outcome("verified", "", seconds)


# -- shrinking: the smallest document with the same outcome ------------------------

def _replace(expr: ir.Expr, path: tuple[int, ...], new: ir.Expr) -> ir.Expr:
    if not path:
        return new
    args = list(expr.args)
    args[path[0]] = _replace(args[path[0]], path[1:], new)
    return ir.apply(expr.op, args, dict(expr.attrs))


def _paths(expr: ir.Expr, path=()):
    yield path, expr
    for i, a in enumerate(expr.children()):
        yield from _paths(a, path + (i,))


def _size(expr: ir.Expr) -> int:
    return sum(1 for _ in ir.walk(expr))


def _candidates(doc: dict, expr: ir.Expr, symbols: dict[str, ir.Symbol]):
    """Smaller documents: a subtree replaced by a child of its shape or by a
    plain symbol; a prop dropped; order 2 made order 1."""
    from strategies import document
    wrt, order = doc["wrt"][0], doc.get("order", 1)
    fresh: dict[tuple, ir.Symbol] = {}
    for path, node in sorted(_paths(expr), key=lambda pn: len(pn[0])):
        if not isinstance(node, ir.Apply):
            continue
        options = [c for c in node.args if c.shape == node.shape]
        shape = node.shape
        if shape not in fresh:
            fresh[shape] = ir.Symbol(shape, f"z{len(fresh)}", frozenset({"constant"}))
        options.append(fresh[shape])
        for new in options:
            try:
                cand = _replace(expr, path, new)
            except Exception:   # noqa: BLE001  (a replacement that no longer type-checks)
                continue
            syms = {s.name: s for s in cand.symbols}
            if wrt in syms:
                yield document(to_text(cand), syms, doc["dims"], wrt, order)
    for name, sym in symbols.items():
        for p in sorted(sym.props):
            syms = dict(symbols)
            syms[name] = ir.Symbol(sym.shape, name, sym.props - {p})
            yield document(doc["expr"], syms, doc["dims"], wrt, order)
    if order == 2:
        yield document(doc["expr"], symbols, doc["dims"], wrt, 1)


def shrink(doc: dict, outcome: Outcome, *, budget: int = 300) -> tuple[dict, Outcome]:
    """Greedily reduce ``doc`` while it keeps ``outcome``'s signature."""
    from matcalc.spec import load
    from strategies import document
    tried = 0
    improved = True
    while improved and tried < budget:
        improved = False
        try:
            problem = load(doc)[0][0]
        except MatcalcError:   # a "rejected" document: its text does not load, nothing to shrink
            break
        doc = document(doc["expr"], problem.symbols, doc["dims"], doc["wrt"][0], doc.get("order", 1))
        for cand in _candidates(doc, problem.expr, problem.symbols):
            tried += 1
            if tried > budget:
                break
            try:
                got = examine(cand)
            except Exception:   # noqa: BLE001
                continue
            if got.signature == outcome.signature:
                doc, outcome, improved = cand, got, True
                break
    return doc, outcome
