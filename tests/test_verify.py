"""The verifier itself: several scales, ill-conditioned inputs, no false
alarms and no false passes; and interrupted runs leave no half-written file."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

import matcalc
from matcalc import ir
from matcalc.files import write_atomic
from matcalc.matrix import build as B
from matcalc.verify import check_derivative

from support import REPO


def _problem(expr, symbols, wrt, dims=None):
    d = matcalc.derive({"dims": dims or {"n": 4, "m": 3}, "symbols": symbols, "expr": expr, "wrt": [wrt]},
                       verify=False)
    return d.problem, d.results[wrt].matrix


@pytest.mark.parametrize("expr", ["sum(X ** 3)", "sum(sin(X))", "sum(X * X) / norm(X, 'fro')",
                                  "sum(softplus(X))"])
def test_checked_at_every_scale(expr):
    p, g = _problem(expr, {"X": {"shape": ["n", "m"]}}, "X")
    check = check_derivative(p.expr, p.symbols["X"], g, p.symbols, p.dims)
    assert check.passed and check.scales == (1.0, 1e-3, 1e3)
    off = check_derivative(p.expr, p.symbols["X"], B.mul(B.num(1.001), g), p.symbols, p.dims)
    assert not off.passed


def test_a_scale_that_overflows_is_skipped_not_failed():
    p, g = _problem("sum(exp(X))", {"X": {"shape": ["n", "m"]}}, "X")
    check = check_derivative(p.expr, p.symbols["X"], g, p.symbols, p.dims)
    assert check.passed and 1e3 not in check.scales and 1.0 in check.scales


@pytest.mark.parametrize("expr, symbols", [
    # exp(X) of about 1e3 puts cos far below any step: not judged at scale 1e3
    ("cos(exp(x))", {"x": {"shape": []}}),
    # entries of 1e6 under cos: rounding noise of 1e-10 in the argument, measured
    # cos of entries of 1e12 at scale 1e3: f is known to no digit there, the scale is skipped
    ("cos(z @ logsumexp(X ** 3, axis=1))", {"z": {"shape": ["n"]}, "X": {"shape": ["n", "m"]}}),
    ("sum(cos(A @ B + X))", {"A": {"shape": ["n", "n"]}, "B": {"shape": ["n", "m"]}, "X": {"shape": ["n", "m"]}}),
])
def test_large_scale_noise_is_no_false_alarm_and_scale_1_stays_strict(expr, symbols):
    wrt = "x" if "x" in symbols else "X"
    p, g = _problem(expr, symbols, wrt)
    assert check_derivative(p.expr, p.symbols[wrt], g, p.symbols, p.dims).passed
    off = check_derivative(p.expr, p.symbols[wrt], B.mul(B.num(1.001), g), p.symbols, p.dims)
    assert not off.passed


def test_an_error_that_shows_only_at_scale_1e3_is_caught():
    """sigmoid(X) + 1e-9 X³ for softplus' gradient: within tolerance at scale 1, off by 1 at 1e3."""
    p, g = _problem("sum(softplus(X))", {"X": {"shape": ["n", "m"]}}, "X")
    X = p.symbols["X"]
    off = B.add(g, B.mul(B.num(1e-9), ir.apply("pow", [X, ir.Number((), 3)])))
    assert check_derivative(p.expr, X, off, p.symbols, p.dims, scales=(1.0,)).passed
    assert not check_derivative(p.expr, X, off, p.symbols, p.dims).passed


def test_a_kink_no_step_resolves_is_not_judged_at_the_extra_scales():
    """logsumexp(a / s) with s = 1e-8 is max(a / s) smoothed over 1e-8: at scale 1e-3 the
    differences average the slopes on both sides of the kink (2% off a right gradient)."""
    p, g = _problem("logsumexp(logsumexp(M0, axis=1) / softplus(logdet(M4)))",
                    {"M0": {"shape": ["m", "n"], "props": ["onehot"]},
                     "M4": {"shape": ["m", "m"], "props": ["constant", "spd"]}}, "M0", dims={"n": 2, "m": 3})
    check = check_derivative(p.expr, p.symbols["M0"], g, p.symbols, p.dims)
    assert check.passed, check
    off = check_derivative(p.expr, p.symbols["M0"], B.mul(B.num(1.001), g), p.symbols, p.dims)
    assert not off.passed


