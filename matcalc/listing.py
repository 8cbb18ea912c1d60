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


def code_rule_lines() -> Iterator[tuple[str, bool]]:
    """``(line, is_heading)``: how the emitted numpy computes, in three groups: the stable
    forms (``registry.REWRITES``), the code rewrites applied before common subexpressions
    (``CODE_REWRITES``) and the emission rules of the printer (``EMIT_RULES``); each rule
    once, with the ops it is registered under and its identity wrapped to 78 columns."""
    from .ops import CODE_REWRITES, EMIT_RULES, REWRITES

    groups = (("Stable forms (every function's expression, before it is printed)", REWRITES),
              ("Code rewrites (cheaper equal forms, before common subexpressions are found)", CODE_REWRITES),
              ("Emission rules (how the printer writes a node in numpy)", EMIT_RULES))
    for title, table in groups:
        yield title, True
        roots: dict[str, list[str]] = {}
        first: dict[str, str] = {}
        for root, rules in table.items():
            for rule in rules:
                roots.setdefault(rule.name, []).append(root)
                first.setdefault(rule.name, rule.identity)
        for name in sorted(first):
            ops = roots[name]
            where = ", ".join(ops) if len(ops) <= 4 else f"{', '.join(ops[:4])} and {len(ops) - 4} more"
            yield f"  {name}  (on {where})", True
            for line in textwrap.wrap(first[name], 72):
                yield "      " + line, False


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
