"""Tidy a matrix-form result until it reads as a careful person writes it.

Passes, repeated until nothing changes:

* local identities on linear-algebra nodes (each rule below names its
  identity): transposes pushed to the leaves, scalars pulled out of matrix
  products, ``v @ M`` turned into ``M.T @ v``, prop facts
  (``Sᵀ = S`` for symmetric S, ``Σ_j Y_ij = 1`` for onehot/stochastic rows,
  ``QᵀQ = I`` for orthogonal Q);
* elementwise algebra through sympy (:mod:`.algebra`): cancel, collect, factor;
* common matrix factors pulled out of sums: ``A @ x + A.T @ x -> (A + A.T) @ x``.
"""

from __future__ import annotations

import functools

from .. import ir
from ..ops import OPS
from ..shapes import broadcast
from . import build as B
from .algebra import is_elementwise, simplify_elementwise, term_key
from .rule import Fact

MAX_ROUNDS = 8


def _record(notes: list, fact: Fact) -> None:
    if fact not in notes:
        notes.append(fact)


def _declared_symmetric(a: ir.Expr) -> bool:
    """Symmetric because of a declared prop (not merely I, diag(v) or AᵀA)."""
    syms = [s for s in a.symbols if "symmetric" in s.props]
    return bool(syms) and not B.is_op(a, "eye", "diag", "ones")


def simplify(expr: ir.Expr, notes: list | None = None) -> ir.Expr:
    """The tidied form of ``expr`` (same value, same shape).  Facts from the
    declared props that it used are appended to ``notes`` (:class:`Fact`)."""
    shape = expr.shape
    current = expr
    # structural, by digest: cached per node, so this costs the graph.  (Comparing two
    # equal DAGs that are not the same objects walks the written-out tree: a tower of
    # 300 powers took 10 s in one `nxt in seen`.)
    seen = {ir.digest(current)}
    for _ in range(MAX_ROUNDS):
        nxt = _Pass(notes).run(current)
        if ir.digest(nxt) in seen:
            current = nxt if _size(nxt) <= _size(current) else current
            break
        seen.add(ir.digest(nxt))
        current = nxt
    return restore_shape(current, shape)


def restore_shape(expr: ir.Expr, shape) -> ir.Expr:
    """Broadcast a result that lost its shape in algebra (``ones(n, m) * c -> c``)."""
    if expr.shape == tuple(shape):
        return expr
    if not shape:
        raise ValueError(f"result has shape {expr.shape}, expected a scalar")
    if broadcast(expr.shape, shape) == tuple(shape):
        if B.is_zero(expr):
            return B.zeros(shape)
        if B.is_op(expr, "div") and B.is_num(expr.args[0], 1):      # ones(n, m) / (m * n)
            return B.div(B.ones(shape), expr.args[1])
        return ir.apply("mul", [expr, B.ones(shape)])
    raise ValueError(f"result has shape {expr.shape}, expected {shape}")


def _size(expr: ir.Expr) -> int:
    return ir.tree_size(expr)


class _Pass:
    def __init__(self, notes: list | None = None):
        self.memo: dict[ir.Expr, ir.Expr] = {}
        self.notes = notes

    def run(self, node: ir.Expr) -> ir.Expr:
        if node in self.memo:
            return self.memo[node]
        if is_elementwise(node):
            out = simplify_elementwise(node, self.run)
            out = _factor_sums(out)
            # algebra may drop a broadcast operand (ones(n, 1) / n -> 1 / n): a parent such
            # as sum() needs the shape it had, so put it back
            out = restore_shape(out, node.shape)
        elif isinstance(node, ir.Apply):
            # a child may come back as the number 0 (A - A), whatever its shape was
            args = [restore_shape(self.run(a), a.shape) for a in node.args]
            attrs = dict(node.attrs)
            out = ir.apply(node.op, args, attrs) if list(args) != list(node.args) else node
            out = restore_shape(local_rules(out, notes=self.notes), node.shape)
        else:
            out = node
        self.memo[node] = out
        return out


# -- local rules ---------------------------------------------------------------

