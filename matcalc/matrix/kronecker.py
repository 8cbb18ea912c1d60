"""Read a term with four free indices in the vec convention of Magnus and Neudecker.

A derivative of a matrix ``F`` ``[a, b]`` w.r.t. a matrix ``X`` ``[m, n]`` has the
entries ``T[i, j, p, q] = ∂F_ij / ∂X_pq``; the vec convention writes them as the
2-D matrix ``∂ vec F / ∂ (vec X)ᵀ`` with row ``i + a j`` and column ``p + m q``
(vec stacks columns).  A term of index notation, after the summed indices are
contracted away (:mod:`.contraction`), is a graph over the free indices ``i, j``
(rows) and ``p, q`` (columns); it has a Kronecker reading when its edges pair
the indices one of three ways:

* ``A_ip B_jq``           → ``B ⊗ A``                 (``vec(A X B) = (Bᵀ ⊗ A) vec X``)
* ``A_iq B_jp``           → ``(B ⊗ A) K_mn``          (``K_mn vec X = vec Xᵀ``)
* ``M_ij N_pq``           → ``vec(M) vec(N)ᵀ``        (an outer product of two vecs)

with, for the first two, an edge between the two rows as ``diag(vec M)`` on the
left and one between the two columns as ``diag(vec N)`` on the right
(``M_ij A_ip δ_jq`` is ``diag(vec M) (I ⊗ A)``: an elementwise factor).  A vector
is the column ``[n, 1]``: its missing index has size 1.  Weights on an index
(``w_i``) go with the pair that holds it.

:func:`read_vec` reads more terms: an edge moved along a ``δ`` between a row and a
column index (``S_iq δ_jq X_ip = S_ij δ_jq X_ip``), and a hub index (joined to three
free indices or more) split through a middle diag, ``P diag(vec M) Q`` with ``P`` and
``Q`` read the same way (``-S_ij X_ip S_iq = -diag(vec S) (1 1ᵀ ⊗ I) diag(vec S) (I ⊗ X)``;
two of them nested give softmax regression's Hessian).  What none reads is
:func:`read_einsum`'s ``reshape(einsum('...->jiqp', ...), (a*b, m*n))``: never a refusal.

>>> from matcalc.ir import Symbol
>>> from matcalc.index.nodes import Index
>>> from matcalc.render.text import to_text
>>> A, Bm = Symbol(("a", "m"), "A"), Symbol(("n", "b"), "B")
>>> i, j, p, q = Index("i", "a"), Index("j", "b"), Index("p", "m"), Index("q", "n")
>>> to_text(read_kron([(A, (i, p)), (Bm, (q, j))], [], (i, j), (p, q)))
'kron(B.T, A)'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .. import ir
from ..index.nodes import Index
from ..shapes import same_size, shape_size
from . import build as B
from .contraction import Factor, Reading, _Graph, product, scaled


@dataclass(frozen=True)
class VecTerm:
    """One term as read, the recognizer's log for the steps: ``c · diag(vec L) (B ⊗ A) [K] diag(vec R)``
    (``kind`` ``straight`` or ``crossed``; ``left``/``right`` None when absent), or
    ``c · vec(A) vec(B)ᵀ`` (``kind`` ``outer``).  The differential it stands for is
    ``L ∘ (A (R ∘ dX) Bᵀ)`` (straight), ``L ∘ (A (R ∘ dX)ᵀ Bᵀ)`` (crossed), ``A (B : dX)``
    (outer), and ``form`` is the Kronecker form the vec rules give it.  Kind ``middle`` is
    ``c · P diag(vec M) Q`` (``A = P``, ``B = Q``, ``left = M``, ``parts`` their own logs).  A term with no
    Kronecker reading is ``kind`` ``einsum``: ``A`` and ``B`` are its ``reshape(einsum(...))``."""

    kind: str
    A: ir.Expr
    B: ir.Expr
    left: ir.Expr | None
    right: ir.Expr | None
    scale: ir.Expr | None
    form: ir.Expr
    # kind ``middle``: ``form = c · A diag(vec left) B`` and the readings of A and B
    parts: tuple = ()


def read_kron(factors: list[Factor], summed: list[Index], rows: tuple[Index | None, Index | None],
              cols: tuple[Index | None, Index | None], log: list[VecTerm] | None = None) -> ir.Expr | None:
    """The term ``Σ_summed Π factors`` as a ``[size(rows), size(cols)]`` matrix in the vec
    convention (``rows = (i, j)`` of ``F``, ``cols = (p, q)`` of ``X``; None for the size-1
    axis of a vector), or None when it has no Kronecker reading."""
    free = tuple(ix for ix in rows + cols if ix is not None)
    graph = _Graph(factors, summed, free)
    if not graph.reduce():
        return None
    (i, j), (p, q) = rows, cols
    kinds = {_pair_kind(e.x, e.y, rows, cols) for e in graph.edges}
    if "other" in kinds or ({"straight", "crossed"} <= kinds):
        return None
    left = right = None
    if not kinds & {"straight", "crossed"}:                     # vec(M) vec(N)ᵀ
        kind, A, Bm = "outer", _pair(graph, i, j), _pair(graph, p, q)
        body = _outer(A, Bm)
    else:
        left, right = _edge(graph, i, j), _edge(graph, p, q)
        if "crossed" in kinds:                                   # A_iq B_jp: (B ⊗ A) K
            kind, A, Bm = "crossed", _pair(graph, i, q), _pair(graph, j, p)
            chain = [_kron(Bm, A)]
            if p is not None and q is not None:
                chain.append(B.call("commutation", dims=(p.dim, q.dim)))
        else:                                                    # A_ip B_jq: B ⊗ A
            kind, A, Bm = "straight", _pair(graph, i, p), _pair(graph, j, q)
            chain = [_kron(Bm, A)]
        chain = ([B.call("diag", B.call("vec", left))] if left is not None else []) + chain + \
            ([B.call("diag", B.call("vec", right))] if right is not None else [])
        kept = [f for f in chain if not _identity(f)]             # I ⊗ I = I: X.T → K, exp(X) → diag(vec(exp(X)))
        body = functools.reduce(B.matmul, kept) if kept else chain[0]
    form = scaled(graph.scalars, body)
    if log is not None:
        log.append(VecTerm(kind, A, Bm, left, right, product(graph.scalars), form))
    return form


def read_einsum(factors: list[Factor], summed: list[Index], rows: tuple[Index | None, Index | None],
                cols: tuple[Index | None, Index | None], log: list[VecTerm] | None = None) -> ir.Expr:
    """The term as ``reshape(einsum('...->jiqp', ...), (a*b, m*n))``: the einsum's output
    letters ``j i q p`` so that numpy's row-major reshape puts ``T[i, j, p, q]`` at row
    ``i + a j`` and column ``p + m q`` (the vec convention); the graph steps that apply
    are kept (``A_il B_il`` is one operand ``A ∘ B``), scalars stand outside."""
    factors, summed = merged(factors, summed)
    graph = _Graph(factors, summed, tuple(ix for ix in rows + cols if ix is not None))
    graph.reduce()
    left = graph.factors()
    scale = [M for M, idx in left if not idx]
    operands = [(M, idx) for M, idx in left if idx]
    row_ix = [ix for ix in reversed(rows) if ix is not None]       # j i: row i + a j
    col_ix = [ix for ix in reversed(cols) if ix is not None]       # q p: column p + m q
    seen = {ix for _, idx in operands for ix in idx}
    operands += [(B.ones((ix.dim,)), (ix,)) for ix in row_ix + col_ix if ix not in seen]
    letter = {ix: c for ix, c in zip(list(rows) + list(cols), "ijpq") if ix is not None}
    spare = iter(c for c in EXTRA if c not in letter.values())
    for _, idx in operands:
        for ix in idx:
            if ix not in letter:
                letter[ix] = next(spare)
    spec = ",".join("".join(letter[ix] for ix in idx) for _, idx in operands)
    spec += "->" + "".join(letter[ix] for ix in row_ix + col_ix)
    shape = (shape_size(tuple(ix.dim for ix in row_ix)), shape_size(tuple(ix.dim for ix in col_ix)))
    body = ir.apply(GROUPED, [M for M, _ in operands], {"spec": spec, "shape": shape})
    form = scaled(scale, body)
    if log is not None:
        log.append(VecTerm("einsum", body, body, None, None, product(scale), form))
    return form


def selector(sizes: tuple, t: int) -> ir.Expr:
    """``P[r, l]``: 1 where ``l`` is digit ``t`` of ``r`` in the mixed radix ``sizes`` (row-major),
    ``kron(ones((before, 1)), kron(eye(sizes[t]), ones((after, 1))))``."""
    before, after = shape_size(tuple(sizes[:t])), shape_size(tuple(sizes[t + 1:]))
    out = B.eye(sizes[t])
    if after != 1:
        out = B.call("kron", out, B.ones((after, 1)))
    if before != 1:
        out = B.call("kron", B.ones((before, 1)), out)
    return out


def split_selection(M: ir.Expr, idx: tuple[Index, ...], r: Index) -> list[Factor] | None:
    """A selection tensor ``S = reshape(eye(N), out + in)`` (how reshape and vec are written in
    index form) as 2-D factors over a new summed index ``r`` of size N: ``S_(o)(a) =
    Σ_r Π_t P_t[r, o_t] Π_t P_t[r, a_t]`` (``P_t`` the :func:`selector` of each axis); None
    for any other tensor."""
    if not (B.is_op(M, "reshape") and B.is_eye(M.args[0])):
        return None
    dims = tuple(M.shape)
    cut = next((c for c in range(1, len(dims)) if dims[:c] and same_size(dims[:c], M.args[0].shape[:1])), None)
    if cut is None:
        return None
    out: list[Factor] = []
    for group, at in ((dims[:cut], idx[:cut]), (dims[cut:], idx[cut:])):
        for t, ix in enumerate(at):
            if group[t] != 1:
                out.append((selector(group, t), (r, ix)))
    return out


# letters of the summed indices (i, j, p, q are the free ones)
EXTRA = "klrstuvwabcdefghmnoxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
GROUPED = "einsum_grouped"      # reshape(einsum(...), (p, q)) as one node (ops/einsum_grouped.py)


def _pair_kind(x: Index, y: Index, rows, cols) -> str:
    """How an edge between free indices ``x, y`` pairs them."""
    pair = {x, y}
    (i, j), (p, q) = rows, cols
    if pair in ({i, p}, {j, q}):
        return "straight"
    if pair in ({i, q}, {j, p}):
        return "crossed"
    if pair in ({i, j}, {p, q}):
        return "within"
    return "other"


def _edge(graph: _Graph, x: Index | None, y: Index | None) -> ir.Expr | None:
    """The edge between ``x`` and ``y`` (axes in that order), taken out of the graph."""
    if x is None or y is None:
        return None
    for e in graph.edges:
        if {e.x, e.y} == {x, y}:
            graph.drop(e)
            return e.toward(x)
    return None


def _pair(graph: _Graph, x: Index | None, y: Index | None) -> ir.Expr:
    """The factors on ``x`` and ``y`` (weights and the edge between them) as one
    ``[dim x, dim y]`` matrix, a size-1 axis where the index is None."""
    if x is None and y is None:
        return B.ones((1, 1))
    if x is None or y is None:
        v = graph.vector(y if x is None else x)
        n = (y if x is None else x).dim
        return B.call("reshape", v, shape=(1, n) if x is None else (n, 1))
    edge = _edge(graph, x, y)
    return Reading([], graph.weights.pop(x, []), graph.weights.pop(y, []), edge, (x.dim, y.dim)).expr()


def _outer(M: ir.Expr, N: ir.Expr) -> ir.Expr:
    """``vec(M) vec(N)ᵀ``."""
    return B.outer(_vec(M), _vec(N))


def _vec(M: ir.Expr) -> ir.Expr:
    if B.is_op(M, "reshape") and M.args[0].rank == 1:
        return M.args[0]
    return B.call("vec", M)


# -- a term that the three pairings do not read: copies through δ, a middle diag ----------

MAX_DEPTH = 2      # middle diags nested in one term (softmax regression's Hessian needs two)
TRIES = 200        # readings tried for one term before it is left to the einsum


def read_vec(factors: list[Factor], summed: list[Index], rows: tuple[Index | None, Index | None],
             cols: tuple[Index | None, Index | None], log: list[VecTerm] | None = None,
             depth: int = MAX_DEPTH, budget: list[int] | None = None) -> ir.Expr | None:
    """The term in Kronecker form, the shortest of: the three pairings (:func:`read_kron`);
    the same after an edge is moved along a ``δ`` between a row and a column index
    (``S_iq δ_jq X_ip = S_ij δ_jq X_ip``: ``diag(vec S) (I ⊗ X)``); a middle
    ``P diag(vec M) Q`` (:func:`_middle`); None when none reads it (or the search has
    tried ``TRIES`` readings: a term with no Kronecker reading costs milliseconds)."""
    budget = [TRIES] if budget is None else budget
    factors, summed = merged(factors, summed)
    graph = _Graph(factors, summed, tuple(ix for ix in rows + cols if ix is not None))
    graph.reduce()
    reduced, left = graph.factors(), list(graph.summed)
    found: list[tuple[ir.Expr, list[VecTerm]]] = []
    for variant in _moved(reduced, rows, cols):
        sub: list[VecTerm] = []
        budget[0] -= 1
        form = read_kron(variant, left, rows, cols, sub)
        if form is not None:
            found.append((form, sub))
    if not found and depth > 0 and budget[0] > 0:
        found = _middle(reduced, left, rows, cols, depth, budget)
    if not found:
        return None
    form, sub = min(found, key=lambda f: _size(f[0]))
    if log is not None:
        log.extend(sub)
    return form


def _kron(Bm: ir.Expr, A: ir.Expr) -> ir.Expr:
    """``B ⊗ A``; ``I ⊗ I`` is the one identity ``eye(size)``."""
    if B.is_eye(Bm) and B.is_eye(A):
        return B.eye(shape_size((Bm.shape[0], A.shape[0])))
    return B.call("kron", Bm, A)


def _identity(M: ir.Expr) -> bool:
    """``eye(n)`` or ``kron(eye(m), eye(n))``: a factor of a product that changes nothing."""
    return B.is_eye(M) or (B.is_op(M, "kron") and all(B.is_eye(a) for a in M.args))


def merged(factors: list[Factor], summed: list[Index]) -> tuple[list[Factor], list[Index]]:
    """A summed index joined to another by ``δ`` or ``diag(v)`` is that index:
    ``Σ_r A_kr diag(v)_rs B_si`` has ``r = s`` → ``A_kr v_r B_ri`` (one hub fewer)."""
    factors, summed = list(factors), list(summed)
    for n, (M, idx) in enumerate(factors):
        diagonal = B.is_eye(M) or (B.is_op(M, "diag") and M.args[0].rank == 1)
        if len(idx) != 2 or idx[0] == idx[1] or not diagonal or not set(idx) & set(summed):
            continue
        gone, kept = (idx[1], idx[0]) if idx[1] in summed else idx
        rest = [(F, tuple(kept if ix == gone else ix for ix in at)) for m, (F, at) in enumerate(factors) if m != n]
        weight = [] if B.is_eye(M) else [(M.args[0], (kept,))]
        return merged(rest + weight, [ix for ix in summed if ix != gone])
    return factors, summed


def _size(e: ir.Expr) -> int:
    return ir.tree_size(e, count=lambda n: isinstance(n, ir.Apply))


def _moved(factors: list[Factor], rows, cols) -> list[list[Factor]]:
    """The factors as they are, and with everything at one end of a ``δ_rc`` (``r`` a row
    index, ``c`` a column index) moved to the other end (``δ_rc`` makes them equal)."""
    out = [factors]
    deltas = [idx for M, idx in factors if len(idx) == 2 and B.is_eye(M) and
              ({idx[0], idx[1]} & set(rows) - {None}) and ({idx[0], idx[1]} & set(cols) - {None})]
    for x, y in deltas:
        for a, b in ((x, y), (y, x)):        # a → b in every other factor
            out.append([(M, idx) if len(idx) == 2 and {x, y} == set(idx) and B.is_eye(M)
                        else (M, tuple(b if ix == a else ix for ix in idx)) for M, idx in factors])
    return out


def _middle(factors: list[Factor], summed: list[Index], rows, cols, depth: int, budget: list[int]):
    """``P diag(vec M) Q`` (Magnus–Neudecker): a hub index ``x`` (summed, or free and copied
    through ``δ_xu``) and one of its edges ``M_xc`` become the middle pair ``(u, v)``
    (``v`` a copy of ``c`` through ``δ_cv``); the factors on the rows' side read as ``P``
    ``[size(rows), size(u, v)]``, those on the columns' side as ``Q``, each in Kronecker form.
    ``-S_ij X_ip S_iq`` → ``-diag(vec S) (1 1ᵀ ⊗ I) diag(vec S) (I ⊗ X)``."""
    row_set, col_set = set(rows) - {None}, set(cols) - {None}
    if len(summed) > 1:
        return []
    hubs = list(summed) + [ix for ix in rows + cols if ix is not None]
    found = []
    for x in hubs:
        if len({ix for _, idx in factors if len(idx) == 2 and x in idx for ix in idx} - {x}) < 2:
            continue                                  # not a hub: fewer than two neighbours
        for n, (M, idx) in enumerate(factors):
            if len(idx) != 2 or x not in idx or idx[0] == idx[1] or B.is_eye(M) or budget[0] <= 0:
                continue
            c = idx[1] if idx[0] == x else idx[0]
            if c in summed:
                continue
            weight = M if idx[0] == x else B.T(M)                       # [x, c]
            u, v = Index(f"μ{depth}", x.dim), Index(f"ν{depth}", c.dim)      # names no pool gives
            sides = _split([f for m, f in enumerate(factors) if m != n], x, c, u, v, summed,
                           row_set, col_set)
            if sides is None:
                continue
            (p_factors, q_factors, scalars) = sides
            p_log: list[VecTerm] = []
            q_log: list[VecTerm] = []
            P = read_vec(p_factors, [], rows, (u, v), p_log, depth - 1, budget)
            Q = read_vec(q_factors, [], (u, v), cols, q_log, depth - 1, budget) if P is not None else None
            if Q is None:
                continue
            chain = [f for f in B.matrix_factors(P) + [B.call("diag", B.call("vec", weight))] + B.matrix_factors(Q)
                     if not _identity(f)]
            form = scaled(scalars, functools.reduce(B.matmul, chain))
            found.append((form, [VecTerm("middle", P, Q, weight, None, product(scalars), form,
                                         parts=(tuple(p_log), tuple(q_log)))]))
    return found


def _split(factors: list[Factor], x: Index, c: Index, u: Index, v: Index, summed, row_set, col_set):
    """The factors of ``P`` (rows to ``(u, v)``) and of ``Q`` (``(u, v)`` to columns), and the
    scalars; None when a factor joins the rows and the columns otherwise than through
    ``x`` and ``c``.  ``x`` stands as ``u`` away from its own side (both sides when summed),
    ``c`` as ``v``, and each is tied to its copy by a ``δ`` on its own side."""
    side_of = {ix: "P" for ix in row_set} | {ix: "Q" for ix in col_set}
    p_out: list[Factor] = []
    q_out: list[Factor] = []
    scalars = []
    for own, copy in ((x, u), (c, v)):
        if own in side_of:
            (p_out if side_of[own] == "P" else q_out).append((B.eye(own.dim), (own, copy)))
    for M, idx in factors:
        if not idx:
            scalars.append(M)
            continue
        sides = {side_of[ix] for ix in idx if ix in side_of and ix not in (x, c)}
        if len(sides) > 1:
            return None
        side = sides.pop() if sides else side_of.get(x, side_of.get(c, "P"))
        if any(ix in summed and ix != x for ix in idx):
            return None
        moved = tuple(u if ix == x and side_of.get(x) != side else
                      v if ix == c and side_of.get(c) != side else ix for ix in idx)
        (p_out if side == "P" else q_out).append((M, moved))
    return p_out, q_out, scalars
