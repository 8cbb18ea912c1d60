"""The printer of emitted code: IR -> numpy (or array-API) source text.

Every piece of code is printed from the IR node it computes, never by editing
text already printed: ``B inv(A)`` is emitted as the IR ``solve(Aᵀ, Bᵀ)ᵀ``
printed as a whole, so a transposed operand is parenthesized like any other.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from .. import ir
from ..matrix import build as B
from ..ops import EMIT_RULES, OPS, is_operator, PREC_ATOM, PREC_MUL, PREC_NEG, PREC_POSTFIX, PREC_POW, array_api
from ..language import to_text
from .. import dimexpr
from ..shapes import dim_names, show
from .algebra import faster
from .names import Namespace, respell
from .numerics import gram, inverse, transpose

# The most operations nested in one printed expression: deeper work (a 20,000-term
# difference a - b - c - ...) is cut into named lines, so printing recurses a bounded
# depth and Python compiles the result (its parser refuses deep nesting).
MAX_NESTING = 40
# Intermediates whose expression has at most this many nodes are quoted in their comment.
QUOTED = 200


class Emitter:
    """Prints IR as numpy, naming shared subexpressions ``t1, t2, ...``.

    ``target="array-api"`` prints the portable spellings of
    :mod:`matcalc.ops.array_api` instead, with ``np_name`` the variable holding
    the caller's namespace and ``like`` an argument constants take their dtype
    and device from.  Every name it introduces is claimed from ``scope`` (the
    function's :class:`~matcalc.codegen.names.Namespace`, which holds the
    arguments' and the dimensions' names); ``renamed`` maps a global (a helper,
    ``np``, ``device``) that an argument's name hides to its alias."""

    def __init__(self, np_name: str, shared: set[ir.Expr], names: dict[ir.Expr, str] | None = None,
                 target: str = "numpy", like: str = "", scope: Namespace | None = None,
                 renamed: dict[str, str] | None = None, preferred: dict[ir.Expr, str] | None = None):
        self.np = np_name
        self.preferred = dict(preferred or {})    # the user's let names: H for tanh(X @ W1)
        self.scope = scope if scope is not None else Namespace()
        self.renamed = dict(renamed or {})
        self.target = target
        self.like = like
        self.shared = shared
        self.names: dict[ir.Expr, str] = dict(names or {})
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.refs: set[str] = set()    # the arguments, dimensions and namespace variable printed
        self.counter = len(self.names)
        self.made: set[str] = set()    # the intermediates' names fresh() gave
        self.scratch: dict = {}        # what an emission rule remembers while printing one function
        self.root: ir.Expr | None = None   # the root being printed (its text is a whole statement's)
        # the comments' texts, each node printed once (by id: the nodes quoted are kept alive)
        self.printed: dict[int, str] = {}
        self.quoted: list[ir.Expr] = []

    def value(self, e: ir.Expr) -> str:
        """The code of a root: its deep parts named first (:meth:`_bound`)."""
        self._bound(e)
        self.root = e
        try:
            return self.code(e)[0]
        finally:
            self.root = None

    def text(self, e: ir.Expr) -> str:
        return self.code(e)[0]

    def code(self, e: ir.Expr) -> tuple[str, int]:
        if e in self.names:
            return self.names[e], PREC_ATOM
        text, prec = self._code(e)
        if e in self.shared and isinstance(e, ir.Apply) and not _trivial(e):
            if text in self.made:      # an intermediate already (a rule's array filled in place): no t2 = t1
                self.names[e] = text
                return text, PREC_ATOM
            return self._name(e, text, self._summary(e)), PREC_ATOM
        return text, prec

    def _name(self, e: ir.Expr, text: str, about: str) -> str:
        name = self.scope.claim(self.preferred[e]) if e in self.preferred else self.fresh()
        self.lines.append(f"{name} = {text}  # {show(e.shape)}{about}")
        self.names[e] = name
        return name

    def _bound(self, root: ir.Expr) -> None:
        """Name, bottom-up, every part of ``root`` that would nest more than
        :data:`MAX_NESTING` operations deep in one printed expression.  Iterative;
        the printer then never recurses deeper than that."""
        height: dict[ir.Expr, int] = {}
        spill: list[ir.Expr] = []
        stack: list[tuple[ir.Expr, bool]] = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if e in height:
                continue
            if e in self.names or not isinstance(e, ir.Apply):
                height[e] = 0
                continue
            if not ready:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in height)
                continue
            h = 1 + max((height[a] for a in e.args), default=0)
            if h >= MAX_NESTING and e is not root:
                spill.append(e)
                h = 0
            height[e] = h
        for e in spill:                     # children before parents
            if e not in self.names:
                self._name(e, self._code(e)[0], "")

    def _summary(self, e: ir.Expr) -> str:
        """``: <the expression>`` for an intermediate's comment, cut to 60 characters;
        nothing for a big one (printing it would cost more than the rest).  Big written
        out, not in distinct nodes: nested softmax 22 deep has few distinct nodes and a
        text of gigabytes.  The parts shared with earlier comments are printed once."""
        if not ir.written_within(e, QUOTED):
            return ""
        self.quoted.append(e)
        return ": " + _short(to_text(e, self.printed))

    def fresh(self) -> str:
        """The next intermediate's name ``t1, t2, ...``, skipping the names taken
        (a symbol called ``t1`` must not be overwritten)."""
        name, self.counter = self.scope.numbered("t", self.counter)
        self.made.add(name)
        return name

    def wrap(self, e: ir.Expr, need: int, strict: bool = False) -> str:
        text, prec = self.code(e)
        return f"({text})" if prec < need or (strict and prec == need) else text

    def _code(self, e: ir.Expr) -> tuple[str, int]:
        if isinstance(e, (ir.Symbol, ir.Dim)):
            self.refs.add(e.name)
            return e.name, PREC_ATOM
        if isinstance(e, ir.Number):
            v = e.value
            if isinstance(v, Fraction) and v.denominator == 1:
                text = str(v.numerator)
            else:
                text = repr(float(v))
            return text, (PREC_NEG if text.startswith("-") else PREC_ATOM)
        assert isinstance(e, ir.Apply)
        special = self._rules(e)
        if special is not None:
            return special
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
            if args[0].rank < 2:    # a vector's or a number's transpose is itself (3.T is no Python)
                return self.code(args[0])
            return f"{self.wrap(args[0], PREC_POSTFIX)}.T", PREC_POSTFIX
        template = self._template(op)
        if template == "{0}":        # stop_gradient(A): numpy's value is A itself, written as A is
            return self.code(args[0])
        if op.dim_args:
            dims = [_dim_code(d) for d in e.attr("dims")]
            self.refs.update(x for d in e.attr("dims") for x in dim_names(d))
            if "{like}" in template:
                self.refs.add(self.like)
            inner = dims[0] if e.op == "eye" else f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
            return template.format(dims=inner, like=self.like,
                                   **(op.fields(e, self.target) if op.fields else {})), PREC_ATOM
        if op.fields is not None:     # A.reshape(p, q), X[:, 0]: the argument binds like .T
            named = op.fields(e, self.target)
            self.refs.update(x for text in named.values() for x in re.findall(r"[A-Za-z_]\w*", text))
            postfix = re.search(r"\{\d\}[.\[{]", template)    # an argument followed by .x, [i] or a field
            return template.format(*[self.wrap(a, PREC_POSTFIX) if postfix else self.text(a) for a in args],
                                   **named), PREC_ATOM
        axis = e.attr("axis")
        parts = [self.text(a) for a in args]
        text = template.format(*parts, **{**dict(e.attrs), "axis": axis,     # other params by name: {k}
                                          "axis_kw": "" if axis is None else f", axis={axis}",
                                          "keepdims_kw": ", keepdims=True" if e.attr("keepdims") else "",
                                          "spec": repr(e.attr("spec")), "args": ", ".join(parts)})  # einsum: variadic
        return text, PREC_ATOM

    def _rules(self, e: ir.Apply) -> tuple[str, int] | None:
        """The first :class:`~matcalc.ops.EmitRule` of ``e``'s op that matches
        (``kron(eye(a), M)`` assembled block by block, ...): its text, or the
        equal node it gives printed in ``e``'s place."""
        for rule in EMIT_RULES.get(e.op, ()):
            out = rule.apply(e, self)
            if out is None:
                continue
            return out if isinstance(out, tuple) else self.code(out)
        return None

    # -- what an emission rule prints with -------------------------------------------

    def dim(self, d) -> str:
        """The code of a dimension (``m * n``), its names marked as used."""
        self.refs.update(dim_names(d))
        return _dim_code(d)

    def helper(self, name: str) -> str:
        """A helper function's name as the function sees it (an argument may hide it),
        marked as used with the helpers it calls."""
        self.helpers.update({name} if self.target == "numpy" else array_api.helpers_of(f"{name}("))
        return self.renamed.get(name, name)

    def namespace(self) -> str:
        """The variable holding numpy (or the caller's array namespace), marked as used."""
        self.refs.add(self.np)
        return self.np

    def statement(self, line: str) -> None:
        """A line of the function body, before the expression being printed."""
        self.lines.append(line)

    def _template(self, op) -> str:
        """The op's spelling for this target, with the namespace variable filled in
        and each helper under the name the function sees it by."""
        if self.target == "numpy":
            self.helpers.update(op.helpers)
            self._uses_np(op.numpy, "np")
            return respell(op.numpy, {**self.renamed, "np": self.np})
        return self._portable(op.array_api)

    def _portable(self, template: str) -> str:
        self.helpers.update(array_api.helpers_of(template))
        self._uses_np(template, "xp")
        return respell(re.sub(r"\bxp\b", self.np, template), self.renamed)

    def _uses_np(self, template: str, name: str) -> None:
        if re.search(rf"\b{name}\b", template):
            self.refs.add(self.np)

    def _solve(self, a: ir.Expr, b: ir.Expr) -> str:
        """``solve(a, b)``, both printed from their IR (transposes included)."""
        a_text, b_text = self.text(a), self.text(b)
        if self.target == "numpy":
            self.refs.add(self.np)
            return f"{self.np}.linalg.solve({a_text}, {b_text})"
        return self._portable(array_api.SOLVE).format(a_text, b_text)

    def _matmul(self, a: ir.Expr, b: ir.Expr):
        """diag(v) @ M -> v[:, None] * M;  inv(A) @ B -> solve(A, B), and transposes;
        Mᵀ diag(v) M with v >= 0 -> Sᵀ S for S = sqrt(v)[:, None] * M (numpy then
        uses a symmetric rank-k product, half the work of a general one)."""
        np_ = self.np
        found = gram(a, b)
        if found is not None:
            m, v = found
            weights, rows = self.text(v), self.wrap(m, PREC_MUL, True)
            name = self.fresh()
            self.refs.add(np_)
            self.lines.append(f"{name} = {np_}.sqrt({weights})[:, None] * {rows}"
                              f"  # so that the product below is {name}.T @ {name}")
            return f"{name}.T @ {name}", PREC_MUL
        if B.is_op(a, "diag") and a.args[0].rank == 1 and a not in self.names:
            v = self.wrap(a.args[0], PREC_POSTFIX)
            scale = f"{v}[:, None]" if b.rank == 2 else v
            return f"{scale} * {self.wrap(b, PREC_MUL, True)}", PREC_MUL
        if B.is_op(b, "diag") and b.args[0].rank == 1 and b not in self.names:
            return f"{self.wrap(a, PREC_MUL)} * {self.wrap(b.args[0], PREC_MUL, True)}", PREC_MUL
        # an inverse the function builds anyway (shared: it is also used other than as a
        # factor, see shared_nodes) is multiplied by, not solved against again
        inv_a = inverse(a)
        if inv_a is not None and a not in self.names and a not in self.shared:    # inv(A) B = solve(A, B)
            return self._solve(inv_a, b), PREC_ATOM
        inv_b = inverse(b)
        if inv_b is not None and b not in self.names and b not in self.shared:    # B inv(A) = solve(Aᵀ, Bᵀ)ᵀ
            out = self._solve(transpose(inv_b), transpose(a))
            return (out + ".T", PREC_POSTFIX) if a.rank == 2 else (out, PREC_ATOM)
        return None


