"""bench/jit_race.py and bench/gallery_speed.py run, print what they promise, and measure
the right things: the hand-written contenders are right (finite differences), matcalc's
modules agree with them (the scripts mark a disagreeing contender WRONG and leave it
untimed: no WRONG may print), the verdicts follow the bounds.  No timing is asserted;
the jax parts are skipped where jax is not installed."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

_path = list(sys.path)
sys.path[:0] = [str(BENCH), str(ROOT)]
import jit_race_cases as cases
import jit_race_hand as hand

sys.path[:] = _path
HAS_JAX = importlib.util.find_spec("jax") is not None


def fd_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of an array, entry by entry."""
    g = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[ix] = eps
        g[ix] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


# ---------------------------------------------------------------- the hand-written contenders


def test_softmax_hand_forms_agree_and_are_the_gradient():
    X, W, Y, lam = cases.softmax_problem(40, 5, 3)
    value, grad = hand.sr_vg_cols(X, W, Y, lam)
    assert value == pytest.approx(hand.sr_value_rows(X, W, Y, lam), rel=1e-12)
    assert value == pytest.approx(hand.sr_value_cols(X, W, Y, lam), rel=1e-12)
    np.testing.assert_allclose(grad, fd_grad(lambda W: hand.sr_value_rows(X, W, Y, lam), W), atol=1e-8)


