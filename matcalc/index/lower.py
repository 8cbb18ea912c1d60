"""Lower matrix IR to index notation, one operation record at a time.

Each record's ``index`` rule receives its arguments as functions from index
tuples to index expressions (so a transpose or a broadcast is just a
different choice of indices) and returns the entry at the output indices.

>>> from matcalc.ir import Symbol, apply
>>> X, W = Symbol(("n", "m"), "X"), Symbol(("m", "k"), "W")
>>> from matcalc.index.nodes import show
>>> show(lower(apply("matmul", [X, W])))
'Σ_k X_ik W_kj'
"""

from __future__ import annotations

from collections.abc import Callable

from .. import ir
from .nodes import UNIT, Entry, IExpr, Index, Num

NAMES = "ijklpqrstuvwabcdefgh"


class Pool:
    """Fresh index names in a fixed order, so output is the same run to run."""

    def __init__(self, taken: set[str] = frozenset()):
        self.count = 0
        self.taken = set(taken)

    def fresh(self, dim) -> Index:
        while True:
            n = self.count
            self.count += 1
            name = NAMES[n % len(NAMES)] + ("" if n < len(NAMES) else str(n // len(NAMES)))
            if name not in self.taken:
                return Index(name, dim)


Lowered = Callable[[tuple[Index, ...]], IExpr]


def lower(expr: ir.Expr, indices: tuple[Index, ...] | None = None, pool: Pool | None = None,
          atoms: dict[ir.Expr, str] | None = None) -> IExpr:
    """The entry of ``expr`` at ``indices`` (fresh ones when not given).

    ``atoms`` maps subexpressions to names that stand for them (``X @ W`` as
    ``Z``): they lower to entries ``Z_ij`` instead of their definitions."""
    pool = pool or Pool()
    if indices is None:
        indices = tuple(pool.fresh(d) for d in expr.shape)
    return _lowered(expr, pool, atoms or {})(tuple(indices))


def _lowered(expr: ir.Expr, pool: Pool, atoms: dict | None = None) -> Lowered:
    atoms = atoms or {}
    if expr in atoms:
        name = atoms[expr]
        return lambda idx: Entry(name, _unit(idx, expr.shape))
    if isinstance(expr, ir.Symbol):
        return lambda idx: Entry(expr.name, _unit(idx, expr.shape))
    if isinstance(expr, ir.Dim):
        return lambda idx: Entry(expr.name)
    if isinstance(expr, ir.Number):
        return lambda idx: Num(expr.value)
    assert isinstance(expr, ir.Apply)
    from ..ops import OPS   # here, not at the top: the op records import this module's helpers
    rule = OPS[expr.op].index
    args = [_lowered(a, pool, atoms) for a in expr.args]
    return lambda idx: rule(expr, args, idx, pool)


def _unit(idx: tuple[Index, ...], shape) -> tuple[Index, ...]:
    return tuple(UNIT if d == 1 else i for i, d in zip(idx, shape))


def broadcast_indices(arg_shape, out_idx: tuple[Index, ...]) -> tuple[Index, ...]:
    """numpy's right-aligned broadcasting: ``y: [m]`` in ``X + y`` is ``y_j``."""
    tail = out_idx[len(out_idx) - len(arg_shape):] if arg_shape else ()
    return tuple(UNIT if d == 1 else i for i, d in zip(tail, arg_shape))
