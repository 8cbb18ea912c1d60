"""Emission rule ``kron-row-gram``: a Magnus–Neudecker sandwich with a row-diagonal middle,

    kron(eye(k), Pᵀ) @ D @ kron(eye(k), Q) = Σ_i kron(T_i, p_i q_iᵀ),   P [n, a], Q [n, b],

computed from the per-row weights ``T_i [k, k]`` without building ``D`` ([n k, n k]) or
the Kronecker factors.  ``D`` is *row-diagonal*: ``D[(q n + i), (r n + i')] = δ_ii' T_i[q, r]``,
which holds for ``diag(vec(M))`` (``M [n, k]``: ``T_i = diag(M[i])``), ``kron(C, eye(n))``
(``C [k, k]``: ``T_i = C``), ``kron(eye(k), diag(w))`` (``T_i = w_i I``), ``eye(n k)``, and
their products (``T_i`` multiplied), sums, scalar multiples and transposes.  The left
factor may be distributed over a sum (``(A - A @ B) @ C`` with ``A = kron(eye(k), Pᵀ)``
is ``A @ (I - B) @ C``), and a sum of sandwiches with the same ``P``, ``Q`` is one
sandwich (``D1 - 2 D2``); a scalar factor goes into the weights.  Emitted, when ``P`` is
``Q`` and every ``T_i`` is symmetric (shown from the structure, :mod:`.kron_gram_sym`: a
Hessian), the weights of the blocks ``q <= r`` only, ``[n, k(k+1)/2]`` (``q, r < k - 1``
when ``T_i 1 = 0`` is shown, e.g. softmax's ``diag(s) - s sᵀ``; ``[n, k]`` when every
``T_i`` is diagonal) and ``_kron_gram(P, W, (qa, ra), k, fill)``, the Gram that uses both
symmetries; else ``T`` as ``[n, k, k]`` (or ``[n, k]``) and ``_kron_sandwich(P, T, Q)``
(helpers in :mod:`.gram_helpers`, the printing of ``T`` in :mod:`.kron_gram_code`).
Rules ``kron-row-gram-scaled`` and ``kron-row-gram-merged`` bring ``c * sandwich`` and
sums of sandwiches to one sandwich for ``kron-row-gram``.
"""

from __future__ import annotations

from .. import ir
from ..matrix import build as B
from ..registry import PREC_ATOM, EmitRule, emit_rule
from ..shapes import show
from .code_spelling import numpy_target
from .gram_helpers import HELPERS, KRON_GRAM, KRON_SANDWICH, VECH_GRAM
from .kron_gram_code import code as _code
from .kron_gram_code import pairs as _pairs
from .kron_gram_sym import _down, symmetric, zero_row_sums

# -- reading the sandwich (IR level) --------------------------------------------------

def _scalar(e: ir.Expr):
    """``(c, x)`` for ``c * x``, ``x / c``, ``-x`` with c a scalar (None: no scalar)."""
    if B.is_op(e, "neg"):
        return B.num(-1), e.args[0]
    if B.is_op(e, "mul") and e.rank == 2:
        a, b = e.args
        if a.rank == 0 and b.rank == 2:
            return a, b
        if b.rank == 0 and a.rank == 2:
            return b, a
    if B.is_op(e, "div") and e.args[1].rank == 0 and e.rank == 2:
        return B.div(B.num(1), e.args[1]), e.args[0]
    return None


def eye_left(e: ir.Expr):
    """``(k, M)`` when ``e`` is ``kron(eye(k), M)`` with ``M`` a matrix, else None."""
    if B.is_op(e, "kron") and B.is_eye(e.args[0]) and e.args[1].rank == 2:
        return e.args[0].attr("dims")[0], e.args[1]
    return None


def _eye_kron(e: ir.Expr):
    """``(k, M)`` for ``kron(eye(k), M)`` or its transpose (``M`` then transposed)."""
    if B.is_op(e, "transpose") and (found := eye_left(e.args[0])) is not None:
        return found[0], B.T(found[1])
    return eye_left(e)


