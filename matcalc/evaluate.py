"""Evaluate IR with numpy: the reference semantics of the language.

Used by the verifier and the tests.  Dimension sizes come from ``dims``;
``ones``/``eye`` get numbers by looking their dimension names up there.
The inverse of a singular matrix is NaN (as ``1 / 0`` is inf), not an error.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import ir
from .ops import OPS
from .shapes import dim_size


def evaluate(expr: ir.Expr, values: Mapping[str, np.ndarray], dims: Mapping[str, int]):
    """The value of ``expr`` at ``values`` (arrays by symbol name)."""
    from .differentiate import topological

    memo: dict[ir.Expr, np.ndarray] = {}
    for node in topological(expr):
        if isinstance(node, ir.Symbol):
            memo[node] = np.asarray(values[node.name], dtype=float)
        elif isinstance(node, ir.Number):
            memo[node] = np.asarray(float(node.value))
        elif isinstance(node, ir.Dim):
            memo[node] = np.asarray(float(dims[node.name]))
        else:
            op = OPS[node.op]
            args = [memo[a] for a in node.args]
            attrs = dict(node.attrs)
            if op.dim_args:
                sizes = tuple(dim_size(d, dims) for d in attrs.pop("dims"))
                memo[node] = op.fn(sizes)
            else:
                attrs = {k: v for k, v in attrs.items() if v is not None or k == "axis"}
                if op.name in ("sum", "mean"):
                    memo[node] = op.fn(args[0], axis=attrs.get("axis"))
                else:
                    try:
                        memo[node] = np.asarray(op.fn(*args, **{k: v for k, v in attrs.items()}))
                    except np.linalg.LinAlgError:   # inv or solve of a singular matrix: like 1/0,
                        memo[node] = np.full(tuple(dim_size(d, dims) for d in node.shape), np.nan)
    return memo[expr]
