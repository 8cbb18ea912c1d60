"""Emission rules for the layout of emitted numpy: the same numbers, fewer and faster passes.

OpenBLAS computes ``A @ B`` faster when the result's longer side runs along its rows in
memory: for ``X`` ``[n, m]`` tall, ``(D.T @ X).T`` beats ``X.T @ D`` by 10-50% (and is no
slower for any shape measured, bench/layout_emission.py), and ``(W.T @ X.T).T``, the logits
``X @ W`` laid out with ``n`` contiguous, makes a softmax over their ``k`` columns run
along ``n`` (numpy's reductions follow the memory order) instead of as ``n`` loops of
length ``k``: 0.1-0.8x the time for ``k`` up to 32, or when the product's ``m`` inner
terms are at least ``k``; past that the passes over the transposed result cost more, and
so they do for up to 64 rows (the layout gains less than the transposes cost).
Which side is longer is known only at run time (the declared sizes are examples), so the
product is written both ways with the cheap test between them, on its own line::

    t2 = (t1.T @ X).T if m > k and n > 64 else X.T @ t1  # [m, k]

(an integer comparison; a helper function call would cost more than the product of small
matrices).  A test that the declared sizes decide (numbers, or the same dimension on both
sides) is decided when the code is printed.

A tall product ``A @ B`` (``A`` ``[n, m]``, ``B`` ``[m, k]``, ``n`` past 64, ``m`` and ``k``) with
at least 128 inner terms, that elementwise work consumes (``tanh(X @ W1)``), is computed as
``(B.T @ A.T).T`` too (0.78-0.93x the time of ``A @ B``, measured at (4096, 256, 256),
(10000, 300, 50), (4096, 512, 128), (2048, 128, 512)), and that layout is kept through the
elementwise work done on it: a product meeting it in an elementwise operation is laid out
the same under the same test, and ``A.T @ D`` with ``D`` laid out so is ``(D.T @ A).T`` (both
operands then contiguous the way BLAS reads them: 0.91x).  Next to an argument (laid out by
rows) a product stays as written: numpy's elementwise passes over operands laid out
differently cost more than the layout gains (a least-squares residual ``A @ X - B`` was
1.13x, an MLP with only its first product turned 1.22x).  The tests are one text, so the
layouts agree whenever the test holds.  The two-layer perceptron's value_and_grad at
(4096, 256, 256, 10) went from 32.9 to 28.5-29.4 ms (bench/jit_race.py, with the
``_sech2`` of matcalc/ops/tanh_code.py).

======================  ===================================  =======================================
rule                    identity                             numpy
======================  ===================================  =======================================
short-axis-softmax      softmax(A B) along its columns       (B.T @ A.T).T if n > 64 and n > k and
                                                             (k <= 32 or m >= k) else A @ B
transposed-product      Aᵀ D = (Dᵀ A)ᵀ                       (D.T @ A).T if m > k and n > 64 else
                                                             A.T @ D
tall-product            A B = (Bᵀ Aᵀ)ᵀ, kept through          (B.T @ A.T).T if n > 64 and n > k and
                        elementwise work                     n > m and m >= 128 else A @ B
======================  ===================================  =======================================
"""

from __future__ import annotations

import re

from .. import ir
from ..language import to_text
from ..matrix import build as B
from ..registry import OPS, PREC_ATOM, PREC_MUL, EmitRule, emit_rule
from ..shapes import show
from .vec_code import is_operator

SMALL = 64        # up to this many rows (terms): as written, the layout gains less than the transposes cost
WIDE = 128        # a tall product with at least this many inner terms is computed transposed
DEEP = 12         # the layout of an elementwise expression is looked for this many operations down
TALL = "tall"     # a product's mark: laid out by the tall-product test of its own sizes
SHORT = 40        # an operand printed in this many characters is written in both orientations
PREC_NONE = 0     # a conditional expression: below every operator, parenthesized inside one

ROWWISE = ("softmax", "log_softmax", "logsumexp")
ELEMENTWISE = ("mul", "add", "sub", "div")
ARITHMETIC = frozenset(ELEMENTWISE + ("neg", "pow"))      # elementwise, broadcasting


def plain_product(e, printer) -> bool:
    """Whether ``e`` is a product of two matrices not yet printed, that the Emitter would
    not print otherwise (``diag(v) @ M``, ``inv(A) @ B``, ``Mᵀ diag(v) M``) and that is
    no Gram product ``Aᵀ A`` / ``A Aᵀ`` (square; numpy computes it as a symmetric rank-k update)."""
    if not B.is_op(e, "matmul") or e in printer.names:
        return False
    a, b = e.args
    if a.rank != 2 or b.rank != 2 or B.T(a) == b:
        return False
    special = ("diag", "inv", "matmul")
    return not any(B.is_op(f, *special) or (B.is_op(f, "transpose") and B.is_op(f.args[0], *special))
                   for f in (a, b))


