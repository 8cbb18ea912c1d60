"""Numerics of emitted code: rewrite to stable forms before printing.

``stabilize`` turns ``log(softmax(A))`` into ``log_softmax(A)`` and friends;
``share_logs`` computes ``softmax(A)`` as ``exp(log_softmax(A))`` when both are
needed; ``gram`` finds ``Mᵀ diag(v) M`` with ``v >= 0`` (computed as ``Sᵀ S``).
"""

from __future__ import annotations

from .. import ir
from ..matrix import build as B
from ..ops import OPS, REWRITES

# How far down the structural tests (nonnegative, symmetric) look: they are
# sufficient tests, so "not known" past this depth only costs a faster form.
LOOK = 50


def stabilize(expr: ir.Expr) -> ir.Expr:
    """Same value, computed without overflow, log(0) or cancellation: every
    :class:`~matcalc.ops.Rewrite` of the op records, bottom-up
    (``log(softmax(A)) -> log_softmax(A)``, ``1 - sigmoid(x) -> sigmoid(-x)``, ...)."""
    memo: dict[ir.Expr, ir.Expr] = {}

    def rewrite(e: ir.Apply) -> ir.Expr:
        for rule in REWRITES.get(e.op, ()):
            new = rule.apply(e)
            if new is not None:
                return bottom_up(new, rewrite, memo) if new != e else e
        return e

    return bottom_up(expr, rewrite, memo)


def bottom_up(expr: ir.Expr, rewrite, memo: dict[ir.Expr, ir.Expr]) -> ir.Expr:
    """``expr`` with every operation node replaced by ``rewrite(node)``, children
    first, each distinct node once (``memo``).  Iterative: a 20,000-term
    difference ``a - b - c - ...`` is as deep as it is long, far past Python's
    recursion limit."""
    stack: list[tuple[ir.Expr, bool]] = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if e in memo:
            continue
        if not isinstance(e, ir.Apply):
            memo[e] = e
            continue
        if not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in memo)
            continue
        args = [memo[a] for a in e.args]
        out = ir.apply(e.op, args, dict(e.attrs)) if args != list(e.args) else e
        memo[e] = rewrite(out)
    return memo[expr]


def gram(a: ir.Expr, b: ir.Expr):
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


def nonnegative(e: ir.Expr, depth: int = 0) -> bool:
    """A sufficient test that every entry of e is >= 0 (sigmoid(z) * (1 - sigmoid(z)) is).
    It looks :data:`LOOK` levels down at most (past that: not known, so False)."""
    if depth > LOOK:
        return False
    if isinstance(e, ir.Number):
        return e.value >= 0
    if isinstance(e, ir.Dim):
        return True
    if isinstance(e, ir.Symbol):
        return bool({"positive", "onehot", "stochastic"} & e.props)
    if not isinstance(e, ir.Apply):
        return False
    if OPS[e.op].range in ("nonnegative", "unit"):
        return True
    if OPS[e.op].keeps_nonnegative:
        return all(nonnegative(a, depth + 1) for a in e.args)
    if e.op == "pow":
        p = e.args[1]
        return nonnegative(e.args[0], depth + 1) or (isinstance(p, ir.Number) and float(p.value) % 2 == 0)
    if e.op == "sub":    # 1 - sigmoid(z) = sigmoid(-z)
        a, b = e.args
        return B.is_num(a, 1) and isinstance(b, ir.Apply) and OPS[b.op].range == "unit"
    return False


def inverse(e: ir.Expr) -> ir.Expr | None:
    """``A`` when ``e`` is ``inv(A)``, ``Aᵀ`` when it is ``inv(A)ᵀ``, else None."""
    if B.is_op(e, "inv"):
        return e.args[0]
    if B.is_op(e, "transpose") and B.is_op(e.args[0], "inv"):
        return transpose(e.args[0].args[0])
    return None


def share_logs(roots: list[ir.Expr]) -> list[ir.Expr]:
    """When both F(A) and its log form L(A) are needed (softmax and log_softmax),
    compute F(A) as exp(L(A)): one pass over A instead of two, and still stable."""
    log_forms = {name: op.log_form for name, op in OPS.items() if op.log_form}
    logs = {(n.op, n.args[0], n.attrs) for n in ir.distinct(*roots)
            if isinstance(n, ir.Apply) and n.op in log_forms.values()}
    if not logs:
        return roots
    def rewrite(e: ir.Apply) -> ir.Expr:
        log_op = log_forms.get(e.op)
        if log_op and (log_op, e.args[0], e.attrs) in logs:
            return B.call("exp", ir.apply(log_op, [e.args[0]], dict(e.attrs)))
        return e

    memo: dict[ir.Expr, ir.Expr] = {}
    return [bottom_up(r, rewrite, memo) for r in roots]


def transpose(e: ir.Expr) -> ir.Expr:
    """``eᵀ``, which is ``e`` itself when ``e`` is symmetric by its structure:
    ``solve(Xᵀ X, Xᵀ)ᵀ`` rather than ``solve((Xᵀ X)ᵀ, Xᵀ)ᵀ``."""
    return e if symmetric(e) else B.T(e)


def symmetric(e: ir.Expr, depth: int = 0) -> bool:
    """A sufficient test that the square matrix ``e`` equals its transpose:
    a symmetric symbol, ``eye``, ``diag(v)``, ``Aᵀ S A`` (a palindromic
    product around a symmetric middle), and sums, products with scalars and
    elementwise functions or inverses of symmetric matrices.  Like :func:`nonnegative`
    it looks :data:`LOOK` levels down at most."""
    if e.rank != 2 or depth > LOOK:
        return False
    if isinstance(e, ir.Symbol):
        return "symmetric" in e.props
    if not isinstance(e, ir.Apply):
        return False
    if B.is_eye(e) or (B.is_op(e, "diag") and e.args[0].rank == 1):
        return True
    if B.is_op(e, "matmul"):
        chain = B.matrix_factors(e)
        half, middle = divmod(len(chain), 2)
        return (all(chain[i] == B.T(chain[-1 - i]) for i in range(half))
                and (not middle or symmetric(chain[half], depth + 1)))
    op = OPS[e.op]
    if op.elementwise or e.op in ("add", "sub", "mul", "div", "neg", "pow", "inv"):
        return all(a.rank == 0 or (a.shape == e.shape and symmetric(a, depth + 1)) for a in e.args)
    return False