def is_symmetric(e: ir.Expr) -> bool:
    """Structurally symmetric: S (declared), I, diag(v), AᵀA, A + Aᵀ, inv(S), c S, S1 + S2."""
    if e.rank < 2:
        return True
    if isinstance(e, ir.Symbol):
        return "symmetric" in e.props
    if not isinstance(e, ir.Apply):
        return False
    if e.op in ("eye", "diag"):
        return True
    if e.op == "ones":
        return e.shape[0] == e.shape[1]
    if e.op == "matmul":
        a, b = e.args
        return B.T(a) == b
    if e.op in ("add", "sub"):
        a, b = e.args
        if not all(x.rank in (0, 2) for x in e.args):     # eye(n) - v broadcasts v along rows
            return False
        return (is_symmetric(a) and is_symmetric(b)) or (e.op == "add" and B.T(a) == b)
    if e.op in ("mul", "div"):
        a, b = e.args
        return all(x.rank == 0 or is_symmetric(x) for x in (a, b)) and e.rank == 2 \
            and all(x.rank in (0, 2) for x in (a, b))
    if e.op in ("inv", "neg"):
        return is_symmetric(e.args[0])
    if OPS[e.op].elementwise:
        return all(x.rank in (0, 2) and is_symmetric(x) for x in e.args)
    return False


def _rows_sum_to_one(e: ir.Expr) -> bool:
    return isinstance(e, ir.Symbol) and bool({"onehot", "stochastic"} & e.props)


def _sums_to_one_along(e: ir.Expr, axis) -> bool:
    """``Σ_k softmax(A, axis=1)_ik = 1``: an op whose record says its entries along its
    axis sum to 1, summed along that axis (a vector's sum has no axis)."""
    if not (isinstance(e, ir.Apply) and OPS[e.op].extra.get("sums_to_one")):
        return False
    return axis == e.attr("axis") or (e.rank == 1 and axis is None)


def local_rules(e: ir.Expr, notes: list | None = None) -> ir.Expr:
    if not isinstance(e, ir.Apply):
        return e
    op, args = e.op, e.args
    if op == "transpose":
        return transpose(args[0], notes=notes)
    if op == "matmul":
        return matmul(*args, notes=notes)
    if op == "sum":
        return reduce_sum(e, notes=notes)
    if op == "outer":
        x, y = args
        if B.is_ones(x) and B.is_ones(y):                # 1 1ᵀ = ones(n, m)
            return B.ones(e.shape)
        sx, cx = split_scalar(x)
        sy, cy = split_scalar(y)
        if cx is not None or cy is not None:             # outer(c x, y) = c outer(x, y)
            return B.mul(_mul_opt(cx, cy), B.outer(sx, sy))
    if op in ("dot", "matmul") and all(a.rank == 1 for a in args):
        x, y = args
        if B.is_ones(x) and B.is_ones(y):                  # 1ᵀ1 = n
            return B.dim_scalar(x.shape[0])
        if B.is_ones(x) or B.is_ones(y):                   # 1ᵀv = Σ_i v_i
            return B.sum_(y if B.is_ones(x) else x)
    if op == "inv" and B.is_eye(args[0]):
        return args[0]
    if op == "inv" and B.is_op(args[0], "diag") and args[0].args[0].rank == 1:
        return B.call("diag", B.div(B.ONE, args[0].args[0]))      # diag(v)⁻¹ = diag(1 / v)
    if op == "diag" and args[0].rank == 1 and B.is_ones(args[0]):   # diag(1) = I
        return B.eye(args[0].shape[0])
    if op == "diag" and args[0].rank == 2:
        return diagonal(args[0], notes=notes)
    return e


