""""Verified" means the emitted module: every function it defines is run and judged.

Issue 11's reproducers, the checker failing modules that are wrong in each way
it can be (a gradient 0.1% off behind a right result text, a value_and_grad
that disagrees, a function that raises, a module that does not load, a form
that cancels), domains, and the emitted numerics at large magnitudes measured
against 60-digit arithmetic.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import matcalc
from matcalc.codegen import docstring, load_module
from matcalc.evaluate import evaluate
from matcalc.pipeline import check
from matcalc.verify import check_module, draw_within

from support import compact_doc, run_cli


def _derive(expr, symbols, wrt, order=1, dims=None, **extra):
    doc = compact_doc(expr, symbols, wrt, order, dims)
    doc.update(extra)
    return matcalc.derive(doc)


def _replace_function(source: str, name: str, body: str) -> str:
    """``source`` with function ``name``'s last line (its return) replaced by ``body``."""
    head, rest = source.split(f"def {name}(", 1)
    block, tail = rest.split("\n\n\n", 1) if "\n\n\n" in rest else (rest, "")
    lines = block.rstrip("\n").splitlines()
    lines[-1] = "    " + body
    return head + f"def {name}(" + "\n".join(lines) + "\n\n\n" + tail


SOFTMAX = ("-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)",
           "X:[n,m]:constant W:[m,k] Y:[n,k]:onehot,constant lam:[]:constant", "W")


# -- the check judges the module, not the IR -------------------------------------------

def test_a_module_with_a_grad_off_by_a_tenth_of_a_percent_fails():
    d = _derive(*SOFTMAX, dims={"n": 6, "m": 4, "k": 3})
    assert d.verified
    wrong = _replace_function(d.code, "grad_W", "return 1.001 * (X.T @ (_softmax(X @ W, axis=1) - Y) / n "
                                                "+ 2 * lam * W)")
    module = load_module(wrong)
    got = check_module(d.problem, d.results, module)["W"]
    assert got.status == "failed" and got.cause == "differences", got
    assert d.results["W"].text in wrong        # the result text is still right: only the code is wrong


def test_a_value_and_grad_that_disagrees_fails():
    d = _derive(*SOFTMAX, dims={"n": 6, "m": 4, "k": 3})
    wrong = _replace_function(d.code, "value_and_grad", 'return value, {"W": 1.001 * grad_W}')
    got = check_module(d.problem, d.results, load_module(wrong))["W"]
    assert got.status == "failed" and got.cause == "agreement" and "value_and_grad" in got.why


def test_a_function_that_raises_fails_with_its_error():
    d = _derive(*SOFTMAX, dims={"n": 6, "m": 4, "k": 3})
    wrong = _replace_function(d.code, "grad_W", "return X @ W @ X")      # a shape error
    got = check_module(d.problem, d.results, load_module(wrong))["W"]
    assert got.status == "failed" and got.cause == "runs" and "grad_W() raises ValueError" in got.why


def test_a_module_that_does_not_load_fails():
    d = _derive(*SOFTMAX, dims={"n": 6, "m": 4, "k": 3})
    d._code = d.code.replace("return", "retrun", 1)
    got = check(d.problem, d)["W"]
    assert got.status == "failed" and "does not load: SyntaxError" in got.why


def test_function_is_the_emitted_module():
    d = _derive(*SOFTMAX, dims={"n": 6, "m": 4, "k": 3})
    f = d.function()
    assert f.grad_W.__code__.co_filename.startswith("<matcalc_")     # compiled from d.code, not an evaluator
    assert sorted(n for n in vars(f) if not n.startswith("_") and callable(getattr(f, n))
                  and n != "np") == ["grad_W", "value", "value_and_grad"]


# -- issue 11's reproducers ------------------------------------------------------------

