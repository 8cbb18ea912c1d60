"""Code rewrites (matcalc/codegen/algebra.py; rules in ops/matvec_code.py, ops/gram_code.py,
ops/spd_code.py): the algebra a person uses, applied to every root of a function before
common subexpressions are found, so the value and the gradients share what is left
(issue 16).  Each case asserts the emitted text and checks the numbers."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.codegen.algebra import faster, fired
from matcalc.evaluate import evaluate
from matcalc.ops import CODE_REWRITES
from matcalc.parse import parse

DIMS = {"n": 7, "d": 3, "r": 2}
SYMBOLS = {"A": {"shape": ["n", "n"]}, "x": {"shape": ["n"]}, "y": {"shape": ["n"], "props": ["constant"]},
           "X": {"shape": ["n", "d"], "props": ["constant"]}, "P": {"shape": ["d", "d"], "props": ["spd"]},
           "M": {"shape": ["d", "d"]}, "U": {"shape": ["n", "r"]}, "s2": {"shape": [], "props": ["positive"]},
           "S": {"shape": ["n", "n"], "props": ["spd"]}, "Q": {"shape": ["n", "d"]}}


def derive(expr: str, wrt: list[str], order: int = 1):
    names = {k: v for k, v in SYMBOLS.items() if k in expr}
    d = matcalc.derive({"dims": DIMS, "symbols": names, "expr": expr, "wrt": wrt,
                        **({"order": order} if order > 1 else {})})
    assert d.verified, d.verification
    return d


def body(d, function: str) -> str:
    """The lines of an emitted function past its docstring and argument check, comments cut."""
    text = d.code.split(f"def {function}(")[1].split("\ndef ")[0]
    lines = text.split('"""')[2].splitlines()[2:]
    return "\n".join(line.split("  #")[0].strip() for line in lines if line.strip())


def check_numbers(d, values: dict) -> None:
    """value_and_grad of the module against the independent evaluator of J and its gradients."""
    value, grads = d.function().value_and_grad(**values)
    np.testing.assert_allclose(value, evaluate(d.problem.expr, values, d.problem.dims), rtol=1e-10)
    for s, g in grads.items():
        r = d.results[s]
        np.testing.assert_allclose(g, evaluate(r.gradient if r.gradient is not None else r.matrix, values, d.problem.dims), rtol=1e-9, atol=1e-12)


def values_of(seed: int = 5) -> dict:
    rng = np.random.default_rng(seed)
    n, d, r = DIMS["n"], DIMS["d"], DIMS["r"]
    R, T = rng.normal(size=(d, d)), rng.normal(size=(n, n))
    return {"A": rng.normal(size=(n, n)), "x": rng.normal(size=n), "y": rng.normal(size=n),
            "X": rng.normal(size=(n, d)), "P": R @ R.T + d * np.eye(d), "M": rng.normal(size=(d, d)),
            "U": rng.normal(size=(n, r)), "s2": 0.7, "S": T @ T.T + n * np.eye(n), "Q": rng.normal(size=(n, d))}


def test_matvec_of_sum_shares_x_A_between_the_value_and_the_gradient():
    d = derive("x @ A @ x + sum(exp(x))", ["x"], order=2)
    assert body(d, "value_and_grad") == "\n".join([
        "t1 = x @ A", "t2 = np.exp(x)", "value = t1 @ x + np.sum(t2)", "grad_x = A @ x + t1 + t2",
        'return value, {"x": grad_x}'])
    assert body(d, "hess_x") == "t1 = A + A.T\n_add_diagonal(t1, np.exp(x))\nreturn t1"
    check_numbers(d, {k: v for k, v in values_of().items() if k in "Ax"})


@pytest.mark.parametrize("expr", ["sum(X @ P * X) / 2 - n / 2 * logdet(P)",
                                  "sum(X * (X @ P)) / 2 - n / 2 * logdet(P)",
                                  "trace(X @ P @ X.T) / 2 - n / 2 * logdet(P)"])
def test_the_gaussian_nll_computes_the_gram_once_and_logdet_by_cholesky(expr):
    d = derive(expr, ["P"])
    assert body(d, "value_and_grad") == "\n".join([
        "t1 = X.T @ X",
        "value = _vdot(P, t1) / 2 - n / 2 * _logdet_spd(P)",
        "grad_P = (t1 - n * np.linalg.inv(P)) / 2", 'return value, {"P": grad_P}'])
    assert "X @ P" not in body(d, "value") and "_logdet(" not in d.code
    check_numbers(d, {k: v for k, v in values_of().items() if k in "XP"})


def test_the_gram_of_the_other_side_and_a_chain_in_the_middle():
    """sum((M @ X.T) * X.T) = sum(M * (X.T @ X)); trace(X @ M @ M.T @ X.T) builds M @ M.T, [d, d]."""
    d = derive("sum((M @ X.T) * X.T) + trace(X @ M @ M.T @ X.T)", ["M"])
    value = body(d, "value")
    assert "X.T @ X" in value and "X @ M" not in value and "@ X.T" not in value, value
    check_numbers(d, {k: v for k, v in values_of().items() if k in "XM"})