def diagonal(a: ir.Expr, notes: list | None = None) -> ir.Expr:
    """The diagonal of a square matrix, through the products that keep it simple:
    diag(diag(v)) = v, diag(x yᵀ) = x ∘ y, diag(A diag(v)) = diag(A) ∘ v, diag(Aᵀ) = diag(A)."""
    n = a.shape[0]
    if B.is_op(a, "diag"):
        return a.args[0]
    if B.is_ones(a) or B.is_eye(a):
        return B.ones((n,))
    if B.is_op(a, "outer"):
        return B.mul(a.args[0], a.args[1])
    if B.is_op(a, "transpose"):
        return diagonal(a.args[0], notes=notes)
    if B.is_op(a, "neg"):
        return B.neg(diagonal(a.args[0], notes=notes))
    if B.is_op(a, "add", "sub") and all(x.shape == a.shape for x in a.args):
        return B.call(a.op, diagonal(a.args[0], notes=notes), diagonal(a.args[1], notes=notes))
    inner, c = split_scalar(a)
    if c is not None:
        return B.mul(c, diagonal(inner, notes=notes))
    if B.is_op(a, "matmul"):
        x, y = a.args
        if B.is_op(y, "transpose") and y.args[0].shape == x.shape and x.rank == 2:
            z = y.args[0]                                    # diag(X Zᵀ) = Σ_j X_ij Z_ij
            return reduce_sum(B.sum_(z if B.is_ones(x) else B.mul(x, z), 1), notes=notes)
        if B.is_op(y, "diag") and y.args[0].rank == 1:
            return B.mul(diagonal(x, notes=notes), y.args[0])
        if B.is_op(x, "diag") and x.args[0].rank == 1:
            return B.mul(x.args[0], diagonal(y, notes=notes))
    return B.call("diag", a)


