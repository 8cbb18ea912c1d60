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

The check costs a few microseconds a call; the message is built only when it
fails (:data:`REFUSE`).  Names and shapes are printed with ``repr``, so nothing
the user wrote becomes code.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import ir

# The declared shapes, in the signature's order (module-level constants of the module).
DECLARATIONS = '''# The declared shapes _arguments checks: (argument, (dimension, ...)), each dimension
# a name (the same size in every argument) or a number (also in _FIXED).
_DECLARED = {declared}
_FIXED = {fixed}
_NDIMS = [len(dims) for _, dims in _DECLARED]
_AXES = [dim for _, dims in _DECLARED for dim in dims]'''

# A module with a function that takes an argument besides the symbols (hvp_S's direction
# dS, shaped like S) also declares those functions' arguments, the symbols' first, and its
# helpers look the function's declarations up there (:func:`_extended`).
EXTENDED = '''# Functions that take an argument besides the symbols (a Hessian-vector product's direction):
# their declared shapes, the symbols' first.
_EXTENDED = {extended}
_LAYOUT = {{function: ([len(dims) for _, dims in declared], [dim for _, dims in declared for dim in dims])
           for function, declared in _EXTENDED.items()}}'''

# The check is a few list comprehensions over all the arguments at once (a loop
# with a test per axis costs microseconds a call); where it fails, _refuse goes
# through them one by one for the message.
NUMPY = '''def _arguments(function, dims, *values):
    """The arguments as float64 arrays, checked against their declared shapes in
    _DECLARED, then the sizes of dims read off them.  A wrong argument raises a
    ValueError naming it, rather than broadcasting into a wrong answer."""
    arrays = [np.asarray(value) for value in values]
    sizes = [size for array in arrays for size in array.shape]
    named = {**dict(zip(_AXES, sizes)), **_FIXED}
    if ([array.ndim for array in arrays] != _NDIMS or [named[dim] for dim in _AXES] != sizes
            or not {array.dtype.kind for array in arrays} <= set("biuf")):
        raise _refuse(function, values, [a.shape if a.dtype.kind in "biuf" else None for a in arrays])
    return (*[array.astype(np.float64, copy=False) for array in arrays], *[named[dim] for dim in dims])'''

PORTABLE = '''def _arguments(function, dims, *values):
    """The caller's array namespace, the arguments as its arrays (see _inputs),
    checked against their declared shapes in _DECLARED, then the sizes of dims read
    off them.  A wrong argument raises a ValueError naming it, rather than
    broadcasting into a wrong answer."""
    shapes = [() if type(value) in (int, float) else getattr(value, "shape", None)
              if getattr(getattr(value, "dtype", None), "kind", "f") in "biuf" else None for value in values]
    if None in shapes or [len(shape) for shape in shapes] != _NDIMS:
        raise _refuse(function, values, shapes)
    known = [(dim, size) for dim, size in zip(_AXES, [size for shape in shapes for size in shape])
             if isinstance(size, int)]                    # (a lazy array's unknown size is NaN)
    named = {**dict(known), **_FIXED}
    if any(named[dim] != size for dim, size in known):
        raise _refuse(function, values, shapes)
    xp, arrays = _inputs(*values)
    return (xp, *arrays, *[named.get(dim, float("nan")) for dim in dims])'''

REFUSE = '''def _refuse(function, values, shapes):
    """The ValueError for the first wrong argument (shapes[i] is None where values[i]
    is not numeric): which argument of which function, its declared shape, what was
    given, and for sizes that disagree, both arguments."""
    seen = {}
    for index, ((name, declared), shape) in enumerate(zip(_DECLARED, shapes)):
        wanted = "[" + ", ".join(str(dim) for dim in declared) + "]"
        where = f"{function}(): argument {name}"
        if shape is None:
            given = values[index]
            given = f"an array of dtype {given.dtype}" if hasattr(given, "dtype") else repr(given)[:60]
            return ValueError(f"{where} must be a number or an array of numbers (declared {wanted}), not {given}")
        shape = tuple(shape)
        if len(shape) != len(declared):
            kind = ("a scalar (a number or a 0-d array)", "a 1-d array", "a 2-d array")[len(declared)]
            return ValueError(f"{where} has shape {shape}, but it is declared {wanted}: {kind}")
        for axis, (dim, size) in enumerate(zip(declared, shape)):
            if not isinstance(size, int):
                continue                      # a lazy array's unknown size
            if isinstance(dim, int) and size != dim:
                return ValueError(f"{where} has shape {shape}, but it is declared {wanted}: "
                                  f"axis {axis} must have size {dim}")
            first, at = seen.setdefault(dim, (index, axis))
            if tuple(shapes[first])[at] != size:
                if first == index:
                    return ValueError(f"{where} has shape {shape}, but it is declared {wanted}: "
                                      f"axes {at} and {axis} are both {dim}")
                them, theirs = _DECLARED[first]
                return ValueError(f"{function}(): arguments {them} and {name} disagree on the size of {dim}: "
                                  f"{them} has shape {tuple(shapes[first])} (declared "
                                  f"[{', '.join(str(dim) for dim in theirs)}]), {name} has shape {shape} "
                                  f"(declared {wanted})")
    return ValueError(f"{function}(): the arguments do not have their declared shapes")'''