def test_logistic_hessian_by_hand_is_the_jacobian_of_the_gradient():
    rng = np.random.default_rng(0)
    X, w, y = rng.standard_normal((30, 4)), rng.standard_normal(4), (rng.random(30) < 0.5) * 1.0
    grad = lambda w: X.T @ (1 / (1 + np.exp(-(X @ w))) - y)
    H = hand.logistic_hess_syrk(X, w)
    fd = np.stack([(grad(w + 1e-6 * e) - grad(w - 1e-6 * e)) / 2e-6 for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H, fd, atol=1e-7)


def test_mlp_hand_forms_are_the_gradient():
    rng = np.random.default_rng(1)
    X, W1, W2 = rng.standard_normal((12, 4)), rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    Y = np.eye(3)[rng.integers(0, 3, 12)]
    value, (g1, g2) = hand.mlp_vg(X, W1, W2, Y)
    value_t, (t1, t2) = hand.mlp_vg_transposed(X, W1, W2, Y)
    assert value == pytest.approx(value_t, rel=1e-13)
    np.testing.assert_allclose(g1, t1, atol=1e-14)
    np.testing.assert_allclose(g2, t2, atol=1e-14)
    np.testing.assert_allclose(g1, fd_grad(lambda W: hand.mlp_vg(X, W, W2, Y)[0], W1), atol=1e-8)
    np.testing.assert_allclose(g2, fd_grad(lambda W: hand.mlp_vg(X, W1, W, Y)[0], W2), atol=1e-8)


def test_nll_hand_forms_agree_with_the_written_expression():
    X, P = cases.nll_problem(50, 4)
    written = lambda P: np.sum(X @ P * X) / 2 - 50 / 2 * np.linalg.slogdet(P)[1]
    results = [f(X, P) for f in (hand.nll_cholesky_inv, hand.nll_slogdet_inv, hand.nll_cholesky_only)]
    for value, grad in results:
        assert value == pytest.approx(written(P), rel=1e-12)
        np.testing.assert_allclose(grad, results[0][1], atol=1e-10)
    np.testing.assert_allclose(results[0][1], fd_grad(written, P), atol=1e-6)


def test_quad_exp_and_chain_by_hand():
    rng = np.random.default_rng(2)
    x, A = rng.standard_normal(6), rng.standard_normal((6, 6))
    value, grad = hand.quad_exp_vg(x, A)
    assert value == pytest.approx(x @ A @ x + np.exp(x).sum(), rel=1e-13)
    np.testing.assert_allclose(grad, fd_grad(lambda x: hand.quad_exp_vg(x, A)[0], x), atol=1e-8)
    np.testing.assert_allclose(hand.quad_exp_hess(x, A),
                               np.stack([fd_grad(lambda x, i=i: hand.quad_exp_vg(x, A)[1][i], x) for i in range(6)]),
                               atol=1e-7)
    X, Ws = rng.standard_normal((5, 3)), [rng.standard_normal((3, 3)) for _ in range(3)]
    value, grads = hand.chain_vg(X, Ws)
    for i in range(3):
        f = lambda W, i=i: hand.chain_vg(X, Ws[:i] + [W] + Ws[i + 1:])[0]
        np.testing.assert_allclose(grads[i], fd_grad(f, Ws[i]), atol=1e-8)


# ---------------------------------------------------------------- pieces of the race


def test_function_lines_count_the_definitions_that_use_the_symbol():
    code = ('import numpy as np\n\n_FIXED = {}\n\n\ndef _helper(a):\n    return a\n\n\n'
            'def value(*, X, W1):\n    """doc\n\n    more"""\n    return X @ W1\n\n\n'
            'def _forward(X, W1):\n    return X @ W1\n')
    assert cases.function_lines(code, blank=False) == 4 + 2       # value's non-blank lines, _forward's
    assert cases.function_lines(code) == 6 + 2                    # value: 4 lines, 1 blank inside, 1 after


def test_verdicts_follow_the_bounds():
    race = _load("jit_race")
    fast, slow = cases.Contender("a", lambda: 0), cases.Contender("hand x: one", lambda: 0)
    other = cases.Contender("hand x: two", lambda: 0)
    fast.times, slow.times, other.times = [1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [4.0, 4.0, 4.0]
    gone = cases.Contender("jax", None, "jax is not installed")
    w = cases.Workload("k", "title", [fast, slow, other, gone], [
        cases.Ratio("at most", "a", "hand x", 0.6),                 # 1 / 2 (the fastest hand): PASS
        cases.Ratio("at least", "hand x", "a", 3.0, at_most=False),  # 2 / 1: FAIL
        cases.Ratio("context", "a", "hand x", target=False),
        cases.Ratio("missing", "a", "jax", 1.0),
        cases.Ratio("fixed", bound=2.5, fixed=2.6, shown="lines")])
    rows = [race.judge(w, r) for r in w.ratios]
    assert [r["verdict"] for r in rows] == ["PASS", "FAIL", "", "n/a", "FAIL"]
    assert rows[0]["ratio"] == 0.5 and "hand x: one" in rows[0]["times"]
    assert rows[3]["why"] == "jax: jax is not installed"
    table = race.table(rows)
    assert table.splitlines()[0] == "| workload | target | contender times | ratio | PASS/FAIL |"
    assert "context" not in table and len(table.splitlines()) == 2 + 4


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    sys.modules[name] = module
    return module


# ---------------------------------------------------------------- the scripts, end to end


def check_race_output(out: str, jax: bool) -> None:
    """Every workload printed its targets with a verdict, nothing is WRONG, every matcalc
    contender was timed, the Markdown table closes the run."""
    assert "WRONG" not in out and "crashed" not in out, out
    assert "| workload | target | contender times | ratio | PASS/FAIL |" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| workload")]
    rows = [r for r in rows if not r.startswith("| ---")]
    assert rows and all(r.rstrip(" |").endswith(("PASS", "FAIL", "n/a")) for r in rows), rows
    untimed = [line for line in out.splitlines() if line.startswith("  matcalc") and "  n/a (" in line]
    untimed = [line for line in untimed if not (not jax and "jax is not installed" in line)]
    assert not untimed, untimed
    if not jax:
        assert "jax absent" in out and "n/a (jax is not installed (or --no-jax))" in out


def test_jit_race_quick_without_jax():
    """Every workload, the numpy contenders only (the jax ones n/a)."""
    out = run("jit_race.py", "--quick", "--reps", "1", "--no-jax")
    check_race_output(out, jax=False)
    for title in ("softmax regression (n, m, k) = (200, 10, 3)", "logistic Hessian", "two-layer MLP",
                  "Gaussian NLL in P spd", "x @ A @ x + sum(exp(x))", "L-layer tanh chain", "hvp_W",
                  "derivation time"):
        assert title in out
    assert "trace form: no n x n temporary" in out and "module lines L=16 / L=8" in out


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_jit_race_quick_with_jax():
    """jax.jit and the array-API module under jax.jit agree with the hand code (a few
    workloads: each jitted contender compiles, which takes seconds)."""
    out = run("jit_race.py", "--quick", "--reps", "1", "--only", "softmax", "--only", "logistic",
              "--only", "quadexp")
    check_race_output(out, jax=True)
    assert "jax.jit vg" in out and "matcalc xp vg (jit)" in out and "n/a" not in out.split("targets:")[0]


@pytest.mark.skipif(shutil.which("git") is None or subprocess.run(
    ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, check=False).returncode != 0,
    reason="not a git checkout")
def test_gallery_speed_quick():
    out = run("gallery_speed.py", "--quick", "--reps", "1", "--against", "HEAD", "--time-same",
              "--only", "softmax_regression", "--only", "logistic_regression_hessian")
    assert "2 of 2 cases timed" in out, out
    for name in ("softmax_regression", "logistic_regression_hessian"):
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert " ok " in line or " SLOWER " in line, line
        assert "worst " in line and "DIFFERS" not in line and "MISSING" not in line, line
    # without --time-same, a module whose text is unchanged is not timed
    out = run("gallery_speed.py", "--quick", "--reps", "1", "--against", "HEAD", "--only", "trace_ax")
    line = next(line for line in out.splitlines() if line.startswith("trace_ax"))
    fresh = (ROOT / "derivations" / "trace_ax.py").read_text().split("\n", 1)[1].strip()
    import matcalc
    if matcalc.derive(ROOT / "derivations" / "trace_ax.yaml", verify=False).code.strip() == fresh:
        assert "same code" in line and "not timed" in line, line
    # the earlier module derived by the earlier matcalc, exported into a temporary directory
    out = run("gallery_speed.py", "--quick", "--reps", "1", "--against", "HEAD", "--derive-old", "--time-same",
              "--only", "quadratic_form")
    assert "derived by its matcalc" in out and "1 of 1 cases timed" in out, out
    bad = subprocess.run([sys.executable, str(BENCH / "gallery_speed.py"), "--against", "no-such-rev"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert bad.returncode == 2 and "does not know the revision 'no-such-rev'" in bad.stderr
