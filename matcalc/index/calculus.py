"""Differentiate index expressions elementwise, and contract the deltas.

Written once over the closed node set:

* ``∂X_ij/∂X_pq = δ_ip δ_jq``; other entries and numbers give 0;
* sums, sums of terms and products by linearity and the product rule;
* ``∂f(a)/∂X_pq = f'(a) ∂a/∂X_pq`` with ``f'`` from the function's record;
* opaque entries (``(A⁻¹)_ij``, ``det A``) by their record's ``index_deriv``.

Then :func:`contract` rewrites ``Σ_k δ_kp T_k -> T_p`` and drops zeros, so
``∂/∂W_pq Σ_j X_ij W_jk`` becomes ``X_ip δ_kq``.

>>> from matcalc.index.nodes import Index, Entry, Sum, Mul, show
>>> i, j, k = Index("i", "n"), Index("j", "m"), Index("k", "p")
>>> p, q = Index("p", "m"), Index("q", "p")
>>> e = Sum(j, Mul((Entry("X", (i, j)), Entry("W", (j, k)))))
>>> show(contract(differentiate(e, "W", (p, q))))
'X_ip δ_kq'
"""

from __future__ import annotations

from fractions import Fraction

from .nodes import UNIT, Add, Delta, Entry, Func, IExpr, Index, Mul, Num, Opaque, Pow, Sum

ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))


def differentiate(e: IExpr, name: str, wrt: tuple[Index, ...], pool=None) -> IExpr:
    """∂e/∂name_wrt, unsimplified (see :func:`contract`)."""
    if isinstance(e, (Num, Delta)):
        return ZERO
    if isinstance(e, Entry):
        if e.name != name or len(e.indices) != len(wrt):
            return ZERO
        deltas = tuple(Delta(a, b) for a, b in zip(e.indices, wrt) if not (a == UNIT and b == UNIT))
        return Mul(deltas) if deltas else ONE
    if isinstance(e, Sum):
        return Sum(e.index, differentiate(e.body, name, wrt, pool))
    if isinstance(e, Add):
        return Add(tuple(differentiate(t, name, wrt, pool) for t in e.terms))
    if isinstance(e, Mul):
        terms = []
        for n, f in enumerate(e.factors):
            df = differentiate(f, name, wrt, pool)
            if df != ZERO:
                terms.append(Mul(e.factors[:n] + (df,) + e.factors[n + 1:]))
        return Add(tuple(terms)) if terms else ZERO
    if isinstance(e, Pow):
        db = differentiate(e.base, name, wrt, pool)
        de = differentiate(e.exp, name, wrt, pool)
        out = []
        if db != ZERO:   # p b^(p-1) db
            out.append(Mul((e.exp, Pow(e.base, Add((e.exp, Num(Fraction(-1))))), db)))
        if de != ZERO:   # b^p log(b) dp
            out.append(Mul((e, Func("log", e.base), de)))
        return Add(tuple(out)) if out else ZERO
    if isinstance(e, Func):
        from ..ops.elementwise import derivative_index
        da = differentiate(e.arg, name, wrt, pool)
        return ZERO if da == ZERO else Mul((derivative_index(e.name, e.arg), da))
    if isinstance(e, Opaque):
        from ..ops import OPS
        rule = OPS[e.expr.op].extra.get("index_deriv")
        if rule is None:
            raise NotImplementedError(f"no index-level derivative for {e.expr.op}")
        from .lower import Pool, _lowered
        pool = pool or Pool({ix.name for ix in wrt})
        arg = _lowered(e.expr.args[0], pool)
        return rule(e, lambda idx: differentiate(arg(idx), name, wrt, pool), pool)
    raise TypeError(type(e))


# -- simplification: zeros, flattening, δ contraction ---------------------------------

def rename(e: IExpr, old: Index, new: Index) -> IExpr:
    """Substitute one index for another everywhere in e."""
    if isinstance(e, Entry):
        return Entry(e.name, tuple(new if ix == old else ix for ix in e.indices))
    if isinstance(e, Opaque):
        return Opaque(e.expr, tuple(new if ix == old else ix for ix in e.indices), e.label)
    if isinstance(e, Delta):
        return Delta(new if e.i == old else e.i, new if e.j == old else e.j)
    if isinstance(e, Sum):
        return Sum(e.index, rename(e.body, old, new))
    if isinstance(e, Add):
        return Add(tuple(rename(t, old, new) for t in e.terms))
    if isinstance(e, Mul):
        return Mul(tuple(rename(f, old, new) for f in e.factors))
    if isinstance(e, Pow):
        return Pow(rename(e.base, old, new), rename(e.exp, old, new))
    if isinstance(e, Func):
        return Func(e.name, rename(e.arg, old, new))
    return e


def contract(e: IExpr) -> IExpr:
    """Drop zeros and ones, distribute sums over terms, and contract
    ``Σ_k δ_kj T -> T[k := j]`` and ``δ_jj -> 1``."""
    if isinstance(e, Delta):
        return ONE if e.i == e.j else e
    if isinstance(e, Add):
        terms = []
        for t in (contract(t) for t in e.terms):
            terms.extend(t.terms if isinstance(t, Add) else [t])
        terms = [t for t in terms if t != ZERO]
        return ZERO if not terms else terms[0] if len(terms) == 1 else Add(tuple(terms))
    if isinstance(e, Mul):
        factors: list[IExpr] = []
        for f in (contract(f) for f in e.factors):
            factors.extend(f.factors if isinstance(f, Mul) else [f])
        if any(f == ZERO for f in factors):
            return ZERO
        factors = [f for f in factors if f != ONE]
        for n, f in enumerate(factors):          # distribute over a sum of terms
            if isinstance(f, Add):
                return contract(Add(tuple(Mul(tuple(factors[:n]) + (t,) + tuple(factors[n + 1:]))
                                          for t in f.terms)))
        for n, f in enumerate(factors):          # pull sums out, so their deltas can meet
            if isinstance(f, Sum):
                rest = tuple(factors[:n]) + tuple(factors[n + 1:])
                return contract(Sum(f.index, Mul(rest + (f.body,))))
        return ONE if not factors else factors[0] if len(factors) == 1 else Mul(tuple(factors))
    if isinstance(e, Sum):
        body = contract(e.body)
        if body == ZERO:
            return ZERO
        if isinstance(body, Add):
            return contract(Add(tuple(Sum(e.index, t) for t in body.terms)))
        factors = body.factors if isinstance(body, Mul) else (body,)
        for n, f in enumerate(factors):
            if isinstance(f, Delta) and e.index in (f.i, f.j) and f.i != f.j:
                other = f.j if f.i == e.index else f.i
                rest = factors[:n] + factors[n + 1:]
                return contract(rename(Mul(rest) if rest else ONE, e.index, other))
        return Sum(e.index, body)
    if isinstance(e, Pow):
        return Pow(contract(e.base), contract(e.exp))
    if isinstance(e, Func):
        return Func(e.name, contract(e.arg))
    return e