# Past this many symbols, a function takes ``**symbols`` and reads the ones it
# uses by position: a signature, a docstring and an unpacking of every argument
# in every function make a module of k functions grow as k² (2,000 symbols: 100 MB),
# and Python matches k keyword arguments against a signature in k² steps a call.
MANY = 32

VALUES = '''def _values(function, symbols):
    """The keyword arguments in _DECLARED's order; a missing or unknown one is a
    TypeError, as a signature would raise."""
    if len(symbols) != len(_DECLARED) or any(name not in symbols for name, _ in _DECLARED):
        missing = [name for name, _ in _DECLARED if name not in symbols]
        unknown = sorted(set(symbols) - {name for name, _ in _DECLARED})
        raise TypeError(f"{function}() " + (f"missing keyword arguments: {', '.join(missing)}" if missing
                                            else f"got unexpected keyword arguments: {', '.join(unknown)}"))
    return [symbols[name] for name, _ in _DECLARED]'''


def _extended(template: str, first: str, names: dict[str, str]) -> str:
    """``template`` reading a function's own declarations: the line ``first`` after the
    docstring, and each module constant in ``names`` replaced by the local it names."""
    end = template.index('"""', template.index('"""') + 3) + 3
    head, body = template[:end], template[end:]
    for constant, local in names.items():
        body = body.replace(constant, local)
    return head + "\n    " + first + body


NUMPY_EXTENDED = _extended(NUMPY, "ndims, axes = _LAYOUT.get(function, (_NDIMS, _AXES))",
                           {"_NDIMS": "ndims", "_AXES": "axes"})
PORTABLE_EXTENDED = _extended(PORTABLE, "ndims, axes = _LAYOUT.get(function, (_NDIMS, _AXES))",
                              {"_NDIMS": "ndims", "_AXES": "axes"})
REFUSE_EXTENDED = _extended(REFUSE, "declarations = _EXTENDED.get(function, _DECLARED)",
                            {"_DECLARED": "declarations"})
VALUES_EXTENDED = _extended(VALUES, "declared = _EXTENDED.get(function, _DECLARED)", {"_DECLARED": "declared"})


def many(symbols: Mapping[str, ir.Symbol]) -> bool:
    return len(symbols) > MANY


def declarations(symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int],
                 extra: Mapping[str, ir.Symbol] | None = None) -> str:
    """The module-level constants the helper reads: the declared shapes, in the
    signature's order, written with ``repr`` (names are identifiers, but no text
    of the user's is printed any other way); ``extra`` maps a function that takes
    one more argument (``hvp_W``) to it (the direction ``dW``)."""
    declared = tuple((name, tuple(sym.shape)) for name, sym in symbols.items())
    text = DECLARATIONS.format(declared=repr(declared), fixed=repr({d: d for sym in symbols.values() for d in sym.shape
                                                                  if isinstance(d, int)}))
    if not extra:
        return text
    extended = {function: declared + ((sym.name, tuple(sym.shape)),) for function, sym in extra.items()}
    return text + "\n" + EXTENDED.format(extended=repr(extended))


def carried(symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int]) -> tuple[str, ...]:
    """The dimensions some argument's shape carries, in the order of ``dims:``."""
    used = {d for sym in symbols.values() for d in sym.shape}
    return tuple(d for d in dims if d in used)


def helpers(portable: bool, by_name: bool = False, extended: bool = False) -> list[str]:
    """The helper functions' source, for the numpy or the array-API module
    (``by_name``: functions that take ``**symbols``, see :data:`MANY`; ``extended``:
    some function takes an argument besides the symbols, see :data:`EXTENDED`)."""
    if extended:
        return [PORTABLE_EXTENDED if portable else NUMPY_EXTENDED, REFUSE_EXTENDED] + \
            ([VALUES_EXTENDED] if by_name else [])
    return [PORTABLE if portable else NUMPY, REFUSE] + ([VALUES] if by_name else [])
