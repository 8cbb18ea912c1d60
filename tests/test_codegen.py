"""Generated numpy modules: importable, lint-clean, right, stable, and the
JSON / --emit-code / check contracts around them."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc.codegen.module import functions
from matcalc import ir
from matcalc.evaluate import evaluate
from matcalc.verify import direction, draw_inputs, draw_within

from cases import REQUIRED
from support import REPO, run_cli

GALLERY = sorted((REPO / "derivations").glob("*.yaml"))


def load_module(source: str, tmp_path: Path, name: str = "generated"):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path


def _scalar(e):
    return e if e.rank == 0 else ir.apply("sum", [e])


def _inputs(d, seed=0):
    """Random inputs with the props, inside the domain the expression, its results and
    its declared ``domain:`` need."""
    p = d.problem
    exprs = [p.expr] + [r.matrix for r in d.results.values()]
    rng = np.random.default_rng(seed)
    for _ in range(20):     # where a float evaluation is not finite, draw again (as the check does):
        values = draw_within(p.domain, exprs, p.symbols, p.dims, rng)    # probit's 1 - erf(z) at z = 9
        with np.errstate(all="ignore"):
            if all(np.all(np.isfinite(evaluate(e, values, p.dims))) for e in exprs):
                return values
    return values


def _check_module(d, module):
    """The module's functions agree with the evaluator, and its gradients agree
    with central differences of its own value()."""
    p = d.problem
    values = _inputs(d)
    np.testing.assert_allclose(module.value(**values), evaluate(p.expr, values, p.dims), rtol=1e-10)
    v, grads = module.value_and_grad(**values)
    np.testing.assert_allclose(v, module.value(**values), rtol=1e-12)
    rng = np.random.default_rng(1)
    for s, r in d.results.items():
        fname = next(name for name, role in functions(p, s, r) if role == "matrix")   # grad_, jac_, hess_
        got = np.asarray(getattr(module, fname)(**values))
        # against the result evaluated in 60 digits: the float evaluator of the text loses
        # what the emitted code keeps (probit's 1 - erf(z), emitted as erfc(z))
        np.testing.assert_allclose(got, evaluate(r.matrix, values, p.dims, precise=True), rtol=1e-9, atol=1e-12)
        assert got.shape == tuple(np.shape(evaluate(r.matrix, values, p.dims)))
        if r.kind == "gradient":
            np.testing.assert_allclose(grads[s], got, rtol=1e-10, atol=1e-12)
            v0 = values[s]
            h = 1e-5 * max(1.0, float(np.max(np.abs(v0))))
            dirn = direction(p.symbols[s], v0, rng)
            fd = (module.value(**{**values, s: v0 + h * dirn}) - module.value(**{**values, s: v0 - h * dirn})) / (2 * h)
            pred = np.sum(np.broadcast_to(got, np.shape(v0)) * dirn)
            assert abs(fd - pred) <= 1e-6 * max(1.0, abs(fd)), (fd, pred)


@pytest.mark.parametrize("case", REQUIRED, ids=lambda c: c.id)
def test_required_results_emit_code_that_verifies(case, tmp_path):
    d = matcalc.derive(case.doc())
    assert d.verified
    module, _ = load_module(d.code, tmp_path)
    _check_module(d, module)


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.stem)
def test_gallery_modules_verify_and_match_function(path, tmp_path):
    result = matcalc.derive(path)
    for d in result if isinstance(result, list) else [result]:
        assert d.verified
        module, _ = load_module(d.code, tmp_path, d.name)
        _check_module(d, module)
        f = d.function()
        values = _inputs(d, seed=3)
        v1, g1 = module.value_and_grad(**values)
        v2, g2 = f.value_and_grad(**values)
        np.testing.assert_allclose(v1, v2, rtol=1e-10)
        for s in g1:
            np.testing.assert_allclose(g1[s], g2[s], rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(shutil.which("ruff") is None and importlib.util.find_spec("ruff") is None,
                    reason="ruff is not installed (it is in the test extra)")
def test_generated_modules_pass_ruff(tmp_path):
    for case in REQUIRED:
        (tmp_path / f"{case.id}.py").write_text(matcalc.derive(case.doc(), verify=False).code)
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shared_work_is_computed_once():
    d = matcalc.derive(REPO / "derivations" / "softmax_regression.yaml", verify=False)
    body = d.code.split("def value_and_grad")[1]
    code = "\n".join(line.split("#")[0] for line in body.splitlines())
    assert code.count("X @ W") == 1          # the logits, computed once
    assert "t2 = _log_softmax(t1, axis=1)" in body and "np.exp(t2)" in body   # softmax reuses log_softmax


def test_extreme_logits_stay_finite(tmp_path):
    d = matcalc.derive(REPO / "derivations" / "softmax_regression.yaml", verify=False)
    module, _ = load_module(d.code, tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 10)) * 1000
    W = rng.normal(size=(10, 5))
    Y = np.eye(5)[rng.integers(5, size=8)]
    for scale in (1.0, -1.0):
        v, g = module.value_and_grad(X=scale * X, W=W, Y=Y, lam=0.1)
        assert np.isfinite(v) and np.all(np.isfinite(g["W"]))
    for expr in ["sum(softplus(x))", "sum(log(sigmoid(x)))", "logsumexp(x)", "sum(sigmoid(x))",
                 "sum(log_softmax(x))"]:
        d = matcalc.derive({"dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}}, "expr": expr}, verify=False)
        module, _ = load_module(d.code, tmp_path, "m" + str(abs(hash(expr))))
        x = np.array([1000.0, -1000.0, 0.0])
        assert np.isfinite(module.value(x=x)), expr
        assert np.all(np.isfinite(module.grad_x(x=x))), expr


@pytest.mark.parametrize("f,expected", [("relu", [0.0, 0.0, 1.0]), ("abs", [0.0, -1.0, 1.0])])
def test_subgradient_zero_at_zero_in_generated_code(f, expected, tmp_path):
    d = matcalc.derive({"dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}}, "expr": f"sum({f}(x))"})
    module, _ = load_module(d.code, tmp_path)
    np.testing.assert_array_equal(module.grad_x(x=np.array([0.0, -2.0, 3.0])), expected)


def test_hessian_module_has_hess_and_grad(tmp_path):
    case = next(c for c in REQUIRED if c.id == "hessian_logistic")
    d = matcalc.derive(case.doc())
    module, _ = load_module(d.code, tmp_path)
    assert callable(module.hess_w) and callable(module.grad_w)
    hess = d.code.split("def hess_w")[1].split("def ")[0]
    assert "np.diag" not in hess                 # diag(v) @ X as a broadcast product, no n x n matrix


def test_json_contract():
    result = run_cli("derive", str(REPO / "derivations" / "softmax_regression.yaml"), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {"name", "expr", "order", "results", "code", "verification"} <= set(data)
    r = data["results"]["W"]
    assert r["matrix"] == "X.T @ (softmax(X @ W, axis=1) - Y) / n + 2 * lam * W"
    assert r["shape"] == ["m", "k"] and "latex" in r
    v = data["verification"]["W"]
    assert v["passed"] is True and v["max_rel_error"] < 1e-6 and isinstance(v["max_abs_error"], float)
    assert "def value_and_grad(" in data["code"] and "def grad_W(" in data["code"]


def test_json_for_a_derivations_list(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("derivations:\n"
                    "  - {name: a, dims: {n: 3}, symbols: {x: {shape: [n]}}, expr: 'sum(x * x)'}\n"
                    "  - {name: b, dims: {n: 3}, symbols: {x: {shape: [n]}}, expr: 'sum(exp(x))'}\n")
    result = run_cli("derive", str(path), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [d["name"] for d in data["derivations"]] == ["a", "b"]
    assert data["derivations"][0]["results"]["x"]["matrix"] == "2 * x"


def test_failed_verification_exits_1(monkeypatch):
    import matcalc.pipeline as pipeline
    from matcalc.matrix import build as B

    original = pipeline.differentiate

    def off_by_a_little(problem, name, *rest):
        r = original(problem, name, *rest)
        r.matrix = B.mul(B.num(1.001), r.matrix)
        return r

    monkeypatch.setattr(pipeline, "differentiate", off_by_a_little)
    result = run_cli("derive", str(REPO / "derivations" / "softmax_regression.yaml"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["verification"]["W"]["passed"] is False


def test_emit_code_writes_a_module_and_never_the_input(tmp_path):
    src = REPO / "derivations" / "softmax_regression.yaml"
    copy = tmp_path / "sr.yaml"
    copy.write_text(src.read_text())
    out = tmp_path / "grads.py"
    result = run_cli("derive", str(copy), "--emit-code", str(out))
    assert result.exit_code == 0 and out.exists()
    assert "def grad_W(" in out.read_text()
    assert not list(tmp_path.glob(".*.tmp"))        # no temp file left behind
    before = copy.read_text()
    result = run_cli("derive", str(copy), "--emit-code", str(copy))
    assert result.exit_code == 2 and "refusing to overwrite" in result.stderr
    assert copy.read_text() == before


def test_check_against_a_users_gradient(tmp_path):
    user = tmp_path / "mine.py"
    user.write_text(
        "import numpy as np\n"
        "def _s(Z):\n"
        "    E = np.exp(Z - Z.max(1, keepdims=True))\n"
        "    return E / E.sum(1, keepdims=True)\n"
        "def grad_W(X, W, Y, lam):\n"
        "    return X.T @ (_s(X @ W) - Y) / X.shape[0] + 2 * lam * W\n"
        "def grad_W_half_reg(X, W, Y, lam):\n"
        "    return X.T @ (_s(X @ W) - Y) / X.shape[0] + lam * W\n"
        "def grad_W_transposed(X, W, Y, lam):\n"
        "    return (X.T @ (_s(X @ W) - Y) / X.shape[0]).T\n")
    yaml = str(REPO / "derivations" / "softmax_regression.yaml")
    ok = run_cli("check", yaml, "--against", f"{user}:grad_W")
    assert ok.exit_code == 0 and "agrees" in ok.stdout
    half = run_cli("check", yaml, "--against", f"{user}:grad_W_half_reg", "--wrt", "W")
    assert half.exit_code == 1 and "2 * lam * W is 0.5 times" in half.stdout
    wrong_shape = run_cli("check", yaml, "--against", f"{user}:grad_W_transposed", "--wrt", "W")
    assert wrong_shape.exit_code == 1 and "shape" in wrong_shape.stdout


def test_a_zero_gradient_is_emitted_as_zeros():
    """trace(A inv(A)) = n: the gradient is the zero matrix, emitted as np.zeros, not 0 * np.ones."""
    d = matcalc.derive({"dims": {"n": 3}, "symbols": {"A": {"shape": ["n", "n"]}},
                        "expr": "trace(A @ inv(A))", "wrt": ["A"]})
    assert "np.zeros((n, n))" in d.code and "0 * np.ones" not in d.code
    A = np.random.default_rng(0).normal(size=(3, 3)) + 3 * np.eye(3)
    value, grads = d.function().value_and_grad(A=A)
    assert np.isclose(value, 3.0) and np.array_equal(grads["A"], np.zeros((3, 3)))
