"""Matrix-form results -> a numpy module a person would be glad to read.

The module imports numpy only and defines ``value(**symbols)``, ``grad_S`` /
``hess_S`` for each wrt symbol, and ``value_and_grad``.  Work shared between
the value and the derivatives is computed once (common subexpressions become
named intermediates), and the numerics are the stable ones: softmax and
friends subtract the maximum, ``log(softmax(A))`` is computed as
``log_softmax(A)``, ``softplus`` is ``logaddexp``, ``logdet`` is ``slogdet``,
``inv(A) @ B`` is ``solve(A, B)`` and ``diag(v) @ M`` is ``v[:, None] * M``.

``emit_module(d, target="array-api")`` prints the same functions against the
array API standard instead (importing ``array_api_compat`` only), with the
spellings of :mod:`matcalc.ops.array_api`; the numpy module is the default.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from . import __version__, ir
from .matrix import build as B
from .ops import OPS, PREC_ATOM, PREC_MUL, PREC_NEG, PREC_POSTFIX, PREC_POW, array_api
from .ops.elementwise import HELPERS as EW_HELPERS
from .ops.reductions import HELPERS as RED_HELPERS
from .render.text import to_text
from .shapes import show

HELPERS = {**EW_HELPERS, **RED_HELPERS}
TARGETS = ("numpy", "array-api")


# -- numerics: rewrite to stable forms before printing --------------------------

def stabilize(expr: ir.Expr) -> ir.Expr:
    """Same value, computed without overflow or log(0):
    ``log(softmax(A)) -> log_softmax(A)``, ``log(sigmoid(x)) -> -softplus(-x)``,
    ``log(1 + exp(x)) -> softplus(x)``, ``log(exp(x)) -> x``."""
    memo: dict[ir.Expr, ir.Expr] = {}

    def go(e: ir.Expr) -> ir.Expr:
        if e in memo:
            return memo[e]
        out = e
        if isinstance(e, ir.Apply):
            args = [go(a) for a in e.args]
            out = ir.apply(e.op, args, dict(e.attrs)) if args != list(e.args) else e
            if out.op == "log":
                a = out.args[0]
                if isinstance(a, ir.Apply) and OPS[a.op].extra.get("log_form"):
                    out = ir.apply(OPS[a.op].extra["log_form"], [a.args[0]], dict(a.attrs))
                elif B.is_op(a, "sigmoid"):
                    out = B.neg(B.call("softplus", B.neg(a.args[0])))
                elif B.is_op(a, "exp"):
                    out = a.args[0]
                elif B.is_op(a, "add") and B.is_num(a.args[0], 1) and B.is_op(a.args[1], "exp"):
                    out = B.call("softplus", a.args[1].args[0])
        memo[e] = out
        return out

    return go(expr)


# -- printing --------------------------------------------------------------------

class Emitter:
    """Prints IR as numpy, naming shared subexpressions ``t1, t2, ...``.

    ``target="array-api"`` prints the portable spellings of
    :mod:`matcalc.ops.array_api` instead, with ``np_name`` the variable holding
    the caller's namespace and ``like`` an argument constants take their dtype
    and device from."""

    def __init__(self, np_name: str, shared: set[ir.Expr], names: dict[ir.Expr, str] | None = None,
                 target: str = "numpy", like: str = ""):
        self.np = np_name
        self.target = target
        self.like = like
        self.shared = shared
        self.names: dict[ir.Expr, str] = dict(names or {})
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.counter = len(self.names)

    def value(self, e: ir.Expr) -> str:
        return self.code(e)[0]

    def code(self, e: ir.Expr) -> tuple[str, int]:
        if e in self.names:
            return self.names[e], PREC_ATOM
        text, prec = self._code(e)
        if e in self.shared and isinstance(e, ir.Apply) and not _trivial(e):
            self.counter += 1
            name = f"t{self.counter}"
            self.lines.append(f"{name} = {text}  # {show(e.shape)}: {_short(to_text(e))}")
            self.names[e] = name
            return name, PREC_ATOM
        return text, prec

    def wrap(self, e: ir.Expr, need: int, strict: bool = False) -> str:
        text, prec = self.code(e)
        return f"({text})" if prec < need or (strict and prec == need) else text

    def _code(self, e: ir.Expr) -> tuple[str, int]:
        if isinstance(e, (ir.Symbol, ir.Dim)):
            return e.name, PREC_ATOM
        if isinstance(e, ir.Number):
            v = e.value
            if isinstance(v, Fraction) and v.denominator == 1:
                text = str(v.numerator)
            else:
                text = repr(float(v))
            return text, (PREC_NEG if text.startswith("-") else PREC_ATOM)
        assert isinstance(e, ir.Apply)
        op, args = OPS[e.op], e.args
        if e.op == "matmul":
            special = self._matmul(*args)
            if special is not None:
                return special
        if B.is_zeros(e):                                    # 0 * ones(n, n): zeros
            ones = next(a for a in args if B.is_ones(a))
            text, prec = self._code(ones)
            return text.replace(".ones(", ".zeros(", 1), prec
        if op.syntax == "infix":
            if e.op == "pow":
                return f"{self.wrap(args[0], PREC_POW, True)} ** {self.wrap(args[1], PREC_NEG)}", PREC_POW
            left = self.wrap(args[0], op.precedence)
            right = self.wrap(args[1], op.precedence, True)
            return f"{left} {op.written} {right}", op.precedence
        if op.syntax == "prefix":
            return f"-{self.wrap(args[0], PREC_NEG, True)}", PREC_NEG
        if op.syntax == "postfix":
            if self.target != "numpy" and args[0].rank < 2:    # the standard's .T is for matrices
                return self.code(args[0])
            return f"{self.wrap(args[0], PREC_POSTFIX)}.T", PREC_POSTFIX
        template = self._template(op)
        if op.dim_args:
            dims = [_dim_code(d) for d in e.attr("dims")]
            inner = dims[0] if e.op == "eye" else f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
            return template.format(dims=inner, like=self.like), PREC_ATOM
        axis = e.attr("axis")
        parts = [self.value(a) for a in args]
        text = template.format(*parts, axis=axis, axis_kw="" if axis is None else f", axis={axis}")
        return text, PREC_ATOM

    def _template(self, op) -> str:
        """The op's spelling for this target, with the namespace variable filled in."""
        if self.target == "numpy":
            self.helpers.update(op.extra.get("helpers", ()))
            return op.numpy.replace("np.", f"{self.np}.")
        template = array_api.SPELLINGS[op.name]
        self.helpers.update(array_api.helpers_of(template))
        return re.sub(r"\bxp\b", self.np, template)

    def _solve(self, a: str, b: str) -> str:
        if self.target == "numpy":
            return f"{self.np}.linalg.solve({a}, {b})"
        self.helpers.update(array_api.helpers_of(array_api.SOLVE))
        return re.sub(r"\bxp\b", self.np, array_api.SOLVE).format(a, b)

    def _matmul(self, a: ir.Expr, b: ir.Expr):
        """diag(v) @ M -> v[:, None] * M;  inv(A) @ B -> solve(A, B), and transposes;
        Mᵀ diag(v) M with v >= 0 -> Sᵀ S for S = sqrt(v)[:, None] * M (numpy then
        uses a symmetric rank-k product, half the work of a general one)."""
        np_ = self.np
        gram = _gram(a, b)
        if gram is not None:
            m, v = gram
            weights, rows = self.value(v), self.wrap(m, PREC_MUL, True)
            self.counter += 1
            name = f"t{self.counter}"
            self.lines.append(f"{name} = {np_}.sqrt({weights})[:, None] * {rows}"
                              f"  # so that the product below is {name}.T @ {name}")
            return f"{name}.T @ {name}", PREC_MUL
        if B.is_op(a, "diag") and a.args[0].rank == 1 and a not in self.names:
            v = self.wrap(a.args[0], PREC_POSTFIX)
            scale = f"{v}[:, None]" if b.rank == 2 else v
            return f"{scale} * {self.wrap(b, PREC_MUL, True)}", PREC_MUL
        if B.is_op(b, "diag") and b.args[0].rank == 1 and b not in self.names:
            return f"{self.wrap(a, PREC_MUL)} * {self.wrap(b.args[0], PREC_MUL, True)}", PREC_MUL
        inv_a = _inverse(a)
        if inv_a is not None and a not in self.names:
            matrix, transposed = inv_a
            m = self.value(matrix) + (".T" if transposed else "")
            return self._solve(m, self.value(b)), PREC_ATOM
        inv_b = _inverse(b)
        if inv_b is not None and b not in self.names:
            matrix, transposed = inv_b      # B inv(A) = (inv(A)^T B^T)^T = solve(A^T, B^T)^T
            m = self.value(matrix) + ("" if transposed else ".T")
            rhs = self.wrap(a, PREC_POSTFIX) + (".T" if a.rank == 2 else "")
            out = self._solve(m, rhs)
            return (out + ".T", PREC_POSTFIX) if a.rank == 2 else (out, PREC_ATOM)
        return None


