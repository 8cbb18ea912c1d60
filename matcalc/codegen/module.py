"""The emitted module: one function per output, all printed by one
:class:`~matcalc.codegen.emit.Emitter` path from the IR, and the same source
loaded as a module (what ``Derivation.function()`` returns and what the
numerical check runs).

The module imports numpy only and defines ``value(**symbols)``, for each wrt
symbol the functions of :func:`functions` (``grad_S``; ``jac_S`` for a Jacobian, the
2-D ``∂ vec F / ∂ (vec S)ᵀ`` past two axes; ``hess_S``, ``grad_S`` and
``hvp_S(**symbols, dS=...)`` for order 2; ``hess_W1_W2`` for a mixed result), and
``value_and_grad``.  Work shared between
the value and the derivatives is computed once (common subexpressions become
named intermediates; where several gradients share work, one private helper
``_forward_backward`` computes them all, stopping at the one asked for, and
``grad_S`` / ``value_and_grad`` call it: :mod:`.forward`), and the numerics are the stable ones: softmax and
friends subtract the maximum, ``log(softmax(A))`` is computed as
``log_softmax(A)``, ``softplus`` is ``logaddexp``, ``logdet`` is ``slogdet``
(NaN where det < 0, as log of a negative number), ``inv(A) @ B`` is
``solve(A, B)`` and ``diag(v) @ M`` is ``v[:, None] * M``; Kronecker and vec forms
are computed by the emission rules of :mod:`matcalc.ops.kron_code` (a product with
``kron(eye(a), M)`` or ``commutation(m, n)`` is a reshape, never an explicit matrix
product).  Each function first
checks its arguments against the declared shapes (:mod:`.arguments`), and every
name the code introduces keeps clear of the symbols' and dimensions' names
(:mod:`.names`).

``emit_module(d, target="array-api")`` prints the same functions against the
array API standard instead (importing ``array_api_compat`` only), with the
spellings of :mod:`matcalc.ops.array_api`; the numpy module is the default.

User text (the description, the expression as written) reaches the module
only inside docstrings, escaped (:func:`docstring`): importing a module never
runs anything the user wrote.
"""

from __future__ import annotations

import types

from .. import __version__, ir
from ..language import to_text
from ..matrix import build as B
from ..ops import EMIT_RULES, OPS, array_api
from ..shapes import show
from . import arguments, forward
from .algebra import faster, shared_forms
from .emit import Emitter, shared_nodes, _trivial as trivial
from .names import Namespace, aliases, released
from .numerics import stabilize

HELPERS = {name: source for op in OPS.values() for name, source in op.helpers.items()}
HELPERS.update((name, source) for rules in EMIT_RULES.values() for rule in rules
               for name, source in rule.helpers.items())
TARGETS = ("numpy", "array-api")


def docstring(text: str, indent: str = "") -> str:
    r"""``text`` as a triple-quoted string literal that holds exactly ``text``,
    its lines after the first indented by ``indent``: backslashes and quotes are
    escaped, and so is every control character but newline and tab (a
    description holding three double quotes and a line of code stays text).

    >>> import ast
    >>> text = 'say ' + '"' * 3 + '; import os\nC:\\Users\\x\x00'
    >>> ast.literal_eval(docstring(text)) == text
    True
    """
    out = []
    for ch in text:
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif ch in "\n\t" or ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else
                       f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    lines = "".join(out).split("\n")
    rest = [indent + line if line.strip() else "" for line in lines[1:]]
    if rest and not rest[-1]:
        rest[-1] = indent          # the closing quotes line up with the opening ones
    body = "\n".join([lines[0]] + rest)
    return indent + '"""' + body + '"""'


def emit_module(derivation, target: str = "numpy") -> str:
    """The source of a self-contained module for one derivation.

    ``target="numpy"`` (the default, ``Derivation.code``) imports numpy only;
    ``target="array-api"`` imports ``array_api_compat`` only and runs on the
    caller's arrays (numpy, CuPy, PyTorch, JAX, Dask), returning arrays of
    that kind (see :mod:`matcalc.ops.array_api`).  The passes are iterative or
    bounded (a 20,000-term difference prints as lines of at most
    :data:`~matcalc.codegen.emit.MAX_NESTING` operations); comparing deep IR
    nodes still recurses, hence the raised recursion limit."""
    if target not in TARGETS:
        raise ValueError(f"unknown code target {target!r}; choose one of {', '.join(TARGETS)}")
    from ..pipeline import deep_recursion

    with deep_recursion():
        return _emit(derivation, target == "array-api")


