"""Issue 17, inline problems: ``matcalc derive -e EXPR -s 'NAME: SHAPE PROPS' ...`` and
``matcalc.derive(EXPR, NAME="SHAPE PROPS", ...)`` give the JSON of the equivalent
expr.yaml (numbers and forms); ``--save`` writes that file; bad inline input is one
message with a caret in the option's text, a hint, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import run_cli

import matcalc
from matcalc.render.report import as_dict

# (the file, the same problem on the command line, the same as keywords, the expected forms)
CASES = {
    "trace_xtax": (
        ("name: expr\ndims: [n, m]\nsymbols:\n  X: {shape: [n, m]}\n  A: {shape: [n, n], props: [symmetric]}\n"
        "expr: trace(X.T @ A @ X)\nwrt: [X]\n"),
        ["-e", "trace(X.T @ A @ X)", "-s", "X: [n, m]", "-s", "A: [n, n] symmetric", "--wrt", "X"],
        ("trace(X.T @ A @ X)", {"X": "[n, m]", "A": "[n, n] symmetric", "wrt": "X"}),
        {"X": "2 * A @ X"}),
    "quadratic_hessian": (
        ("name: expr\ndims: [n]\nsymbols:\n  x: {shape: [n]}\n  A: {shape: [n, n], props: [spd]}\n"
        "expr: x @ A @ x\nwrt: [x]\norder: 2\n"),
        ["-e", "x @ A @ x", "-s", "x: [n]", "-s", "A: [n, n], spd", "--order", "2", "--wrt", "x"],
        ("x @ A @ x", {"x": "[n]", "A": {"shape": ["n", "n"], "props": ["spd"]}, "order": 2, "wrt": ["x"]}),
        {"x": "2 * A"}),
    "sized_let_domain": (
        ("name: barrier\ndims: {n: 4, m: 3}\nsymbols:\n  A: {shape: [m, n], props: [constant]}\n"
        "  b: {shape: [m], props: [constant]}\n  x: {shape: [n]}\n"
        "let:\n  r: b - A @ x\nexpr: -sum(log(r))\ndomain:\n  - b - A @ x > 0\n"),
        ["-e", "-sum(log(r))", "-s", "A: [m, n] constant", "-s", "b: [m] constant", "-s", "x: [n]",
         "--dim", "n=4", "--let", "r = b - A @ x", "--domain", "b - A @ x > 0", "--name", "barrier"],
        ("-sum(log(r))", {"A": "[m, n] constant", "b": {"shape": ["m"], "props": ["constant"]}, "x": "[n]",
                          "dims": {"n": 4}, "let": {"r": "b - A @ x"}, "domain": "b - A @ x > 0",
                          "name": "barrier"}),
        {"x": "A.T @ (1 / r)"}),
}


@pytest.fixture(scope="module")
def file_json(tmp_path_factory):
    out = {}
    for key, (text, _, _, _) in CASES.items():
        path = tmp_path_factory.mktemp(key) / "problem.yaml"
        path.write_text(text, encoding="utf-8")
        result = run_cli("derive", str(path), "--json")
        assert result.exit_code == 0, result.stderr
        out[key] = json.loads(result.stdout)
    return out


@pytest.mark.parametrize("key", CASES)
def test_command_line_gives_the_files_json(key, file_json):
    _, args, _, forms = CASES[key]
    result = run_cli("derive", *args, "--json")
    assert result.exit_code == 0, result.stderr
    inline = json.loads(result.stdout)
    assert inline == file_json[key]           # every field: forms, code, the check's numbers
    for symbol, text in forms.items():
        assert inline["results"][symbol]["matrix"] == text
        assert inline["verification"][symbol]["passed"] is True


@pytest.mark.parametrize("key", CASES)
def test_keyword_api_gives_the_files_json(key, file_json):
    _, _, (expr, spec), forms = CASES[key]
    d = matcalc.derive(expr, **spec)
    assert as_dict(d) == file_json[key]
    for symbol, text in forms.items():
        assert d.results[symbol].text == text


def test_the_numbers_by_finite_differences():
    """The inline result of trace(X.T @ A @ X) is 2 A X at a symmetric A (central differences here)."""
    d = matcalc.derive("trace(X.T @ A @ X)", X="[n, m]", A="[n, n] symmetric", wrt="X", verify=False)
    assert d.results["X"].text == "2 * A @ X"
    rng = np.random.default_rng(7)
    A = rng.normal(size=(4, 4))
    A = A + A.T
    X = rng.normal(size=(4, 3))
    grad = d.function().grad_X(X=X, A=A)
    E = rng.normal(size=X.shape)
    h = 1e-6
    f = lambda X: np.trace(X.T @ A @ X)
    assert np.allclose(2 * A @ X, grad)
    assert abs((f(X + h * E) - f(X - h * E)) / (2 * h) - np.sum(grad * E)) < 1e-6


def test_a_symbol_named_like_a_keyword_goes_in_symbols():
    """``order`` is derive's keyword: such a symbol is declared in symbols={...}; a shape may be a list."""
    d = matcalc.derive("sum(order * x)", x=["n"], symbols={"order": "[n] positive"}, wrt="x")
    assert d.results["x"].text == "order"
    assert d.verified and d.problem.symbols["order"].props >= {"positive"}