def _left(e: ir.Expr):
    """``(k, Pᵀ, D)`` with ``e = kron(eye(k), Pᵀ) @ D``, or None."""
    if (found := _eye_kron(e)) is not None:
        k, pt = found
        if B.is_op(pt, "matmul") and B.is_op(pt.args[1], "diag") and pt.args[1].args[0].rank == 1:
            return k, pt.args[0], B.call("kron", B.eye(k), pt.args[1])   # Pᵀ diag(w): w into D
        return k, pt, B.eye(e.shape[1])
    if (scaled := _scalar(e)) is not None:
        inner = _left(scaled[1])
        return inner and (inner[0], inner[1], B.mul(scaled[0], inner[2]))
    if B.is_op(e, "add", "sub") and all(a.rank == 2 for a in e.args):
        a, b = (_left(x) for x in e.args)
        if a is None or b is None or a[:2] != b[:2]:
            return None
        return a[0], a[1], (B.add if e.op == "add" else B.sub)(a[2], b[2])
    if B.is_op(e, "matmul") and all(a.rank == 2 for a in e.args):
        factors = B.matrix_factors(e)
        first = _left(factors[0])
        if first is None:
            return None
        d = first[2]
        for f in factors[1:]:
            d = B.matmul(d, f)
        return first[0], first[1], d
    return None


def sandwich(e: ir.Expr):
    """``(k, Pᵀ, D, Q)`` when ``e = kron(eye(k), Pᵀ) @ D @ kron(eye(k), Q)`` (up to a scalar
    factor, taken into D), else None; D is not yet checked row-diagonal."""
    if (scaled := _scalar(e)) is not None:
        inner = sandwich(scaled[1])
        return inner and (inner[0], inner[1], B.mul(scaled[0], inner[2]), inner[3])
    if B.is_op(e, "add", "sub") and all(a.shape == e.shape for a in e.args):
        a, b = (sandwich(x) for x in e.args)
        if a is None or b is None or (a[0], a[1], a[3]) != (b[0], b[1], b[3]):
            return None
        return a[0], a[1], (B.add if e.op == "add" else B.sub)(a[2], b[2]), a[3]
    if not (B.is_op(e, "matmul") and all(a.rank == 2 for a in e.args)):
        return None
    factors = B.matrix_factors(e)
    right = _eye_kron(factors[-1]) if len(factors) > 1 else None
    if right is None:
        return None
    k, q = right
    d_right = None
    if B.is_op(q, "matmul") and B.is_op(q.args[0], "diag") and q.args[0].args[0].rank == 1:
        d_right, q = B.call("kron", B.eye(k), q.args[0]), q.args[1]        # diag(w) Q: w into D
    left = _left(_chain(factors[:-1]))
    if left is None or left[0] != k or left[1].shape[1] != q.shape[0]:
        return None
    d = left[2] if d_right is None else B.matmul(left[2], d_right)
    return k, left[1], d, q


def _chain(factors: list[ir.Expr]) -> ir.Expr:
    out = factors[0]
    for f in factors[1:]:
        out = ir.apply("matmul", (out, f))
    return out


def rebuilt(k, pt, d, q) -> ir.Expr:
    """The sandwich as one IR product (what the matmul rule then reads)."""
    return ir.apply("matmul", (ir.apply("matmul", (B.call("kron", B.eye(k), pt), d)),
                               B.call("kron", B.eye(k), q)))


# -- the row-diagonal structure of D --------------------------------------------------
# ("eye",) | ("diag", M) with M [n, k] or [n] (T_i = diag(M[i]), or M_i I) | ("const", C) |
# ("prod", [s, ...]) | ("sum", [(c or None, s), ...]) with c a scalar IR factor (-1: minus)

def weights(d: ir.Expr, k, n):
    """The structure of ``d`` as a row-diagonal ``[k n, k n]`` matrix, or None."""
    kn = d.shape[0]
    if B.is_eye(d):
        return ("eye",) if d.shape == (kn, kn) else None
    if B.is_op(d, "diag") and B.is_op(d.args[0], "vec") and d.args[0].args[0].shape == (n, k):
        return "diag", d.args[0].args[0]
    if B.is_op(d, "kron") and all(a.rank == 2 for a in d.args):
        a, b = d.args
        if B.is_eye(b) and b.shape == (n, n) and a.shape == (k, k):
            return "const", a
        if B.is_eye(a) and a.shape == (k, k) and B.is_op(b, "diag") and b.args[0].rank == 1 \
                and b.shape == (n, n):
            return "diag", b.args[0]
        return None
    if B.is_op(d, "transpose"):
        s = weights(d.args[0], k, n)
        return s and _transposed(s)
    if (scaled := _scalar(d)) is not None:
        s = weights(scaled[1], k, n)
        return s and ("sum", [(scaled[0], s)])
    if B.is_op(d, "add", "sub") and all(a.shape == d.shape for a in d.args):
        a, b = (weights(x, k, n) for x in d.args)
        return a and b and ("sum", [(None, a), (B.num(-1) if d.op == "sub" else None, b)])
    if B.is_op(d, "matmul") and all(a.rank == 2 for a in d.args):
        parts = [weights(f, k, n) for f in B.matrix_factors(d)]
        return None if any(p is None for p in parts) else ("prod", parts)
    return None


