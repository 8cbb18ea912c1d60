"""Read one product term of index notation as a matrix expression.

A term is ``c · Σ_{summed} Π factors`` where every factor is a matrix
expression with its indices (``A_ik``, ``x_k``, ``δ_ij``).  Its contraction
graph has the indices as vertices, 2-index factors as edges and 1-index
factors as weights on a vertex.  The graph is reduced one named step at a time
until only the free indices are left:

* a closed loop of summed indices ``Σ_kl A_kl B_lk`` is ``tr(A B)``;
* a self-loop ``A_kk`` is a weight ``diag(A)_k``;
* parallel edges ``A_ij B_ij`` are one edge ``(A ∘ B)_ij`` (Hadamard);
* a summed leaf ``Σ_k A_ik w_k`` is a weight ``(A w)_i`` (``A 1`` is ``sum(A, axis=1)``);
* a summed vertex on a path ``Σ_k A_ik w_k B_kj`` is an edge ``(A diag(w) B)_ij``
  (a matmul chain; transposes from the order of the indices);
* an isolated summed vertex ``Σ_k w_k`` is a scalar ``sum(w)`` (``x @ y`` for two);

and what is left reads as ``diag(α) M diag(β)`` for an edge between the two
free indices, ``outer(α, β)`` for none (disconnected parts), a vector for one
free index.  A summed vertex that none of the steps removes (three or more
edges) means the term has no matrix reading: :func:`read_term` returns None
and the caller writes it as an ``einsum``.

>>> from matcalc.ir import Symbol
>>> from matcalc.index.nodes import Index
>>> from matcalc.render.text import to_text
>>> A, Bm = Symbol(("n", "n"), "A"), Symbol(("n", "n"), "B")
>>> i, j, k = Index("i", "n"), Index("j", "n"), Index("k", "n")
>>> to_text(read_term([(A, (i, k)), (Bm, (j, k))], [k], (i, j))[0])
'A @ B.T'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .. import ir
from ..index.nodes import Index
from . import build as B

Factor = tuple[ir.Expr, tuple[Index, ...]]


@dataclass
class _Edge:
    """``M_xy``: a matrix whose first axis is index x, second index y."""

    x: Index
    y: Index
    M: ir.Expr

    def toward(self, x: Index) -> ir.Expr:
        """The matrix with its first axis at ``x`` (``Mᵀ`` when x is the second)."""
        return self.M if self.x == x else B.T(self.M)

    def other(self, x: Index) -> Index:
        return self.y if self.x == x else self.x


def _reciprocal(x: ir.Expr) -> ir.Expr | None:
    """``y`` for ``x = 1 / y``, else None."""
    return x.args[1] if B.is_op(x, "div") and B.is_num(x.args[0], 1) else None


def times(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    """``a ∘ b``, a reciprocal factor written as a division: ``a ∘ (1 / y)`` → ``a / y``."""
    if _reciprocal(b) is not None:
        return B.div(a, _reciprocal(b))
    if _reciprocal(a) is not None:
        return B.div(b, _reciprocal(a))
    return B.mul(a, b)


def axis_sum(M: ir.Expr, axis: int) -> ir.Expr:
    """``Σ`` of a matrix along ``axis``, a transpose read through: ``sum(Aᵀ, axis=1) = sum(A, axis=0)``."""
    if B.is_op(M, "transpose") and M.rank == 2:
        return B.sum_(M.args[0], 1 - axis)
    return B.sum_(M, axis)


def unit_summed(w: ir.Expr) -> tuple[ir.Expr, int] | None:
    """``(C, a)`` for ``w = sum(C, axis=a)`` over an axis of size 1 (a column or a row read
    as a vector), else None."""
    if B.is_op(w, "sum") and w.args[0].rank == 2 and w.attr("axis") in (0, 1) and not w.attr("keepdims") \
            and w.args[0].shape[w.attr("axis")] == 1:
        return w.args[0], w.attr("axis")
    return None


def product(factors: list[ir.Expr]) -> ir.Expr | None:
    """``f1 ∘ f2 ∘ ...`` with the reciprocals divided last (None for no factors):
    ``[x, 1/y, z]`` → ``x ∘ z / y``."""
    plain = [f for f in factors if _reciprocal(f) is None]
    over = [_reciprocal(f) for f in factors if _reciprocal(f) is not None]
    out = functools.reduce(B.mul, plain) if plain else None
    for y in over:
        out = B.div(B.ONE, y) if out is None else B.div(out, y)
    return out


def _left_chain(M: ir.Expr) -> ir.Expr:
    """A matmul chain of matrices nested to the left, as people write it:
    ``A (B C)`` → ``(A B) C`` (the order in which the path was contracted is no
    part of the result)."""
    return functools.reduce(B.matmul, B.matrix_factors(M))


def _transposed_chain(M: ir.Expr) -> ir.Expr:
    """``(A B C)ᵀ`` written ``Cᵀ Bᵀ Aᵀ`` (the canonical form), a chain of three or more
    factors only: ``(Xᵀ D X)ᵀ`` is ``Xᵀ D X``, while ``(B A)ᵀ`` stays as it is."""
    if not B.is_op(M, "transpose") or len(B.matrix_factors(M.args[0])) < 3:
        return M
    return functools.reduce(B.matmul, [B.T(f) for f in reversed(B.matrix_factors(M.args[0]))])


def _loop_matrix(M: ir.Expr) -> ir.Expr:
    """``M`` or ``Mᵀ`` (equal traces), whichever has fewer transposes:
    ``tr(Aᵀ Bᵀ)`` is written ``tr(B A)``."""
    factors = B.matrix_factors(M)
    flipped = [B.T(f) for f in reversed(factors)]
    count = lambda fs: sum(B.is_op(f, "transpose") for f in fs)
    return functools.reduce(B.matmul, flipped if count(flipped) < count(factors) else factors)


def scaled(scalars: list[ir.Expr], body: ir.Expr) -> ir.Expr:
    """``c body`` for the product ``c`` of ``scalars``, a reciprocal as a division."""
    scale = product(scalars)
    if scale is None:
        return body
    if _reciprocal(scale) is not None:
        return B.div(body, _reciprocal(scale))
    if B.is_op(scale, "div") and scale.args[1].rank == 0:      # (a / c) M → a M / c
        return B.div(B.mul(scale.args[0], body), scale.args[1])
    return B.mul(scale, body)


@dataclass
class Reading:
    """A term over two free indices ``a, b``: ``c diag(α) M diag(β)`` with the scalars
    ``c``, the vectors ``α`` on ``a`` and ``β`` on ``b`` (Hadamard factors, as lists)
    and the edge ``M`` between them (None: no edge, ``outer(α, β)``; ``I``: ``diag(α ∘ β)``)."""

    scalars: list[ir.Expr]
    left: list[ir.Expr]
    right: list[ir.Expr]
    body: ir.Expr | None
    dims: tuple

    def diagonal(self) -> bool:
        """Whether it is ``c diag(α ∘ β)``: then a factor of α or β may stand on either side."""
        return self.body is not None and B.is_eye(self.body)

    def expr(self) -> ir.Expr:
        wa, wb = product(self.left), product(self.right)
        M = self.body
        if M is None:
            if wa is None and wb is None:
                body = B.ones(self.dims)
            else:
                body = B.outer(B.ones(self.dims[:1]) if wa is None else wa,
                               B.ones(self.dims[1:]) if wb is None else wb)
        elif B.is_eye(M):
            w = product([x for x in (wa, wb) if x is not None])
            body = M if w is None else B.call("diag", w)
        else:
            M = _transposed_chain(M)
            body = M if wa is None else B.matmul(B.call("diag", wa), M)
            body = _left_chain(body if wb is None else B.matmul(body, B.call("diag", wb)))
        return scaled(self.scalars, body)


def _weighted_sum(M: ir.Expr, w: ir.Expr) -> ir.Expr:
    """``Σ_k M_ik w_k``: ``M w``, or, when ``w`` is a column ``C`` read as a vector,
    ``sum(Mᵀ ∘ C, axis=0)`` (``C`` broadcast, no transpose) where that is shorter."""
    plain = B.matmul(M, w)
    cut = unit_summed(w)
    if cut is None:
        return plain
    C, a = cut
    broadcast = axis_sum(times(M if a == 0 else B.T(M), C), 1 - a)
    count = lambda e: ir.tree_size(e, count=lambda n: isinstance(n, ir.Apply))
    return broadcast if count(broadcast) < count(plain) else plain


class _Graph:
    def __init__(self, factors: list[Factor], summed: list[Index], free: tuple[Index, ...]):
        self.summed = list(summed)
        self.free = free
        self.scalars: list[ir.Expr] = []
        self.weights: dict[Index, list[ir.Expr]] = {}
        self.edges: list[_Edge] = []
        for M, idx in factors:
            if not idx:
                self.scalars.append(M)
            elif len(idx) == 1:
                if B.is_ones(M):                # a weight of ones is no weight
                    continue
                self.weights.setdefault(idx[0], []).append(M)
            else:
                self.edges.append(_Edge(idx[0], idx[1], M))

    def drop(self, e: _Edge) -> None:
        """Remove the edge ``e`` itself: two equal edges (``M1_kj M1_kj``) are two factors,
        so ``list.remove`` (by equality) would drop the wrong one of a pair it merges."""
        self.edges = [f for f in self.edges if f is not e]

    def at(self, v: Index) -> list[_Edge]:
        return [e for e in self.edges if v in (e.x, e.y)]

    def weight(self, v: Index) -> ir.Expr | None:
        """The Hadamard product of the vectors on ``v`` (None for none)."""
        return product(self.weights.pop(v, []))

    def reduce(self) -> bool:
        """Apply the steps to a fixed point; False if a summed index stays."""
        steps = (self.self_loop, self.loop, self.parallel, self.leaf, self.isolated, self.series)
        while any(step() for step in steps):
            pass
        return not self.summed

    # -- the steps, each a named identity ------------------------------------------

    def self_loop(self) -> bool:
        """``A_kk`` → ``diag(A)_k``."""
        for e in self.edges:
            if e.x == e.y:
                self.drop(e)
                self.weights.setdefault(e.x, []).append(B.call("diag", e.M))
                return True
        return False

    def loop(self) -> bool:
        """A closed loop of summed indices ``Σ_kl A_kl B_lk`` → ``tr(A B)``: the vertex
        ``l`` between two edges to ``k``, which has no others, becomes ``(A B)_kk``."""
        for v in self.summed:
            edges = self.at(v)
            if len(edges) != 2:
                continue
            e, f = edges
            x = e.other(v)
            if x == v or f.other(v) != x or x not in self.summed or len(self.at(x)) != 2:
                continue
            w = self.weight(v)
            left = B.T(e.toward(v)) if w is None else B.matmul(B.T(e.toward(v)), B.call("diag", w))
            self.drop(e)
            self.drop(f)
            self.edges.append(_Edge(x, x, B.matmul(left, f.toward(v))))
            self.summed.remove(v)
            return True
        return False

    def parallel(self) -> bool:
        """``A_ij B_ij`` → ``(A ∘ B)_ij``; ``A_ij B_ji`` → ``(A ∘ Bᵀ)_ij``."""
        for n, e in enumerate(self.edges):
            for f in self.edges[n + 1:]:
                if {e.x, e.y} == {f.x, f.y}:
                    self.drop(f)
                    e.M = times(e.M, f.toward(e.x))
                    return True
        return False

    def leaf(self) -> bool:
        """``Σ_k A_ik w_k`` → ``(A w)_i``; ``Σ_k A_ik`` → ``sum(A, axis=1)_i``."""
        for v in self.summed:
            edges = self.at(v)
            if len(edges) == 1:
                e = edges[0]
                x = e.other(v)
                M = B.T(e.toward(v))            # first axis x, second v
                w = self.weight(v)
                self.weights.setdefault(x, []).append(axis_sum(M, 1) if w is None else _weighted_sum(M, w))
                self.drop(e)
                self.summed.remove(v)
                return True
        return False

    def isolated(self) -> bool:
        """``Σ_k x_k y_k`` → ``x @ y``; ``Σ_k w_k`` → ``sum(w)``; ``Σ_k 1`` → ``n``."""
        for v in self.summed:
            if not self.at(v):
                ws = self.weights.pop(v, [])
                if not ws:
                    self.scalars.append(B.dim_scalar(v.dim))
                elif len(ws) == 1 and B.is_op(ws[0], "diag") and ws[0].args[0].rank == 2:
                    self.scalars.append(B.call("trace", _loop_matrix(ws[0].args[0])))  # Σ_k M_kk
                elif len(ws) == 2:
                    self.scalars.append(B.matmul(ws[0], ws[1]))
                else:
                    self.scalars.append(B.sum_(product(ws)))
                self.summed.remove(v)
                return True
        return False

    def series(self) -> bool:
        """``Σ_k A_ik w_k B_kj`` → ``(A diag(w) B)_ij``."""
        for v in self.summed:
            edges = self.at(v)
            if len(edges) == 2:
                e, f = edges
                x, y = e.other(v), f.other(v)
                left, right = B.T(e.toward(v)), f.toward(v)      # [x, v] and [v, y]
                w = self.weight(v)
                if w is not None:
                    left = B.matmul(left, B.call("diag", w))
                self.drop(e)
                self.drop(f)
                self.edges.append(_Edge(x, y, B.matmul(left, right)))
                self.summed.remove(v)
                return True
        return False

    # -- what is left ------------------------------------------------------------------

    def vector(self, v: Index) -> ir.Expr:
        w = self.weight(v)
        return B.ones((v.dim,)) if w is None else w

    def result(self) -> ir.Expr:
        """The reduced graph over the free indices, as a matrix, vector or scalar."""
        if len(self.free) == 2:
            return self.reading().expr()
        body = self.vector(self.free[0]) if self.free else B.ONE
        return scaled(self.scalars, body)

    def reading(self) -> Reading:
        """The reduced graph over two free indices, its parts kept apart."""
        a, b = self.free
        M = self.edges[0].toward(a) if self.edges else None
        return Reading(list(self.scalars), self.weights.pop(a, []), self.weights.pop(b, []), M,
                       (a.dim, b.dim))

    def factors(self) -> list[Factor]:
        """What is left, as factors again (for an einsum): scalars, edges, weights."""
        out: list[Factor] = [(s, ()) for s in self.scalars]
        out += [(e.M, (e.x, e.y)) for e in self.edges]
        out += [(product(ws), (v,)) for v, ws in self.weights.items() if ws]
        return out


def read_reading(factors: list[Factor], summed: list[Index],
                 free: tuple[Index, ...]) -> Reading | None:
    """The term ``Σ_summed Π factors`` over two free indices as a :class:`Reading`
    (None when it has no matrix reading)."""
    graph = _Graph(factors, summed, free)
    if len(free) != 2 or not graph.reduce() or len(graph.edges) > 1:
        return None
    return graph.reading()


def read_term(factors: list[Factor], summed: list[Index],
              free: tuple[Index, ...]) -> tuple[ir.Expr | None, list[Factor]]:
    """The term ``Σ_summed Π factors`` as a matrix expression with axes ``free``
    (at most two), or ``(None, the factors left)`` when its contraction graph has
    no matrix reading: the steps that did apply are kept (``A_il B_il`` is one
    operand ``A ∘ B``), so the einsum the caller writes is as short as it can be."""
    graph = _Graph(factors, summed, free)
    if not graph.reduce() or len(graph.edges) > 1 or len(free) > 2:
        return None, graph.factors()
    return graph.result(), []