def _emit(derivation, portable: bool) -> str:
    p = derivation.problem
    target = "array-api" if portable else "numpy"
    roles = {key: functions(p, key, r) for key, r in derivation.results.items()}
    # each Hessian-vector product's direction (dS), an argument besides the symbols
    extra = {name: r.direction for key, r in derivation.results.items() for name, role in roles[key]
             if role == "hvp"}
    # the globals a function body uses, each under a name no argument or dimension hides
    module_scope = Namespace(set(p.symbols) | set(p.dims) | {d.name for d in extra.values()})
    by_name = arguments.many(p.symbols)       # **symbols, past arguments.MANY symbols
    bases = ["device" if portable else "np", "_arguments", *(["_values"] if by_name else []), forward.HELPER,
             *sorted(array_api.HELPERS if portable else HELPERS)]
    renamed = {b: alias for b in bases if (alias := module_scope.claim(b)) != b}
    np_ = renamed.get("np", "np")
    value_expr = faster(stabilize(ir.rebalance(p.expr)))   # (x + x + ... + x: depth log n, which Python compiles)
    computed = {key: {role: faster(stabilize(getattr(r, role))) for role in ("matrix", "gradient", "hvp")
                      if getattr(r, role) is not None} for key, r in derivation.results.items()}

    def shapes_of(symbols) -> str:
        return ", ".join(f"{s} {show(sym.shape)}" + (f" ({', '.join(sorted(sym.props))})" if sym.props else "")
                         for s, sym in symbols.items())

    shapes = shapes_of(p.symbols)
    head = [f"{p.name}: generated by matcalc {__version__}.", ""]
    if p.description:
        head += [p.description, ""]
    head += [f"    {x.name} = {x.text}" for x in getattr(p, "let", ())]
    head += [f"    J = {p.expr_text}", "", f"Shapes: {shapes}."]
    for key, r in derivation.results.items():
        head += _summary_lines(r, roles[key])
    if portable:
        head += ["", "Array-API module: runs on numpy, CuPy, PyTorch, JAX and Dask arrays and returns",
                 "arrays of the caller's kind (lazy ones for Dask: call .compute())."]
        out = [docstring("\n".join(head + [""])), "",
               "from array_api_compat import array_namespace, device, is_numpy_array", ""]
    else:
        out = [docstring("\n".join(head + [""])), "", "import numpy as np", ""]
    out += [arguments.declarations(p.symbols, p.dims, extra), ""]

    functions_: list[str] = []
    used: set[str] = {"device" if portable else "np", "_arguments"}
    call = renamed.get("_arguments", "_arguments")

    lets = {full: x.name for x in getattr(p, "let", ()) for full in (x.full, ir.rebalance(x.full))}
    lets = {e: n for e, n in lets.items() if not ir.written_within(e, 1)}   # (a let of one symbol: no line)

    def marked(roots: list[ir.Expr]) -> set[ir.Expr]:
        """The parts of ``roots`` (already through ``shared_forms``) to name: the shared
        subexpressions and the user's let names."""
        present = set(ir.distinct(*roots)) if lets else set()
        return shared_nodes(roots) | (set(lets) & present)

    def emitter(marks: set[ir.Expr], scope: Namespace, xp: str) -> Emitter:
        return Emitter(xp, marks, target=target, like=next(iter(p.symbols)), scope=scope, renamed=renamed,
                       preferred=lets)

    def start() -> tuple[Namespace, str]:
        scope = module_scope.child()
        return scope, (scope.claim("xp") if portable else np_)

    def finish(name: str, doc: str, scope: Namespace, xp: str, body: list[str], refs: set[str],
               direction: ir.Symbol | None = None, spread: str | None = None) -> None:
        """A public function: its signature, docstring, the check of its arguments
        (binding the ones ``refs`` names), then ``body``; ``spread`` claims the name of
        the checked arguments' tuple, which ``body`` passes on (``**symbols`` only)."""
        symbols = {**p.symbols, direction.name: direction} if direction is not None else p.symbols
        if by_name:
            kw = scope.claim("symbols")
            prologue = _prologue_by_name(p, symbols, refs, scope, name, xp if portable and spread is None else None,
                                         call, f'*{renamed.get("_values", "_values")}("{name}", {kw})', spread)
            also = f" and {direction.name} {show(direction.shape)}" if direction is not None else ""
            doc = doc.rstrip() + f"\n\nArguments (keyword): the {len(p.symbols)} symbols of the module docstring{also}.\n"
            signature = f"def {name}(**{kw}):"
        else:
            prologue = _prologue(p, symbols, refs, scope, name, xp if portable else None, call)
            doc = doc.rstrip() + f"\n\nArguments (keyword): {shapes_of(symbols)}.\n"
            signature = f"def {name}(*, {', '.join(symbols)}):"
        body = prologue + body
        functions_.append("\n".join([signature, docstring(doc, "    ")] + ["    " + line for line in body]))

    def function(name: str, doc: str, roots: list[ir.Expr], ret, direction: ir.Symbol | None = None) -> None:
        scope, xp = start()
        roots = shared_forms(roots)
        em = emitter(marked(roots), scope, xp)
        texts = [em.value(r) for r in roots]
        used.update(em.helpers)
        finish(name, doc, scope, xp, released(em.lines + ret(texts, scope), set(em.names.values())),
               em.refs, direction)

    def returns(t, scope):
        return [f"return {t[0]}"]

    function("value", f"J = {p.expr_text}", [value_expr], returns)
    # value_and_grad: each symbol's gradient (a Hessian's gradient; a Jacobian itself), no mixed results
    part = {s: "gradient" if "gradient" in parts else "matrix" for s, parts in computed.items()
            if derivation.results[s].kind != "mixed"}
    grads = {s: computed[s][role] for s, role in part.items()}
    keys = list(grads)
    returned = {k for k in keys if any(role == part[k] for _, role in roles[k])}
    helper = _helper(p, value_expr, grads, returned, (start, marked, emitter), by_name, portable, renamed)
    if helper is not None:
        used.update(helper.used)

    def wrapper(name: str, doc: str, key: str | None) -> None:
        """A function that checks its arguments and calls the helper (``key``: where it stops)."""
        scope, xp = start()
        if by_name:
            got = scope.claim("arguments")
            finish(name, doc, scope, xp, [helper.call(f"*{got}", key)], set(), spread=got)
        else:
            finish(name, doc, scope, xp, [helper.call(", ".join(helper.params), key)], set(helper.params))

    for key, r in derivation.results.items():
        for name, role in roles[key]:
            if helper is not None and key in helper.stops and role == part.get(key):
                wrapper(name, _doc(p, r, role), key)
            else:
                function(name, _doc(p, r, role), [computed[key][role]], returns,
                         r.direction if role == "hvp" else None)

    def together(t, scope):
        # local names for the parts, clear of the arguments' names (a symbol may be called `value`)
        value_name, local = scope.claim("value"), {k: scope.claim(f"grad_{k}") for k in keys}
        lines = [f"{value_name} = {t[0]}"] + [f"{local[k]} = {v}" for k, v in zip(keys, t[1:])]
        return lines + [f"return {value_name}, {{" + ", ".join(f'"{k}": {local[k]}' for k in keys) + "}"]

    about = "The value and the gradient w.r.t. " + ", ".join(keys) + ", computing shared work once."
    if helper is not None:
        wrapper("value_and_grad", about, None)
    else:
        function("value_and_grad", about, [value_expr, *grads.values()], together)
    if portable:
        out += ["", array_api.INPUTS, ""]
        out += [line for h in sorted(used & set(array_api.HELPERS)) for line in ("", array_api.HELPERS[h], "")]
    else:
        out += [line for h in sorted(used & set(HELPERS)) for line in ("", HELPERS[h], "")]
    out += [line for h in arguments.helpers(portable, by_name, bool(extra)) for line in ("", h, "")]
    if helper is not None:               # (before the aliases: one may name it)
        out += ["", helper.source, ""]
    alias_lines = aliases(renamed, used)
    if alias_lines:
        out += ["", *alias_lines, ""]
    for f in functions_:
        out += ["", f, ""]
    return "\n".join(out).rstrip() + "\n"