def _transposed(s):
    kind = s[0]
    if kind == "const":
        return "const", B.T(s[1])
    if kind == "prod":
        return "prod", [_transposed(p) for p in reversed(s[1])]
    if kind == "sum":
        return "sum", [(c, _transposed(p)) for c, p in s[1]]
    return s


def _atoms(s, out: list) -> list:
    if s[0] in ("diag", "const"):
        out.append(s[1])
    elif s[0] in ("prod", "sum"):
        for p in s[1]:
            _atoms(p if s[0] == "prod" else p[1], out)
    return out


def has_diag(s) -> bool:
    return s[0] == "diag" or (s[0] in ("prod", "sum") and any(
        has_diag(p if s[0] == "prod" else p[1]) for p in s[1]))


def _same(pt: ir.Expr, q: ir.Expr) -> bool:
    """Pᵀ is Qᵀ: transposes pushed through products first ((X W)ᵀ = Wᵀ Xᵀ)."""
    return _down(pt) == _down(B.T(q))


# -- the rules -------------------------------------------------------------------------

def _row_gram(node, pr):
    """kron(eye(k), Pᵀ) @ D @ kron(eye(k), Q) = Σ_i kron(T_i, p_i q_iᵀ) for row-diagonal D."""
    if not numpy_target(pr):
        return None
    found = sandwich(node)
    if found is None:
        return None
    k, pt, d, q = found
    n = q.shape[0]
    s = weights(d, k, n)
    if s is None or not has_diag(s):
        return None           # no per-row weight: kron(C, Pᵀ Q) by the mixed product
    atoms = _atoms(s, [])
    for a in atoms:           # a weight used twice is computed once
        if atoms.count(a) > 1 and isinstance(a, ir.Apply):
            pr.shared.add(a)
    kd, nd = pr.dim(k), pr.dim(n)
    p_text = pr.text(B.T(pt))
    if _same(pt, q) and symmetric(s):
        return _symmetric_gram(s, pr, p_text, kd, nd, node)
    kind, text = _code(s, pr, kd, nd)
    if kind == "eye":
        return None
    if kind == "const":
        kind, text = "dense", f"{pr.namespace()}.broadcast_to({text}, ({nd}, {kd}, {kd}))"
    if kind == "diag":
        text = f"({text} * {pr.namespace()}.ones({kd}))" if text.endswith("[:, None]") else text
    weights_name = pr.fresh()
    about = f"T_i diagonal, [{nd}, {kd}]" if kind == "diag" else f"T_i, [{nd}, {kd}, {kd}]"
    pr.statement(f"{weights_name} = {text}  # the weights {about}: {show(node.shape)} = Σ_i kron(T_i, p_i q_iᵀ)")
    return f"{pr.helper(KRON_SANDWICH)}({p_text}, {weights_name}, {pr.text(q)})", PREC_ATOM


def _symmetric_gram(s, pr, p_text: str, kd: str, nd: str, node) -> tuple[str, int]:
    """Σ_i kron(T_i, p_i p_iᵀ) with T_i symmetric: the weights of the blocks q <= r only
    (q, r < k - 1 when T_i 1 = 0, the rest filled; the diagonal ones when every T_i is)."""
    np_ = pr.namespace()
    pr.helper(VECH_GRAM)
    if not has_const(s):
        _, text = _code(s, pr, kd, nd)
        text = f"({text} * {np_}.ones({kd}))" if text.endswith("[:, None]") else text
        name = pr.fresh()
        pr.statement(f"{name} = {text}  # the weights: T_i = diag({name}[i]), {show(node.shape)} = "
                     f"Σ_i kron(T_i, p_i p_iᵀ)")
        return f"{pr.helper(KRON_GRAM)}({p_text}, {name}, None, {kd})", PREC_ATOM
    fill = zero_row_sums(s)
    qa, ra = pr.scope.claim("qa"), pr.scope.claim("ra")
    pr.statement(f"{qa}, {ra} = {np_}.triu_indices({kd}{' - 1' if fill else ''})  # the blocks (q, r) computed, "
                 f"q <= r{f' < {kd} - 1: T_i 1 = 0 gives the rest' if fill else ''}")
    text = _pairs(s, pr, kd, nd, qa, ra)
    name = pr.fresh()
    pr.statement(f"{name} = {text}  # the weights T_i[q, r] of those blocks: "
                 f"{show(node.shape)} = Σ_i kron(T_i, p_i p_iᵀ)")
    return f"{pr.helper(KRON_GRAM)}({p_text}, {name}, ({qa}, {ra}), {kd}{', fill=True' if fill else ''})", PREC_ATOM