def test_dims_default_as_a_file_without_sizes():
    """Dimensions named only in -s shapes get the default sizes (3, 5, ...) in order; --dim sizes one
    and the others keep out of its way, as `dims: {...}` in a file."""
    d = matcalc.derive("sum(X @ Y)", X="[n, m]", Y="[m, k]", verify=False)
    assert d.problem.dims == {"n": 3, "m": 5, "k": 7}
    d = matcalc.derive("sum(X @ Y)", X="[n, m]", Y="[m, k]", dims={"m": 3}, verify=False)
    assert d.problem.dims == {"n": 5, "m": 3, "k": 7}
    d = matcalc.derive("sum(X)", X="[p*r, n+1]", verify=False)
    assert d.problem.symbols["X"].shape == ("p*r", "n+1") and set(d.problem.dims) == {"p", "r", "n"}


# -- --save ------------------------------------------------------------------------------

def test_save_writes_the_equivalent_file(tmp_path):
    saved = tmp_path / "quad.yaml"
    args = ["derive", "-e", "x @ A @ x + sum(norm(B, 'fro'))", "-s", "x: [n]", "-s", "A: [n, n] spd",
            "-s", "B: [n, m]", "--order", "2", "--wrt", "x,B", "--dim", "m=4"]
    result = run_cli(*args, "--json", "--save", str(saved))
    assert result.exit_code == 0, result.stderr
    assert saved.read_text(encoding="utf-8") == (
        "name: expr\ndims:\n  n: 3\n  m: 4\nsymbols:\n  x: {shape: [n]}\n  A: {shape: [n, n], props: [spd]}\n"
        "  B: {shape: [n, m]}\nexpr: x @ A @ x + sum(norm(B, 'fro'))\nwrt: [x, B]\norder: 2\n")
    again = run_cli("derive", str(saved), "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(result.stdout)
    assert json.loads(again.stdout)["results"]["x"]["matrix"] == "2 * A"


def test_save_quotes_what_yaml_would_read_otherwise(tmp_path):
    """An expression YAML would misread (a leading '[' or '-', ': ', ' #') is quoted."""
    saved = tmp_path / "odd.yaml"
    result = run_cli("derive", "-e", "-sum(X) # x: y", "-s", "X: [n]", "--save", str(saved), "-q")
    assert result.exit_code == 2     # '#' is not in the language: nothing saved
    assert not saved.exists()
    result = run_cli("derive", "-e", "-sum(where(x > 0, x, 0 * x))", "-s", "x: [2]", "--save", str(saved), "-q")
    assert result.exit_code == 0, result.stderr
    doc = matcalc.derive(str(saved), verify=False)
    assert doc.expr == "-sum(where(x > 0, x, 0 * x))"


def test_save_keeps_an_existing_file_unless_force(tmp_path):
    saved = tmp_path / "q.yaml"
    saved.write_text("mine\n", encoding="utf-8")
    args = ["derive", "-e", "sum(x * x)", "-s", "x: [n]", "--save", str(saved)]
    result = run_cli(*args)
    assert result.exit_code == 2
    assert "q.yaml exists" in result.stderr and "--force" in result.stderr
    assert saved.read_text(encoding="utf-8") == "mine\n"
    result = run_cli(*args, "--force", "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "x: 2 * x\n"
    assert "expr: sum(x * x)" in saved.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*.tmp"))       # written through a temp file, renamed


def test_save_writes_nothing_for_bad_input(tmp_path):
    saved = tmp_path / "bad.yaml"
    result = run_cli("derive", "-e", "sum(x @ y)", "-s", "x: [n]", "-s", "y: [m]", "--save", str(saved))
    assert result.exit_code == 2 and "inner dimensions differ" in result.stderr
    assert not saved.exists()


def test_terminal_output_is_the_files(tmp_path):
    """Without --json too: the same steps, result and check, the header naming -e instead of the file."""
    text, args, _, _ = CASES["sized_let_domain"]
    path = tmp_path / "barrier.yaml"
    path.write_text(text, encoding="utf-8")
    from_file, inline = run_cli("derive", str(path)), run_cli("derive", *args)
    assert from_file.exit_code == inline.exit_code == 0, inline.stderr
    assert from_file.stdout.splitlines()[0] == "barrier  (barrier.yaml)"
    assert inline.stdout.splitlines()[0] == "barrier  (-e)"
    assert inline.stdout.splitlines()[1:] == from_file.stdout.splitlines()[1:]
    assert "∂J/∂x = Aᵀ(1 ⊘ r)" in inline.stdout and "let r = b - A @ x; A.T @ (1 / r)" in inline.stdout
