"""Issue 17, inline problems gone wrong: every mistake in -e/-s/--dim/--wrt/--let/--domain/
--order/--name (and in the keyword API) is one message on stderr naming the option, the
column in its text with a caret under the offending part, a hint where one is knowable,
exit 2, no traceback, nothing written."""

from __future__ import annotations

import pytest
from support import run_cli

import matcalc
from matcalc.errors import MatcalcError

OK = ["-s", "X: [n, m]", "-s", "A: [n, n] symmetric"]

# (arguments, message fragment, option, the caret's text in the option, hint fragment or None)
CLI_ERRORS = [
    (["-e", "trace(X.T @ A @ X", *OK], "ends too early", "-e", "X", None),
    (["-e", "trace(X.T @@ A @ X)", *OK], "unexpected '@'", "-e", "@", None),
    (["-e", "trace(X.T @ B @ X)", *OK], "unknown name 'B'", "-e", "B", "-s 'NAME: SHAPE'"),
    (["-e", "trace(X.T @ A @ X)", "-s", "X: [n, m]", "-s", "A: [m, n]"], "inner dimensions differ", "-e",
     "X.T @ A", None),
    (["-e", "__import__('os').system('true')", *OK], "", "-e", "__import__", None),
    (["-e", "trace(X)", "-s", "X: [n, n"], "no closing ]", "-s", "[", "close it"),
    (["-e", "trace(X)", "-s", "X: n, n"], "must be a list such as [n, m]", "-s", "n", "[] for a scalar"),
    (["-e", "trace(X)", "-s", "X [n, n]"], "a symbol is written NAME: SHAPE", "-s", "X [n, n]", "for example"),
    (["-e", "trace(X)", "-s", "X: [n, , n]"], "an empty dimension", "-s", ",", None),
    (["-e", "trace(X)", "-s", "X: [n, 2*]"], "ends too early", "-s", "]", "finish it"),     # (just past it)
    (["-e", "trace(X)", "-s", "X: [n, n, n]"], "3 dimensions", "-s", "[n, n, n]", None),
    (["-e", "trace(X)", "-s", "X: [n, n] symetric"], "unknown prop 'symetric'", "-s", "symetric", "'symmetric'"),
    (["-e", "trace(X)", "-s", "X: [n, m] symmetric"], "symmetric needs", "-s", "symmetric", None),
    (["-e", "trace(X)", "-s", "X: [n, n]", "-s", "X: [n]"], "X is declared twice", "-s", "X", "once"),
    (["-e", "trace(X)", "-s", "exp: [n, n]"], "is a function name", "-s", "exp", None),
    (["-e", "trace(X)", "-s", "X: [n, n]", "--wrt", "X,Y"], "wrt names 'Y'", "--wrt", "Y", "-s 'NAME: SHAPE'"),
    (["-e", "trace(X)", "-s", "X: [n, n]", "--dim", "n=0"], "between 1 and 100,000", "--dim", "0", None),
    (["-e", "trace(X)", "-s", "X: [n, n]", "--dim", "n 5"], "NAME=SIZE", "--dim", "n 5", "--dim n=64"),
    (["-e", "trace(X)", "-s", "X: [n, n]", "--dim", "n=five"], "positive integer", "--dim", "five", None),
    (["-e", "sum(Z)", "-s", "X: [n, n]", "--let", "Z = X @@ X"], "unexpected '@'", "--let", "@", None),
    (["-e", "sum(Z)", "-s", "X: [n, n]", "--let", "X @ X"], "NAME = EXPR", "--let", "X @ X", None),
    (["-e", "sum(X)", "-s", "X: [n, n]", "--domain", "X > 0 > 1"], "not a chain", "--domain", ">", None),
    (["-e", "X", "-s", "X: [n, n]", "--order", "2"], "a Hessian needs a scalar", "-e", "X", None),
    (["-e", "sum(X)", "-s", "X: [n, n]", "--order", "3"], "order must be 1", "--order", "3", None),
    (["-e", "sum(X)", "-s", "X: [n, n]", "--name", "a-b"], "must be a name", "--name", "a-b", None),
    (["-e", "sum(X)"], "no symbols are declared", "-e", "sum(X)", "-s 'X: [n, m]'"),
    # a complaint about the symbols as a whole (it once sent the search for its place round forever)
    (["-e", "sum(X)", "-s", "n: []", "-s", "X: [n]"], "declared both as a dimension and as a symbol", "-s",
     "n: []", "rename"),
]


def _place(stderr: str) -> tuple[str, str]:
    """(the ``-->`` line's option and column, the text under the caret) of the error block."""
    lines = stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  --> "))
    source, carets = lines[at + 1], lines[at + 2]
    assert source.startswith("  | ") and carets.startswith("    ")
    start = carets.index("^")
    return lines[at][6:], source[start:start + carets.count("^")]


@pytest.mark.parametrize("args, message, option, under, hint", CLI_ERRORS,
                         ids=[f"{e[2]}-{e[1][:24] or e[0][1][:12]}" for e in CLI_ERRORS])