def _mul_opt(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return B.mul(a, b)


def split_scalar(e: ir.Expr):
    """``c * M -> (M, c)`` for a scalar factor c; ``M / c -> (M, 1/c)``; else (e, None)."""
    if isinstance(e, ir.Apply) and e.rank > 0:
        if e.op == "mul":
            a, b = e.args
            if a.rank == 0:
                inner, c = split_scalar(b)
                return inner, _mul_opt(a, c)
            if b.rank == 0:
                inner, c = split_scalar(a)
                return inner, _mul_opt(b, c)
        if e.op == "div" and e.args[1].rank == 0:
            inner, c = split_scalar(e.args[0])
            return inner, B.div(c if c is not None else B.ONE, e.args[1])
        if e.op == "neg":
            inner, c = split_scalar(e.args[0])
            return inner, B.neg(c if c is not None else B.ONE)
    return e, None


def _transposes(e: ir.Expr) -> int:
    return ir.tree_size(e, count=lambda x: B.is_op(x, "transpose"))


def transpose(a: ir.Expr, notes: list | None = None) -> ir.Expr:
    """Aᵀ in canonical form: transposes pushed through products and sums to the
    leaves ((XᵀA)ᵀ = AᵀX), but not into an elementwise function unless that
    removes one (tanh(XW)ᵀ stays, tanh(Xᵀ)ᵀ becomes tanh(X))."""
    pushed = push_transpose(a, notes=notes)
    if is_elementwise(a) and a.op not in ("add", "sub"):
        plain = B.T(a)
        return pushed if _transposes(pushed) < _transposes(plain) else plain
    return pushed


def push_transpose(a: ir.Expr, notes: list | None = None) -> ir.Expr:
    """Push a transpose to the leaves: (AB)ᵀ = BᵀAᵀ, (A + B)ᵀ = Aᵀ + Bᵀ, f(A)ᵀ = f(Aᵀ)."""
    if a.rank < 2:
        return a                                          # vectors and scalars: vᵀ = v (as numpy)
    if is_symmetric(a):
        if notes is not None and _declared_symmetric(a):
            _record(notes, Fact("symmetric", a))
        return a
    if isinstance(a, ir.Apply):
        if a.op == "matmul":
            x, y = a.args
            return matmul(transpose(y, notes=notes), transpose(x, notes=notes))
        if a.op in ("add", "sub", "mul", "div") and all(x.rank in (0, 2) for x in a.args):
            return B.call(a.op, *(transpose(x, notes=notes) for x in a.args))
        if a.op == "neg" or (OPS[a.op].elementwise and a.rank == 2 and all(x.rank in (0, 2) for x in a.args)):
            return B.call(a.op, *(transpose(x, notes=notes) for x in a.args))
        if a.op == "pow" and a.args[0].rank == 2:
            return B.power(transpose(a.args[0], notes=notes), a.args[1])
    return B.T(a)


def matmul(a: ir.Expr, b: ir.Expr, notes: list | None = None) -> ir.Expr:
    """Scalars out of products ((cA)B = c(AB)); v @ M as Mᵀ v; QᵀQ = I for orthogonal Q."""
    sa, ca = split_scalar(a)
    sb, cb = split_scalar(b)
    if ca is not None or cb is not None:
        c = _mul_opt(ca, cb)
        inner = matmul(sa, sb, notes=notes)
        return B.mul(c, inner)
    if B.is_eye(a):
        return b
    if B.is_eye(b):
        return a
    if _inverse_pair(_end(a, 1), _end(b, 0)):             # ... P P⁻¹ ... = ... ...
        rest = _chain(a)[:-1] + _chain(b)[1:]
        if not rest:
            return B.eye(a.shape[0])
        out = rest[0]
        for f in rest[1:]:
            out = matmul(out, f, notes=notes)
        return out
    for q, qt in ((a, b), (b, a)):
        if isinstance(q, ir.Symbol) and "orthogonal" in q.props and B.is_op(qt, "transpose") \
                and qt.args[0] == q:
            if notes is not None:
                _record(notes, Fact("orthogonal", q))
            return B.eye(a.shape[0])
    if a.rank == 1 and b.rank == 2:                       # vᵀM = (Mᵀv)ᵀ
        return matmul(transpose(b, notes=notes), a, notes=notes)
    if B.is_op(a, "diag") and a.args[0].rank == 1 and b.rank == 1:
        return B.mul(a.args[0], b)                                  # diag(v) x = v ∘ x
    if B.is_op(a, "diag") and a.args[0].rank == 1 and B.is_op(b, "diag") and b.args[0].rank == 1:
        return B.call("diag", B.mul(a.args[0], b.args[0]))        # diag(v) diag(w) = diag(v * w)
    if B.is_op(b, "outer") and B.is_op(a, "diag") and a.args[0].rank == 1:
        return B.outer(B.mul(a.args[0], b.args[0]), b.args[1])       # diag(v) x yᵀ = (v ∘ x) yᵀ
    if B.is_op(a, "outer") and B.is_op(b, "diag") and b.args[0].rank == 1:
        return B.outer(a.args[0], B.mul(b.args[0], a.args[1]))       # x yᵀ diag(v) = x (v ∘ y)ᵀ
    if a.rank == 2 and b.rank == 1 and B.is_ones(b):      # A 1 = row sums; Aᵀ 1 = column sums
        if B.is_op(a, "transpose"):
            return reduce_sum(B.sum_(a.args[0], 0), notes=notes)
        return reduce_sum(B.sum_(a, 1), notes=notes)
    out = B.matmul(a, b)
    for i, side in ((0, a), (1, b)):                      # distribute when that is shorter
        if B.is_op(side, "add", "sub") and all(t.shape == side.shape for t in side.args):
            other = b if i == 0 else a
            parts = [matmul(t, other, notes=notes) if i == 0 else matmul(other, t, notes=notes) for t in side.args]
            if all(not B.is_op(p, "matmul") for p in parts):
                alt = B.add(parts[0], parts[1]) if side.op == "add" else B.sub(parts[0], parts[1])
                if _size(alt) < _size(out):
                    return alt
    return out


def _end(e: ir.Expr, side: int) -> ir.Expr:
    """The first (side 0) or last (side 1) factor of a product chain."""
    while B.is_op(e, "matmul"):
        e = e.args[side]
    return e


def _inverse_form(e: ir.Expr) -> tuple[ir.Expr, bool, bool]:
    """``(P, inverted, transposed)`` for P, Pᵀ, P⁻¹, P⁻ᵀ (inv(Pᵀ) is P⁻ᵀ)."""
    inverted = transposed = False
    while True:
        if B.is_op(e, "transpose"):
            transposed, e = not transposed, e.args[0]
        elif B.is_op(e, "inv"):
            inverted, e = not inverted, e.args[0]
        else:
            return e, inverted, transposed


def _inverse_pair(x: ir.Expr, y: ir.Expr) -> bool:
    if x.rank != 2 or y.rank != 2:
        return False
    px, ix, tx = _inverse_form(x)
    py, iy, ty = _inverse_form(y)
    return px == py and tx == ty and ix != iy


def reduce_sum(e: ir.Expr, notes: list | None = None) -> ir.Expr:
    """Σ_j Y_ij = 1 for onehot/stochastic rows; Σ over a scalar multiple is a multiple of Σ."""
    a = e.args[0]
    axis = e.attr("axis")
    if _rows_sum_to_one(a) and (axis == a.rank - 1 or (a.rank == 1 and axis is None)):
        if notes is not None:
            _record(notes, Fact("onehot" if "onehot" in a.props else "stochastic", a))
        return B.ones(e.shape) if e.shape else B.ONE
    if _sums_to_one_along(a, axis):
        return B.ones(e.shape) if e.shape else B.ONE
    inner, c = split_scalar(a)
    if c is not None:
        return B.mul(c, B.sum_(inner, axis))
    if B.is_op(a, "outer"):                              # Σ_i x_i y_j = (1ᵀx) y_j
        x, y = a.args
        if axis == 0:
            return B.mul(reduce_sum(B.sum_(x), notes=notes), y)
        if axis == 1:
            return B.mul(reduce_sum(B.sum_(y), notes=notes), x)
    separable = _separable_sum(a, axis)
    if separable is not None and separable.shape == e.shape:
        return separable
    if axis is None and B.is_op(a, "mul") and a.rank == 2 and (B.is_eye(a.args[0]) or B.is_eye(a.args[1])):
        other = a.args[1] if B.is_eye(a.args[0]) else a.args[0]
        if other.shape == a.shape:                                # Σ_ij δ_ij M_ij = tr M
            return B.call("trace", other)
        if other.rank >= 1:          # δ_ij c_i for a column c (a row, a vector) broadcast: Σ_i c_i
            return B.sum_(other)
    if axis is None and B.is_op(a, "sum") and a.args[0].rank == 2:   # Σ_i Σ_j M_ij = sum(M)
        return B.sum_(a.args[0])
    if B.is_ones(a):
        count = B.ONE
        for i, d in enumerate(a.shape):
            if axis is None or i == axis:
                count = B.mul(count, B.dim_scalar(d))
        return B.mul(count, B.ones(e.shape)) if e.shape else count
    return e


def _separable_sum(a: ir.Expr, axis) -> ir.Expr | None:
    """Σ_i c_i r_j = (Σ_i c_i) r_j, the broadcast form of ``Σ_i x_i y_j = (1ᵀx) y_j``: the
    factors of the Hadamard product ``a`` that vary along ``axis`` make one column (axis 0)
    or row (axis 1). ``sum(s * M * R, axis=0) -> sum(M) * s * sum(R, axis=0)`` for
    ``M: [n, 1]``, ``R: [1, m]``, ``s: [m]`` (so ``diag(s ∘ r) - s (s ∘ r)ᵀ`` of a saturated
    softmax is exactly 0 in floats, not the rounding of two different sums)."""
    if a.rank != 2 or axis not in (0, 1) or not B.is_op(a, "mul"):
        return None
    factors, stack = [], [a]
    while stack:
        f = stack.pop()
        if B.is_op(f, "mul") and f.rank == 2:
            stack.extend(f.args)
        else:
            factors.append(f)
    padded = {f: (1,) * (2 - f.rank) + tuple(f.shape) for f in factors}
    vary = [f for f in factors if padded[f][axis] != 1]
    keep = [f for f in factors if padded[f][axis] == 1]
    if not vary or not keep or any(padded[f][1 - axis] != 1 for f in vary):
        return None
    out = B.sum_(functools.reduce(B.mul, vary))
    return functools.reduce(B.mul, [B.sum_(f, axis) if f.rank == 2 else f for f in keep], out)


# -- common matrix factors -----------------------------------------------------

def _factor_sums(e: ir.Expr, memo: dict | None = None) -> ir.Expr:
    """Tidy inside an elementwise result: :func:`factor_matmuls` on every sum,
    :func:`spread_product` on every product (each shared subexpression once: a
    result kept in the chain rule's form shares much)."""
    memo = {} if memo is None else memo      # by id: `==` of big equal trees walks them
    if not isinstance(e, ir.Apply) or not is_elementwise(e):
        return e
    if id(e) in memo:
        return memo[id(e)]
    node = e
    args = [_factor_sums(a, memo) for a in e.args]
    if any(a is not b for a, b in zip(args, e.args)):
        e = ir.apply(e.op, args, dict(e.attrs))
    if e.op in ("add", "sub", "mul", "div"):
        e = spread_rows(e)
    if e.op in ("add", "sub"):
        e = factor_matmuls(e)
    elif e.op == "mul":
        e = spread_product(e)
    memo[id(node)] = e
    return e


def spread_rows(e: ir.Expr) -> ir.Expr:
    """``M - outer(ones(n), w) -> M - w``: numpy broadcasts a [m] vector along rows."""
    if e.rank != 2 or not B.is_op(e, "add", "sub", "mul", "div"):
        return e
    a, b = e.args
    if any(B.is_op(x, "eye", "diag", "outer") for x in (a, b) if not _row_spread(x)):
        return e   # diag(s) - outer(ones, s) stays structured, so products with it distribute
    if _row_spread(b) and a.shape == e.shape:
        return B.call(e.op, a, b.args[1])
    if _row_spread(a) and b.shape == e.shape:
        return B.call(e.op, a.args[1], b)
    return e


def _row_spread(x: ir.Expr) -> bool:
    return B.is_op(x, "outer") and B.is_ones(x.args[0])


def spread_product(e: ir.Expr) -> ir.Expr:
    """A broadcast vector times a matrix, as a person writes it:
    ``outer(ones(n), w) * M -> w * M`` and ``outer(v, ones(m)) * M -> diag(v) @ M``."""
    if e.rank != 2:
        return e
    for spread, other in ((e.args[0], e.args[1]), (e.args[1], e.args[0])):
        if B.is_op(spread, "outer") and other.shape == e.shape:
            v, w = spread.args
            if B.is_ones(v):                               # 1 wᵀ ∘ M = w ∘ M (rows broadcast)
                return B.mul(w, other)
            if B.is_ones(w):                               # v 1ᵀ ∘ M = diag(v) M
                return matmul(B.call("diag", v), other)
    return e


def _terms(e: ir.Expr) -> list[tuple[int, ir.Expr]]:
    """Flatten a sum into signed terms."""
    if B.is_op(e, "add"):
        return _terms(e.args[0]) + _terms(e.args[1])
    if B.is_op(e, "sub"):
        return _terms(e.args[0]) + [(-s, t) for s, t in _terms(e.args[1])]
    if B.is_op(e, "neg"):
        return [(-s, t) for s, t in _terms(e.args[0])]
    return [(1, e)]


def _chain(e: ir.Expr) -> list[ir.Expr]:
    if B.is_op(e, "matmul"):
        return _chain(e.args[0]) + _chain(e.args[1])
    return [e]


def _product(factors: list[ir.Expr]) -> ir.Expr:
    out = factors[0]
    for f in factors[1:]:
        out = B.matmul(out, f)
    return out


def _signed_sum(terms: list[tuple[int, ir.Expr]]) -> ir.Expr:
    terms = sorted(terms, key=lambda st: (st[0] < 0, term_key(st[1])))
    out = None
    for s, t in terms:
        if out is None:
            out = t if s > 0 else B.neg(t)
        else:
            out = B.add(out, t) if s > 0 else B.sub(out, t)
    return out


def factor_matmuls(e: ir.Expr) -> ir.Expr:
    """``A @ x + A.T @ x -> (A + A.T) @ x`` and ``X.T @ S - X.T @ Y -> X.T @ (S - Y)``."""
    terms = _terms(e)
    if len(terms) < 2:
        return e
    for side in (-1, 0):
        # grouped by the common factor and the shape of what is left: A @ c and
        # v @ c (A a matrix, v a vector, both times c) do not add up inside
        groups: dict[tuple, list[int]] = {}
        for i, (_, t) in enumerate(terms):
            ch = _chain(t)
            if len(ch) >= 2:
                left = _product(ch[:-1] if side == -1 else ch[1:])
                groups.setdefault((ch[side], left.shape), []).append(i)
        best = max(groups.items(), key=lambda kv: len(kv[1]), default=None)
        if best is None or len(best[1]) < 2:
            continue
        (common, _), idx = best
        rest = []
        for i in idx:
            s, t = terms[i]
            ch = _chain(t)
            rest.append((s, _product(ch[:-1] if side == -1 else ch[1:])))
        inner = factor_matmuls(_signed_sum(rest))
        factored = B.matmul(inner, common) if side == -1 else B.matmul(common, inner)
        others = [terms[i] for i in range(len(terms)) if i not in idx]
        return factor_matmuls(_signed_sum([(1, factored)] + others)) if others else factored
    return e
