"""Large and deep inputs: parsed, or refused with a clear error, never a crash."""

from __future__ import annotations

import pytest

from matcalc.render.report import MAX_TREE_NODES
from matcalc.errors import ExprSyntaxError, MatcalcError
from matcalc.parse import MAX_DEPTH
from support import parse_in_scope, run_cli


def test_ten_thousand_terms():
    """How fast: bench/parse_speed.py (a wall-clock bound here would fail on a loaded machine)."""
    text = " + ".join(["x"] * 10_000)
    assert parse_in_scope(text).shape == ("n",)


def test_ten_thousand_mixed_terms():
    text = " + ".join(f"{i % 7} * exp(x) - X @ y / n" for i in range(10_000))
    assert parse_in_scope(text).shape == ("n",)


@pytest.mark.parametrize("kind, text", [
    ("parentheses", "(" * 500 + "x" + ")" * 500),
    ("calls", "exp(" * 500 + "x" + ")" * 500),
    ("unary minus", "-" * 500 + "x"),
    ("powers", " ** ".join(["s"] * 500)),
    ("transposes", "X" + ".T" * 500),
])
def test_depth_500_parses(kind, text):
    assert parse_in_scope(text).shape in {("n",), (), ("n", "m"), ("m", "n")}


@pytest.mark.parametrize("kind, text", [
    ("parentheses", "(" * 5000 + "x" + ")" * 5000),
    ("calls", "exp(" * 5000 + "x" + ")" * 5000),
    ("unary minus", "-" * 5000 + "x"),
    ("powers", " ** ".join(["s"] * 5000)),
    ("unclosed", "(" * 5000),
])
def test_depth_5000_is_a_clear_error(kind, text):
    with pytest.raises(ExprSyntaxError) as info:
        parse_in_scope(text)
    assert f"more than {MAX_DEPTH} levels" in info.value.message
    assert info.value.hint


def test_depth_5000_through_the_cli(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\nexpr: sum(" + "(" * 5000 + "x"
                    + ")" * 5000 + ")\n")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("syntax error:") and "deep.yaml:4" in result.stderr
    assert "Traceback" not in result.output and "RecursionError" not in result.output


def test_one_megabyte_expression_is_refused():
    text = "x + " * (2**20 // 4)
    with pytest.raises(ExprSyntaxError) as info:
        parse_in_scope(text)
    assert "characters long" in info.value.message   # refused on its length, before parsing


def test_one_megabyte_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\nexpr: " + "x + " * (2**20 // 4) + "x\n")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2 and result.stderr.startswith("file error:")
    assert "Traceback" not in result.output


def test_deeply_nested_yaml_is_a_clear_error():
    import matcalc
    with pytest.raises(MatcalcError) as info:
        matcalc.derive("expr: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nests too deeply" in info.value.message


def test_many_symbols(tmp_path):
    names = [f"x{i}" for i in range(500)]
    symbols = "".join(f"  {n}: {{shape: [n]}}\n" for n in names)
    path = tmp_path / "wide.yaml"
    path.write_text("dims: {n: 3}\nsymbols:\n" + symbols + "expr: sum(" + " * ".join(names) + ")\nwrt: [x0]\n")
    result = run_cli("derive", str(path))
    assert result.exit_code == 0, result.output


def test_ten_thousand_terms_through_the_cli(tmp_path):
    """The shape tree of a huge sum is cut short: its first subexpressions, then a count of
    the rest (1 sum, 9,999 additions and 10,000 leaves, each counted once)."""
    path = tmp_path / "long.yaml"
    path.write_text("dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\nexpr: sum(" + " + ".join(["x"] * 10_000)
                    + ")\n")
    result = run_cli("derive", "--shapes", str(path))
    assert result.exit_code == 0, result.output
    assert f"and {20_000 - MAX_TREE_NODES} more subexpressions" in result.stdout


def test_long_number_is_refused():
    with pytest.raises(ExprSyntaxError):
        parse_in_scope("1" * 1000)
    with pytest.raises(ExprSyntaxError):
        parse_in_scope("1e999")
