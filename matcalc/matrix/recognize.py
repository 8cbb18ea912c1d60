"""One recognizer from index form to matrix form, for linear maps.

Reverse mode with a symbolic seed ``u`` gives ``L(u) = Jᵀ u`` (a Hessian's
``H u``), linear in ``u``.  :func:`recognize` returns ``∂L/∂u`` as an array
whose axes are ``u``'s followed by ``L``'s, so for ``L = Jᵀ u`` it is ``J``:

1. lower ``L`` to index notation, every maximal subexpression free of ``u``
   standing as one named entry (``exp(A @ x)`` is ``c_i``);
2. differentiate w.r.t. ``u_p`` (trivial: ``L`` is linear) and contract the
   deltas;
3. read each product term's contraction graph (:mod:`.contraction`): matmul
   chains, transposes, ``diag``, ``trace``, Hadamard products, ``outer``, axis
   sums;
4. write the terms that share a ``diag`` factor once, with it taken out, where
   that is shorter (:mod:`.factoring`: ``diag(p) - p pᵀ`` is ``(I - p 1ᵀ) diag(p)``);
5. a term with no matrix reading is an ``einsum`` of the language.

>>> from matcalc.ir import Symbol, apply
>>> from matcalc.render.text import to_text
>>> A, u = Symbol(("n", "n"), "A"), Symbol(("n",), "u")
>>> to_text(recognize(apply("matmul", [A, u]), u))        # L = A u, so J = Aᵀ
'A.T'
"""

from __future__ import annotations

from .. import ir
from ..errors import NoMatrixFormError
from ..index.calculus import contract, differentiate, flatten_term
from ..index.lower import Pool, lower
from ..index.nodes import UNIT, Add, Delta, Entry, Func, IExpr, Index, Mul, Num, Opaque, Pow
from ..shapes import ShapeMismatch
from . import build as B
from .contraction import Factor, Reading, axis_sum, read_reading, read_term
from .factoring import grouped
from .kronecker import read_einsum, read_vec, split_selection


class _NoFactor(Exception):
    """An index factor with no matrix counterpart (the term is then not read)."""


def recognize(L: ir.Expr, u: ir.Symbol, log: list | None = None) -> ir.Expr:
    """``∂L/∂u`` for ``L`` linear in ``u`` (ranks up to 1 each), axes ``u``'s then ``L``'s:
    ``L = K u`` gives ``Kᵀ``, a scalar ``L = w @ u`` gives ``w``.  With ``u`` or ``L`` a
    matrix (and the other not a scalar) it is the 2-D matrix of the vec convention, each
    term read in Kronecker form (:mod:`.kronecker`), appended to ``log`` when given."""
    if not any(s.name == u.name for s in L.symbols):
        return B.ZERO
    table: dict[str, ir.Expr] = {}
    atoms = _atoms(L, u, table)
    pool = Pool()
    free = tuple(pool.fresh(d) for d in u.shape) + tuple(pool.fresh(d) for d in L.shape)
    lin_idx = free[u.rank:]
    try:
        form = lower(L, lin_idx, pool, atoms)
        d = contract(differentiate(form, u.name, free[:u.rank], pool))
    except NotImplementedError as exc:        # u under an operation opaque in index form (kron)
        raise NoMatrixFormError(f"no index form to read the matrix off: {exc}") from None
    if u.rank and L.rank and u.rank + L.rank > 2:       # a matrix and a vector or matrix
        return _vec_convention(d, free, u, L, table, log)
    free = tuple(ix for ix in free if ix != UNIT)
    out, readings = B.ZERO, []
    try:
        for term in (d.terms if isinstance(d, Add) else (d,)):
            reading = _reading(term, free, table, _shape(u, L))
            if reading is not None:
                readings.append(reading)
            else:
                out = B.add(out, _read(term, free, table, _shape(u, L)))
        out = B.add(grouped(readings), out)
    except ShapeMismatch as exc:               # a broadcast the reading does not follow
        raise NoMatrixFormError(f"no reading: {exc}") from None
    return out if not B.is_zero(out) else B.ZERO