def _helper(p, value: ir.Expr, grads: dict[str, ir.Expr], returned: set[str], printing,
            by_name: bool, portable: bool, renamed: dict[str, str]) -> forward.Helper | None:
    """The module's ``_forward_backward`` (:mod:`.forward`) computing ``value`` and
    ``grads`` (by result key), or None when it does not pay off (:func:`.forward.plan`;
    ``returned``: the keys whose gradient a function returns).  ``printing`` is
    ``(start, marked, emitter)`` of :func:`_emit`: ``start()`` opens a function's scope,
    ``marked(roots)`` are the parts to name, ``emitter(marks, scope, xp)`` prints."""
    start, marked, emitter = printing
    roots = shared_forms([value, *grads.values()])
    joint = dict(zip(grads, roots[1:]))
    alone = {k: shared_forms([g])[0] for k, g in grads.items() if k in returned}
    marks = marked(roots)
    named = {n for n in marks if isinstance(n, ir.Apply) and not trivial(n)}

    def attempt(stops: list[str]):
        scope, xp = start()
        stop = scope.claim("stop")
        em = emitter(marks, scope, xp)
        lines, segments = forward.body(em, scope, roots[0], joint, stops, stop)
        return (xp, stop, em, lines), segments

    stops, printed = forward.plan(joint, alone, named, attempt)
    if not stops:
        return None
    xp, stop, em, lines = printed
    carried = arguments.carried(p.symbols, p.dims)
    params = ([xp] if portable else []) + list(p.symbols) + list(carried) if by_name else \
        [n for n in ([xp] if portable else []) + list(p.symbols) + list(carried) if n in em.refs]
    head = [f"{d} = {p.dims[d]}" for d in p.dims if d in em.refs and d not in carried]
    doc = (f"The value of J and its gradients w.r.t. {', '.join(grads)}, each shared\n"
           f"intermediate computed once.  The gradients come in the order {', '.join(stops)},\n"
           f"each needing only the work before it: {stop}='{stops[0]}' returns that gradient alone\n"
           f"as soon as it is known; {stop}=None returns (value, {{symbol: gradient}}).\n")
    name = renamed.get(forward.HELPER, forward.HELPER)
    source = "\n".join([f"def {forward.HELPER}({', '.join(params + [stop + '=None'])}):", docstring(doc, "    ")]
                       + ["    " + line for line in head + lines])
    return forward.Helper(name, tuple(params), stop, tuple(stops), source, em.helpers | {forward.HELPER})