@pytest.mark.parametrize("cond", [1e4, 1e8])
def test_ill_conditioned_spd_no_false_alarm_and_no_false_pass(cond):
    p, g = _problem("logdet(P) + x @ inv(P) @ x", {"P": {"shape": ["n", "n"], "props": ["spd"]},
                                                    "x": {"shape": ["n"]}}, "P")
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    P = (q * np.geomspace(1.0, 1.0 / cond, 4)) @ q.T
    values = {"P": (P + P.T) / 2, "x": rng.normal(size=4)}
    good = check_derivative(p.expr, p.symbols["P"], g, p.symbols, p.dims, values=values)
    assert good.passed, good
    bad = check_derivative(p.expr, p.symbols["P"], B.mul(B.num(1.001), g), p.symbols, p.dims, values=values)
    assert not bad.passed


def test_transposed_gradient_fails():
    p, g = _problem("trace(A @ X)", {"A": {"shape": ["n", "n"]}, "X": {"shape": ["n", "n"]}}, "X")
    assert check_derivative(p.expr, p.symbols["X"], g, p.symbols, p.dims).passed
    assert not check_derivative(p.expr, p.symbols["X"], ir.apply("transpose", [g]), p.symbols, p.dims).passed


def test_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "out.py"
    target.write_text("old contents\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new contents\n")
    assert target.read_text() == "old contents\n"
    assert [f.name for f in tmp_path.iterdir()] == ["out.py"]


