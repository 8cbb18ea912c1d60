"""Array-API spellings of the operations: what ``emit_module(d, target="array-api")`` prints.

Each call operation's record carries its template (``OPS[name].array_api``)
beside its numpy template (``OPS[name].numpy``); a test checks that the two tables cover
the same operations and agree on numbers.  Operators (``+ - * / ** @ .T``) are
part of the standard and print the same for every target.

``xp`` is the caller's namespace, from ``array_api_compat.array_namespace`` at
the top of each generated function, so one module runs on numpy, CuPy,
PyTorch, JAX and Dask arrays.  What the standard lacks is the small
compatibility layer below (:data:`HELPERS`), copied into a generated module
only when it uses it:

=================  =========================================================
numpy              array-API module
=================  =========================================================
``logaddexp(0,x)`` ``_softplus``: ``clip(x, min=0) + log1p(exp(-|x|))``
``heaviside(x,0)`` ``_step``: ``astype(x > 0, x.dtype)``
``maximum(x, 0)``  ``clip(x, min=0.0)``
``diag``           ``_diag``: a vector's diagonal matrix by broadcasting
                   against ``eye``; a matrix's diagonal by ``linalg.diagonal``
``trace``          ``_trace``: ``sum(_diag(A))``
``outer``          ``_outer``: ``x[:, None] * y[None, :]``
``kron``           ``_kron``: ``xp.kron`` where present, else broadcast + reshape
``a.reshape`` of   ``_reshape``: ``xp.reshape``, a Dask array gathered into one
a Kronecker rule   chunk first (see :mod:`matcalc.ops.kron_code`)
``inv``, ``det``,  ``_inv``, ``_solve``, ``_det``, ``_logdet``: ``xp.linalg``
                   (``_logdet`` NaN where det < 0, like numpy's ``_logdet``);
``solve``,         for Dask (no det or slogdet; inv and solve that need square
``slogdet``        chunks and scipy) the small parameter matrices are gathered
                   whole into one task and numpy's is applied there
=================  =========================================================
"""

from __future__ import annotations

import re

# Each call operation's template is its record's ``array_api`` field: {0}, {1} the
# arguments; {axis}, {axis_kw} as in the numpy templates; {dims} the shape of a
# constant and {like} an argument whose dtype and device the constant takes (numpy's
# ones/eye would land on the CPU).

# Every generated function starts with ``xp, (A, B, ...) = _inputs(A, B, ...)``.
INPUTS = '''def _inputs(*args):
    """The caller's array namespace, and the arguments as its arrays of one floating dtype.

    Numpy arrays beside arrays of another library (a small numpy W next to a dask
    X) become arrays of that library on the same device; integer arrays become
    floating.  Python numbers stay numbers (they take the arrays' dtype), unless
    there are no arrays at all: then numpy.
    """
    arrays = [a for a in args if type(a) not in (int, float)]
    key = frozenset((type(a), a.dtype) for a in arrays)
    if key not in _KNOWN:
        _KNOWN[key] = _namespace_of(arrays)
    xp, kinds, dtype = _KNOWN[key]
    out = []
    for a in args:
        if type(a) in (int, float):
            a = a if arrays else xp.asarray(a, dtype=dtype)
        elif type(a) not in kinds:
            a = xp.asarray(a, dtype=dtype, device=device(next(b for b in arrays if type(b) in kinds)))
        elif a.dtype != dtype:
            a = xp.astype(a, dtype)
        out.append(a)
    return xp, out


def _namespace_of(arrays):
    """(namespace, the array types that are its own, floating dtype) of the arguments."""
    own = [a for a in arrays if not is_numpy_array(a)] or arrays or [_numpy().asarray(0.0)]
    xp = array_namespace(*own)
    floating = [a.dtype for a in own if xp.isdtype(a.dtype, "real floating")]
    dtype = xp.result_type(*floating) if floating else xp.asarray(0.0).dtype
    return xp, frozenset(type(a) for a in own), dtype


# array_namespace takes tens of microseconds and depends only on the arguments'
# types and dtypes: remembered per combination
_KNOWN = {}


def _numpy():
    import numpy

    return numpy'''