def functions(problem, key: str, result) -> list[tuple[str, str]]:
    """The module's functions for one result, as (name, role): the role is the
    Result field the function returns (``matrix``, ``gradient`` or ``hvp``).

    ``grad_S`` for a gradient; ``jac_S`` for a Jacobian, and ``grad_S`` too when it has
    at most two axes as written (``[out, in]`` of a vector w.r.t. a vector: the same);
    ``hess_S``, ``grad_S`` and ``hvp_S`` (which takes the direction ``dS``) for order 2;
    ``hess_W1_W2`` for the mixed result ``"W1,W2"``."""
    if result.kind == "mixed":
        return [("hess_" + "_".join(result.pair), "matrix")]
    s = result.symbol
    if result.kind == "hessian":
        return [(f"hess_{s}", "matrix"), (f"grad_{s}", "gradient")] + \
            ([(f"hvp_{s}", "hvp")] if result.hvp is not None else [])
    if result.kind == "jacobian":
        written = problem.expr.rank + problem.symbols[s].rank <= 2
        return ([(f"grad_{s}", "matrix")] if written else []) + [(f"jac_{s}", "matrix")]
    return [(f"grad_{s}", "matrix")]


def _summary_lines(r, roles: list[tuple[str, str]]) -> list[str]:
    """The module docstring's line for each function of a result: ``hess_X = ...   [m*n, m*n]``."""
    lines = []
    names = [name for name, role in roles if role == "matrix"]
    lines.append(f"{' = '.join(names)} = {r.text}   {show(r.shape)}")
    for name, role in roles:
        if role == "hvp":
            lines.append(f"{name}({r.direction.name}) = {to_text(r.hvp)}   {show(r.hvp.shape)}")
    return lines


