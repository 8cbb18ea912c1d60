"""``matcalc.derive``: an expr.yaml (path, text or dict), or an expression with keyword symbols.

>>> import matcalc
>>> d = matcalc.derive("x @ A @ x", x="[n]", A="[n, n] symmetric", wrt="x", verify=False)
>>> d.results["x"].text
'2 * A @ x'

The rule that tells an expression from a file: **the first argument is an expression
exactly when symbols are declared by keyword** (``x="[n]"``, or ``symbols={...}``).
Without them it is what it always was: a dict is the document, a ``Path`` or one line
with no ``key:`` in it is a file's path, anything else is YAML text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import MatcalcError, SpecError
from .inline import Inline, whole
from .pipeline import Derivation, Progress
from .pipeline import derive as _derive

DOCUMENT_KEYWORDS = ("wrt", "order", "dims", "let", "domain", "name", "mixed", "description")


def derive(source: Any, /, *, verify: bool = True, seed: int = 0, targets: tuple[str, ...] = ("numpy",),
           progress: Progress | None = None, symbols: dict[str, Any] | None = None,
           wrt: str | list[str] | None = None, order: int | None = None, dims: Any = None,
           let: dict[str, str] | None = None, domain: str | list[str] | None = None, name: str | None = None,
           mixed: bool | None = None, description: str | None = None,
           **declared: Any) -> Derivation | list[Derivation]:
    """Derive what an expr.yaml asks for, or an expression given with keyword symbols.

    ``source`` is a path, YAML text or a dict with the keys of expr.yaml, or, when
    symbols are declared by keyword, the expression: ``derive("trace(X.T @ A @ X)",
    X="[n, m]", A="[n, n] symmetric", wrt="X")``.  A symbol is ``"SHAPE PROPS"`` (the
    shape as in expr.yaml, then props), a shape list, or expr.yaml's mapping; a symbol
    whose name is one of this function's keywords goes in ``symbols={...}``.  ``wrt``,
    ``order``, ``dims`` (sizes: ``{"n": 64}``), ``let`` (``{"Z": "X @ W"}``), ``domain``,
    ``name``, ``mixed`` and ``description`` are expr.yaml's keys.  Returns one
    :class:`~matcalc.pipeline.Derivation` (a list for ``derivations:``); the rest as
    :func:`matcalc.pipeline.derive` (``verify``, ``seed``, ``targets``, ``progress``).
    Raises :class:`matcalc.MatcalcError` for bad input, pointing into the text it was
    found in (``keyword A, column 9``).
    """
    options = {"verify": verify, "seed": seed, "targets": targets, "progress": progress}
    keywords = {k: v for k, v in zip(DOCUMENT_KEYWORDS, (wrt, order, dims, let, domain, name, mixed, description))
                if v is not None}
    if symbols is None and not declared:
        if keywords:
            raise SpecError(f"{', '.join(k + '=' for k in keywords)} go with an expression and keyword symbols",
                            hint='declare the symbols too, e.g. derive("x @ A @ x", x="[n]", A="[n, n]", '
                                 'wrt="x"); a file or a dict says these itself')
        return _derive(source, **options)
    if not isinstance(source, str) or isinstance(source, Path):
        raise SpecError(f"with keyword symbols the first argument is the expression, as text, not "
                        f"{type(source).__name__}", hint='e.g. derive("x @ A @ x", x="[n]", A="[n, n]")')
    twice = sorted(set(symbols or {}) & set(declared))
    if twice:
        raise SpecError(f"{twice[0]} is declared both in symbols= and as a keyword", hint="declare it once")
    inline = from_keywords(source, {**(symbols or {}), **declared}, **keywords)
    try:
        return _derive(inline.document, **options)
    except MatcalcError as err:
        raise _looks_like_a_file(inline.relocated(err), source) from None


API_HINTS = {
    "declare it under symbols: (or dims:)": "declare it as a keyword argument, NAME=\"[n, m]\" (a dimension: "
                                            "dims={NAME: SIZE}, or use it in a shape)",
    "declare it under symbols:": "declare it as a keyword argument, NAME=\"[n, m]\"",
    "no symbols": "declare each symbol as a keyword argument, e.g. X=\"[n, m]\"",
}


def from_keywords(expr: str, symbols: dict[str, Any], *, wrt=None, order=None, dims=None, let=None,
                  domain=None, name=None, mixed=None, description=None) -> Inline:
    """The document of ``matcalc.derive(EXPR, X="[n, m]", ..., wrt=..., order=...)``: a symbol's
    value is ``"SHAPE PROPS"``, a shape list (``["n", "m"]``) or expr.yaml's mapping
    (``{"shape": [...], "props": [...]}``); ``wrt`` and ``domain`` a text or a list;
    ``dims`` a mapping of sizes, a list of names or ``"n=5, m=3"``; ``let`` a mapping."""
    out = Inline(hints=API_HINTS)
    for key, value in (("name", name), ("description", description), ("order", order), ("mixed", mixed)):
        if value is not None:
            out.document[key] = value
            out.spans[key] = whole(f"keyword {key}", str(value))
    for sym, value in symbols.items():
        label = f"keyword {sym}"
        if isinstance(value, str):
            out.symbol(whole(label, value), name=sym)
            continue
        entry = {"shape": list(value)} if isinstance(value, (list, tuple)) else value
        out.document.setdefault("symbols", {})[sym] = entry
        out.spans[f"symbols.{sym}"] = whole(label, repr(value))
        out.dims_of(entry.get("shape") if isinstance(entry, dict) else None)
    if isinstance(dims, dict):
        dims = ", ".join(f"{k}={v}" for k, v in dims.items())
    if isinstance(dims, str):
        out.dim(whole("keyword dims", dims))
    for d in dims if isinstance(dims, (list, tuple)) else ():
        out.dims.setdefault(d, None)
    for key, value in (let.items() if isinstance(let, dict) else ()):
        out.let(whole("keyword let", f"{key} = {value}"))
    out.expression("expr", whole("expression", expr))
    for i, text in enumerate([domain] if isinstance(domain, str) else domain or ()):
        out.document.setdefault("domain", []).append(None)
        out.expression(f"domain[{i}]", whole("keyword domain", text), ("domain", i))
    if wrt is not None:
        out.names("wrt", whole("keyword wrt", wrt if isinstance(wrt, str) else ", ".join(map(str, wrt))))
    return out.finish()


def _looks_like_a_file(err: MatcalcError, source: str) -> MatcalcError:
    """``derive("model.yaml", x="[n]")``: the keywords made it an expression; say so."""
    if source.strip().endswith((".yaml", ".yml")):
        err.hint = "keyword symbols make the first argument an expression; to read a file, leave them out"
    return err