def _gram(a: ir.Expr, b: ir.Expr):
    """(M, v) when a @ b is Mᵀ diag(v) M with v >= 0 entrywise, else None."""
    if B.is_op(a, "matmul") and B.is_op(a.args[1], "diag"):
        mt, dg, m = a.args[0], a.args[1], b
    elif B.is_op(b, "matmul") and B.is_op(b.args[0], "diag"):
        mt, dg, m = a, b.args[0], b.args[1]
    else:
        return None
    if dg.args[0].rank != 1 or m.rank != 2 or B.T(m) != mt or not nonnegative(dg.args[0]):
        return None
    return m, dg.args[0]


def nonnegative(e: ir.Expr) -> bool:
    """A sufficient test that every entry of e is >= 0 (sigmoid(z) * (1 - sigmoid(z)) is)."""
    if isinstance(e, ir.Number):
        return e.value >= 0
    if isinstance(e, ir.Dim):
        return True
    if isinstance(e, ir.Symbol):
        return bool({"positive", "onehot", "stochastic"} & e.props)
    if not isinstance(e, ir.Apply):
        return False
    if OPS[e.op].extra.get("range") in ("nonnegative", "unit") or e.op in ("ones", "eye"):
        return True
    if e.op in ("mul", "div", "add"):
        return all(nonnegative(a) for a in e.args)
    if e.op == "pow":
        p = e.args[1]
        return nonnegative(e.args[0]) or (isinstance(p, ir.Number) and float(p.value) % 2 == 0)
    if e.op == "sub":    # 1 - sigmoid(z) = sigmoid(-z)
        a, b = e.args
        return B.is_num(a, 1) and isinstance(b, ir.Apply) and OPS[b.op].extra.get("range") == "unit"
    if e.op in ("sum", "mean", "transpose", "diag"):
        return nonnegative(e.args[0])
    return False


