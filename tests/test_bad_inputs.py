"""Bad input of every kind: each row gives its error class, names the place,
shows a hint when one is knowable, exits 2 from the CLI, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import matcalc
from matcalc.errors import (ExprSyntaxError, FileError, ForbiddenSyntaxError, MatcalcError, ShapeError,
                            SpecError, UnknownNameError, YamlError)
from support import EXPR_LINE, run_cli, run_subprocess, yaml_doc


@dataclass(frozen=True)
class Bad:
    id: str
    text: str                   # the expr.yaml content
    error: type[MatcalcError]
    line: int | None            # the line the message must name (None: the file only)
    hint: str | None = None     # a phrase the hint must contain
    caret: bool = True          # a caret under the offending part


def expr(id, text, error, hint=None, wrt=None):
    """A bad expression on line EXPR_LINE of an otherwise good file."""
    return Bad(id, yaml_doc(text, wrt), error, EXPR_LINE, hint)


def spec(id, text, error, line, hint=None, caret=True):
    return Bad(id, text, error, line, hint, caret)


GOOD_HEAD = "name: case\ndims: {n: 3, m: 4}\n"

ROWS = [
    # -- syntax --------------------------------------------------------------
    expr("dangling operator", "X +", ExprSyntaxError),
    expr("unclosed parenthesis", "sum((X)", ExprSyntaxError),
    expr("extra parenthesis", "sum(X))", ExprSyntaxError),
    expr("two operators", "X +* X", ExprSyntaxError),
    expr("empty expression", "", ExprSyntaxError),
    expr("number runs into name", "2X", ExprSyntaxError, "2 * X"),
    expr("stray character", "X $ X", ExprSyntaxError),
    expr("non-ASCII name", "sum(Xé)", ExprSyntaxError, "ASCII"),
    expr("too many arguments", "exp(X, X)", ExprSyntaxError),
    expr("unknown keyword", "sum(X, dtype=1)", ExprSyntaxError, "axis="),
    expr("float axis", "sum(X, axis=0.5)", ExprSyntaxError),
    expr("ones of a non-dimension", "sum(ones(q))", ExprSyntaxError),
    # -- unknown names, with a suggestion -------------------------------------
    expr("misspelt function", "sum(logsumexpp(X, axis=1))", UnknownNameError, "logsumexp"),
    expr("misspelt softmax", "sum(sofmax(X))", UnknownNameError, "softmax"),
    expr("unknown symbol", "sum(W * X)", UnknownNameError, "symbols:"),
    expr("unknown function", "sum(frobnicate(X))", UnknownNameError, "matcalc functions"),
    expr("python builtin", "open('/tmp/x', 'w').write('1')", UnknownNameError),
    # -- Python the language refuses --------------------------------------------
    expr("dunder import", "__import__('os').system('touch pwned')", ForbiddenSyntaxError),
    expr("attribute", "sum(X.shape)", ForbiddenSyntaxError, ".T"),
    expr("method call", "sum(X.transpose())", ForbiddenSyntaxError),
    expr("dunder attribute", "X.__class__", ForbiddenSyntaxError),
    expr("lambda", "lambda: X", ForbiddenSyntaxError),
    expr("list subscript", "sum(X[[0, 1]])", ForbiddenSyntaxError, "one index or one slice"),
    expr("slice with a step", "sum(x[::2])", ForbiddenSyntaxError, "contiguous"),
    expr("list comprehension", "[v for v in X]", ForbiddenSyntaxError),
    expr("generator", "sum(v for v in X)", ForbiddenSyntaxError),
    expr("set literal", "{1, 2}", ForbiddenSyntaxError),
    expr("string", "'hello'", ForbiddenSyntaxError, "'fro'"),
    expr("norm other than fro", "norm(X, 'nuc')", ForbiddenSyntaxError, "'fro'"),
    expr("string axis", "sum(X, axis='0')", ForbiddenSyntaxError, "'fro'"),
    expr("conditional", "X if s else X", ForbiddenSyntaxError),
    expr("comparison", "sum(X) == 1", ForbiddenSyntaxError),
    expr("floor division", "sum(X) // 2", ForbiddenSyntaxError, "/"),
    expr("caret power", "sum(X) ^ 2", ForbiddenSyntaxError, "**"),
    expr("boolean", "True * sum(X)", ForbiddenSyntaxError),
    expr("walrus", "(s := 1)", ForbiddenSyntaxError),
    expr("calling a symbol", "s(X)", ForbiddenSyntaxError, "s * (...)"),
    expr("calling a result", "exp(s)(s)", ForbiddenSyntaxError),
    expr("tuple", "(s, s)", ForbiddenSyntaxError),
    # -- shapes ----------------------------------------------------------------
    expr("broadcast mismatch", "sum(X + x)", ShapeError, "diag(v) @ A"),
    expr("matmul mismatch", "sum(X @ X)", ShapeError, "X @ X.T"),
    expr("matmul of a scalar", "sum(x @ s)", ShapeError, "*"),
    expr("non-square det", "det(X)", ShapeError, "det(A.T @ A)"),
    expr("non-square trace", "trace(X)", ShapeError),
    expr("non-square inv", "sum(inv(X))", ShapeError),
    expr("logdet of a vector", "logdet(x)", ShapeError),
    expr("axis out of range", "sum(sum(X, axis=2))", ShapeError, "axis=0 or axis=1"),
    expr("axis 1 of a vector", "sum(sum(x, axis=1))", ShapeError, "axis=0"),
    expr("axis of a scalar", "sum(s, axis=0)", ShapeError, "drop the axis"),
    expr("softmax of a scalar", "sum(softmax(s))", ShapeError),
    expr("matrix exponent", "sum(X ** X)", ShapeError),
    expr("outer of matrices", "sum(outer(X, x))", ShapeError),
    expr("kron of a scalar", "sum(kron(s, X))", ShapeError, "c * A"),
    expr("diag of a non-square matrix", "sum(diag(X))", ShapeError),
    expr("eye of two dims", "sum(eye(n, m))", ShapeError, "eye(n)"),
    expr("norm of a scalar", "norm(s)", ShapeError, "abs"),
    # -- what is asked of the expression --------------------------------------
    # (a matrix expression w.r.t. a matrix is a Jacobian in the vec convention since issue 15:
    # tests/test_vec_codegen.py; mixed second derivatives need order 2)
    spec("mixed with order 1", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\n  Y: {shape: [n, m]}\n"
         "expr: sum(X * Y)\nwrt: [X, Y]\nmixed: true\n", SpecError, 8, "order: 2"),
    spec("Hessian of a matrix expression", GOOD_HEAD + "symbols:\n  x: {shape: [n]}\n"
         "expr: outer(x, x)\norder: 2\n", SpecError, 5),
    spec("wrt not declared", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\nexpr: sum(X)\nwrt: [XX]\n",
         SpecError, 6, "'X'"),
    # (a wrt symbol not in the expression is no longer an error: its derivative is 0, tests/test_zero_wrt.py)
    spec("wrt a constant", GOOD_HEAD + "symbols:\n  X: {shape: [n, m], props: [constant]}\n"
         "expr: sum(X)\nwrt: [X]\n", SpecError, 6, "constant"),
    # -- YAML ------------------------------------------------------------------
    spec("bad YAML", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]\nexpr: sum(X)\n", YamlError, 5),
    spec("tab indentation", GOOD_HEAD + "symbols:\n\tX: {shape: [n, m]}\nexpr: sum(X)\n", YamlError, 4),
    spec("duplicate key", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\nexpr: sum(X)\nexpr: sum(X)\n",
         SpecError, 6, "remove one"),
    spec("anchor", GOOD_HEAD + "symbols:\n  X: &s {shape: [n, m]}\nexpr: sum(X)\n", YamlError, 4),
    spec("alias", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\n  Y: *s\nexpr: sum(X)\n", YamlError, 5),
    spec("two documents", GOOD_HEAD + "symbols: {X: {shape: [n]}}\nexpr: sum(X)\n---\nname: b\n",
         YamlError, 5, None),
    spec("python tag", GOOD_HEAD + "symbols: {X: {shape: [n]}}\n"
         "expr: !!python/object/apply:os.system ['touch pwned']\n", YamlError, 4, "remove the tag"),
    spec("empty file", "", SpecError, None, "derivations/", caret=False),
    spec("only a comment", "# nothing here\n", SpecError, None, caret=False),
    # -- content of the document -----------------------------------------------
    spec("unknown prop", GOOD_HEAD + "symbols:\n  X: {shape: [n, m], props: [postive]}\nexpr: sum(X)\n",
         SpecError, 4, "positive"),
    spec("spd on a non-square matrix", GOOD_HEAD + "symbols:\n  X: {shape: [n, m], props: [spd]}\n"
         "expr: sum(X)\n", SpecError, 4),
    spec("props that conflict", GOOD_HEAD + "symbols:\n  X: {shape: [n, m], props: [onehot, positive]}\n"
         "expr: sum(X)\n", SpecError, 4),
    spec("undefined dimension", GOOD_HEAD + "symbols:\n  X: {shape: [n, q]}\nexpr: sum(X)\n",
         SpecError, 4, "under dims"),
    spec("misspelt dimension", "dims: {rows: 3}\nsymbols:\n  X: {shape: [rows, rowz]}\nexpr: sum(X)\n",
         SpecError, 3, "rows"),
    spec("unknown key", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\nexprr: sum(X)\n", SpecError, 5,
         "'expr'"),
    spec("unknown symbol key", GOOD_HEAD + "symbols:\n  X: {shape: [n, m], prop: [positive]}\n"
         "expr: sum(X)\n", SpecError, 4, "'props'"),
    spec("missing expr", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\n", SpecError, 1, "expr:"),
    spec("missing symbols", GOOD_HEAD + "expr: sum(X)\n", SpecError, 1, "symbols:"),
    spec("missing shape", GOOD_HEAD + "symbols:\n  X: {props: [positive]}\nexpr: sum(X)\n", SpecError,
         4, "shape:"),
    spec("shape not a list", GOOD_HEAD + "symbols:\n  X: {shape: n}\nexpr: sum(X)\n", SpecError, 4),
    spec("three dimensions", GOOD_HEAD + "symbols:\n  X: {shape: [n, m, n]}\nexpr: sum(X)\n",
         SpecError, 4),
    spec("size not a number", "dims: {n: big}\nsymbols:\n  x: {shape: [n]}\nexpr: sum(x)\n", SpecError, 1),
    spec("size zero", "dims: {n: 0}\nsymbols:\n  x: {shape: [n]}\nexpr: sum(x)\n", SpecError, 1),
    spec("order 3", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\nexpr: sum(X)\norder: 3\n", SpecError, 6),
    spec("order as text", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\nexpr: sum(X)\norder: two\n",
         SpecError, 6),
    spec("expr not text", GOOD_HEAD + "symbols:\n  X: {shape: [n, m]}\nexpr: [1, 2]\n", SpecError, 5),
    spec("name not an identifier", "name: 2 fast\nsymbols:\n  x: {shape: [3]}\nexpr: sum(x)\n",
         SpecError, 1),
    spec("symbol named like a function", "symbols:\n  exp: {shape: [3]}\nexpr: sum(exp)\n", SpecError, 2),
    spec("document is a list", "- sum(X)\n", SpecError, 1),
    spec("empty derivations list", "derivations: []\n", SpecError, 1),
    spec("duplicate derivation names", "derivations:\n  - {name: a, symbols: {x: {shape: [2]}}, "
         "expr: sum(x)}\n  - {name: a, symbols: {x: {shape: [2]}}, expr: sum(x)}\n", SpecError, 3),
    spec("bad document inside derivations", "derivations:\n  - name: a\n    symbols: {x: {shape: [2]}}\n"
         "    expr: sum(y)\n", UnknownNameError, 4, "symbols:"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_cli_reports_bad_input(row: Bad, tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(row.text, encoding="utf-8")
    result = run_cli("derive", str(path))
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert err.startswith(row.error.kind + ":"), err
    assert "case.yaml" in err
    if row.line is not None:
        assert f"case.yaml:{row.line}" in err, err
        if row.caret:
            assert "^" in err, err
    if row.hint is not None:
        assert "hint:" in err and row.hint in err.split("hint:", 1)[1], err
    assert len(err.splitlines()) <= 8, "one short block"


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_api_raises_the_error_class(row: Bad, tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(row.text, encoding="utf-8")
    with pytest.raises(row.error) as info:
        matcalc.derive(path)
    assert type(info.value) is row.error
    assert info.value.exit_code == 2
    # the same error from YAML text given directly
    if row.text.strip():
        with pytest.raises(row.error):
            matcalc.derive(row.text)


def test_the_table_is_big_enough():
    assert len(ROWS) >= 40
    assert {r.error for r in ROWS} >= {ExprSyntaxError, UnknownNameError, ForbiddenSyntaxError,
                                      ShapeError, SpecError, YamlError}


def test_expression_caret_is_under_the_offending_text(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc("sum(X) + logsumexpp(X)"), encoding="utf-8")
    err = run_cli("derive", str(path)).stderr.splitlines()
    source = next(i for i, line in enumerate(err) if "sum(X) + logsumexpp(X)" in line)
    caret = err[source + 1]
    start = caret.index("^")
    assert err[source][start:start + len("logsumexpp")] == "logsumexpp"
    assert caret.strip() == "^" * len("logsumexpp")


def test_block_scalar_expression_names_its_line(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\nexpr: |\n  sum(x)\n  + foo\n")
    err = run_cli("derive", str(path)).stderr
    assert "case.yaml:6" in err and "^^^" in err and "foo" in err


# -- files -------------------------------------------------------------------

def test_missing_file(tmp_path):
    result = run_cli("derive", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stderr.startswith("file error:") and "nope.yaml" in result.stderr
    assert "Traceback" not in result.output
    with pytest.raises(FileError):
        matcalc.derive(tmp_path / "nope.yaml")


def test_directory_as_file(tmp_path):
    result = run_cli("derive", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("file error:") and "directory" in result.stderr
    assert "hint:" in result.stderr
    with pytest.raises(FileError):
        matcalc.derive(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("expr: sum(\xe9)\n".encode("latin-1"))
    result = run_cli("derive", str(path))
    assert result.exit_code == 2 and result.stderr.startswith("file error:")
    assert "latin1.yaml" in result.stderr


def test_huge_file(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("expr: " + "x + " * 300_000 + "x\n")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2 and result.stderr.startswith("file error:")
    assert "bytes" in result.stderr


def test_first_bad_file_stops_with_2(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("symbols: {x: {shape: [3]}}\nexpr: sum(x)\n")
    result = run_cli("derive", str(good), str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2


def test_no_file_is_a_usage_error():
    result = run_cli("derive")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_json_mode_keeps_errors_off_stdout(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc("sum(logsumexpp(X))"))
    result = run_cli("derive", str(path), "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert "logsumexp" in result.stderr


# -- a few rows through a real process ----------------------------------------

SUBPROCESS_ROWS = ["misspelt function", "dunder import", "bad YAML", "non-square det", "unknown prop"]


@pytest.mark.parametrize("row", [r for r in ROWS if r.id in SUBPROCESS_ROWS], ids=SUBPROCESS_ROWS)
def test_subprocess_reports_bad_input(row: Bad, tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(row.text, encoding="utf-8")
    proc = run_subprocess("derive", str(path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(row.error.kind + ":")
    assert f"case.yaml:{row.line}" in proc.stderr
    assert not (tmp_path / "pwned").exists()


def test_subprocess_missing_file(tmp_path):
    proc = run_subprocess("derive", "no/such/file.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("file error:") and "Traceback" not in proc.stderr


def test_debug_shows_the_traceback(tmp_path):
    """--debug is the one way to see a traceback (for developers)."""
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc("sum(logsumexpp(X))"))
    result = run_cli("derive", str(path), "--debug")
    assert result.exit_code != 0
    assert isinstance(result.exception, UnknownNameError)


def test_an_expression_that_divides_by_zero_everywhere_is_refused_clearly():
    """(A - A) ** -1 is 1/0 for every input: a refusal that says so, exit 2, no traceback."""
    import matcalc
    from matcalc.errors import DerivationError
    doc = {"dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}}, "expr": "sum(x / (x - x))", "wrt": ["x"]}
    with pytest.raises(DerivationError) as info:
        matcalc.derive(doc)
    assert "divides by zero for every input" in info.value.message
