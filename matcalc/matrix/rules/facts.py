"""Prop facts: identities that hold because a symbol declared a prop.  Each rule
names the prop it needs (``requires``); the prop's row in :mod:`matcalc.props`
names its rules and the sentence the derivation says when one fires."""

from __future__ import annotations

from ... import ir
from ...ops import OPS
from .. import build as B
from ..rule import Fact
from .common import declared_symmetric, is_symmetric, rule


@rule("prop-symmetric", "Sᵀ = S for symmetric S", ["transpose"], requires=["symmetric"])
def symmetric_transpose(e, ctx):
    a = e.args[0]
    if a.rank < 2 or not is_symmetric(a) or not declared_symmetric(a):
        return None
    ctx.note(Fact("symmetric", a))
    return a


@rule("prop-orthogonal", "Qᵀ Q = I = Q Qᵀ for orthogonal Q", ["matmul"], requires=["orthogonal"])
def orthogonal_product(e, ctx):
    a, b = e.args
    for q, qt in ((a, b), (b, a)):
        if isinstance(q, ir.Symbol) and "orthogonal" in q.props and B.is_op(qt, "transpose") \
                and qt.args[0] == q:
            ctx.note(Fact("orthogonal", q))
            return B.eye(a.shape[0])
    return None


def _along_rows(a: ir.Expr, axis) -> bool:
    return axis == a.rank - 1 or (a.rank == 1 and axis is None)


@rule("prop-rows-sum-to-one", "Σ_j Y_ij = 1 when the rows of Y are one-hot or stochastic", ["sum"],
      requires=["onehot", "stochastic"])
def rows_sum_to_one(e, ctx):
    a = e.args[0]
    if not (isinstance(a, ir.Symbol) and {"onehot", "stochastic"} & a.props and _along_rows(a, e.attr("axis"))):
        return None
    ctx.note(Fact("onehot" if "onehot" in a.props else "stochastic", a))
    return B.ones(e.shape) if e.shape else B.ONE


def _unit_rows(y: ir.Expr):
    """Whether the rows of the matrix ``y`` sum to 1, and the fact that says so:
    (True, Fact) for a declared onehot/stochastic Y; (True, None) for an op whose
    record says so along its last axis (softmax(A, axis=1)); else (False, None)."""
    if y.rank != 2:
        return False, None
    if isinstance(y, ir.Symbol) and {"onehot", "stochastic"} & y.props:
        return True, Fact("onehot" if "onehot" in y.props else "stochastic", y)
    if isinstance(y, ir.Apply) and OPS[y.op].extra.get("sums_to_one") and y.attr("axis") == 1:
        return True, None
    return False, None


@rule("prop-unit-rows-times-ones", "Y 1 1ᵀ = 1 1ᵀ when the rows of Y sum to 1: Y @ ones(m, p) = ones(n, p), "
      "ones(p, m) @ Yᵀ = ones(p, n)", ["matmul"], requires=["onehot", "stochastic"])
def unit_rows_times_ones(e, ctx):
    a, b = e.args
    if e.rank != 2:
        return None
    if B.is_ones(b):
        ok, fact = _unit_rows(a)
    elif B.is_ones(a) and B.is_op(b, "transpose"):
        ok, fact = _unit_rows(b.args[0])
    else:
        return None
    if not ok:
        return None
    if fact is not None:
        ctx.note(fact)
    return B.ones(e.shape)


@rule("op-sums-to-one", "Σ_k softmax(A)_ik = 1 (an op whose entries along its axis sum to 1)", ["sum"])
def op_sums_to_one(e, ctx):
    a, axis = e.args[0], e.attr("axis")
    if not (isinstance(a, ir.Apply) and OPS[a.op].extra.get("sums_to_one")):
        return None
    if axis == a.attr("axis") or (a.rank == 1 and axis is None):
        return B.ones(e.shape) if e.shape else B.ONE
    return None


@rule("exp-of-log-form", "exp(log_softmax(A)) = softmax(A) (an op whose record names its log form)", ["exp"])
def exp_of_log_form(e, ctx):
    a = e.args[0]
    if not isinstance(a, ir.Apply):
        return None
    for name, op in OPS.items():
        if op.extra.get("log_form") == a.op:
            return B.call(name, *a.args, **dict(a.attrs))
    return None


RULES_FIRST = (symmetric_transpose,)          # before the structural Aᵀ = A
RULES = (orthogonal_product, unit_rows_times_ones, rows_sum_to_one, op_sums_to_one)
REGION = (exp_of_log_form,)