def _inverse(e: ir.Expr):
    if B.is_op(e, "inv"):
        return e.args[0], False
    if B.is_op(e, "transpose") and B.is_op(e.args[0], "inv"):
        return e.args[0].args[0], True
    return None


def _trivial(e: ir.Expr) -> bool:
    return (B.is_op(e, "transpose") and not isinstance(e.args[0], ir.Apply)) or B.is_op(e, "ones", "eye")


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _dim_code(d) -> str:
    return str(d) if isinstance(d, int) else " * ".join(str(d).split("*"))


def share_logs(roots: list[ir.Expr]) -> list[ir.Expr]:
    """When both F(A) and its log form L(A) are needed (softmax and log_softmax),
    compute F(A) as exp(L(A)): one pass over A instead of two, and still stable."""
    log_forms = {name: op.extra["log_form"] for name, op in OPS.items() if op.extra.get("log_form")}
    logs = {(n.op, n.args[0], n.attrs) for r in roots for n in ir.walk(r)
            if isinstance(n, ir.Apply) and n.op in log_forms.values()}
    if not logs:
        return roots
    memo: dict[ir.Expr, ir.Expr] = {}

    def go(e: ir.Expr) -> ir.Expr:
        if e in memo or not isinstance(e, ir.Apply):
            return memo.get(e, e)
        args = [go(a) for a in e.args]
        out = ir.apply(e.op, args, dict(e.attrs)) if args != list(e.args) else e
        log_op = log_forms.get(out.op)
        if log_op and (log_op, out.args[0], out.attrs) in logs:
            out = B.call("exp", ir.apply(log_op, [out.args[0]], dict(out.attrs)))
        memo[e] = out
        return out

    return [go(r) for r in roots]


