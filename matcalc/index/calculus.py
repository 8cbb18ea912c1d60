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
        if not e.expr.symbols:      # an entry of a constant (a selection matrix of reshape or X[a:b])
            return ZERO
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
        if e.index == old or e.index.name == old.name:
            return e          # the name is bound here: a different index
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
    """Drop zeros and ones, distribute products over sums of terms, and
    contract ``Σ_k δ_kj T -> T[k := j]`` and ``δ_jj -> 1``.  Products come out
    as ``a Σ_k (b_k c_k)``: factors free of the summed indices outside."""
    if isinstance(e, Delta):
        return ONE if e.i == e.j else e
    if isinstance(e, Add):
        terms = []
        for t in (contract(t) for t in e.terms):
            terms.extend(t.terms if isinstance(t, Add) else [t])
        terms = [t for t in terms if t != ZERO]
        return ZERO if not terms else terms[0] if len(terms) == 1 else Add(tuple(terms))
    if isinstance(e, (Mul, Sum)):
        indices: list[Index] = []
        factors: list[IExpr] = []
        _flatten(e, indices, factors, _indices_of(e))
        for n, f in enumerate(factors):          # distribute over a sum of terms
            if isinstance(f, Add):
                return contract(Add(tuple(_product(indices, factors[:n] + [t] + factors[n + 1:])
                                          for t in f.terms)))
        changed = True
        while changed:                           # Σ_k δ_kj T -> T[k := j]
            changed = False
            for n, f in enumerate(factors):
                if isinstance(f, Delta) and (f.i in indices or f.j in indices) and f.i != f.j:
                    gone, keep = (f.i, f.j) if f.i in indices else (f.j, f.i)
                    indices.remove(gone)
                    factors = [contract(rename(g, gone, keep)) for g in factors[:n] + factors[n + 1:]]
                    changed = True
                    break
        factors = [ONE if isinstance(f, Delta) and f.i == f.j else f for f in factors]
        if any(f == ZERO for f in factors):
            return ZERO
        return _product(indices, [f for f in factors if f != ONE])
    if isinstance(e, Pow):
        return Pow(contract(e.base), contract(e.exp))
    if isinstance(e, Func):
        return Func(e.name, contract(e.arg))
    return e


def flatten_term(term: IExpr) -> tuple[list[Index], list[IExpr]]:
    """A contracted product term as its summed indices and its factors:
    ``2 x_i Σ_k A_ik u_k`` → ``([k], [2, x_i, A_ik, u_k])`` (separate sums kept apart)."""
    indices: list[Index] = []
    factors: list[IExpr] = []
    _flatten(term, indices, factors, _indices_of(term))
    return indices, [f for f in factors if f != ONE]


def _flatten(e: IExpr, indices: list[Index], factors: list[IExpr], taken: set[str]) -> None:
    """Σ_k a (Σ_j b) -> indices [k, j], factors [a, b]; a bound index that is
    already in use is renamed first, so separate sums never merge."""
    if isinstance(e, Sum):
        index, body = e.index, e.body
        if index in indices:
            n = 1
            while f"{index.name}{n}" in taken:
                n += 1
            new = Index(f"{index.name}{n}", index.dim)
            taken.add(new.name)
            body = rename(body, index, new)
            index = new
        indices.append(index)
        _flatten(body, indices, factors, taken)
    elif isinstance(e, Mul):
        for f in e.factors:
            _flatten(f, indices, factors, taken)
    else:
        c = contract(e)
        if isinstance(c, (Mul, Sum)):
            _flatten(c, indices, factors, taken)
        else:
            factors.append(c)


def _product(indices: list[Index], factors: list[IExpr]) -> IExpr:
    """Σ over ``indices`` of the product, written as separate sums where it
    splits (Σ_k a_k Σ_j b_j, not Σ_k Σ_j a_k b_j), with free factors outside and
    a sum over an index nothing depends on written as its size."""
    names = {ix.name: ix for ix in indices}
    outside = [f for f in factors if not (_free(f) & set(names))]
    inside = [f for f in factors if f not in outside]
    for ix in indices:
        if not any(ix.name in _free(f) for f in inside):
            outside.append(Entry(ix.dim) if isinstance(ix.dim, str) else Num(Fraction(ix.dim)))
    # group the summed indices that share a factor, and sum each group separately
    groups: list[tuple[set[str], list[IExpr]]] = []
    for f in inside:
        mine = _free(f) & set(names)
        merged = [g for g in groups if g[0] & mine]
        for g in merged:
            groups.remove(g)
        groups.append((set().union(mine, *(g[0] for g in merged)),
                       [x for g in merged for x in g[1]] + [f]))
    parts = list(outside)
    for group, members in groups:
        body: IExpr = members[0] if len(members) == 1 else Mul(tuple(members))
        for ix in reversed([ix for ix in indices if ix.name in group]):
            body = Sum(ix, body)
        parts.append(body)
    return ONE if not parts else parts[0] if len(parts) == 1 else Mul(tuple(parts))


