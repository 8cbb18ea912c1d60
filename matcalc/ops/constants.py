"""Constants: ``ones(n)``, ``ones(n, m)``, ``zeros(n)``, ``zeros(n, m)``, ``eye(n)``.  Their arguments are
dimensions (names from ``dims`` or positive integers), not expressions."""

from __future__ import annotations

import numpy as np

from ..index import nodes as I
from ..shapes import ShapeMismatch
from ..registry import Op, register


def _ones(shapes, attrs):
    dims = attrs["dims"]
    if len(dims) not in (1, 2):
        raise ShapeMismatch(f"ones takes one or two dimensions, got {len(dims)}", "write ones(n) or ones(n, m)")
    return tuple(dims)


def _zeros(shapes, attrs):
    dims = attrs["dims"]
    if len(dims) not in (1, 2):
        raise ShapeMismatch(f"zeros takes one or two dimensions, got {len(dims)}", "write zeros(n) or zeros(n, m)")
    return tuple(dims)


def _eye(shapes, attrs):
    dims = attrs["dims"]
    if len(dims) != 1:
        raise ShapeMismatch(f"eye takes one dimension, got {len(dims)}", "write eye(n)")
    return (dims[0], dims[0])


register(Op("ones", "call", 0, _ones, dim_args=True, array_api="xp.ones({dims}, dtype={like}.dtype, device=device({like}))", numpy="np.ones({dims})", latex="\\mathbf{{1}}", unicode="𝟏", range="nonnegative",
            doc="all-ones vector or matrix", fn=lambda dims: np.ones(dims),
            index=lambda node, args, idx, pool: I.Num(1)))
register(Op("eye", "call", 0, _eye, dim_args=True, array_api="xp.eye({dims}, dtype={like}.dtype, device=device({like}))", numpy="np.eye({dims})", latex="I", unicode="I", range="nonnegative",
            doc="identity matrix", fn=lambda dims: np.eye(dims[0]),
            index=lambda node, args, idx, pool: I.Delta(idx[0], idx[1])))
register(Op("zeros", "call", 0, _zeros, dim_args=True, numpy="np.zeros({dims})",
            array_api="xp.zeros({dims}, dtype={like}.dtype, device=device({like}))", latex="\\mathbf{{0}}",
            unicode="𝟎", range="nonnegative", doc="all-zeros vector or matrix", fn=lambda dims: np.zeros(dims),
            index=lambda node, args, idx, pool: I.Num(0)))