def callables(derivation):
    """The module's functions as Python callables, without writing a file:
    the same stable expressions, evaluated by :func:`matcalc.evaluate.evaluate`."""
    from types import SimpleNamespace

    import numpy as np

    from .evaluate import evaluate

    p = derivation.problem
    dims_of = {d: (s, sym.shape.index(d)) for s, sym in reversed(list(p.symbols.items()))
               for d in sym.shape if isinstance(d, str)}

    def sizes(values):
        return {d: np.shape(values[s])[i] if s in values else p.dims[d]
                for d, (s, i) in dims_of.items()} | {d: n for d, n in p.dims.items() if d not in dims_of}

    def make(exprs, pack):
        def f(**values):
            missing = set(p.symbols) - set(values)
            if missing:
                raise TypeError(f"missing arguments: {', '.join(sorted(missing))}")
            dims = sizes(values)
            out = [np.asarray(evaluate(e, values, dims)) for e in exprs]
            return pack(out)
        return f

    ns = SimpleNamespace()
    value_expr = stabilize(p.expr)
    ns.value = make([value_expr], lambda out: out[0])
    grads = {}
    for s, r in derivation.results.items():
        matrix = stabilize(r.matrix)
        setattr(ns, f"{_fname(r)}_{s}", make([matrix], lambda out: out[0]))
        grads[s] = stabilize(r.gradient) if r.kind == "hessian" else matrix
        if r.kind == "hessian":
            setattr(ns, f"grad_{s}", make([grads[s]], lambda out: out[0]))
    keys = list(grads)
    ns.value_and_grad = make([value_expr, *grads.values()], lambda out: (out[0], dict(zip(keys, out[1:]))))
    return ns


def shared_nodes(roots: list[ir.Expr]) -> set[ir.Expr]:
    """Subexpressions used more than once across ``roots`` (counted by structure)."""
    uses: Counter = Counter()
    seen: set[ir.Expr] = set()
    stack = list(roots)
    for r in roots:
        uses[r] += 0
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for c in node.children():
            uses[c] += 1
            stack.append(c)
    # a root that is also used inside another root is shared too
    return {n for n, k in uses.items() if k >= 2 or (k >= 1 and n in roots)}


# -- the module --------------------------------------------------------------------

def emit_module(derivation, target: str = "numpy") -> str:
    """The source of a self-contained module for one derivation.

    ``target="numpy"`` (the default, ``Derivation.code``) imports numpy only;
    ``target="array-api"`` imports ``array_api_compat`` only and runs on the
    caller's arrays (numpy, CuPy, PyTorch, JAX, Dask), returning arrays of
    that kind (see :mod:`matcalc.ops.array_api`)."""
    if target not in TARGETS:
        raise ValueError(f"unknown code target {target!r}; choose one of {', '.join(TARGETS)}")
    portable = target == "array-api"
    p = derivation.problem
    names = set(p.symbols) | set(p.dims)
    if portable:
        np_ = "xp" if "xp" not in names else "xp_"
    else:
        np_ = "np" if "np" not in names else "numpy_"
    params = ", ".join(p.symbols)
    value_expr = stabilize(p.expr)
    results = {s: (r, stabilize(r.matrix), stabilize(r.gradient) if r.gradient is not None else None)
               for s, r in derivation.results.items()}

    shapes = ", ".join(f"{s} {show(sym.shape)}" + (f" ({', '.join(sorted(sym.props))})" if sym.props else "")
                       for s, sym in p.symbols.items())
    out = [f'"""{p.name}: generated by matcalc {__version__}.', ""]
    if p.description:
        out += [p.description, ""]
    out += [f"    J = {p.expr_text}", "", f"Shapes: {shapes}."]
    for s, (r, _, _) in results.items():
        out.append(f"{_fname(r)}_{s} = {r.text}   {show(r.shape)}")
    if portable:
        out += ["", "Array-API module: runs on numpy, CuPy, PyTorch, JAX and Dask arrays and returns",
                "arrays of the caller's kind (lazy ones for Dask: call .compute()).",
                '"""', "", "from array_api_compat import array_namespace, device, is_numpy_array", ""]
    else:
        out += ['"""', "", f"import numpy as {np_}" if np_ != "np" else "import numpy as np", ""]

    functions: list[str] = []
    helpers: set[str] = set()

    def function(name: str, doc: str, roots: list[ir.Expr], ret) -> None:
        roots = share_logs(roots)
        em = Emitter(np_, shared_nodes(roots), target=target, like=next(iter(p.symbols)))
        texts = [em.value(r) for r in roots]
        helpers.update(em.helpers)
        prologue = _prologue_xp(p, roots, np_) if portable else _prologue(p, roots, np_)
        body = prologue + em.lines + ret(texts)
        doc = doc.rstrip() + f"\n\n    Arguments (keyword): {shapes}.\n    "
        functions.append("\n".join([f"def {name}(*, {params}):", f'    """{doc}"""']
                                   + ["    " + line for line in body]))

    def returns(t):
        return [f"return {t[0]}"]

    function("value", f"J = {p.expr_text}", [value_expr], returns)
    for s, (r, matrix, grad) in results.items():
        kind = _fname(r)
        function(f"{kind}_{s}", f"{r.kind.capitalize()} of J w.r.t. {s} {show(r.shape)}:\n\n"
                 f"    {r.text}\n    ", [matrix], returns)
        if r.kind == "hessian":
            function(f"grad_{s}", f"Gradient of J w.r.t. {s} {show(p.symbols[s].shape)}:\n\n"
                     f"    {to_text(r.gradient)}\n    ", [grad], returns)
    grads = {s: (grad if r.kind == "hessian" else matrix) for s, (r, matrix, grad) in results.items()}
    keys = list(grads)

    def together(t):
        lines = [f"value = {t[0]}"] + [f"grad_{k} = {v}" for k, v in zip(keys, t[1:])]
        return lines + ["return value, {" + ", ".join(f'"{k}": grad_{k}' for k in keys) + "}"]

    function("value_and_grad", "The value and the gradient w.r.t. " + ", ".join(keys) +
             ", computing shared work once.", [value_expr, *grads.values()], together)
    if portable:
        out += ["", array_api.INPUTS, ""]
        out += [line for h in sorted(helpers) for line in ("", array_api.HELPERS[h], "")]
    for h in sorted(helpers) if not portable else ():
        out += ["", HELPERS[h].replace("np.", f"{np_}."), ""]
    for f in functions:
        out += ["", f, ""]
    return "\n".join(out).rstrip() + "\n"