def test_cli_error_points_into_the_option(args, message, option, under, hint, tmp_path):
    saved = tmp_path / "never.yaml"
    result = run_cli("derive", *args, "--save", str(saved))
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert message in result.stderr.splitlines()[0]
    where, caret_text = _place(result.stderr)
    assert where.startswith(f"{option}, column ")
    assert caret_text == under
    column = int(where.split("column ")[1])
    texts = [args[i + 1] for i, a in enumerate(args) if a == option]      # the caret is in one of them
    assert not texts or any(t[column - 1:column - 1 + len(under)] == under for t in texts)
    if hint is not None:
        assert hint in result.stderr
    assert not saved.exists()


@pytest.mark.parametrize("args, message", [
    ([], "give an expr.yaml file, or an expression with -e"),
    (["-s", "X: [n]"], "-s goes with an expression given with -e"),
    (["derivations/trace_ax.yaml", "--wrt", "X"], "--wrt goes with an expression given with -e"),
    (["derivations/trace_ax.yaml", "--save", "x.yaml"], "--save goes with an expression given with -e"),
    (["derivations/trace_ax.yaml", "-e", "sum(X)", "-s", "X: [n]"], "give either expr.yaml files or -e"),
])
def test_cli_usage_mistakes(args, message):
    result = run_cli("derive", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "hint:" in result.stderr


def test_a_long_expression_gives_a_short_message():
    long = "sum(X) + " * 20_000 + "sum(X @@ X)"
    result = run_cli("derive", "-e", long, "-s", "X: [n, n]")
    assert result.exit_code == 2
    assert len(result.stderr) < 1_000 and "unexpected '@'" in result.stderr
    where, under = _place(result.stderr)
    assert where == f"-e, column {len(long) - 3}" and under == "@"


def test_control_characters_are_not_sent_to_the_terminal():
    result = run_cli("derive", "-e", "sum(X)\x1b[31m", "-s", "X: [n]")
    assert result.exit_code == 2 and "\x1b" not in result.stderr


@pytest.mark.parametrize("path", ["", ".", "a..b", "a[", "[0]", "a.[0]", "symbols", "symbols.X.shape[1]",
                                  "x" * 10_000 + ".y", "let.Z.", "wrt[0][1]"])
def test_every_key_path_finds_a_place(path):
    """An error's key path, whatever it is, ends at a span (the enclosing value, else -e)."""
    from matcalc.inline import from_options

    inline = from_options("sum(X)", ["X: [n]"])
    span, _ = inline._span(path)
    assert span is not None


# -- the keyword API ---------------------------------------------------------------------

@pytest.mark.parametrize("args, keywords, message, place", [
    (("x @ A @@ x",), {"x": "[n]", "A": "[n, n]"}, "unexpected '@'", "expression, column 8"),
    (("x @ A @ y",), {"x": "[n]", "A": "[n, n]"}, "unknown name 'y'", "expression, column 9"),
    (("x @ A @ x",), {"x": "[n", "A": "[n, n]"}, "no closing ]", "keyword x, column 1"),
    (("x @ A @ x",), {"x": "[n]", "A": "[n, n] symetric"}, "unknown prop", "keyword A, column 8"),
    (("x @ A @ x",), {"x": "[n]", "A": "[n, n]", "wrt": "x, z"}, "wrt names 'z'", "keyword wrt, column 4"),
    (("x @ A @ x",), {"x": "[n]", "A": "[n, n]", "dims": {"n": -1}}, "between 1 and", "keyword dims, column 3"),
    (("model.yaml",), {"x": "[n]"}, "attribute access", "expression, column 1"),
])
def test_keyword_api_errors_point_into_the_keywords(args, keywords, message, place):
    with pytest.raises(MatcalcError) as info:
        matcalc.derive(*args, **keywords, verify=False)
    err = info.value
    assert message in err.message and err.location.header() == place
    assert err.exit_code == 2


def test_keyword_api_says_what_a_file_would_be():
    with pytest.raises(MatcalcError) as info:
        matcalc.derive("model.yaml", x="[n]")
    assert "to read a file, leave them out" in info.value.hint


@pytest.mark.parametrize("call, message", [
    (lambda: matcalc.derive("derivations/trace_ax.yaml", wrt="X"), "wrt= go with an expression"),
    (lambda: matcalc.derive({"expr": "x"}, x="[n]"), "the first argument is the expression, as text"),
    (lambda: matcalc.derive("sum(x)", x="[n]", symbols={"x": "[n]"}), "x is declared both"),
    (lambda: matcalc.derive("sum(x)", x=3), "symbol x must be a mapping"),
])
def test_keyword_api_misuse(call, message):
    with pytest.raises(MatcalcError, match=message):
        call()


def test_paths_yaml_text_and_dicts_still_work():
    """Without keyword symbols the first argument is what it always was."""
    from support import REPO

    path = str(REPO / "derivations" / "trace_ax.yaml")
    assert matcalc.derive(path, verify=False).results
    text = "symbols:\n  x: {shape: [n]}\ndims: [n]\nexpr: sum(x * x)\n"
    assert matcalc.derive(text, verify=False).results["x"].text == "2 * x"
    assert matcalc.derive({"symbols": {"x": {"shape": ["n"]}}, "dims": ["n"], "expr": "sum(x * x)"},
                          verify=False).results["x"].text == "2 * x"