N_INTERRUPTED_FILES = 30   # about 50 ms of work each: the run is far from done when the signal comes


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """``matcalc derive`` on many files of two derivations each with ``--emit-code``
    (one module per derivation, all names distinct), sent SIGINT as soon as its first
    line of output shows it is inside the run (past interpreter and import start-up,
    the first file derived): no sleep stands in for that readiness.  Outputs are
    written only once every file is derived, so an interrupted run writes none.  The
    timeouts are only a safety net, so that a hung child fails the tests instead of
    hanging them."""
    if sys.platform == "win32":
        pytest.skip("POSIX signals")
    tmp_path = tmp_path_factory.mktemp("interrupted")
    doc = yaml.safe_load((REPO / "derivations" / "mlp_two_layer.yaml").read_text())
    inputs = [tmp_path / f"case{i:02d}.yaml" for i in range(N_INTERRUPTED_FILES // 2)]
    originals = {}
    for i, path in enumerate(inputs):
        originals[path] = yaml.safe_dump({"derivations": [{**copy.deepcopy(doc), "name": f"{ab}{i:02d}"} for ab in "ab"]})
        path.write_text(originals[path])
    out = tmp_path / "grads.py"
    # rich flushes after each print; unbuffered output makes the first line certain to arrive
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "derive", *map(str, inputs), "--emit-code", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONUNBUFFERED": "1",    # this checkout's matcalc, not an installed one
                                 "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        first = proc.stdout.readline()     # "a00  (case00.yaml)": the first file is derived
        proc.send_signal(signal.SIGINT)
        rest, stderr = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
    return SimpleNamespace(first=first, rest=rest, stderr=stderr, returncode=proc.returncode, dir=tmp_path,
                           originals=originals, modules=sorted(tmp_path.glob("grads*.py")))


def test_sigint_during_a_run_leaves_no_partial_output(interrupted_run):
    """SIGINT while deriving: exit 130, no traceback, no output or temp file, inputs intact."""
    run = interrupted_run
    assert "case00.yaml" in run.first, (run.first, run.stderr)
    assert "Traceback" not in run.stderr
    if run.returncode == 0:            # it finished first: every module is whole and nothing was said
        assert run.stderr == ""
        assert len(run.modules) == N_INTERRUPTED_FILES
        assert all("def value_and_grad" in path.read_text() for path in run.modules)
    else:
        assert run.returncode == 130, (run.returncode, run.stderr)
        assert run.modules == []       # planned, never started: nothing half-done
    assert not list(run.dir.glob(".*.tmp"))
    assert all(path.read_text() == text for path, text in run.originals.items())


def test_sigint_during_a_run_says_so_in_one_line(interrupted_run):
    run = interrupted_run
    if run.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], run.stderr


def test_the_inverse_of_a_singular_matrix_evaluates_to_nan_not_an_error():
    from matcalc.evaluate import evaluate
    X = ir.Symbol(("n", "n"), "X")
    out = evaluate(ir.apply("inv", [X]), {"X": np.zeros((3, 3))}, {"n": 3})
    assert out.shape == (3, 3) and np.all(np.isnan(out))


def test_a_zero_gradient_reports_a_small_relative_error_and_prints_as_0():
    """trace(A inv(X) X) does not depend on X: the gradient is the zero matrix, checked to
    the rounding floor (its relative error is not 1.0), and printed 0, not 0𝟏."""
    d = matcalc.derive({"dims": {"n": 3}, "symbols": {"X": {"shape": ["n", "n"]}, "A": {"shape": ["n", "n"]}},
                        "expr": "trace(A @ inv(X + X - X) @ X)", "wrt": ["X"]})
    check = d.verification["X"]
    assert check.passed and check.max_rel_error < 1e-6, check
    assert d.results["X"].text == "0" and d.results["X"].shape == ("n", "n")
    from matcalc.render.unicode import to_unicode
    from matcalc.render.latex import to_latex
    assert to_unicode(d.results["X"].matrix) == "0" and to_latex(d.results["X"].matrix) == "0"


def _satisfies(x: np.ndarray, props) -> list[str]:
    """The declared props x breaks (positive with diagonal: positive diagonal entries)."""
    bad = []
    checks = {
        "symmetric": lambda: np.allclose(x, x.T),
        "spd": lambda: np.allclose(x, x.T) and np.all(np.linalg.eigvalsh((x + x.T) / 2) > 0),
        "diagonal": lambda: np.allclose(x, np.diag(np.diag(x))),
        "orthogonal": lambda: np.allclose(x.T @ x, np.eye(len(x))),
        "positive": lambda: np.all((np.diag(x) if "diagonal" in props else x) > 0),
        "stochastic": lambda: np.all(x >= 0) and np.allclose(x.sum(-1), 1),
        "onehot": lambda: np.all((x == 0) | (x == 1)) and np.allclose(x.sum(-1), 1),
    }
    for p in props:
        if p in checks and not checks[p]():
            bad.append(p)
    return bad


def _accepted_combinations():
    import itertools

    from matcalc.props import CONFLICTS, PROPS, closure
    names = [p for p in PROPS if p != "constant"]
    for k in (1, 2, 3):
        for combo in itertools.combinations(names, k):
            props = closure(set(combo))
            if not any({a, b} <= props for a, b, _ in CONFLICTS):
                yield props


@pytest.mark.parametrize("props", list(_accepted_combinations()), ids=lambda p: "+".join(sorted(p)))
def test_every_accepted_prop_combination_is_sampled_and_perturbed_within_its_props(props):
    """The verifier's inputs have every declared prop at once (a symmetric stochastic
    matrix was drawn stochastic but not symmetric, and a right gradient that used
    Mᵀ = M failed), and its directions stay in the tangent space of all of them."""
    from matcalc.verify import direction, sample
    rng = np.random.default_rng(7)
    sym = ir.Symbol(("n", "n"), "X", frozenset(props))
    for n in (2, 3, 5):
        x = sample(sym, {"n": n}, rng)
        assert _satisfies(x, props) == [], (n, x)
        v = direction(sym, x, rng)
        if "symmetric" in props:
            assert np.allclose(v, v.T)
        if {"onehot", "stochastic"} & props:
            assert np.allclose(v.sum(-1), 0)
        if "diagonal" in props:
            assert np.allclose(v, np.diag(np.diag(v)))
        if "orthogonal" in props:     # tangent: Qᵀ V skew
            assert np.allclose(x.T @ v + v.T @ x, 0)


def test_a_jump_within_the_step_is_left_out_and_the_rest_still_judged():
    """step(X) jumps at 0: an entry 1e-5 from it puts the jump inside the differences.
    The right gradient passes (those comparisons are left out, the others judged) and
    a gradient 0.1% off still fails."""
    p, g = _problem("sum(step(X) + X ** 2)", {"X": {"shape": ["n", "m"]}}, "X")
    X = np.random.default_rng(1).normal(size=(4, 3))
    X[0, 0], X[2, 1] = 1e-5, -2e-5
    values = {"X": X}
    good = check_derivative(p.expr, p.symbols["X"], g, p.symbols, p.dims, values=values)
    assert good.passed, good
    off = check_derivative(p.expr, p.symbols["X"], B.mul(B.num(1.001), g), p.symbols, p.dims, values=values)
    assert not off.passed