def _fname(result) -> str:
    return "hess" if result.kind == "hessian" else "grad"


def _used(roots: list[ir.Expr]) -> tuple[set[str], set[str]]:
    """The symbols and the dimension names the expressions refer to."""
    used_syms: set[str] = set()
    used_dims: set[str] = set()
    for r in roots:
        for node in ir.walk(r):
            if isinstance(node, ir.Symbol):
                used_syms.add(node.name)
            elif isinstance(node, ir.Dim):
                used_dims.add(node.name)
            elif isinstance(node, ir.Apply) and node.op in ("ones", "eye"):
                for d in node.attr("dims"):
                    used_dims.update(x for x in str(d).split("*") if not x.isdigit())
    return used_syms, used_dims


def _prologue_xp(p, roots: list[ir.Expr], xp: str) -> list[str]:
    """The caller's namespace, every argument as its array (they decide the
    namespace, dtype and device together), and the dimension sizes."""
    symbols = list(p.symbols)
    lines = [f"{xp}, ({', '.join(symbols)}{',' if len(symbols) == 1 else ''}) = _inputs({', '.join(symbols)})"]
    _, used_dims = _used(roots)
    for d in p.dims:
        if d in used_dims:
            owner = next((s for s, sym in p.symbols.items() if d in sym.shape), None)
            lines.append(f"{d} = {owner}.shape[{p.symbols[owner].shape.index(d)}]" if owner
                         else f"{d} = {p.dims[d]}")
    return lines


def _prologue(p, roots: list[ir.Expr], np_: str) -> list[str]:
    """Convert the arguments and read the dimension sizes off their shapes."""
    used_syms, used_dims = _used(roots)
    lines = [f"{s} = {np_}.asarray({s}, dtype=float)" for s in p.symbols if s in used_syms]
    for d in p.dims:
        if d not in used_dims:
            continue
        for s, sym in p.symbols.items():
            if d in sym.shape:
                if s not in used_syms:
                    lines.append(f"{s} = {np_}.asarray({s}, dtype=float)")
                    used_syms.add(s)
                lines.append(f"{d} = {s}.shape[{sym.shape.index(d)}]")
                break
        else:
            lines.append(f"{d} = {p.dims[d]}")
    return lines
