"""Hostile and mistaken ``let:`` entries (issue 14): each one clear message in the
house style, with the YAML line and a caret in the right entry, a hint, exit code 2."""

from __future__ import annotations

import pytest
from support import run_cli

import matcalc
from matcalc.errors import (
    ExprSyntaxError,
    ForbiddenSyntaxError,
    ShapeError,
    SpecError,
    UnknownNameError,
)

HEAD = "dims: {n: 3}\nsymbols:\n  X: {shape: [n, n]}\n"


@pytest.mark.parametrize("body, error, line, quoted, message, hint", [
    ("let:\n  X: exp(X)\nexpr: sum(X)\n", SpecError, 5, "X", "the let name 'X' is already a symbol", "pick another"),
    ("let:\n  n: exp(X)\nexpr: sum(X)\n", SpecError, 5, "n", "already a dimension", "pick another"),
    ("let:\n  exp: exp(X)\nexpr: sum(X)\n", SpecError, 5, "exp", "is a function name", "pick another"),
    ("let:\n  T: X\nexpr: sum(X)\n", SpecError, 5, "T", "transpose attribute", None),
    ("let:\n  1A: X\nexpr: sum(X)\n", SpecError, 5, "1A", "must be a name", None),
    ("let:\n  __x: X\nexpr: sum(X)\n", SpecError, 5, "__x", "'__'", None),
    ("let:\n  A: B @ X\n  B: exp(X)\nexpr: sum(A)\n", SpecError, 5, "B", "let A uses B before it is defined",
     "move B above A"),
    ("let:\n  A: B @ X\n  B: exp(A)\nexpr: sum(A)\n", SpecError, 5, "B", "defined in terms of each other (a cycle)",
     "break the cycle"),
    ("let:\n  A: A @ X\nexpr: sum(A)\n", SpecError, 5, "A", "in terms of itself", "earlier ones"),
    ("let:\n  A: X @\nexpr: sum(A)\n", ExprSyntaxError, 5, None, "ends too early", None),
    ("let:\n  A: X @ ones(4)\nexpr: sum(A)\n", ShapeError, 5, "X @ ones(4)", "inner dimensions differ", None),
    ("let:\n  A: __import__('os')\nexpr: sum(A)\n", ForbiddenSyntaxError, 5, "__import__", "dunder", None),
    ("let:\n  A: open('/etc/passwd').read()\nexpr: sum(A)\n", ExprSyntaxError, 5, None, "", None),
    ("let:\n  A: [1, 2]\nexpr: sum(A)\n", SpecError, 5, "[", "must be an expression written as text, not a list",
     "Z: X @ W"),
    ("let:\n  A: ''\nexpr: sum(A)\n", SpecError, 5, "''", "must be an expression", None),
    ("let:\n  A:\nexpr: sum(A)\n", SpecError, 5, None, "not nothing", None),
    ("let: [A, B]\nexpr: sum(X)\n", SpecError, 4, "[", "let must map names to expressions", None),
    ("let: X @ X\nexpr: sum(X)\n", SpecError, 4, None, "let must map names", None),
    ("let:\n  A: exp(X)\n  A: exp(X)\nexpr: sum(A)\n", SpecError, 6, "A", "appears twice", None),
    ("let:\n  A: exp(X)\nexpr: sum(B)\n", UnknownNameError, 6, "B", "unknown name 'B'", None),
    ("let:\n  A: exp(X)\nexpr: sum(A)\nwrt: [A]\n", SpecError, 7, "A", "a let intermediate, not a symbol",
     "A is made of X"),
    ("let:\n  A: exp(X)\nexpr: sum(A)\ndomain:\n  - B > 0\n", UnknownNameError, 8, "B", "unknown name", None),
])
def test_each_let_mistake_is_one_located_message(body, error, line, quoted, message, hint):
    text = HEAD + body
    with pytest.raises(error) as info:
        matcalc.derive(text, verify=False)
    err = info.value
    assert type(err) is error or issubclass(type(err), error)
    assert message in err.message
    assert err.location is not None and err.location.line == line
    if quoted is not None:
        source = text.splitlines()[line - 1]
        start = err.location.caret_start
        assert source[start:start + len(quoted)] == quoted, (source, start)
    if hint is not None:
        assert hint in err.hint


def test_an_error_in_a_let_entry_exits_2_with_a_caret(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "let:\n  A: exp(X)\n  B: C @ A\n  C: A\nexpr: sum(B)\n")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2
    out = result.output
    assert "let B uses C before it is defined" in out
    assert "6 |   B: C @ A" in out and "^" in out
    assert "Traceback" not in out


def test_a_let_given_to_the_api_as_a_dict_points_at_its_key_path():
    with pytest.raises(SpecError) as info:
        matcalc.derive({"dims": {"n": 3}, "symbols": {"X": {"shape": ["n", "n"]}},
                        "let": {"A": "B @ X", "B": "X"}, "expr": "sum(A)"}, verify=False)
    assert info.value.location.path == "let.A"
    assert info.value.location.column == 1


def test_a_huge_number_of_let_entries_is_fine():
    lets = {"A0": "X"} | {f"A{i}": f"A{i - 1} + X" for i in range(1, 60)}
    d = matcalc.derive({"dims": {"n": 3}, "symbols": {"X": {"shape": ["n", "n"]}}, "let": lets,
                        "expr": "sum(A59 * A59)"})
    assert d.verified
    assert d.results["X"].text == "7200 * X"


def test_a_let_tower_that_doubles_at_every_level_is_refused_quickly():
    """A0 = X, A_i = A_{i-1} * A_{i-1} + A_{i-1}: 3^60 nodes written out, refused
    before the engine sees it (counted, not timed: the check stops at the limit)."""
    lets = {"A0": "X"} | {f"A{i}": f"A{i - 1} * A{i - 1} + A{i - 1}" for i in range(1, 60)}
    with pytest.raises(SpecError) as info:
        matcalc.derive({"dims": {"n": 3}, "symbols": {"X": {"shape": ["n"]}}, "let": lets, "expr": "sum(A59)"})
    assert "10,000 operations" in info.value.message
    assert info.value.location.path == "expr"
    assert "doubles" in info.value.hint