def _vec_convention(d: IExpr, free: tuple[Index, ...], u: ir.Symbol, L: ir.Expr, table,
                    log: list | None = None) -> ir.Expr:
    """``∂L/∂u`` with ``u`` or ``L`` a matrix, as the 2-D ``[size(u), size(L)]`` matrix of
    the vec convention (:mod:`.kronecker`): each term in Kronecker form, or an ``einsum``."""
    def pad(ixs):
        ixs = [None if ix == UNIT else ix for ix in ixs]
        return tuple(ixs + [None] * (2 - len(ixs)))
    rows, cols = pad(list(free[:u.rank])), pad(list(free[u.rank:]))
    out = B.ZERO
    for term in (d.terms if isinstance(d, Add) else (d,)):
        summed, factors = _factors(term, table)
        read = read_vec(factors, summed, rows, cols, log)
        if read is None:                     # no Kronecker reading: reshape(einsum(...->jiqp), ...)
            read = read_einsum(factors, summed, rows, cols, log)
        out = B.add(out, read)
    return out if not B.is_zero(out) else B.ZERO


def _shape(u: ir.Expr, L: ir.Expr):
    return tuple(u.shape) + tuple(L.shape)


# Operations free of u that are read through rather than named: their index form is a
# product of their arguments' entries (``s * v`` is ``s v_i``, ``A.T`` is ``A_ji``), so the
# reading puts a scalar outside and a transpose where the indices say.
THROUGH = ("mul", "div", "neg", "transpose")


def _through(node: ir.Apply) -> bool:
    """Whether the reading looks inside ``node`` (free of u): a product of arguments of
    its own shape or scalars (a broadcast ``[n, 1]`` column stays whole: ``M / c``)."""
    return node.op in THROUGH and all(a.rank == 0 or a.shape == node.shape for a in node.args)


def _atoms(L: ir.Expr, u: ir.Symbol, table: dict[str, ir.Expr]) -> dict[ir.Expr, str]:
    """Names for the maximal subexpressions of ``L`` free of ``u``; ``table`` maps
    every entry name (atoms and symbols) back to its matrix expression."""
    atoms: dict[ir.Expr, str] = {}
    stack = [L]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ir.Symbol):
            table[node.name] = node
        elif isinstance(node, ir.Apply):
            if any(s.name == u.name for s in node.symbols) or _through(node):
                stack.extend(node.args)
            elif node not in atoms:
                name = f"_atom{len(atoms)}"
                atoms[node] = name
                table[name] = node
    return atoms


def _reading(term: IExpr, free: tuple[Index, ...], table, shape) -> Reading | None:
    """A term over two free indices read with its parts apart, for :func:`grouped`."""
    if len(free) != 2 or len(shape) != 2:
        return None
    summed, factors = _factors(term, table)
    return read_reading(factors, summed, free)


def _read(term: IExpr, free: tuple[Index, ...], table, shape) -> ir.Expr:
    """One product term as a matrix expression (an ``einsum`` where it has no reading)."""
    summed, factors = _factors(term, table)
    out, left = read_term(factors, summed, free)
    if out is None:
        out = einsum_of(left, free)
    if out.shape != shape and not B.is_zero(out) and out.rank < len(shape):
        out = B.mul(out, B.ones(shape))       # a scalar or vector term broadcast in the sum
    return out


def _factors(term: IExpr, table) -> tuple[list[Index], list[Factor]]:
    """A product term's summed indices and its factors as matrices; a selection tensor of
    three or four axes (reshape, vec) is split into 2-D selections over a new summed index."""
    summed, raw = flatten_term(term)
    factors: list[Factor] = []
    for f in raw:
        parts = None
        if isinstance(f, Opaque) and f.expr.rank > 2:
            r = Index(f"ρ{len(summed)}", f.expr.args[0].shape[0] if f.expr.args else 1)
            parts = split_selection(f.expr, f.indices, r)
            summed = summed + [r] if parts is not None else summed
        factors.extend(parts if parts is not None else [_factor(f, table)])
    return summed, factors