def test_the_gp_kernel_is_built_once_and_inverted_once():
    expr = "y @ inv(U @ U.T + s2 * eye(n)) @ y / 2 + logdet(U @ U.T + s2 * eye(n)) / 2"
    d = derive(expr, ["U", "s2"])
    code = body(d, "value_and_grad")
    assert code.count("U @ U.T") == 1 and code.count("np.linalg.inv(") == 1, code
    assert "solve" not in code and "np.outer(y, y)" not in code and "_logdet(" not in d.code, code
    assert code == "\n".join([
        "t1 = U @ U.T", "_add_diagonal(t1, s2)", "t2 = np.linalg.inv(t1)", "t3 = t2 @ y",
        "t4 = t2 - np.outer(t3, t3)", "del t2",
        "value = t3 @ y / 2 + _logdet_spd(t1) / 2", "del t1, t3",
        "grad_U = t4 @ U", "grad_s2 = np.trace(t4) / 2", 'return value, {"U": grad_U, "s2": grad_s2}']), code
    check_numbers(d, {k: v for k, v in values_of().items() if k in ("U", "s2", "y")})


def test_an_inverse_used_only_in_products_stays_solves():
    """y @ inv(S) @ y alone: solve(S, y), no inverse built (and logdet of spd S by Cholesky)."""
    d = derive("y @ inv(S) @ y + logdet(S)", ["S"])
    assert body(d, "value") == "return np.linalg.solve(S, y) @ y + _logdet_spd(S)"
    check_numbers(d, {k: v for k, v in values_of().items() if k in "Sy"})


def test_a_rank_one_matrix_in_a_product_is_not_multiplied_as_a_matrix():
    d = derive("sum(A @ outer(x, y) @ A)", ["x"])
    assert "np.outer(A @ x, y @ A)" in body(d, "value"), body(d, "value")
    check_numbers(d, {k: v for k, v in values_of().items() if k in "Axy"})


@pytest.mark.parametrize("expr", ["logdet(A)", "sum((X @ M) * Q)", "trace(X @ M @ Q.T)", "x @ A"])
def test_forms_that_are_not_theirs_stay_as_written(expr):
    e = parse(expr, {k: _symbol(k) for k in SYMBOLS if k in expr}, DIMS)
    assert faster(e) == e


def _symbol(name):
    from matcalc import ir
    spec = SYMBOLS[name]
    return ir.Symbol(shape=tuple(spec["shape"]), name=name, props=frozenset(spec.get("props", ())))


CASES = {"matvec-of-sum": "(A + A.T) @ x", "gram-of-quadratic": "sum(X @ P * X)",
         "trace-of-gram": "trace(X @ P @ X.T)",
         "outer-in-product": "A @ outer(x, y)", "symmetric-inverse": "y @ inv(S)"}


def test_every_code_rewrite_is_named_documented_and_tested_here():
    registered = {rule.name: rule for rules in CODE_REWRITES.values() for rule in rules}
    assert set(registered) == set(CASES)
    for name, expr in CASES.items():
        assert registered[name].identity and "=" in registered[name].identity
        e = parse(expr, {k: _symbol(k) for k in SYMBOLS if k in expr}, DIMS)
        assert name in fired(e), (name, fired(e))
        out = faster(e)
        vals = values_of()
        np.testing.assert_allclose(evaluate(out, vals, DIMS), evaluate(e, vals, DIMS), rtol=1e-10)


def test_logdet_of_an_spd_matrix_is_by_cholesky_from_32_rows_and_slogdet_otherwise():
    """The emission rule logdet-cholesky: _logdet_spd agrees with slogdet on spd matrices
    either side of its switch, and is slogdet's (NaN where det < 0) on others."""
    from matcalc.ops.spd_code import HELPERS, LOGDET_SPD
    space: dict = {"np": np}
    exec(HELPERS[LOGDET_SPD], space)      # noqa: S102  (matcalc's own helper source)
    f, rng = space[LOGDET_SPD], np.random.default_rng(8)
    for n in (3, 31, 32, 80):
        R = rng.normal(size=(n, n))
        np.testing.assert_allclose(f(R @ R.T + np.eye(n)), np.linalg.slogdet(R @ R.T + np.eye(n))[1], rtol=1e-12)
    assert np.isnan(f(-np.eye(33))) and np.isclose(f(-np.eye(40)), 0.0)   # det < 0: NaN; det = 1 > 0
    # a matrix not known positive definite keeps slogdet
    assert body(derive("logdet(A) + logdet(S)", ["S"]), "value") == "return _logdet(A) + _logdet_spd(S)"


def test_the_structural_tests_look_at_each_shared_node_once():
    """inv(S + S + ...) nested 25 deep, each level the same node twice: a symmetric test
    that walked the tree would take 2^25 steps.  (Nothing here may print e: its text is
    2^25 terms long.)"""
    from matcalc import ir
    from matcalc.matrix import build as B
    s = _symbol("S")
    for _ in range(25):
        s = B.add(s, s)
    e = B.matmul(_symbol("y"), ir.apply("inv", (s,)))
    names = fired(e)
    assert names == ["symmetric-inverse"], names
    done = B.is_op(faster(e).args[0], "inv")
    assert done