# -- tidying for display: like terms, powers, and folding definitions back -----------

def _bound_canonical(e: IExpr, depth: int = 0) -> IExpr:
    """e with bound indices renamed by depth, so alpha-equivalent sums compare equal."""
    if isinstance(e, Sum):
        new = Index(f"_b{depth}", e.index.dim)
        return Sum(new, _bound_canonical(rename(e.body, e.index, new), depth + 1))
    if isinstance(e, Add):
        return Add(tuple(_bound_canonical(t, depth) for t in e.terms))
    if isinstance(e, Mul):
        return Mul(tuple(_bound_canonical(f, depth) for f in e.factors))
    if isinstance(e, Pow):
        return Pow(_bound_canonical(e.base, depth), _bound_canonical(e.exp, depth))
    if isinstance(e, Func):
        return Func(e.name, _bound_canonical(e.arg, depth))
    return e


def collect(e: IExpr) -> IExpr:
    """Numbers multiplied out, equal factors as powers (x x⁻² x -> 1), equal
    terms added up (a + a -> 2 a)."""
    if isinstance(e, Sum):
        return Sum(e.index, collect(e.body))
    if isinstance(e, Func):
        return Func(e.name, collect(e.arg))
    if isinstance(e, Pow):
        base, exp = collect(e.base), collect(e.exp)
        if isinstance(exp, Num) and exp.value == 1:
            return base
        if isinstance(exp, Num) and exp.value == 0:
            return ONE
        if isinstance(base, Pow) and isinstance(base.exp, Num) and isinstance(exp, Num):
            return collect(Pow(base.base, Num(base.exp.value * exp.value)))
        return Pow(base, exp)
    if isinstance(e, Mul):
        coeff = Fraction(1)
        powers: dict[IExpr, list] = {}
        for f in (collect(f) for f in e.factors):
            for g in (f.factors if isinstance(f, Mul) else (f,)):
                if isinstance(g, Num) and not isinstance(g.value, float):
                    coeff *= Fraction(g.value)
                    continue
                base, exp = (g.base, g.exp) if isinstance(g, Pow) and isinstance(g.exp, Num) else (g, Num(1))
                key = _bound_canonical(base)
                if key in powers:
                    powers[key][1] += Fraction(exp.value)
                else:
                    powers[key] = [base, Fraction(exp.value)]
        if coeff == 0:
            return ZERO
        factors = [Num(coeff)] if coeff != 1 else []
        for base, exp in powers.values():
            if exp == 0:
                continue
            factors.append(base if exp == 1 else Pow(base, Num(exp)))
        return ONE if not factors else factors[0] if len(factors) == 1 else Mul(tuple(factors))
    if isinstance(e, Add):
        terms: dict[IExpr, list] = {}
        for t in (collect(t) for t in e.terms):
            for u in (t.terms if isinstance(t, Add) else (t,)):
                c, rest = _split_coefficient(u)
                key = _bound_canonical(rest)
                if key in terms:
                    terms[key][1] += c
                else:
                    terms[key] = [rest, c]
        out = [collect(Mul((Num(c), rest))) for rest, c in terms.values() if c != 0]
        return ZERO if not out else out[0] if len(out) == 1 else Add(tuple(out))
    return e


def _split_coefficient(e: IExpr) -> tuple[Fraction, IExpr]:
    if isinstance(e, Num) and not isinstance(e.value, float):
        return Fraction(e.value), ONE
    if isinstance(e, Mul) and e.factors and isinstance(e.factors[0], Num) \
            and not isinstance(e.factors[0].value, float):
        rest = e.factors[1:]
        return Fraction(e.factors[0].value), (rest[0] if len(rest) == 1 else Mul(rest))
    return Fraction(1), e