def _trivial(e: ir.Expr) -> bool:
    return (B.is_op(e, "transpose") and not isinstance(e.args[0], ir.Apply)) or B.is_op(e, "ones", "eye")


def _short(text: str) -> str:
    """One line of comment: cut to 60 characters, anything unprintable escaped."""
    text = text if len(text) <= 60 else text[:57] + "..."
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")



def _dim_code(d) -> str:
    return dimexpr.code(d)


def shared_nodes(roots: list[ir.Expr]) -> set[ir.Expr]:
    """Subexpressions used more than once across ``roots`` (counted by structure);
    not a structured operator (``kron(eye(a), M)``, ``commutation(m, n)``, ...) or an
    inverse used only as a factor of products, which the emission rules apply without
    building it (an inverse as a ``solve``)."""
    uses: Counter = Counter()
    seen: set[ir.Expr] = set()
    loose: set[ir.Expr] = set(roots)         # used other than as a factor of a product
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
            if not B.is_op(node, "matmul", "transpose"):
                loose.add(c)
    # a root that is also used inside another root is shared too (looked up by hash:
    # `in` a list compares deep trees field by field, recursively)
    tops = set(roots)
    # an inverse used only as a factor is not built: each product is a solve (Emitter._matmul)
    return {n for n, k in uses.items() if (k >= 2 or (k >= 1 and n in tops))
            and (n in loose or not (is_operator(n) or inverse(n) is not None))}


def expression(e: ir.Expr, target: str = "numpy", np_name: str = "np", like: str = "") -> tuple[list[str], str, set[str]]:
    """One expression as code: ``(lines, text, helpers)``, the lines (named
    intermediates, arrays written in place) to run first, the text of the value,
    and the helper functions they call (sources in :data:`matcalc.codegen.HELPERS`,
    or :data:`matcalc.ops.array_api.HELPERS` for ``target="array-api"``, whose
    ``np_name`` is the namespace variable and ``like`` an argument constants copy
    dtype and device from).  Every emission rule applies, as in a module's
    functions (:func:`matcalc.codegen.emit_module`, which prints each root the same way)."""
    e = faster(e)
    em = Emitter(np_name, shared_nodes([e]), target=target, like=like)
    text = em.value(e)
    return em.lines, text, em.helpers
