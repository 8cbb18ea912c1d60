"""Every row of the language table in expr-language.md parses and gets the
shape numpy would give it.

Scope (see support.py): A [n,n] spd, B [n,n], X [n,m], Y [m,k], x z [n],
y [m], c [n,1], r [1,m], s p [] (p positive).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc import ir
from matcalc.ops import CALLABLE
from matcalc.render.text import to_text
from support import DIMS, SYMBOLS, parse_in_scope

# (table row, example, expected shape)
CASES = [
    # A + B, A - B, A * B, A / B, -A: elementwise with numpy broadcasting
    ("elementwise", "X + X", ("n", "m")),
    ("elementwise", "X - X", ("n", "m")),
    ("elementwise", "X * X", ("n", "m")),
    ("elementwise", "X / X", ("n", "m")),
    ("elementwise", "-X", ("n", "m")),
    ("elementwise", "-x", ("n",)),
    ("elementwise", "-s", ()),
    ("broadcast scalar", "s * X", ("n", "m")),
    ("broadcast scalar", "X / s", ("n", "m")),
    ("broadcast scalar", "2 + x", ("n",)),
    ("broadcast scalar", "s - p", ()),
    ("broadcast vector", "X + y", ("n", "m")),
    ("broadcast vector", "y * X", ("n", "m")),
    ("broadcast vector", "X / y", ("n", "m")),
    ("broadcast vector", "x - z", ("n",)),
    ("broadcast column", "X * c", ("n", "m")),
    ("broadcast column", "c + X", ("n", "m")),
    ("broadcast row", "X - r", ("n", "m")),
    ("broadcast row", "r * y", (1, "m")),
    ("broadcast column x row", "c * r", ("n", "m")),
    ("broadcast column x row", "r + c", ("n", "m")),
    # A ** p
    ("power", "X ** 2", ("n", "m")),
    ("power", "X ** 0.5", ("n", "m")),
    ("power", "X ** s", ("n", "m")),
    ("power", "x ** -1", ("n",)),
    ("power", "s ** p", ()),
    ("power", "2 ** s", ()),
    # A @ B
    ("matmul matrix-matrix", "X @ Y", ("n", "k")),
    ("matmul matrix-matrix", "A @ B @ X", ("n", "m")),
    ("matmul matrix-vector", "X.T @ x", ("m",)),
    ("matmul matrix-vector", "X @ y", ("n",)),
    ("matmul vector-matrix", "x @ X", ("m",)),
    ("matmul vector-vector", "x @ z", ()),
    ("matmul column", "c.T @ X", (1, "m")),
    ("matmul column", "X @ r.T", ("n", 1)),
    ("matmul outer via columns", "c @ r", ("n", "m")),
    # A.T
    ("transpose", "X.T", ("m", "n")),
    ("transpose", "X.T.T", ("n", "m")),
    ("transpose", "x.T", ("n",)),
    ("transpose", "c.T", (1, "n")),
    ("transpose", "(X @ Y).T", ("k", "n")),
    ("transpose", "s.T", ()),
    # sum, mean
    ("sum", "sum(X)", ()),
    ("sum", "sum(X, axis=0)", ("m",)),
    ("sum", "sum(X, axis=1)", ("n",)),
    ("sum", "sum(X, 0)", ("m",)),
    ("sum", "sum(X, axis=-1)", ("n",)),
    ("sum", "sum(x)", ()),
    ("sum", "sum(x, axis=0)", ()),
    ("sum", "sum(c, axis=1)", ("n",)),
    ("mean", "mean(X)", ()),
    ("mean", "mean(X, axis=0)", ("m",)),
    ("mean", "mean(X, axis=1)", ("n",)),
    ("mean", "mean(x)", ()),
    ("mean", "mean(x, axis=0)", ()),
    # trace det logdet inv
    ("trace", "trace(A)", ()),
    ("trace", "trace(X @ X.T)", ()),
    ("det", "det(B)", ()),
    ("logdet", "logdet(A)", ()),
    ("inv", "inv(A)", ("n", "n")),
    ("inv", "inv(X.T @ X)", ("m", "m")),
    # diag both ways
    ("diag of a vector", "diag(x)", ("n", "n")),
    ("diag of a matrix", "diag(A)", ("n",)),
    ("diag round trip", "diag(diag(x))", ("n",)),
    # outer dot kron
    ("outer", "outer(x, y)", ("n", "m")),
    ("dot", "dot(x, z)", ()),
    ("kron", "kron(A, X)", ("n*n", "m*n")),
    ("kron", "kron(x, y)", ("m*n",)),
    # elementwise functions
    *[("function", f"{f}(X)", ("n", "m")) for f in
      ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "softplus", "relu")],
    *[("function", f"{f}(s)", ()) for f in ("exp", "log", "sigmoid")],
    ("function", "exp(x)", ("n",)),
    # softmax log_softmax logsumexp: both axes and the default (last) axis
    *[(f, f"{f}(X, axis=0)", ("n", "m")) for f in ("softmax", "log_softmax")],
    *[(f, f"{f}(X, axis=1)", ("n", "m")) for f in ("softmax", "log_softmax")],
    *[(f, f"{f}(X)", ("n", "m")) for f in ("softmax", "log_softmax")],
    *[(f, f"{f}(x)", ("n",)) for f in ("softmax", "log_softmax")],
    ("logsumexp", "logsumexp(X, axis=0)", ("m",)),
    ("logsumexp", "logsumexp(X, axis=1)", ("n",)),
    ("logsumexp", "logsumexp(X)", ("n",)),
    ("logsumexp", "logsumexp(x)", ()),
    ("logsumexp", "logsumexp(x, axis=0)", ()),
    # norm
    ("norm", "norm(x)", ()),
    ("norm", "norm(X, 'fro')", ()),
    ("norm", 'norm(X, "fro")', ()),
    ("norm", "norm(X, ord='fro')", ()),
    # constants
    ("ones", "ones(n)", ("n",)),
    ("ones", "ones(n, m)", ("n", "m")),
    ("ones", "ones(3)", (3,)),
    ("eye", "eye(n)", ("n", "n")),
    ("constants in use", "X.T @ ones(n)", ("m",)),
    ("constants in use", "A + eye(n)", ("n", "n")),
    # dimension names as scalars
    ("dimension", "n", ()),
    ("dimension", "sum(X) / n", ()),
    ("dimension", "X * m", ("n", "m")),
    # numbers
    ("number", "2", ()),
    ("number", "0.5", ()),
    ("number", "1e-3", ()),
    ("number", "2.5E+2 * x", ("n",)),
    ("number", ".5 * s", ()),
    # the spec's example
    ("example", "-sum(log(softmax(X @ Y, axis=1)) * softmax(X @ Y)) / n + s * sum(Y * Y)", ()),
]


@pytest.mark.parametrize("row, text, shape", CASES, ids=[f"{r}: {t}" for r, t, _ in CASES])
def test_row_parses_with_shape(row, text, shape):
    assert parse_in_scope(text).shape == shape


def test_every_function_of_the_table_is_registered_and_tested():
    """Table -> registry: each function the contract names is callable and has a case above."""
    table = ("sum mean trace det logdet inv diag outer dot kron exp log sqrt abs sin cos tanh "
             "sigmoid softplus relu softmax log_softmax logsumexp norm ones eye").split()
    tested = " ".join(text for _, text, _ in CASES)
    for name in table:
        assert name in CALLABLE, name
        assert f"{name}(" in tested, name


@pytest.mark.parametrize("text, value", [("2", Fraction(2)), ("0.5", Fraction(1, 2)),
                                         ("1e-3", Fraction(1, 1000)), ("-2", Fraction(-2))])
def test_numbers_are_exact(text, value):
    node = parse_in_scope(text)
    assert isinstance(node, ir.Number) and node.value == value


def test_dimension_name_is_a_dim_node():
    node = parse_in_scope("n")
    assert isinstance(node, ir.Dim) and node.name == "n" and node.shape == ()


def test_precedence_follows_python():
    # -x ** 2 is -(x ** 2); a + b * c is a + (b * c); @ binds like *; ** is right-associative
    assert to_text(parse_in_scope("-x ** 2")) == "-x ** 2"
    assert parse_in_scope("-x ** 2").op == "neg"
    assert parse_in_scope("s + s * s").op == "add"
    assert parse_in_scope("X @ Y * 2").op == "mul"
    e = parse_in_scope("s ** s ** 2")
    assert e.op == "pow" and e.args[1].op == "pow"


def test_nodes_know_the_props_of_their_symbols():
    e = parse_in_scope("trace(A @ X @ X.T) + p")
    assert e.props["A"] == frozenset({"spd", "symmetric"})
    assert e.props["p"] == frozenset({"positive"})
    assert e.props["X"] == frozenset()


def test_ir_is_immutable():
    e = parse_in_scope("X + X")
    with pytest.raises(AttributeError):
        e.op = "sub"  # type: ignore[misc]


def test_axis_defaults_are_normalized():
    """softmax(X) and softmax(X, axis=1) and softmax(X, axis=-1) are one IR."""
    assert parse_in_scope("softmax(X)") == parse_in_scope("softmax(X, axis=1)") \
        == parse_in_scope("softmax(X, axis=-1)")
    assert parse_in_scope("sum(X, axis=-2)") == parse_in_scope("sum(X, axis=0)")


# -- round trip: to_text(parse(t)) parses back to an equal IR ----------------

@pytest.mark.parametrize("text", [t for _, t, _ in CASES] + [
    "-(X + X)", "(s - p) - s", "s - (p - s)", "s / (p / s)", "(-2) ** s", "-2 ** s",
    "s ** -s", "(X @ Y).T @ X", "-x.T", "x - -x", "X * (y + y)", "(s ** p) ** 2",
    "sum(X, axis=0) @ sum(X, axis=0)", "1 / n", "0.001 * s", "-(-x)",
])
def test_round_trip(text):
    first = parse_in_scope(text)
    printed = to_text(first)
    again = parse_in_scope(printed)
    assert again == first, printed
    assert to_text(again) == printed


# Random expressions built from the table, printed and parsed again.
LEAVES = ["X", "X.T", "x", "y", "s", "p", "c", "r", "A", "n", "2", "0.5", "1e-3"]
UNARY = ["-{}", "exp({})", "log({})", "sum({})", "sum({}, axis=0)", "{}.T", "tanh({})",
         "softmax({})", "mean({}, axis=1)", "norm({}, 'fro')", "diag({})", "inv({})",
         "({}) ** 2"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / {}", "{} @ {}", "outer({}, {})"]


def _texts():
    leaves = st.sampled_from(LEAVES)

    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), children).map(lambda t: t[0].format(f"({t[1]})")),
            st.tuples(st.sampled_from(BINARY), children, children).map(
                lambda t: t[0].format(f"({t[1]})", f"({t[2]})")),
        )
    return st.recursive(leaves, extend, max_leaves=12)


def _evaluate(expr: ir.Expr, values: dict) -> np.ndarray:
    """A tiny numpy evaluator for the ops the random texts use (independent of the engine)."""
    if isinstance(expr, ir.Symbol):
        return values[expr.name]
    if isinstance(expr, ir.Number):
        return np.asarray(float(expr.value))
    if isinstance(expr, ir.Dim):
        return np.asarray(float(DIMS[expr.name]))
    a = [_evaluate(arg, values) for arg in expr.args]
    axis = expr.attr("axis")
    table = {
        "add": lambda: a[0] + a[1], "sub": lambda: a[0] - a[1], "mul": lambda: a[0] * a[1],
        "div": lambda: a[0] / a[1], "matmul": lambda: a[0] @ a[1], "pow": lambda: a[0] ** a[1],
        "neg": lambda: -a[0], "transpose": lambda: a[0].T, "exp": lambda: np.exp(a[0]),
        "log": lambda: np.log(a[0]), "tanh": lambda: np.tanh(a[0]),
        "sum": lambda: np.sum(a[0], axis=axis), "mean": lambda: np.mean(a[0], axis=axis),
        "softmax": lambda: np.exp(a[0]) / np.sum(np.exp(a[0]), axis=axis, keepdims=True),
        "norm": lambda: np.linalg.norm(a[0]), "diag": lambda: np.diag(a[0]),
        "inv": lambda: np.linalg.inv(a[0]), "outer": lambda: np.outer(a[0], a[1]),
    }
    return np.asarray(table[expr.op]())


def _random_values():
    rng = np.random.default_rng(0)
    values = {}
    for name, sym in SYMBOLS.items():
        shape = tuple(DIMS.get(d, d) for d in sym.shape)
        values[name] = rng.uniform(0.5, 1.5, size=shape)
    values["A"] = values["A"] @ values["A"].T + 3 * np.eye(DIMS["n"])
    return values


VALUES = _random_values()


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(_texts())
def test_round_trip_random(text):
    """Printed text parses again, with the same shape and the same value.

    (The printer may re-associate, writing ``c * (A @ B)`` as ``c * A @ B``
    and ``-(A * B)`` as ``-A * B``, so a random tree is compared by value; the
    cases above compare IR.)
    """
    from matcalc.errors import ShapeError
    try:
        first = parse_in_scope(text)
    except ShapeError:
        return  # most random combinations do not type-check; that is the parser's job
    printed = to_text(first)
    again = parse_in_scope(printed)
    assert again.shape == first.shape, (text, printed)
    with np.errstate(all="ignore"):
        try:
            want = _evaluate(first, VALUES)
        except np.linalg.LinAlgError:
            return  # inv of a singular matrix such as outer(x, x): nothing to compare
        got = _evaluate(again, VALUES)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True,
                               err_msg=f"{text} printed as {printed}")


@pytest.mark.parametrize("text", ["s * -(x @ X)", "x * -(X @ X.T @ x)", "y / -(X.T @ x)"])
def test_a_negated_product_as_a_right_operand_keeps_its_parentheses(text):
    """-(A @ B) prints as -A @ B, which binds like @: as the right operand of * it needs
    parentheses (s * -x @ X would read (s * -x) @ X)."""
    first = parse_in_scope(text)
    printed = to_text(first)
    again = parse_in_scope(printed)
    assert again.shape == first.shape, printed
    np.testing.assert_allclose(_evaluate(again, VALUES), _evaluate(first, VALUES), rtol=1e-12,
                               err_msg=printed)


def test_spans_point_into_the_text():
    text = "sum(X @ Y)"
    e = parse_in_scope(text)
    inner = e.args[0]
    assert text[inner.span.start:inner.span.end] == "X @ Y"
    assert SYMBOLS["X"] == inner.args[0]  # spans do not take part in equality
