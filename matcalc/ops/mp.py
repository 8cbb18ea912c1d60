"""High-precision arithmetic for the records' ``mp`` implementations.

An operation's ``mp`` computes on numpy object arrays of ``mpmath.mpf``
numbers at :data:`DPS` significant digits; it is the reference the stability
probe compares emitted float64 code with.  numpy's object loops already do
``+ - * @ .T sum mean trace diag outer dot kron`` on such arrays, so only the
operations whose numpy form calls float-only code carry an ``mp`` of their own.
Results leave the reals as NaN (``log(-1)``), and a division by zero is an
infinity, as in float64.

>>> import numpy as np
>>> with precision():
...     x = as_mp(np.array([1e8]))
...     y = (x * x + 1) - x * x      # float64 loses the 1
>>> float(y[0])
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import mpmath
import numpy as np
import sympy

DPS = 60
NAN = mpmath.mpf("nan")


@contextmanager
def precision(dps: int = DPS):
    with mpmath.workdps(dps):
        yield


def real(x):
    """``x`` as a real mpf: a complex result with an imaginary part is NaN."""
    if isinstance(x, mpmath.mpc):
        return x.real if x.imag == 0 else NAN
    return x if isinstance(x, mpmath.mpf) else mpmath.mpf(x)


def as_mp(a) -> np.ndarray:
    """A float array (or number) as an object array of mpf, exactly."""
    arr = np.asarray(a)
    if arr.dtype == object:
        return arr
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = mpmath.mpf(float(v))
    return out


def to_float(a) -> np.ndarray:
    """An object array of mpf rounded to float64 (NaN where not real)."""
    arr = np.asarray(a, dtype=object)
    out = np.empty(arr.shape, dtype=float)
    for idx, v in np.ndenumerate(arr):
        v = real(v)
        out[idx] = float(v)
    return out


def elementwise(fn: Callable, nargs: int = 1) -> Callable:
    """A scalar mpmath function applied entry by entry (with broadcasting)."""
    ufunc = np.frompyfunc(lambda *xs: real(fn(*(real(x) for x in xs))), nargs, 1)

    def apply(*arrays):
        return np.asarray(ufunc(*(as_mp(a) for a in arrays)), dtype=object)
    return apply


def _div(a, b):
    if b == 0:
        return NAN if a == 0 or mpmath.isnan(a) else mpmath.inf * mpmath.sign(a)
    return a / b


def _pow(a, b):
    if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
        try:
            return a ** b
        except (ZeroDivisionError, ValueError):
            return NAN
    if abs(b) > 1e4 and a != 0:    # (mpmath's exact integer powers would take forever)
        magnitude = _exp(b * mpmath.log(abs(a)))
        if a > 0:
            return magnitude
        if abs(b) > 1e18:          # an even integer to any precision float64 has
            return magnitude
        return (magnitude if int(b) % 2 == 0 else -magnitude) if mpmath.isint(b) else NAN
    try:
        return a ** b
    except ZeroDivisionError:      # 0 ** -1
        return mpmath.inf


divide = elementwise(_div, 2)
power = elementwise(_pow, 2)

def _periodic(fn):
    """sin, cos: unknown (NaN) past 1e18, where a float's last place spans many periods
    (and mpmath would need thousands of digits of pi to reduce the argument)."""
    return lambda x: fn(x) if abs(x) < 1e18 else NAN


def _exp(x):
    """exp, with arguments far past float range cut short (mpmath would compute ln 2
    to thousands of digits to reduce them)."""
    if x > 1e6:
        return mpmath.inf
    if x < -1e6:
        return mpmath.mpf(0)
    return mpmath.exp(x)


def _tanh(x):
    return mpmath.tanh(x) if abs(x) < 1e3 else mpmath.sign(x)   # (1 to 60 digits already at 70)


# sympy functions by class name -> mpmath (the scalar definitions of elementwise ops use these)
_FUNCS = {"exp": _exp, "log": lambda x: mpmath.log(x) if x > 0 else (-mpmath.inf if x == 0 else NAN),
          "sin": _periodic(mpmath.sin), "cos": _periodic(mpmath.cos), "tanh": _tanh,
          "Abs": mpmath.fabs, "sign": mpmath.sign, "erf": mpmath.erf, "erfc": lambda x: _erfc(x)}


def _erfc(x):
    """mpmath.erfc, and past |x| = 1e50 (where mpmath's own series check overflows a
    float) its asymptotic form e^(-x²)/(x √π) (for x < 0: 2 minus it)."""
    if abs(x) < mpmath.mpf("1e50"):
        return mpmath.erfc(x)
    tail = mpmath.exp(-x * x) / (abs(x) * mpmath.sqrt(mpmath.pi))
    return tail if x > 0 else 2 - tail


def scalar(definition: sympy.Expr, *symbols: sympy.Symbol) -> Callable:
    """The sympy scalar function ``definition`` of ``symbols`` as an mpmath
    function of as many numbers; a function with a ``formula`` (the elementwise
    ops' own sympy functions) is evaluated by its formula."""
    def go(e):
        if e in symbols:
            k = symbols.index(e)
            return lambda v: v[k]
        if e.is_Number:
            value = mpmath.mpf(int(e.p)) / int(e.q) if e.is_Rational else mpmath.mpf(float(e))
            return lambda v: value
        if hasattr(type(e), "formula"):
            return go(type(e).formula(*e.args))
        args = [go(a) for a in e.args]
        if e.is_Add:
            return lambda v: mpmath.fsum(f(v) for f in args)
        if e.is_Mul:
            return lambda v: mpmath.fprod(f(v) for f in args)
        if e.is_Pow:
            base, exp = args
            return lambda v: _pow(base(v), exp(v))
        name = type(e).__name__
        if name == "Max":
            return lambda v: max(f(v) for f in args)
        if name == "Heaviside":            # Heaviside(x, h0): h0 at 0
            at_zero = mpmath.mpf(float(e.args[1])) if len(e.args) > 1 else mpmath.mpf(0)
            return lambda v: mpmath.mpf(1) if args[0](v) > 0 else (at_zero if args[0](v) == 0 else mpmath.mpf(0))
        fn = _FUNCS[name]
        return lambda v: fn(args[0](v))
    top = go(definition)
    return lambda *values: top(values)


def _matrix(a) -> mpmath.matrix:
    return mpmath.matrix(as_mp(a).tolist())


def _finite(a) -> bool:
    return all(mpmath.isfinite(v) for v in as_mp(a).ravel())


def inv(a) -> np.ndarray:
    """The inverse; NaN where there is none (singular, or entries that are not finite)."""
    if not _finite(a):
        return np.full(np.shape(a), NAN, dtype=object)
    try:
        m = _matrix(a) ** -1
    except ZeroDivisionError:
        return np.full(np.shape(a), NAN, dtype=object)
    return np.array(m.tolist(), dtype=object).reshape(np.shape(a))


def det(a):
    return mpmath.det(_matrix(a)) if _finite(a) else NAN


def logdet(a):
    """log det a: NaN where det a < 0 (as numpy's, see matcalc.ops.linalg.logdet)."""
    d = det(a)
    if mpmath.isnan(d) or d < 0:
        return NAN
    return mpmath.log(d) if d != 0 else -mpmath.inf


exp = elementwise(_exp)
log = elementwise(_FUNCS["log"])


def norm(a, ord=None):
    a = as_mp(a)
    return mpmath.sqrt(mpmath.fsum(v * v for v in a.ravel()))


def logsumexp(a, axis, keepdims=False):
    return log(np.sum(exp(a), axis=axis, keepdims=keepdims))


def log_softmax(a, axis):
    return as_mp(a) - np.expand_dims(logsumexp(a, axis), axis)


def softmax(a, axis):
    e = exp(a)
    return divide(e, np.sum(e, axis=axis, keepdims=True))
