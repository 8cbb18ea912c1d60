"""Fill an operation's printing template (its record's ``latex`` or ``unicode``).

A template is a format string over the printed arguments: ``{0}`` is argument 0
as printed, ``{0:mul}`` the same in parentheses unless it binds at least as
strongly as a product (levels: ``add hadamard mul neg pow atom``), ``{1:T}``
argument 1 transposed.  Two fields with nothing between them are juxtaposed (a
product: the printer decides the spacing).  The record's ``binds`` says how
strongly the filled form binds.

>>> fill("{0:mul} ⊗ {1:mul}", lambda k, spec: f"{spec}{k}")
'mul0 ⊗ mul1'
>>> fill("{0:atom}{1:atom}ᵀ", lambda k, spec: "xy"[k], juxtapose=lambda a, b: a + b)
'xyᵀ'
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping

LEVELS = ("add", "hadamard", "mul", "neg", "pow", "atom")


def fill(template: str, field: Callable[[int, str], str],
         juxtapose: Callable[[str, str], str] | None = None, attrs=None,
         named: Mapping[str, str] | None = None) -> str:
    """``template`` with each field ``{k:spec}`` replaced by ``field(k, spec)``, each named
    field (``{shape}``) by its text in ``named``, and another named field ``{k}`` by the
    node's parameter ``attrs[k]`` (``matrix_power``'s power)."""
    out, after_field = "", False
    for literal, name, spec, _ in string.Formatter().parse(template):
        out += literal
        if name is None:
            continue
        if not name.isdigit():
            if named and name in named:
                out += named[name]
            else:
                out += str(attrs[name]) if attrs and name in attrs else name
            continue
        text = field(int(name), spec or "")
        if juxtapose is not None and after_field and not literal:
            out = juxtapose(out, text)
        else:
            out += text
        after_field = True
    return out


def function_name(template: str) -> str | None:
    r"""The name a template writes before ``({0})``: ``σ({0})`` -> ``σ``,
    ``\operatorname{{tr}}({0})`` -> ``\operatorname{tr}``; None for any other form."""
    before, after, fields = "", "", 0
    for literal, name, spec, _ in string.Formatter().parse(template):
        if fields:
            after += literal
        else:
            before += literal
        if name is not None:
            fields += 1
            if name != "0" or spec:
                return None
    return before[:-1] if fields == 1 and before.endswith("(") and after == ")" else None
