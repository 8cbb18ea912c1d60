"""How the emission rules of :mod:`.kron_code` and :mod:`.vec_code` spell reshapes,
transposes and products for each target: numpy's methods (``V.reshape(a, q, -1)``,
``.transpose(1, 0, 2)``) or the array API's functions (``_reshape(xp, V, (a, q, -1))``,
``xp.permute_dims``).  ``pr`` is the printer, :class:`~matcalc.codegen.emit.Emitter`."""

from __future__ import annotations

from .. import ir
from ..matrix import build as B
from ..registry import PREC_POSTFIX

RESHAPE = "_reshape"       # the array-API target's reshape (matcalc.ops.array_api.HELPERS)


def numpy_target(pr) -> bool:
    """Whether ``pr`` prints numpy (else the array API)."""
    return pr.target == "numpy"


def operand(pr, e: ir.Expr) -> str:
    """``e`` as the object of a method call (numpy) or a call's argument (array API);
    ``vec(Yᵀ)``, about to be reshaped, as ``Y`` (its row-major reading is the same)."""
    if B.is_op(e, "vec") and B.is_op(e.args[0], "transpose") and e not in pr.names:
        e = e.args[0].args[0]
    return pr.wrap(e, PREC_POSTFIX) if numpy_target(pr) else pr.text(e)


def reshape(pr, text: str, dims: list[str]) -> str:
    """``text`` reshaped to ``dims``; a reshape of a reshape is one reshape (both read
    the entries in row-major order)."""
    if numpy_target(pr):
        open_ = _opening(text, len(text) - 1) if text.endswith(")") else -1
        if open_ > 0 and text[:open_].endswith(".reshape"):
            text = text[:open_ - len(".reshape")]
        return f"{text}.reshape({', '.join(dims)})"
    ns = pr.namespace()
    call = f"{pr.helper(RESHAPE)}({ns}, "
    for inner in (call, f"{ns}.reshape("):
        if text.startswith(inner) and _opening(text, len(text) - 1) == inner.index("("):
            text = text[len(inner):_top_comma(text, len(inner))]
            break
    return f"{call}{text}, ({', '.join(dims)}{',' if len(dims) == 1 else ''}))"


def _opening(text: str, close: int) -> int:
    """Where the parenthesis closed at ``close`` opens."""
    depth = 0
    for i in range(close, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return -1


def _top_comma(text: str, start: int) -> int:
    """The first comma at the nesting depth of ``start``."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[i], 0)
        if depth == 0 and text[i] == ",":
            return i
    return len(text)


def permute(pr, text: str, axes: tuple[int, ...]) -> str:
    """The axes of ``text`` in the order ``axes``."""
    return f"{text}.transpose{axes}" if numpy_target(pr) else f"{pr.namespace()}.permute_dims({text}, {axes})"


def transposed(pr, text: str) -> str:
    """The transpose of a matrix: ``.T``, which the standard defines for 2-D arrays
    (Dask has no ``.mT``)."""
    return f"{text}.T"


def product(pr, left: str, right: str) -> str:
    """A product that is then reshaped: parenthesized before numpy's ``.reshape``."""
    return f"({left} @ {right})" if numpy_target(pr) else f"{left} @ {right}"