@pytest.mark.parametrize("n, m", [(5, 3), (4, 4)])
def test_logdet_of_a_gram_matrix_emits_a_right_grad(n, m):
    """grad_X was emitted as 2 * solve(X.T @ X.T, X.T).T: a shape error for n != m, a
    wrong number for a square X."""
    d = _derive("logdet(X.T @ X)", "X:[n,m]", "X", dims={"n": n, "m": m})
    assert d.verified, d.verification
    f = d.function()
    X = np.random.default_rng(1).normal(size=(n, m))
    want = 2 * X @ np.linalg.inv(X.T @ X)
    np.testing.assert_allclose(f.grad_X(X=X), want, rtol=1e-9)
    np.testing.assert_allclose(f.value_and_grad(X=X)[1]["X"], want, rtol=1e-9)
    assert "solve(X.T @ X.T" not in d.code


def test_an_inverse_of_a_sum_with_a_number_loads():
    """`np.eye(m) / 10.T` made a module that did not load, and matcalc said passed."""
    d = _derive("-mean(inv(B.T @ A @ B + 0.1 * eye(m)))", "A:[n,n]:spd B:[n,m]", "B", dims={"n": 5, "m": 3})
    assert d.verified, d.verification
    f = d.function()
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 5))
    A, B = a @ a.T + 5 * np.eye(5), rng.normal(size=(5, 3))
    np.testing.assert_allclose(f.grad_B(A=A, B=B), f.value_and_grad(A=A, B=B)[1]["B"], rtol=1e-10)


def test_the_hessian_of_a_broadcast_norm_is_derived():
    """norm(log(v) + M, 'fro') with v [n] and M [n, 1] crashed in _weighted_outer."""
    d = _derive("norm(log(v) + M, 'fro')", "v:[n]:positive M:[n,1]", "v", order=2, dims={"n": 4, "m": 3})
    assert d.verified, d.verification


PSEUDO_HUBER = ("sum(delta ** 2 * (sqrt(1 + ((X @ w - y) / delta) ** 2) - 1))",
                "X:[n,m]:constant w:[m] y:[n]:constant delta:[]:constant,positive", "w")


@pytest.mark.parametrize("size", [1e4, 1e8])
def test_pseudo_huber_hessian_keeps_its_digits_for_large_targets(size):
    """The emitted Hessian at |X @ w| ~ size with residuals of order delta, against the
    exact value (60 digits); it was (2 X@w y - (X@w)² - y²)/(...) + 1, 3e-2 off at 1e7."""
    d = _derive(*PSEUDO_HUBER, order=2, dims={"n": 6, "m": 3})
    assert d.verified
    rng = np.random.default_rng(3)
    X, w, delta = rng.normal(size=(6, 3)), rng.normal(size=3) * size, 1.5
    y = X @ w + delta * rng.normal(size=6)
    values = dict(X=X, w=w, y=y, delta=delta)
    got = d.function().hess_w(**values)
    exact = evaluate(d.results["w"].matrix, values, d.problem.dims, precise=True)
    assert np.max(np.abs(got - exact)) <= 1e-6 * np.max(np.abs(exact))


def test_smoothed_l1_hessian_keeps_its_digits():
    """1 - w²/(eps + w²) at |w| ~ 1e3, eps = 1e-8 has no correct digit; eps/(eps + w²) has all."""
    d = _derive("sum(sqrt(eps + w ** 2))", "w:[n] eps:[]:constant,positive", "w", order=2)
    assert d.verified
    w = np.random.default_rng(4).normal(size=3) * 1e3
    got = np.diag(d.function().hess_w(w=w, eps=1e-8))
    exact = np.diag(evaluate(d.results["w"].matrix, {"w": w, "eps": 1e-8}, d.problem.dims, precise=True))
    np.testing.assert_allclose(got, exact, rtol=1e-6)
    assert "1 - w ** 2" not in d.results["w"].text


# -- the stability probe ----------------------------------------------------------------

@pytest.mark.parametrize("body", [
    # the expanded residual: (t - y)² written as t² - 2 t y + y²
    "return X.T * (delta ** 3 / (delta ** 2 + (X @ w) ** 2 - 2 * (X @ w) * y + y ** 2) ** 1.5) @ X",
])
def test_a_cancelling_form_fails_the_stability_probe(body):
    d = _derive(*PSEUDO_HUBER, order=2, dims={"n": 6, "m": 3})
    module = load_module(_replace_function(d.code, "hess_w", body))
    got = check_module(d.problem, d.results, module)["w"]
    assert got.status == "failed" and got.cause == "stability", got
    assert got.why.startswith("hess_w loses digits")