def _factor(f: IExpr, table) -> Factor:
    """An index factor as ``(matrix expression, its indices)``: ``A_ik``, ``x_k``, ``δ_ij``,
    ``(1/x)_k``; ``A_kk`` is ``diag(A)_k`` and a size-1 axis is summed away."""
    if isinstance(f, Num):
        return B.num(f.value), ()
    if isinstance(f, Delta):
        if UNIT in (f.i, f.j):                # δ between two axes of size 1: 1
            return B.ONE, ()
        return B.eye(f.i.dim), (f.i, f.j)
    if isinstance(f, Pow) and isinstance(f.exp, Num):
        power = (lambda M: B.div(B.ONE, M)) if f.exp.value == -1 else (lambda M: B.power(M, B.num(f.exp.value)))
        if isinstance(f.base, Entry) and f.base.name in table:   # (1/c)_i1 summed over the unit axis: sum(1/c)
            return _entry(power(table[f.base.name]), f.base.indices)
        M, idx = _factor(f.base, table)
        return power(M), idx
    if isinstance(f, Mul):                    # (s x_i)⁻¹ read as one factor: a product, same indices
        parts = [_factor(g, table) for g in f.factors]
        idx = max((i for _, i in parts), key=len)
        parts = [_broadcast(M, i, idx, "a product") for M, i in parts]
        M = parts[0][0]
        for g, _ in parts[1:]:
            M = B.mul(M, g)
        return M, idx
    if isinstance(f, (Add, Func)):            # step(A_ij - B_ij): a function of entries with the same indices
        parts = [_factor(g, table) for g in (f.terms if isinstance(f, Add) else (f.arg,))]
        idx = max((i for _, i in parts), key=len)
        parts = [_broadcast(M, i, idx, "a sum") for M, i in parts]
        M = parts[0][0]
        for g, _ in parts[1:]:
            M = B.add(M, g)
        return (B.call(f.name, M) if isinstance(f, Func) else M), idx
    if isinstance(f, Entry):
        M = table.get(f.name) if f.name in table else (B.dim_scalar(f.name) if not f.indices else None)
        if M is None:
            raise NoMatrixFormError(f"no matrix for the index entry {f.name}")
        return _entry(M, f.indices)
    if isinstance(f, Opaque) and f.expr.rank <= 2:   # (inv(A))_ij, (eye(n)[1:])_ik: that matrix's entry
        return _entry(f.expr, f.indices)
    raise NoMatrixFormError(f"no matrix reading for the index factor {type(f).__name__}")


def _broadcast(M: ir.Expr, idx: tuple[Index, ...], full: tuple[Index, ...], what: str) -> Factor:
    """A part ``v_j`` of ``f(A_ij, v_j)`` as the matrix numpy broadcasts it to over ``full``:
    ``v`` on the second index is ``v`` (a row broadcast), on the first ``reshape(v, (n, 1))``."""
    if not idx or idx == full:
        return M, idx
    if len(full) == 2 and len(idx) == 1 and idx[0] in full and M.rank == 1:
        return (M if idx[0] == full[1] else B.call("reshape", M, shape=(idx[0].dim, 1))), full
    raise NoMatrixFormError(f"{what} of entries with different indices as one factor")


def _entry(M: ir.Expr, idx: tuple[Index, ...]) -> Factor:
    """``M`` with indices ``idx``: a size-1 axis summed away, ``M_kk`` read as ``diag(M)_k``."""
    for axis in reversed(range(len(idx))):
        if idx[axis] == UNIT:
            M = axis_sum(M, axis) if M.rank > 1 else B.sum_(M)
            idx = idx[:axis] + idx[axis + 1:]
    if len(idx) == 2 and idx[0] == idx[1]:
        return B.call("diag", M), idx[:1]
    return M, idx


LETTERS = "ijklmnpqrstuvwabcdefghoxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_of(factors: list[Factor], free: tuple[Index, ...]) -> ir.Expr:
    """``einsum('ik,jk,k->ij', A, B, w)``: the term as the language's einsum, scalars outside.
    A free index no factor carries is broadcast with a ``ones`` operand."""
    scale = B.ONE
    operands: list[Factor] = []
    for M, idx in factors:
        if idx:
            operands.append((M, idx))
        else:
            scale = B.mul(scale, M)
    seen = {ix for _, idx in operands for ix in idx}
    operands += [(B.ones((ix.dim,)), (ix,)) for ix in free if ix not in seen]
    letter: dict[Index, str] = {}
    for idx in [free] + [idx for _, idx in operands]:      # the result's axes come first: '...->ij'
        for ix in idx:
            if ix not in letter:
                if len(letter) == len(LETTERS):
                    raise NoMatrixFormError("a term with more indices than einsum has letters")
                letter[ix] = LETTERS[len(letter)]
    spec = ",".join("".join(letter[ix] for ix in idx) for _, idx in operands)
    spec += "->" + "".join(letter[ix] for ix in free)
    return B.mul(scale, B.call("einsum", *[M for M, _ in operands], spec=spec))
