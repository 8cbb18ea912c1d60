"""Shape operations: ``reshape(A, (p, q))``, ``vec(A)``, ``X[i]``, ``X[:, j]``, ``X[a:b, :]``,
``commutation(m, n)``.

Each entry of their result is one entry of the argument, so each is linear; but index
notation has no arithmetic on indices (``reshape(A, (p, q))_ij = A_(iq+j) // m, (iq+j) % m``),
so their index definitions contract the argument with a constant selection tensor ``S``,
an opaque entry whose derivative is 0::

    reshape(A, (p, q))_ij = Σ_a Σ_b S_ijab A_ab      S = reshape(eye(n*m), (p, q, n, m))
    X[a:b, j]_r           = Σ_k Σ_l E_rk X_kl e_l    E = eye(n)[a:b], e = eye(m)[j]

Their adjoints put the adjoint back: ``reshape(G, (n, m))``, ``reshape(g, (m, n)).T`` for
``vec``, ``eye(n)[a:b].T @ G`` for a slice.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..index import nodes as I
from ..matrix import build as B
from ..shapes import (ShapeMismatch, dim_add, dim_poly, dim_product, dim_size, known, same_size, shape_size, show,
                      size_value, worth)
from ..registry import PREC_POSTFIX, Op, register

SHAPE = "shape"
AT = "at"


# -- reshape ------------------------------------------------------------------------

def _reshape_shape(shapes, attrs):
    (s,), target = shapes, attrs.get(SHAPE)
    if not isinstance(target, tuple) or not 1 <= len(target) <= 4:
        raise ShapeMismatch("reshape needs the new shape as a tuple of dimensions, e.g. reshape(A, (p, q))",
                            "write reshape(A, (n*m,)) for a vector")
    if not s:
        raise ShapeMismatch("reshape needs a vector or a matrix, not a scalar", "write x * ones(n) to repeat it")
    if not same_size(s, target):
        raise ShapeMismatch(f"reshape cannot make {show(target)} of {show(s)}: {worth(shape_size(target))} "
                            f"entries and {worth(shape_size(s))} differ",
                            f"the new shape must hold as many entries as the old: ({', '.join(map(str, s))}"
                            f"{',' if len(s) == 1 else ''}) holds {shape_size(s)}")
    return tuple(target)


def _value(d, sizes, default=None):
    try:
        return dim_size(d, sizes)
    except KeyError:
        return default


def reshape(a, shape):
    """numpy's reshape; the sizes of the names from the evaluator (:func:`matcalc.shapes.known_sizes`),
    one left to numpy (-1) where they are not known."""
    return np.reshape(a, tuple(_value(d, known() or {}, -1) for d in shape))


def _tuple_text(dims, numpy: bool = False) -> str:
    texts = [" * ".join(str(d).split("*")) if numpy else str(d) for d in dims]
    return "(" + ", ".join(texts) + ("," if len(texts) == 1 else "") + ")"


def _reshape_fields(node, target):
    dims = node.attr(SHAPE)
    if target == "numpy":
        return {SHAPE: _tuple_text(dims, True)[1:-1].rstrip(",")}
    if target == "latex":       # (mn, pq): a product of letters juxtaposed, as K_{mn}
        return {SHAPE: _tuple_text([str(d).replace("*", "" if all(len(f) == 1 for f in str(d).split("*"))
                                                   else " \\cdot ") for d in dims])}
    return {SHAPE: _tuple_text(dims, target not in ("text", "unicode"))}


def _selection(node, args, idx, pool, order=None):
    """``Σ_a Σ_b S_(idx)ab A_ab`` with ``S = reshape(eye(N), out + in)``, the argument's
    indices in ``order`` (``vec`` takes them transposed)."""
    arg = node.args[0]
    inner = tuple(reversed(arg.shape)) if order == "reversed" else arg.shape
    axes = [k for k, d in enumerate(inner) if d != 1]
    if [d for d in node.shape if d != 1] == [inner[k] for k in axes]:
        # only axes of size 1 come or go (reshape(x, (n, 1)), vec of a [1, n] row): entry for entry
        at = [I.UNIT] * len(inner)
        for k, ix in zip(axes, [ix for ix, d in zip(idx, node.shape) if d != 1]):
            at[k] = ix
        return args[0](tuple(reversed(at)) if order == "reversed" else tuple(at))
    fresh = [pool.fresh(d) for d in arg.shape]
    selector = ir.apply("reshape", [B.eye(shape_size(arg.shape))], {SHAPE: tuple(node.shape) + tuple(inner)})
    at = tuple(reversed(fresh)) if order == "reversed" else tuple(fresh)
    body: I.IExpr = I.Mul((I.Opaque(selector, tuple(idx) + at, "S"), args[0](tuple(fresh))))
    for ix in reversed(fresh):
        body = I.Sum(ix, body)
    return body


def _vjp_reshape(g, node):
    """reshape(A, s) : G = A : reshape(G, shape of A)."""
    return (ir.apply("reshape", [g], {SHAPE: tuple(node.args[0].shape)}),)


register(Op("reshape", "call", 1, _reshape_shape, params=(SHAPE,), language="reshape({0}, {shape})",
            fields=_reshape_fields, numpy="{0}.reshape({shape})", array_api="xp.reshape({0}, {shape})",
            latex="\\operatorname{{reshape}}\\left({0}, {shape}\\right)", unicode="reshape({0}, {shape})",
            doc="numpy's row-major reshape: reshape(A, (p, q))", vjp=_vjp_reshape,
            fn=reshape, index=_selection, keeps_nonnegative=True,
            samples={SHAPE: (("m", "n"), ("n", 1), (1, "n"), ("n",), ("m",))}))


# -- vec ----------------------------------------------------------------------------

def _vec_shape(shapes, attrs):
    (s,) = shapes
    if not s:
        raise ShapeMismatch("vec needs a vector or a matrix, not a scalar")
    return (shape_size(s),)


def _index_vec(node, args, idx, pool):
    """vec(A)_r = A_(r % n),(r // n): the columns stacked (a vector is its own vec)."""
    if node.args[0].rank == 1:
        return args[0](tuple(idx))
    return _selection(node, args, idx, pool, order="reversed")


def _vjp_vec(g, node):
    """vec(A) : g = A : reshape(g, (m, n)).T for A [n, m]; a vector's vec is itself."""
    a = node.args[0]
    if a.rank == 1:
        return (g,)
    return (B.T(ir.apply("reshape", [g], {SHAPE: (a.shape[1], a.shape[0])})),)


def _vec_fields(node, target):
    transpose = node.args[0].rank == 2
    if target == "numpy":
        return {"t": ".T" if transpose else ""}
    return {"t": ".T" if transpose else ""}      # .T: the standard's 2-D transpose (Dask has no .mT)


register(Op("vec", "call", 1, _vec_shape, fields=_vec_fields, language="vec({0})",
            numpy="{0}{t}.reshape(-1)", array_api="xp.reshape({0}{t}, (-1,))",
            latex="\\operatorname{{vec}}({0})", unicode="vec({0})",
            doc="the columns stacked: vec(A) = reshape(A.T, (m*n,)) for A [n, m]", vjp=_vjp_vec,
            fn=lambda a: np.ravel(a, order="F"), index=_index_vec, keeps_nonnegative=True))


# -- commutation ----------------------------------------------------------------------

def commutation(sizes):
    """K_mn: K_mn @ vec(A) = vec(A.T) for A [m, n] (Magnus and Neudecker)."""
    m, n = sizes[0], sizes[-1]
    k = np.zeros((m * n, m * n))
    i, j = np.divmod(np.arange(m * n), n)          # row i*n + j holds A_ij of vec(A.T)
    k[i * n + j, j * m + i] = 1.0
    return k


HELPERS = {"_commutation": '''def _commutation(m, n=None):
    """K_mn: K_mn @ vec(A) = vec(A.T) for A [m, n]; a product with it is a transpose."""
    n = m if n is None else n
    k = np.zeros((m * n, m * n))
    i, j = np.divmod(np.arange(m * n), n)
    k[i * n + j, j * m + i] = 1.0
    return k'''}


def _commutation_shape(shapes, attrs):
    dims = attrs["dims"]
    if len(dims) not in (1, 2):
        raise ShapeMismatch(f"commutation takes one or two dimensions, got {len(dims)}",
                            "write commutation(m, n), or commutation(n) for K_nn")
    size = dim_product(dims[0], dims[-1])
    return (size, size)


_SUBSCRIPT = dict(zip("0123456789aehijklmnoprstuvx",
                      "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))     # the letters unicode has subscripts for


def _dim_print(dim, target: str) -> str:
    """``m*n`` as printed in a subscript: ``mn``, or ``p \\cdot q2`` (``p·q2``) where a factor
    is longer than one letter."""
    factors = str(dim).split("*")
    glue = "" if all(len(f) == 1 for f in factors) else " \\cdot " if target == "latex" else "·"
    return glue.join(factors)


def dim_subscript(dims, target: str) -> str:
    """Dimensions as a subscript: ``_{mn}`` (LaTeX) or ``ₘₙ`` (unicode) for ``(m, n)`` or
    ``(m*n,)``; ``_{mn,k}`` where one is longer than a letter (``K_{mn,k}``, not ``K_{mnk}``)."""
    texts = [_dim_print(d, target) for d in dims]
    text = ("" if all(len(str(d)) == 1 for d in dims) else ",").join(texts)
    if target == "latex":
        return "_{" + text + "}"
    return "".join(_SUBSCRIPT[c] for c in text) if all(c in _SUBSCRIPT for c in text) else "_" + text


def _commutation_fields(node, target):
    """``K_{mn}`` in LaTeX (``Kₘₙ`` in unicode); ``m``, ``n`` for the array-API template."""
    dims = [str(d) for d in node.attr("dims")]
    dims = dims * 2 if len(dims) == 1 else dims       # K_n is K_nn
    if target in ("latex", "unicode"):
        return {"mn": dim_subscript(dims, target)}
    if target == "text":
        return {"mn": "".join(dims) if all(len(d) == 1 for d in dims) else ",".join(dims)}
    m, n = (" * ".join(d.split("*")) if "*" in d else d for d in dims)
    return {"m": f"({m})" if "*" in m else m, "n": f"({n})" if "*" in n else n}


register(Op("commutation", "call", 0, _commutation_shape, dim_args=True, numpy="_commutation{dims}",
            array_api="xp.reshape(xp.permute_dims(xp.reshape(xp.eye({m} * {n}, dtype={like}.dtype, "
                      "device=device({like})), ({m} * {n}, {n}, {m})), (0, 2, 1)), ({m} * {n}, {m} * {n})).T",
            latex="K{mn}", unicode="K{mn}", fields=_commutation_fields, range="nonnegative",
            doc="the commutation matrix K_mn: K_mn @ vec(A) = vec(A.T) for A [m, n]",
            fn=commutation, helpers=HELPERS, samples={"dims": (("n", 1), ("m", 1))},
            index=lambda node, args, idx, pool: I.Opaque(node, tuple(idx), "K")))


# -- indexing and slicing ---------------------------------------------------------------

def _bound_text(d) -> str:
    return str(d)


def at_text(at, shape) -> str:
    """``(("slice", 0, "n"), ("index", 0))`` on ``[n, m]`` → ``":, 0"``; trailing full slices dropped."""
    parts = []
    for item, dim in zip(at, shape):
        if item[0] == "index":
            parts.append(_bound_text(item[1]))
        else:
            lo, hi = item[1], item[2]
            full = dim_poly(hi) == dim_poly(dim)
            parts.append((":" if lo == 0 else f"{lo}:") + ("" if full else _bound_text(hi)))
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return ", ".join(parts)


def _at_most(small, big) -> bool | None:
    """small <= big as dimensions (each name at least 1): by the polynomial where its sign
    shows (n - 1 >= 0 always), else by the sizes the parser knows; None when it cannot tell."""
    diff = dim_poly(dim_add(big, small, -1))
    names = [c for k, c in diff.items() if k]
    least = sum(names) + diff.get((), 0)
    if all(c >= 0 for c in names) and least >= 0:
        return True
    if all(c <= 0 for c in names) and least < 0:
        return False
    a, b = size_value(small), size_value(big)
    return None if a is None or b is None else a <= b


def _check_bound(ok, message, dim, axis):
    if ok is None:
        raise ShapeMismatch(f"{message}: cannot tell without the sizes of the dimensions")
    if not ok:
        raise ShapeMismatch(message, f"axis {axis} has {worth(dim)} entries: indices 0 to {dim_add(dim, 1, -1)}")


def _index_shape(shapes, attrs):
    (s,), at = shapes, attrs.get(AT)
    if not s:
        raise ShapeMismatch("a scalar cannot be indexed")
    if not isinstance(at, tuple) or len(at) > len(s):
        raise ShapeMismatch(f"too many indices for {show(s)}: {len(at or ())}", "a matrix takes X[i, j], a vector x[i]")
    out = []
    for axis, (item, dim) in enumerate(zip(at, s)):
        if item[0] == "index":
            i = item[1]
            _check_bound(_at_most(0, i) and _at_most(dim_add(i, 1), dim), f"index {i} is out of range for "
                         f"axis {axis} of {show(s)}", dim, axis)
            continue
        lo, hi = item[1], item[2]
        _check_bound(_at_most(0, lo), f"the slice {lo}:{hi} starts before axis {axis} of {show(s)}", dim, axis)
        _check_bound(_at_most(hi, dim), f"the slice {lo}:{hi} runs past the end of axis {axis} of {show(s)}",
                     dim, axis)
        _check_bound(_at_most(dim_add(lo, 1), hi), f"the slice {lo}:{hi} of axis {axis} is empty", dim, axis)
        out.append(dim_add(hi, lo, -1))
    return tuple(out) + tuple(s[len(at):])


def _normalize_at(shapes, attrs):
    """Full slices for the axes not written (X[0] is X[0, :]), a slice's missing end the
    axis's end, negative integers from the end (x[-1] is x[n-1])."""
    (s,), at = shapes, attrs.get(AT)
    if not isinstance(at, tuple) or not s or len(at) > len(s):
        return attrs
    fixed = []
    for item, dim in zip(at, s):
        nums = [dim if v is None else dim_add(dim, v) if isinstance(v, int) and v < 0 else v for v in item[1:]]
        fixed.append((item[0], *nums))
    fixed += [("slice", 0, dim) for dim in s[len(at):]]
    return {AT: tuple(fixed)}


def _selector(dim, item):
    """eye(n)[i] (the unit vector e_i) or eye(n)[a:b] (rows a to b-1 of the identity)."""
    return ir.apply("getitem", [B.eye(dim)], {AT: (item,)})


def _full(item, dim) -> bool:
    return item[0] == "slice" and item[1] == 0 and dim_poly(item[2]) == dim_poly(dim)


def _index_getitem(node, args, idx, pool):
    """X[R, C]_rc = Σ_k Σ_l (E_R)_rk X_kl (E_C)_cl, E = eye(n)[R]; a full slice is the index itself."""
    arg = node.args[0]
    out = list(idx)
    inner, factors, summed = [], [], []
    for item, dim in zip(node.attr(AT), arg.shape):
        if _full(item, dim):
            inner.append(out.pop(0))
            continue
        k = pool.fresh(dim)
        inner.append(k)
        summed.append(k)
        sel = _selector(dim, item)
        label = f"eye({dim})[{at_text((item,), (dim,))}]"
        factors.append(I.Opaque(sel, ((out.pop(0),) if item[0] == "slice" else ()) + (k,), label))
    body: I.IExpr = I.Mul(tuple(factors) + (args[0](tuple(inner)),))
    for k in reversed(summed):
        body = I.Sum(k, body)
    return body


def _vjp_getitem(g, node):
    """The adjoint placed back: X̄ = E_Rᵀ G E_C (eye(n)[a:b].T @ G, outer(g, eye(m)[j]), ...)."""
    arg = node.args[0]
    at = node.attr(AT)
    if arg.rank == 1:
        sel = _selector(arg.shape[0], at[0])
        return (B.matmul(B.T(sel), g) if at[0][0] == "slice" else B.mul(g, sel),)
    (ri, ci), (n, m) = at, arg.shape
    rows = None if _full(ri, n) else _selector(n, ri)
    cols = None if _full(ci, m) else _selector(m, ci)
    if ri[0] == "index" and ci[0] == "index":
        return (B.mul(g, B.outer(rows, cols)),)
    if ri[0] == "index":
        return (B.outer(rows, g if cols is None else B.matmul(B.T(cols), g)),)
    if ci[0] == "index":
        return (B.outer(g if rows is None else B.matmul(B.T(rows), g), cols),)
    out = g if rows is None else B.matmul(B.T(rows), g)
    return (out if cols is None else B.matmul(out, cols),)


def _getitem_fields(node, target):
    return {AT: at_text(node.attr(AT), node.args[0].shape)}


def getitem(a, at):
    sizes = known() or {}
    key = tuple(dim_size(x[1], sizes) if x[0] == "index" else slice(dim_size(x[1], sizes), dim_size(x[2], sizes))
                for x in at)
    return np.asarray(a)[key]


register(Op("getitem", "subscript", 1, _index_shape, spelling="[", params=(AT,), normalize=_normalize_at,
            precedence=PREC_POSTFIX, language="{0:atom}[{at}]", fields=_getitem_fields,
            numpy="{0}[{at}]", array_api="{0}[{at}]", latex="{0:atom}[{at}]", unicode="{0:atom}[{at}]",
            doc="indexing and slicing: X[i], X[:, j], X[a:b, :], x[a:b]", vjp=_vjp_getitem,
            fn=getitem, index=_index_getitem, keeps_nonnegative=True,
            samples={AT: ((("index", 0),), (("slice", 1, "n"),), (("slice", 0, "n"), ("index", 0)),
                          (("index", -1),), (("slice", 0, 1),))}))
