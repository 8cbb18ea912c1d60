"""The emitted module's check of its arguments.

Without it a wrong argument gives a wrong answer, silently: ``W`` of shape
``(10, 1)`` where ``[m, k]`` is declared broadcasts into a ``(10, 5)``
"gradient", ``lam=None`` becomes NaN, a vector ``lam`` broadcasts.  So every
generated function starts with one call of ``_arguments``, which checks each
argument against its declared shape (numeric; scalars 0-d, vectors 1-d,
matrices 2-d; each dimension the same size in every argument) and raises a
``ValueError`` naming the function, the argument, its declared shape and what
was given.  It returns the arguments as float arrays (``np.asarray``: no copy
of a float64 array) and the dimensions' sizes, read off the shapes.

The check is one loop over the arguments, a few microseconds; the message is
built only when it fails (:data:`REFUSE`).  Names and shapes are printed with
``repr``, so nothing the user wrote becomes code.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import ir

# The declared shapes: (symbol, (dimension name or size, ...)) in the signature's order.
DECLARATIONS = '''# The declared shapes _arguments checks: (argument, (dimension, ...)), each dimension
# a name (the same size in every argument) or a number (also in _FIXED).
_DECLARED = {declared}
_FIXED = {fixed}'''

NUMPY = '''def _arguments(function, dims, *values):
    """The arguments as float64 arrays, each checked against its declared shape in
    _DECLARED, then the sizes of dims read off them.
    A wrong argument raises a ValueError naming it, rather than broadcasting into a
    wrong answer."""
    arrays, shapes, sizes = [], [], dict(_FIXED)
    for (name, declared), value in zip(_DECLARED, values):
        array = np.asarray(value)
        shapes.append(array.shape if array.dtype.kind in "biuf" else None)
        if shapes[-1] is None or array.ndim != len(declared):
            raise _refuse(function, values, shapes)
        for dim, size in zip(declared, array.shape):
            if sizes.setdefault(dim, size) != size:
                raise _refuse(function, values, shapes)
        arrays.append(array.astype(np.float64, copy=False))
    return (*arrays, *[sizes[dim] for dim in dims])'''

PORTABLE = '''def _arguments(function, dims, *values):
    """The caller's array namespace, the arguments as its arrays (see _inputs), each
    checked against its declared shape in _DECLARED, then the sizes of dims read off
    them.  A wrong argument raises a ValueError naming it,
    rather than broadcasting into a wrong answer."""
    shapes = []
    for value in values:
        numeric = type(value) in (int, float) or getattr(getattr(value, "dtype", None), "kind", "f") in "biuf"
        shapes.append(None if not numeric else () if type(value) in (int, float) else getattr(value, "shape", None))
        if shapes[-1] is None:
            raise _refuse(function, values, shapes)
    sizes = dict(_FIXED)
    for index, ((name, declared), shape) in enumerate(zip(_DECLARED, shapes)):
        if len(shape) != len(declared):
            raise _refuse(function, values, shapes[:index + 1])
        for dim, size in zip(declared, shape):
            if isinstance(size, int) and sizes.setdefault(dim, size) != size:   # (dask: NaN, not known)
                raise _refuse(function, values, shapes[:index + 1])
    xp, arrays = _inputs(*values)
    return (xp, *arrays, *[sizes.get(dim, float("nan")) for dim in dims])'''

REFUSE = '''def _refuse(function, values, shapes):
    """The ValueError for the last argument in shapes: which argument of which
    function, its declared shape, what was given, and where a size came from."""
    index = len(shapes) - 1
    name, declared = _DECLARED[index]
    wanted = "[" + ", ".join(str(dim) for dim in declared) + "]"
    where = f"{function}(): argument {name}"
    if shapes[index] is None:
        given = values[index]
        given = f"an array of dtype {given.dtype}" if hasattr(given, "dtype") else repr(given)[:60]
        return ValueError(f"{where} must be a number or an array of numbers (declared {wanted}), not {given}")
    shape = tuple(shapes[index])
    if len(shape) != len(declared):
        kind = ("a scalar (a number or a 0-d array)", "a 1-d array", "a 2-d array")[len(declared)]
        return ValueError(f"{where} has shape {shape}, but it is declared {wanted}: {kind}")
    seen = {}
    for (other, dims), got in zip(_DECLARED, shapes):
        for axis, (dim, size) in enumerate(zip(dims, got)):
            if not isinstance(size, int):
                continue                      # a lazy array's unknown size
            if isinstance(dim, int) and size != dim:
                return ValueError(f"{where} has shape {shape}, but it is declared {wanted}: "
                                  f"axis {axis} must have size {dim}")
            if isinstance(dim, str) and seen.setdefault(dim, (size, other, axis))[0] != size:
                want, source, at = seen[dim]
                source = "its" if source == name else f"{source}'s"
                return ValueError(f"{where} has shape {shape}, but it is declared {wanted}, "
                                  f"and {dim} = {want} (from {source} axis {at})")
    return ValueError(f"{where} has shape {shape}, but it is declared {wanted}")'''


def declarations(symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int]) -> str:
    """The module-level constants the helper reads: the declared shapes, in the
    signature's order, written with ``repr`` (names are identifiers, but no text
    of the user's is printed any other way)."""
    declared = tuple((name, tuple(sym.shape)) for name, sym in symbols.items())
    return DECLARATIONS.format(declared=repr(declared), fixed=repr({d: d for sym in symbols.values() for d in sym.shape
                                           if isinstance(d, int)}))


def carried(symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int]) -> tuple[str, ...]:
    """The dimensions some argument's shape carries, in the order of ``dims:``."""
    used = {d for sym in symbols.values() for d in sym.shape}
    return tuple(d for d in dims if d in used)


def helpers(portable: bool) -> list[str]:
    """The helper functions' source, for the numpy or the array-API module."""
    return [PORTABLE if portable else NUMPY, REFUSE]