def test_a_cancelling_smoothed_l1_form_fails_the_stability_probe():
    d = _derive("sum(sqrt(eps + w ** 2))", "w:[n] eps:[]:constant,positive", "w", order=2)
    bad = "return np.diag((1 - w ** 2 / (eps + w ** 2)) / np.sqrt(eps + w ** 2))"
    got = check_module(d.problem, d.results, load_module(_replace_function(d.code, "hess_w", bad)))["w"]
    assert got.status == "failed" and got.cause == "stability", got


def test_the_probe_passes_the_forms_matcalc_emits():
    for expr, symbols, wrt, order in [PSEUDO_HUBER + (2,), SOFTMAX + (1,),
                                      ("sum(softplus(X @ w) - y * (X @ w)) / n", "X:[n,m]:constant w:[m] "
                                       "y:[n]:constant", "w", 2)]:
        d = _derive(expr, symbols, wrt, order, dims={"n": 6, "m": 3, "k": 2})
        assert d.verified, (expr, d.verification)


# -- domains -----------------------------------------------------------------------------

BARRIER = ("-sum(log(b - A @ x))", "A:[n,m]:constant b:[n]:constant x:[m]", "x")


def test_log_barrier_with_its_domain_passes():
    d = _derive(*BARRIER, order=2, dims={"n": 12, "m": 4}, domain=["b - A @ x > 0"])
    assert d.verified, d.verification
    assert d.results["x"].text == "A.T @ diag(1 / (b - A @ x) ** 2) @ A"


def test_log_barrier_without_a_domain_is_not_judged_with_a_suggestion():
    d = _derive(*BARRIER, order=2, dims={"n": 12, "m": 4})
    c = d.verification["x"]
    assert c.status == "not judged" and not c.passed and not d.verified
    assert "domain:" in c.why and "log(b - A @ x)" in c.why