def has_const(s) -> bool:
    """A constant k×k factor somewhere: T_i need not be diagonal."""
    return s[0] == "const" or (s[0] in ("prod", "sum") and any(
        has_const(p if s[0] == "prod" else p[1]) for p in s[1]))


def _scaled_gram(node, pr):
    """c (kron(eye(k), Pᵀ) D kron(eye(k), Q)) = kron(eye(k), Pᵀ) (c D) kron(eye(k), Q):
    the scalar meets the n k² weights, not the result."""
    if not numpy_target(pr) or _scalar(node) is None:
        return None
    found = sandwich(node)
    return rebuilt(*found) if found is not None and weights(found[2], found[0], found[3].shape[0]) else None


def _merged_grams(node, pr):
    """Σ_j c_j kron(eye(k), Pᵀ) D_j kron(eye(k), Q) = kron(eye(k), Pᵀ) (Σ_j c_j D_j) kron(eye(k), Q):
    one Gram for every sandwich of the same P and Q in a sum."""
    if not numpy_target(pr) or node.rank != 2:
        return None
    terms = _terms(node)
    if terms is None:
        return None
    groups: dict = {}
    others = []
    for negated, t in terms:
        found = sandwich(t)
        if found is None or weights(found[2], found[0], found[3].shape[0]) is None:
            others.append((negated, t))
            continue
        k, pt, d, q = found
        d = B.neg(d) if negated else d
        key = (k, pt, q)
        groups[key] = d if key not in groups else B.add(groups[key], d)
    if not any(_count(terms, key) > 1 for key in groups):
        return None
    total = None
    for (k, pt, q), d in groups.items():
        total = B.add(total, rebuilt(k, pt, d, q)) if total is not None else rebuilt(k, pt, d, q)
    for negated, t in others:
        total = B.sub(total, t) if negated else B.add(total, t)
    return total


def _count(terms, key) -> int:
    return sum(1 for _, t in terms if (f := sandwich(t)) is not None and (f[0], f[1], f[3]) == key)


def _terms(node: ir.Expr, most: int = 16):
    """``[(negated, term)]`` of a sum through + and -, or None past ``most`` terms."""
    out, stack = [], [(node, False)]
    while stack:
        e, negated = stack.pop()
        if B.is_op(e, "add", "sub") and all(a.shape == node.shape for a in e.args):
            stack.append((e.args[1], negated != (e.op == "sub")))
            stack.append((e.args[0], negated))
        else:
            out.append((negated, e))
            if len(out) > most:
                return None
    return out


_USES = {name: HELPERS[name] for name in (VECH_GRAM, KRON_GRAM, KRON_SANDWICH)}
emit_rule(EmitRule("kron-row-gram", "kron(eye(k), Pᵀ) D kron(eye(k), Q) = Σ_i kron(T_i, p_i q_iᵀ), "
                   "D row-diagonal", "matmul", _row_gram, _USES))
for _root in ("mul", "div", "neg"):
    emit_rule(EmitRule("kron-row-gram-scaled", "c kron(eye(k), Pᵀ) D kron(eye(k), Q) = "
                       "kron(eye(k), Pᵀ) (c D) kron(eye(k), Q)", _root, _scaled_gram))
for _root in ("add", "sub"):
    emit_rule(EmitRule("kron-row-gram-merged", "Σ_j kron(eye(k), Pᵀ) D_j kron(eye(k), Q) = "
                       "kron(eye(k), Pᵀ) (Σ_j D_j) kron(eye(k), Q)", _root, _merged_grams))