def _indices_of(e: IExpr) -> set[str]:
    if isinstance(e, (Entry, Opaque)):
        return {ix.name for ix in e.indices}
    if isinstance(e, Delta):
        return {e.i.name, e.j.name}
    if isinstance(e, Sum):
        return {e.index.name} | _indices_of(e.body)
    if isinstance(e, (Add, Mul)):
        parts = e.terms if isinstance(e, Add) else e.factors
        return set().union(*(_indices_of(p) for p in parts)) if parts else set()
    if isinstance(e, Pow):
        return _indices_of(e.base) | _indices_of(e.exp)
    if isinstance(e, Func):
        return _indices_of(e.arg)
    return set()


def _free(e: IExpr) -> set[str]:
    """The free (unsummed) index names of e."""
    if isinstance(e, (Entry, Opaque)):
        return {ix.name for ix in e.indices}
    if isinstance(e, Delta):
        return {e.i.name, e.j.name}
    if isinstance(e, Sum):
        return _free(e.body) - {e.index.name}
    if isinstance(e, (Add, Mul)):
        parts = e.terms if isinstance(e, Add) else e.factors
        return set().union(*(_free(p) for p in parts)) if parts else set()
    if isinstance(e, Pow):
        return _free(e.base) | _free(e.exp)
    if isinstance(e, Func):
        return _free(e.arg)
    return set()


def _match(pattern: IExpr, term: IExpr, binding: dict) -> bool:
    """Does term equal pattern with its free indices renamed (recording the renaming)?"""
    if type(pattern) is not type(term):
        return False
    if isinstance(pattern, Entry):
        if pattern.name != term.name or len(pattern.indices) != len(term.indices):
            return False
        for a, b in zip(pattern.indices, term.indices):
            if binding.setdefault(a, b) != b:
                return False
        return True
    if isinstance(pattern, Func):
        return pattern.name == term.name and _match(pattern.arg, term.arg, binding)
    if isinstance(pattern, (Mul, Add)):
        ps = pattern.factors if isinstance(pattern, Mul) else pattern.terms
        ts = term.factors if isinstance(term, Mul) else term.terms
        return len(ps) == len(ts) and all(_match(p, t, binding) for p, t in zip(ps, ts))
    if isinstance(pattern, Sum):
        binding[pattern.index] = term.index
        return _match(pattern.body, term.body, binding)
    return pattern == term


def fold(e: IExpr, name: str, indices: tuple[Index, ...], definition: IExpr) -> IExpr:
    """Write a named intermediate's definition back as its entry.

    ``definition`` is ``name_indices`` in index notation.  A plain definition
    (``tanh(Z_ij)``) is replaced where it occurs; a quotient ``f / g``
    (``exp(Z_ij) / Σ_k exp(Z_ik)``) by putting ``f = name · g`` and letting the
    powers of ``g`` cancel (:func:`collect`)."""
    factors = definition.factors if isinstance(definition, Mul) else (definition,)
    numer = [f for f in factors if not (isinstance(f, Pow) and isinstance(f.exp, Num) and f.exp.value < 0)]
    denom = [f for f in factors if f not in numer]
    if len(numer) != 1:
        return e
    pattern = numer[0]
    taken = _indices_of(e)

    def replace(t: IExpr) -> IExpr:
        for d in denom:               # g itself stays whole, so that f/g -> name · g/g cancels
            if _match(d.base, t, {}):
                return t
        binding: dict = {}
        if _match(pattern, t, binding):
            entry = Entry(name, tuple(binding.get(ix, ix) for ix in indices))
            extra = []
            for d in denom:
                g = d.base
                for old in indices:
                    g = rename(g, old, binding.get(old, old))
                extra.append(_freshen(g, taken) if not isinstance(g, Entry) else g)
            return Mul((entry, *extra)) if extra else entry
        if isinstance(t, Sum):
            return Sum(t.index, replace(t.body))
        if isinstance(t, Add):
            return Add(tuple(replace(u) for u in t.terms))
        if isinstance(t, Mul):
            return Mul(tuple(replace(u) for u in t.factors))
        if isinstance(t, Pow):
            return Pow(replace(t.base), replace(t.exp))
        if isinstance(t, Func):
            return Func(t.name, replace(t.arg))
        return t

    return collect(contract(replace(e)))


def _freshen(e: IExpr, taken: set[str]) -> IExpr:
    """Rename bound indices of e away from ``taken``."""
    if isinstance(e, Sum):
        n = 0
        while f"{e.index.name}{n or ''}" in taken:
            n += 1
        new = Index(f"{e.index.name}{n or ''}", e.index.dim)
        taken.add(new.name)
        return Sum(new, _freshen(rename(e.body, e.index, new), taken))
    return e