HELPERS = {
    "_sigmoid": '''def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))''',
    "_softplus": '''def _softplus(xp, x):
    """log(1 + exp(x)) without overflow: numpy's logaddexp(0, x), spelled with
    functions every array library has."""
    return xp.clip(x, min=0.0) + xp.log1p(xp.exp(-xp.abs(x)))''',
    "_step": '''def _step(xp, x):
    """1 where x > 0, else 0 (numpy's heaviside(x, 0); not in the standard)."""
    return xp.astype(x > 0, x.dtype)''',
    "_softmax": '''def _softmax(xp, a, axis):
    """exp(a) / sum(exp(a)) along axis, without overflow."""
    e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)''',
    "_log_softmax": '''def _log_softmax(xp, a, axis):
    """log(softmax(a)) along axis, without overflow or log(0)."""
    z = a - xp.max(a, axis=axis, keepdims=True)
    return z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))''',
    "_logsumexp": '''def _logsumexp(xp, a, axis, keepdims=False):
    """log(sum(exp(a))) along axis, without overflow."""
    m = xp.max(a, axis=axis, keepdims=True)
    out = m + xp.log(xp.sum(xp.exp(a - m), axis=axis, keepdims=True))
    return out if keepdims else xp.squeeze(out, axis=axis)''',
    "_diag": '''def _diag(xp, a):
    """numpy's diag: a vector's diagonal matrix, or a square matrix's diagonal."""
    if a.ndim == 1:
        return a[:, None] * xp.eye(a.shape[0], dtype=a.dtype, device=device(a))
    diagonal = getattr(getattr(xp, "linalg", None), "diagonal", None)
    if diagonal is not None:
        return diagonal(a)
    return xp.sum(a * xp.eye(a.shape[0], dtype=a.dtype, device=device(a)), axis=1)''',
    "_trace": '''def _trace(xp, a):
    """Sum of the diagonal of a square matrix."""
    return xp.sum(_diag(xp, a))''',
    "_outer": '''def _outer(xp, x, y):
    """x y^T of two vectors, by broadcasting."""
    return x[:, None] * y[None, :]''',
    "_kron": '''def _kron(xp, a, b):
    """Kronecker product of two vectors or two matrices (a vector beside a matrix
    is a column): xp.kron where the library has it, else a broadcast product
    reshaped (entry (i p + k, j q + l) of A (x) B is A_ij B_kl for B of shape (p, q))."""
    if a.ndim != b.ndim:
        a = xp.reshape(a, (-1, 1)) if a.ndim == 1 else a
        b = xp.reshape(b, (-1, 1)) if b.ndim == 1 else b
    kron = getattr(xp, "kron", None)
    if kron is not None:
        return kron(a, b)
    if a.ndim == 1:
        return xp.reshape(a[:, None] * b[None, :], (a.shape[0] * b.shape[0],))
    blocks = a[:, None, :, None] * b[None, :, None, :]
    return xp.reshape(blocks, (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]))''',
    "_reshape": '''def _reshape(xp, a, shape):
    """xp.reshape, for the reshapes that stand for Kronecker and commutation
    products; a Dask array is gathered into one chunk first (Dask reshapes only
    along chunk boundaries)."""
    return xp.reshape(a.rechunk(-1) if _chunked(a) else a, shape)''',
    "_inv": '''def _inv(xp, a):
    """Matrix inverse (for dask: see _gathered)."""
    return _gathered("inv", a.shape, a) if _chunked(a) else xp.linalg.inv(a)''',
    "_solve": '''def _solve(xp, a, b):
    """inv(a) @ b without forming the inverse (for dask: see _gathered)."""
    return _gathered("solve", b.shape, a, b) if _chunked(a) else xp.linalg.solve(a, b)''',
    "_cholesky": '''def _cholesky(xp, a):
    """The lower Cholesky factor (for dask: see _gathered)."""
    return _gathered("cholesky", a.shape, a) if _chunked(a) else xp.linalg.cholesky(a)''',
    "_det": '''def _det(xp, a):
    """Determinant (for dask: see _gathered)."""
    return _gathered("det", (), a) if _chunked(a) else xp.linalg.det(a)''',
    "_logdet": '''def _logdet(xp, a):
    """log det a from slogdet, NaN where det a < 0 as log of a negative number
    (for dask: see _gathered)."""
    if _chunked(a):
        return _gathered("logdet", (), a)
    sign, logabsdet = xp.linalg.slogdet(a)
    return xp.where(sign < 0, xp.asarray(float("nan"), dtype=logabsdet.dtype, device=device(a)), logabsdet)''',
    "_gathered": '''def _chunked(a):
    return hasattr(a, "rechunk")


def _gathered(name, shape, *arrays):
    """numpy.linalg's inv, solve, det, log |det| or cholesky of dask arrays, each gathered
    whole into one task: dask has no det or slogdet, and its inv and solve need
    square chunks and scipy.  The matrices these take are parameters, small
    beside the data."""
    import dask
    import dask.array as da

    linalg = _numpy().linalg
    f = {"inv": linalg.inv, "solve": linalg.solve, "det": linalg.det, "logdet": _logdet_of_numpy,
         "cholesky": linalg.cholesky}[name]
    return da.from_delayed(dask.delayed(f)(*arrays), shape, dtype=arrays[0].dtype)


def _logdet_of_numpy(a):
    sign, logabsdet = _numpy().linalg.slogdet(a)
    return logabsdet if sign >= 0 else _numpy().float64("nan")''',
}

# helper -> the helpers its source calls
NEEDS = {"_trace": ("_diag",), "_reshape": ("_gathered",), "_inv": ("_gathered",), "_solve": ("_gathered",), "_det": ("_gathered",), "_cholesky": ("_gathered",),
         "_logdet": ("_gathered",)}

# inv(A) @ B is printed as a solve (see matcalc.codegen.Emitter._matmul)
SOLVE = "_solve(xp, {0}, {1})"

_CALL = re.compile(r"\b(_[a-z_]+)\(")


def helpers_of(template: str) -> set[str]:
    """The compatibility helpers a template calls, with the helpers those call.

    >>> sorted(helpers_of("_trace(xp, {0})"))
    ['_diag', '_trace']
    """
    out: set[str] = set()
    todo = [name for name in _CALL.findall(template) if name in HELPERS]
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(NEEDS.get(name, ()))
            todo.extend(n for n in _CALL.findall(HELPERS[name]) if n in HELPERS and n != name)
    return out