def made_alone(e, printer) -> bool:
    """Whether ``e`` is a plain product this function computes for one use only, so that its
    array may be overwritten: not printed yet, or on a line of its own by :func:`_layout_product`
    (never a shared product, nor one of a structured operator's, whose emission rules may
    print a view of an argument)."""
    return (B.is_op(e, "matmul") and e not in printer.shared and not any(is_operator(f) for f in e.args)
            and (plain_product(e, printer) or (e in printer.names and e in printer.scratch.get("columns", {}))))


def mark_short_axis(node, printer):
    """``softmax(A @ B, axis=1)`` (and log_softmax, logsumexp): the product ``A @ B`` is
    marked for :func:`_layout_product`, to be laid out so the reduction runs along the long
    side; the op itself prints as usual (None)."""
    arg = node.args[0]
    if printer.target == "numpy" and node.attr("axis") == 1 and plain_product(arg, printer):
        printer.scratch.setdefault("short-axis", set()).add(arg)


def _layout_product(node, printer):
    """``A.T @ D`` → ``(D.T @ A).T if m > k and n > 64 else A.T @ D`` for ``D`` ``[n, k]`` (or under
    ``D``'s own test when it is laid out by columns), a product marked by :func:`mark_short_axis`
    → ``(B.T @ A.T).T if n > 64 and n > k and (k <= 32 or m >= k) else A @ B`` for ``A`` ``[n, m]``,
    ``B`` ``[m, k]``, one marked by :func:`match_layout` under its partner's test, any other
    ``(B.T @ A.T).T if n > 64 and n > k and n > m and m >= 128 else A @ B``: the product on a
    line of its own."""
    if printer.target != "numpy" or not plain_product(node, printer):
        return None
    a, b = node.args
    (rows, inner), cols = a.shape, b.shape[1]
    before = set(printer.refs)          # the dimensions a test names, if it is not printed: not used
    if node in printer.scratch.get("short-axis", ()):
        taller = True if isinstance(cols, int) and cols <= SMALL else _greater(printer, rows, cols)
        test = _all([_greater(printer, rows, SMALL), taller,
                     _any([_at_most(printer, cols, 32), _at_least(printer, inner, cols)])])
    elif B.is_op(a, "transpose"):
        test = _all([_greater(printer, rows, cols), _greater(printer, inner, SMALL)])
        laid = columns(b, printer)
        test = test if laid in (None, False) or test is True else _any([laid, test])
    elif printer.scratch.get("match", {}).get(node) is TALL:        # elementwise work on it decides nothing else
        test = _all([_greater(printer, rows, SMALL), _greater(printer, rows, cols), _greater(printer, rows, inner),
                     _at_least(printer, inner, WIDE)])
    elif node in printer.scratch.get("match", {}):
        test = printer.scratch["match"][node]             # its elementwise partners' layout
    else:
        test = False
    if test is False:
        printer.refs.intersection_update(before)
        return None
    printer.scratch.setdefault("columns", {})[node] = test
    a, b = _operand(a, printer), _operand(b, printer)
    flipped = f"({printer.wrap(B.T(b), PREC_MUL)} @ {printer.wrap(B.T(a), PREC_MUL, True)}).T"
    text = flipped if test is True else f"{flipped} if {test} else {printer.wrap(a, PREC_MUL)} @ {printer.wrap(b, PREC_MUL, True)}"
    if node in printer.shared or node is printer.root:
        return text, PREC_NONE              # the Emitter names it, or it is a statement's whole value
    return _line(node, text, printer), PREC_ATOM


def columns(e, printer, depth: int = DEEP, seen: dict | None = None):
    """How ``e`` is laid out: by columns under a test (True or the test's text: a product
    printed ``(B.T @ A.T).T`` and the elementwise work on it), by rows (False: an argument, a
    product printed as written, operands laid out differently) or neither (None: a scalar, or
    not known).  A product not yet printed inside elementwise work takes its partners' layout
    (:func:`match_layout` marks it so); answers found are kept for the function."""
    known = printer.scratch.setdefault("columns", {})
    seen = {} if seen is None else seen
    if e in known or e in seen:
        return known[e] if e in known else seen[e]
    found = None
    if isinstance(e, ir.Symbol):
        found = False if e.rank == 2 else None
    elif depth and isinstance(e, ir.Apply) and e.rank == 2 and (e.op in ARITHMETIC or OPS[e.op].elementwise):
        tests = {columns(a, printer, depth - 1, seen) for a in e.args
                 if a.shape == e.shape and not plain_product(a, printer)} - {None}
        found = tests.pop() if len(tests) == 1 else (False if tests else None)
    (known if found is not None else seen)[e] = found
    return found