def _doc(p, r, role: str) -> str:
    """A function's docstring: what it returns, its shape and its formula."""
    if role == "gradient":
        sym = p.symbols[r.symbol]
        return (f"Gradient of J w.r.t. {r.symbol} {show(sym.shape)}:\n\n"
                f"{'0' if B.is_zeros(r.gradient) else to_text(r.gradient)}\n")
    if role == "hvp":
        d = r.direction
        return (f"Hessian-vector product of J w.r.t. {r.symbol} along {d.name} {show(d.shape)}: "
                f"H vec({d.name}) with the shape of {r.symbol}, without forming H:\n\n{to_text(r.hvp)}\n")
    if r.kind == "mixed":
        a, b = r.pair
        return (f"Mixed second derivative of J, d2J / d vec({a}) d vec({b})^T {show(r.shape)}:\n\n"
                f"{r.text}\n")
    what = {"jacobian": "Jacobian", "hessian": "Hessian"}.get(r.kind, r.kind.capitalize())
    vec = " (vec convention: d vec F = J d vec S, vec stacks columns)" if _collapsed(p, r) else ""
    return f"{what} of J w.r.t. {r.symbol} {show(r.shape)}{vec}:\n\n{r.text}\n"


def _collapsed(p, r) -> bool:
    """Whether a result is the 2-D matrix of the vec convention rather than its axes as written."""
    sym = p.symbols.get(r.symbol)
    if r.kind == "jacobian":
        return sym is not None and p.expr.rank + sym.rank > 2
    return r.kind == "hessian" and sym is not None and sym.rank == 2


def load_module(source: str, name: str = "matcalc_generated") -> types.ModuleType:
    """The emitted source as a module object: its functions are exactly the ones a
    user gets by importing the file ``--emit-code`` writes.  (The source is
    matcalc's own output; user text in it is inside escaped docstrings.)"""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    code = compile(source, module.__file__, "exec")
    exec(code, module.__dict__)   # noqa: S102  (generated code, see emit_module)
    return module


def callables(derivation) -> types.ModuleType:
    """The module's functions as Python callables, without writing a file:
    the emitted numpy module itself, loaded (``value``, ``grad_S``, ``jac_S``,
    ``hess_S``, ``hvp_S``, ``hess_W1_W2``, ``value_and_grad``)."""
    return load_module(derivation.code, f"matcalc_{derivation.name}")


def _prologue(p, symbols, refs: set[str], scope: Namespace, function: str, xp: str | None,
              call: str) -> list[str]:
    """The arguments checked and converted (``_arguments``, see :mod:`.arguments`):
    for the array-API module also the caller's namespace; and the sizes of the
    dimensions the code uses (``refs``), read off the arguments' shapes, or the
    declared size of a dimension no argument carries.  An argument the code does
    not use is checked all the same and bound to a dummy name."""
    carried = arguments.carried(p.symbols, p.dims)
    dims = [d for d in carried if d in refs]
    dummy = [scope.claim("_")] if any(s not in refs for s in symbols) or (xp and xp not in refs) else []
    names = ([xp if xp in refs else dummy[0]] if xp else []) + [s if s in refs else dummy[0] for s in symbols]
    targets = ", ".join(names + dims) if len(names + dims) > 1 else f"[{names[0]}]"
    wanted = f'({", ".join(map(repr, dims))}{"," if len(dims) == 1 else ""})'
    lines = [f'{targets} = {call}("{function}", {wanted}, {", ".join(symbols)})']
    lines += [f"{d} = {p.dims[d]}" for d in p.dims if d in refs and d not in carried]
    return lines


def _prologue_by_name(p, symbols, refs: set[str], scope: Namespace, function: str, xp: str | None,
                      call: str, values: str, got: str | None = None) -> list[str]:
    """:func:`_prologue` for a function that takes ``**symbols``: every argument is
    checked, and only the ones the code uses (and the dimensions) are bound, by
    position, so the function's text does not grow with the number of symbols
    (``got``: the name of the checked arguments' tuple, when the caller claimed it)."""
    carried = arguments.carried(p.symbols, p.dims)
    got = got or scope.claim("arguments")
    lines = [f'{got} = {call}("{function}", {tuple(carried)!r}, {values})']
    order = ([xp] if xp else []) + list(symbols) + list(carried)
    lines += [f"{name} = {got}[{i}]" for i, name in enumerate(order) if name in refs or name == xp]
    lines += [f"{d} = {p.dims[d]}" for d in p.dims if d in refs and d not in carried]
    return lines
