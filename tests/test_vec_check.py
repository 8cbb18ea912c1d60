"""The check of vec-convention results (issue 15): it runs every function of the module
-- value, grad_S, jac_S, hess_S, hvp_S, hess_W1_W2, value_and_grad -- in the
column-stacking convention, and fails a module that stacks rows instead; along
symmetric directions only for symmetric symbols; the memory guard and the JSON.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import matcalc
from matcalc.codegen import load_module
from matcalc.errors import MatcalcError
from matcalc.verify import check_module
from matcalc.verify.vec import along, projection, unvec, vec

from support import run_cli
from test_module_check import _replace_function

DIMS = {"p": 2, "m": 3, "n": 4, "q": 5}


def sym(shape, props=None):
    return {"shape": shape, **({"props": props} if props else {})}


def derive(expr, symbols, wrt, order=1, **extra):
    return matcalc.derive({"name": "vec15", "dims": dict(DIMS), "symbols": symbols, "expr": expr, "wrt": wrt,
                           "order": order, **extra})


AXB = ("A @ X @ B", {"A": sym(["p", "m"]), "X": sym(["m", "n"]), "B": sym(["n", "q"])}, ["X"])
TRACE = ("trace(X.T @ A @ X)", {"A": sym(["m", "m"]), "X": sym(["m", "n"])}, ["X"])
NET = ("sum((X @ W1 @ W2 - Y) ** 2)",
       {"X": sym(["n", "p"]), "W1": sym(["p", "m"]), "W2": sym(["m", "q"]), "Y": sym(["n", "q"])}, ["W1", "W2"])


# -- the convention itself ----------------------------------------------------------------

def test_unvec_is_the_four_index_array_of_partial_derivatives():
    """J[i + a*j, p + m*q] = ∂F_ij/∂X_pq, and J.reshape(F + X, order="F") unpacks it."""
    rng = np.random.default_rng(0)
    A, B, X = rng.normal(size=(2, 3)), rng.normal(size=(4, 5)), rng.normal(size=(3, 4))
    J = np.kron(B.T, A)                                    # vec(A X B) = (Bᵀ ⊗ A) vec X
    T = unvec(J, (2, 5), (3, 4))
    for i, j, p, q in np.ndindex(2, 5, 3, 4):
        assert T[i, j, p, q] == J[i + 2 * j, p + 3 * q] == A[i, p] * B[q, j]
    V = rng.normal(size=X.shape)
    np.testing.assert_allclose(along(J, V, (2, 5)), A @ V @ B, rtol=1e-12)      # reshape(J vec V, F)
    np.testing.assert_allclose(along(T, V, (2, 5)), A @ V @ B, rtol=1e-12)      # the axes as written
    np.testing.assert_allclose(vec(A @ X @ B), J @ vec(X), rtol=1e-12)
    assert not np.allclose(np.kron(A, B.T) @ np.ravel(X), vec(A @ X @ B))        # row-stacked: another matrix


def test_along_for_gradients_and_scalars():
    rng = np.random.default_rng(1)
    G, V = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert np.isclose(along(G, V, ()), np.sum(G * V))
    assert np.allclose(along(G, np.asarray(2.0), (3, 4)), 2 * G)
    H, v = rng.normal(size=(4, 4)), rng.normal(size=4)
    assert np.allclose(along(H, v, (4,)), H @ v)


def test_projection_on_a_symbols_directions():
    s = matcalc.ir.Symbol(("n", "n"), "S", frozenset({"symmetric"}))
    a = np.arange(9.0).reshape(3, 3)
    assert np.allclose(projection(s)(a), (a + a.T) / 2)
    assert projection(matcalc.ir.Symbol(("n", "m"), "X")) is None
    assert np.allclose(projection(matcalc.ir.Symbol(("n", "n"), "D", frozenset({"diagonal"})))(a), np.diag([0, 4, 8]))


# -- the check fails a row-major module -------------------------------------------------------

def _c_order(source: str, name: str, body: str) -> str:
    """``name``'s result re-laid out as if vec stacked rows: the same 4-index array,
    packed back in C order."""
    return _replace_function(source, name, body)


def test_a_jacobian_stacked_by_rows_fails():
    d = derive(*AXB)
    assert d.verified
    row_major = _c_order(d.code, "jac_X", "J = np.kron(B.T, A); return J.reshape(A.shape[0], B.shape[1], "
                                          "*X.shape, order='F').reshape(J.shape)")
    got = check_module(d.problem, d.results, load_module(row_major))["X"]
    assert got.status == "failed" and got.cause == "differences", got
    # the same with the Kronecker factors swapped (the row-stacked Jacobian kron(A, Bᵀ))
    got = check_module(d.problem, d.results, load_module(_replace_function(d.code, "jac_X", "return np.kron(A, B.T)")))
    assert got["X"].status == "failed"
    # and the right one, through the same replacement, passes: the replacement is not the fault
    same = check_module(d.problem, d.results, load_module(_replace_function(d.code, "jac_X", "return np.kron(B.T, A)")))
    assert same["X"].status == "passed"


def test_a_hessian_stacked_by_rows_fails():
    d = derive(*TRACE, order=2)
    assert d.verified
    wrong = _c_order(d.code, "hess_X", "H = np.kron(np.eye(X.shape[1]), A + A.T); "
                                       "return H.reshape(*X.shape, *X.shape, order='F').reshape(H.shape)")
    got = check_module(d.problem, d.results, load_module(wrong))["X"]
    assert got.status == "failed" and "hess_X disagrees with finite differences of grad_X" in got.why, got


def test_an_hvp_unpacked_by_rows_fails():
    d = derive(*TRACE, order=2)
    wrong = _replace_function(d.code, "hvp_X", "return ((A + A.T) @ dX).reshape(-1).reshape(dX.shape[::-1]).T")
    got = check_module(d.problem, d.results, load_module(wrong))["X"]
    assert got.status == "failed" and "hvp_X" in got.why, got


def test_an_hvp_that_agrees_with_differences_but_not_the_hessian_fails():
    """hess_X and hvp_X judged against grad_X each; and against each other."""
    d = derive(*TRACE, order=2)
    wrong = _replace_function(d.code, "hvp_X", "return 1.001 * (A + A.T) @ dX")
    got = check_module(d.problem, d.results, load_module(wrong))["X"]
    assert got.status == "failed", got


def test_a_mixed_derivative_stacked_by_rows_fails():
    d = derive(*NET, order=2, mixed=True)
    assert d.verified
    wrong = _replace_function(d.code, "hess_W1_W2", "M = " + d.code.split("def hess_W1_W2")[1].split("return ")[1]
                              .split("\n")[0] + "; return M.reshape(*W1.shape, *W2.shape, order='F').reshape(M.shape)")
    got = check_module(d.problem, d.results, load_module(wrong))
    assert got["W1,W2"].status == "failed" and "hess_W1_W2" in got["W1,W2"].why, got["W1,W2"]
    assert got["W1"].status == got["W2"].status == "passed"


def test_a_module_without_the_functions_of_the_contract_fails():
    d = derive(*TRACE, order=2)
    source = d.code.replace("def hvp_X(", "def hvp_X_(")
    got = check_module(d.problem, d.results, load_module(source))["X"]
    assert got.status == "failed" and "defines no hvp_X()" in got.why


# -- symmetric symbols: directions in their space only ------------------------------------

SYMQ = ("trace(S @ A @ S)", {"S": sym(["n", "n"], ["symmetric"]), "A": sym(["n", "n"])}, ["S"])


def test_a_hessian_wrt_a_symmetric_symbol_is_judged_on_symmetric_directions():
    d = derive(*SYMQ, order=2)
    assert d.verified, d.verification
    # H K (K the commutation matrix) agrees with H on every symmetric direction: still right
    other = d.code.split("def hess_S")[1].split("return ")[1].split("\n")[0]
    same_there = _replace_function(d.code, "hess_S", f"H = {other}; n_ = S.shape[0]; "
                                   "return H.reshape(-1, n_, n_).transpose(0, 2, 1).reshape(H.shape)")
    # (the stability probe holds a function to its own formula, which this one is not: off here)
    assert check_module(d.problem, d.results, load_module(same_there), stability=False)["S"].status == "passed"
    # ... but off by an antisymmetric-blind amount on symmetric directions: wrong
    wrong = _replace_function(d.code, "hess_S", f"return 1.001 * ({other})")
    assert check_module(d.problem, d.results, load_module(wrong))["S"].status == "failed"


# -- hvp_S's direction is an argument like the others ----------------------------------------

def test_the_direction_is_checked_like_the_other_arguments():
    d = derive(*TRACE, order=2)
    f = d.function()
    rng = np.random.default_rng(0)
    A, X = rng.normal(size=(3, 3)), rng.normal(size=(3, 4))
    assert f.hvp_X(A=A, X=X, dX=X).shape == (3, 4)
    with pytest.raises(ValueError, match=r"hvp_X\(\): .*dX has shape \(4, 3\) \(declared \[m, n\]\)"):
        f.hvp_X(A=A, X=X, dX=X.T)
    with pytest.raises(ValueError, match="dX must be a number or an array of numbers"):
        f.hvp_X(A=A, X=X, dX="up")
    with pytest.raises(TypeError):
        f.hvp_X(A=A, X=X)
    with pytest.raises(ValueError, match=r"hess_X\(\): arguments A and X disagree"):
        f.hess_X(A=A, X=X.T)


def test_a_direction_name_that_is_taken_gets_an_underscore():
    d = derive("trace(W.T @ W) + sum(dW)", {"W": sym(["m", "n"]), "dW": sym(["m", "n"])}, ["W"], order=2)
    assert d.verified
    assert d.results["W"].direction.name == "dW_"
    f = d.function()
    W = np.ones((3, 4))
    np.testing.assert_allclose(f.hvp_W(W=W, dW=W, dW_=2 * W), 4 * W)


def test_many_symbols_take_the_direction_by_keyword_too():
    names = [f"a{k}" for k in range(40)]
    expr = "trace(X.T @ X) + " + " + ".join(names)
    symbols = {"X": sym(["m", "n"]), **{k: sym([]) for k in names}}
    d = derive(expr, symbols, ["X"], order=2)
    assert d.verified
    f = d.function()
    args = {"X": np.ones((3, 4)), **{k: 1.0 for k in names}}
    np.testing.assert_allclose(f.hvp_X(**args, dX=np.ones((3, 4))), 2 * np.ones((3, 4)))
    with pytest.raises(TypeError, match="missing keyword arguments: dX"):
        f.hvp_X(**args)


# -- memory ---------------------------------------------------------------------------------

def test_a_hessian_too_large_to_check_is_refused_before_anything_is_drawn():
    doc = {"name": "big", "dims": {"m": 1000, "n": 1000}, "symbols": TRACE[1], "expr": TRACE[0], "wrt": ["X"],
           "order": 2}
    with pytest.raises(MatcalcError, match="the check would need .* TiB"):
        matcalc.derive(doc)
    assert matcalc.derive(doc, verify=False).results["X"].text == "kron(eye(n), A + A.T)"


# -- JSON, terminal, exit codes ---------------------------------------------------------------

def test_cli_json_of_an_order_two_derivation(tmp_path):
    path = tmp_path / "trace.yaml"
    path.write_text("name: trace\ndims: {m: 3, n: 4}\nsymbols:\n  A: {shape: [m, m]}\n  X: {shape: [m, n]}\n"
                    "expr: trace(X.T @ A @ X)\nwrt: [X]\norder: 2\n")
    result = run_cli("derive", str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    x = data["results"]["X"]
    assert x["matrix"] == "kron(eye(n), A + A.T)" and x["shape"] == ["m*n", "m*n"] and x["kind"] == "hessian"
    assert x["hvp"]["matrix"] == "(A + A.T) @ dX" and x["hvp"]["shape"] == ["m", "n"]
    assert "\\otimes" in x["latex"] and x["hvp"]["latex"]
    assert data["verification"]["X"] == {**data["verification"]["X"], "passed": True, "status": "passed"}
    for name in ("def hess_X(", "def hvp_X(*, A, X, dX):", "def grad_X(", "def value_and_grad("):
        assert name in data["code"]


def test_cli_json_and_terminal_of_a_mixed_derivation(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(json.dumps({"name": "net", "dims": DIMS, "symbols": NET[1], "expr": NET[0], "wrt": NET[2],
                                "order": 2, "mixed": True}))
    result = run_cli("derive", str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data["results"]) == ["W1", "W2", "W1,W2"]
    pair = data["results"]["W1,W2"]
    assert pair["kind"] == "mixed" and pair["pair"] == ["W1", "W2"] and pair["shape"] == ["m*p", "m*q"]
    assert data["verification"]["W1,W2"]["status"] == "passed"
    assert "def hess_W1_W2(" in data["code"]
    table = run_cli("derive", str(path), "--no-steps")
    assert table.exit_code == 0, table.output
    assert "∂²J/∂W1∂W2 (mixed, [m*p, m*q])" in table.output and "H vec(dW1)" in table.output


def test_a_failed_vec_check_exits_1(tmp_path, monkeypatch):
    """A module whose Hessian is stacked by rows: the result is failed, the exit code 1."""
    import matcalc.pipeline as pipeline

    path = tmp_path / "trace.yaml"
    path.write_text("name: trace\ndims: {m: 3, n: 4}\nsymbols:\n  A: {shape: [m, m]}\n  X: {shape: [m, n]}\n"
                    "expr: trace(X.T @ A @ X)\nwrt: [X]\norder: 2\n")
    code = pipeline.Derivation.code

    def row_major(self):
        return _replace_function(code.fget(self), "hess_X", "return np.kron(A + A.T, np.eye(X.shape[1]))")
    monkeypatch.setattr(pipeline.Derivation, "code", property(row_major))
    result = run_cli("derive", str(path), "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["verification"]["X"]["status"] == "failed"


# -- 60 digits ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["kron(X, X.T)", "kron(eye(m), X) @ commutation(n, m)", "vec(X)",
                                  "diag(vec(exp(X)))", "reshape(X, (n, m))", "einsum('ij,kj->ik', X, X)"])
def test_the_exact_evaluator_reads_the_vec_forms(text):
    """The stability probe and the failed-comparison re-check evaluate a result at 60
    digits: kron, commutation, vec, reshape and einsum go through it as through float64."""
    from matcalc.evaluate import evaluate
    from matcalc.parse import parse

    d = matcalc.derive({"name": "vec15", "dims": dict(DIMS), "symbols": {"X": sym(["m", "n"])}, "expr": "X.T",
                        "wrt": ["X"]}, verify=False)
    e = parse(text, d.problem.symbols, d.problem.dims)
    X = {"X": np.random.default_rng(0).normal(size=(3, 4))}
    exact = evaluate(e, X, d.problem.dims, precise=True)
    np.testing.assert_allclose(exact, evaluate(e, X, d.problem.dims), rtol=1e-14, atol=1e-15)