def test_not_judged_exits_1_and_says_so_in_json(tmp_path):
    doc = compact_doc(*BARRIER, order=2, dims={"n": 12, "m": 4})
    path = tmp_path / "barrier.json.yaml"
    path.write_text(json.dumps(doc))
    result = run_cli("derive", str(path), "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)["verification"]["x"]
    assert out["status"] == "not judged" and out["passed"] is False and "domain" in out["why"]
    assert out["max_abs_error"] is None                  # no NaN in JSON
    human = run_cli("derive", str(path))
    assert human.exit_code == 1 and "not judged" in human.stdout


def test_the_sampler_draws_inside_every_constraint():
    d = _derive("-sum(log(1 - x @ x)) - sum(log(x))", "x:[n]", "x", dims={"n": 5, "m": 2},
                domain=["1 - x @ x > 0", "x > 0"])
    assert d.verified, d.verification
    rng = np.random.default_rng(0)
    p = d.problem
    for _ in range(20):
        v = draw_within(p.domain, [p.expr], p.symbols, p.dims, rng)
        assert v["x"] @ v["x"] < 1 and np.all(v["x"] > 0)


@pytest.mark.parametrize("entry, message", [
    ("b - A @ x", "a domain entry is one comparison"),
    ("0 < b - A @ x < 1", "not a chain"),
    ("b - A @ z > 0", "unknown name 'z'"),
    ("b - A @ x > ones(m)", "do not broadcast"),
])
def test_a_bad_domain_entry_is_one_clear_error(tmp_path, entry, message):
    doc = compact_doc(*BARRIER, dims={"n": 4, "m": 3})
    text = json.dumps(doc)[:-1] + f', "domain": [{json.dumps(entry)}]}}'
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run_cli("derive", str(path))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "(domain" in result.stderr and "Traceback" not in result.stderr


def test_a_domain_less_than_is_the_difference_the_other_way():
    d = _derive("sum(log(1 - x))", "x:[n]", "x", domain=["x < 1"])
    assert d.verified and d.problem.domain_text == ("x < 1",)


# -- the module is safe to load ---------------------------------------------------------

def test_user_text_in_the_module_is_never_run(tmp_path):
    nasty = 'ends """\nimport sys; sys.exit("ran user text")\nr"""C:\\Users\\me\x00'
    doc = compact_doc("sum(x * x)", "x:[n]", "x")
    doc["description"] = nasty
    d = matcalc.derive(doc)
    assert d.verified
    module = load_module(d.code)            # would exit if the description's line ran
    assert nasty.strip() in module.__doc__


def test_docstring_holds_exactly_its_text():
    import ast
    for text in ['"', '""""', "\\", "a\\nb", "tab\tand\x07bell", "\u2028", "ends with quote\""]:
        assert ast.literal_eval(docstring(text)) == text


@pytest.mark.parametrize("name", ["t1", "value", "grad_x_", "np"])
def test_symbols_named_like_the_modules_own_names(name):
    d = _derive(f"sum(exp(x) * {name}) + sum(exp(x) * {name}) ** 2", f"x:[n] {name}:[n]:constant", "x")
    assert d.verified, (name, d.verification)


# -- found by the campaign (seed 2026): emitted code that raised or did not compile --------

@pytest.mark.parametrize("expr, symbols, wrt", [
    ("norm(M0 + n.T, 'fro')", "M0:[m,m]", "M0"),          # n.T of a dimension: AttributeError on int
    ("v3 + (0.5).T", "v3:[n]", "v3"),                     # AttributeError on float
    ("sum(r.T @ W @ x)", "r:[n] W:[n,m] x:[m]", "W"),      # a vector's .T is the vector
    ("det(inv(z2 @ softmax(M9 @ M10, axis=0).T + z1))", "M10:[m,1] M9:[n,m] z1:[n,n] z2:[n,1]", "M10"),
])
def test_transposes_of_numbers_and_vectors_emit_code_that_runs(expr, symbols, wrt):
    d = _derive(expr, symbols, wrt, dims={"n": 2, "m": 3})
    assert d.verified, d.verification
    import ast
    code = "\n".join(ast.unparse(stmt) for f in ast.parse(d.code).body if isinstance(f, ast.FunctionDef)
                     for stmt in f.body[1:])           # the functions' code, without docstrings
    assert "n.T" not in code and "0.5.T" not in code and "r.T" not in code, code


def test_a_logdet_singular_for_every_input_is_not_judged():
    """logdet(M3 @ ((3).T / M3).T) is the logdet of a rank-1 matrix: -inf or the log of a
    rounding error at every point; the emitted solve raised LinAlgError."""
    d = _derive("logdet(M3 @ ((3).T / M3).T)", "M3:[n,1]", "M3", dims={"n": 2, "m": 3})
    c = d.verification["M3"]
    assert c.status == "not judged" and c.cause == "unresolvable", c
    assert "3.T" not in d.code


def test_exp_of_minus_a_times_exp_of_a_is_one():
    """log(exp(2 + s0)) had the gradient exp(-2 - s0) * exp(2 + s0): inf * 0 at s0 ~ 1e4
    (the stability probe's finding); powers of one base are combined."""
    d = _derive("log(exp(2 + s0))", "s0:[]", "s0")
    assert d.verified and d.results["s0"].text == "1"


def test_code_that_is_right_but_loses_digits_at_small_inputs_fails_as_unstable():
    """grad_x = (x + 1e9) - 1e9 is x to 1e-7 at |x| ~ 1, but only to 1e-4 at the check's
    scale 1e-3: it fails there, as a float64 problem (the formula x at 60 digits passes)."""
    d = _derive("sum(x * x) / 2", "x:[n]", "x")
    bad = _replace_function(d.code, "grad_x", "return (x + 1e9) - 1e9")
    got = check_module(d.problem, d.results, load_module(bad))["x"]
    assert got.status == "failed" and got.cause == "stability" and "loses digits" in got.why, got


def test_softmax_rows_sum_to_one():
    """Σ_k softmax(A)_ik = 1 (a fact of softmax's record): the Jacobian of
    log_softmax(sum(v - M, axis=1)) is 0, not (1 - sum(softmax(...))) * ones(n, n)."""
    d = _derive("log_softmax(sum(v - M, axis=1))", "v:[n] M:[n,1]", "v")
    assert d.verified and d.results["v"].text == "0" and d.results["v"].shape == ("n", "n")
