"""What ``matcalc rules`` and ``matcalc functions`` print: the simplifier's identities and
the language's functions, one entry each, read from the rules and the operation records."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator


def rule_lines() -> Iterator[tuple[str, bool]]:
    """``(line, is_heading)``: each rule's name, the props it needs, its Cookbook
    equation, then its identity wrapped to 78 columns."""
    from .matrix.rules import rule_table

    for name, identity, props, cookbook in rule_table():
        yield "  ".join(x for x in (name, f"needs: {props}" if props else "",
                                    f"Cookbook {cookbook}" if cookbook else "") if x), True
        for line in textwrap.wrap(identity, 74):
            yield "    " + line, False


def function_lines() -> Iterator[tuple[str, bool]]:
    """``(line, is_heading)``: each function of the language as it is called, with its
    parameters, then what it is (its record's ``doc``)."""
    from .ops import CALLABLE

    for name in sorted(CALLABLE):
        op = CALLABLE[name]
        params = "".join(f", {p}=" for p in op.params)
        args = ("n, m" if op.dim_args else "'subscripts', A, B, ..." if op.leading_string
                else ", ".join("ABCD"[k] for k in range(op.arity)))
        params = "" if op.leading_string else params
        yield f"{name}({args}{params})", True
        for line in textwrap.wrap(op.doc or "", 74):
            yield "    " + line, False