def match_layout(node, printer):
    """Elementwise work on matrices: a plain product among its operands is marked to be laid
    out as the others are (:func:`columns`): by rows next to an argument (an elementwise
    pass over operands laid out differently costs more than the product's layout gains,
    1.13x measured on a least-squares residual ``A @ X - B``), under their test next to work
    laid out by columns, and by the tall-product test when nothing else decides (``tanh(X @
    W1)``); the operation prints as usual (None)."""
    if printer.target == "numpy" and node.rank == 2:
        products = [a for a in node.args if a.shape == node.shape and plain_product(a, printer)]
        if products:
            laid = columns(node, printer)
            marks = printer.scratch.setdefault("match", {})
            for p in products:
                marks.setdefault(p, TALL if laid is None else laid)


def _operand(x, printer):
    """``x``, to be printed in both orientations of the product: as it is when it prints
    as a name (``X``, ``X.T``, ``t1``) or, without a reduction, in at most :data:`SHORT`
    characters (its value then lives no longer than the product that runs: a long-lived
    ``[n, k]`` temporary was measured 5-10% slower), else computed on a line of its own; for
    ``Sᵀ``, ``S`` named, so that both ``S`` and ``Sᵀ`` print as the name."""
    core = x.args[0] if B.is_op(x, "transpose") else x
    if isinstance(core, ir.Apply):
        text = printer.text(core)
        written_twice = len(text) <= SHORT and not _reduces(core, printer)
        if not re.fullmatch(r"\w+", text) and not written_twice:
            _line(core, text, printer)
    return x


def _reduces(e, printer) -> bool:
    """Whether printing ``e`` computes a reduction or a softmax (the parts already named aside)."""
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, ir.Apply) and x not in printer.names:
            if OPS[x.op].rowwise or "axis" in OPS[x.op].params:
                return True
            stack.extend(x.args)
    return False


def _line(e, text: str, printer) -> str:
    """``e`` named on a line of its own, ``t3 = text  # [n, k]: e``."""
    name = printer.fresh()
    about = to_text(e) if ir.written_within(e, 200) else ""     # as the Emitter quotes its intermediates
    about = f": {about if len(about) <= 60 else about[:57] + '...'}" if about.isprintable() and about else ""
    printer.statement(f"{name} = {text}  # {show(e.shape)}{about}")
    printer.names[e] = name
    return name


# -- the run-time tests: True or False when the declared sizes decide, else their text --

def _greater(printer, x, y):
    if x == y or (isinstance(x, int) and isinstance(y, int)):
        return x != y and x > y
    return f"{printer.dim(x)} > {printer.dim(y) if not isinstance(y, int) else y}"


def _at_most(printer, x, bound: int):
    return x <= bound if isinstance(x, int) else f"{printer.dim(x)} <= {bound}"


def _at_least(printer, x, y):
    if x == y or (isinstance(x, int) and isinstance(y, int)):
        return x == y or x >= y
    return f"{printer.dim(x)} >= {printer.dim(y)}"


def _any(tests):
    if any(t is True for t in tests):
        return True
    texts = [t for t in tests if t is not False]
    return False if not texts else texts[0] if len(texts) == 1 else "(" + " or ".join(texts) + ")"


_COMPARISON = re.compile(r"(\w+)((?: (?:>|>=|<|<=) \w+)+)")    # n > m, n > m >= 128: a chain of names


def _all(tests):
    """The tests joined by ``and``; ``a > b`` and ``b >= c`` chained as ``a > b >= c``."""
    if any(t is False for t in tests):
        return False
    texts: list[str] = []
    for t in dict.fromkeys(t for t in tests if t is not True):
        this = _COMPARISON.fullmatch(t)
        before = _COMPARISON.fullmatch(texts[-1]) if texts else None
        if this and before and before.group(0).rsplit(" ", 1)[-1] == this.group(1):
            texts[-1] += this.group(2)
        else:
            texts.append(t)
    return True if not texts else " and ".join(texts)


for _root in ROWWISE:
    emit_rule(EmitRule("short-axis-softmax", "softmax(A B) along its columns: the product laid out with the "
                       "long side contiguous", _root, mark_short_axis))
emit_rule(EmitRule("transposed-product", "Aᵀ D = (Dᵀ A)ᵀ: computed with the long side of the result contiguous "
                   "(and the product under short-axis-softmax)", "matmul", _layout_product))
for _root in ELEMENTWISE + tuple(name for name, op in OPS.items() if op.elementwise):
    emit_rule(EmitRule("tall-product", "A B = (Bᵀ Aᵀ)ᵀ for a tall product with many inner terms, and a product "
                       "in elementwise work laid out as its partners", _root, match_layout))
