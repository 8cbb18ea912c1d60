"""Issue 12, hangs and resource limits: what the numerical check costs.

Counted, never timed: linear-algebra calls whose cost is cubic in the size,
evaluations of the module against the check's budget, the memory estimate's
refusal before anything big is allocated (under an address-space limit), and
operations as the number of symbols grows.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import matcalc
from matcalc.codegen import load_module
from matcalc.verify import check_module

from support import REPO, run_cli


def _derive(doc, **kw):
    return matcalc.derive(doc, **kw)


# -- norms that cost what the data costs ------------------------------------------------

CUBIC = ("svd", "cond", "eigvalsh", "eigh", "eig", "det", "slogdet", "inv", "qr")


@pytest.fixture
def cubic_calls(monkeypatch):
    """The O(n³) numpy.linalg calls made while it is active, by name (a 2-norm
    of a matrix is an SVD)."""
    calls: list[str] = []
    for name in CUBIC:
        real = getattr(np.linalg, name)

        def counted(*a, _real=real, _name=name, **k):
            calls.append(_name)
            return _real(*a, **k)
        monkeypatch.setattr(np.linalg, name, counted)
    real_norm = np.linalg.norm

    def norm(x, ord=None, *a, **k):
        if ord in (2, -2, "nuc") and np.ndim(x) == 2:
            calls.append("norm(., 2)")
        return real_norm(x, ord, *a, **k)
    monkeypatch.setattr(np.linalg, "norm", norm)
    return calls


@pytest.mark.parametrize("expr, props", [("sum(X * X)", []), ("sum(sin(X) * X)", []),
                                         ("sum(S * S) + sum(exp(-S))", ["spd"])])
def test_an_elementwise_check_makes_no_cubic_linear_algebra_call(cubic_calls, expr, props):
    """sum(X * X) with n = 4000 took over 300 s: an SVD per comparison and a condition number."""
    name = "S" if "S" in expr else "X"
    d = _derive({"dims": {"n": 12}, "symbols": {name: {"shape": ["n", "n"], "props": props}}, "expr": expr},
                verify=False)
    module = load_module(d.code)
    sampled = len(cubic_calls)            # (none: drawing an spd matrix is a product, not a factorization)
    got = check_module(d.problem, d.results, module)[name]
    assert got.passed, got
    assert cubic_calls[sampled:] == []


def test_a_solve_still_takes_the_condition_number_into_account(cubic_calls):
    """Where the symbol goes through inv / logdet the rounding floor keeps its condition number."""
    d = _derive({"dims": {"n": 5}, "symbols": {"A": {"shape": ["n", "n"], "props": ["spd"]}},
                 "expr": "logdet(A) + sum(A * A)"}, verify=False)
    got = check_module(d.problem, d.results, load_module(d.code), stability=False)["A"]
    assert got.passed, got
    assert "cond" in cubic_calls


# -- a budget of evaluations ------------------------------------------------------------

class _Counting:
    """A module whose functions count their calls."""

    def __init__(self, module):
        self.calls: dict[str, int] = {}
        derivatives = tuple(n for n in dir(module) if n.startswith(("grad_", "hess_")))
        for name in ("value", "value_and_grad") + derivatives:
            setattr(self, name, self._counted(name, getattr(module, name)))

    def _counted(self, name, fn):
        def call(**kw):
            self.calls[name] = self.calls.get(name, 0) + 1
            return fn(**kw)
        return call


@pytest.mark.parametrize("shape", [[20, 20], [400], [20, 19]])
def test_the_check_spends_at_most_its_budget_of_evaluations(shape):
    """Up to 400 entries were each compared at three scales: thousands of evaluations;
    the check is now a bounded multiple of one evaluation whatever the sizes."""
    import matcalc.verify
    budget = getattr(matcalc.verify, "EVALUATIONS", 2000)   # (what it is: the code before it had none)
    dims = {f"d{i}": n for i, n in enumerate(shape)}
    d = _derive({"dims": dims, "symbols": {"X": {"shape": list(dims)}}, "expr": "sum(sin(X) * X)"},
                verify=False)
    module = _Counting(load_module(d.code))
    got = check_module(d.problem, d.results, module, stability=False)["X"]
    assert got.passed and got.scales == (1.0, 1e-3, 1e3), got
    assert module.calls["value"] <= budget + 5  # (+ the run of every function once, and value_and_grad's)
    assert 0 < got.entries < np.prod(shape)          # a random subset of the entries, at each scale


# -- many symbols -----------------------------------------------------------------------

def _scalars(k: int, term: str = "a{i} * a{i}", wrong: dict | None = None):
    """sum of ``term`` over k scalar symbols, every one in wrt; its module, counting calls
    (``wrong``: grad functions replaced)."""
    d = _derive({"symbols": {f"a{i}": {"shape": []} for i in range(k)},
                 "expr": " + ".join(term.format(i=i) for i in range(k))}, verify=False)
    module = load_module(d.code)
    for name, fn in (wrong or {}).items():
        setattr(module, name, fn)
    return d, _Counting(module)


def test_many_symbols_evaluate_the_whole_module_a_bounded_number_of_times():
    """2,000 scalar symbols took over 120 s: each gradient's check evaluated the whole
    module (every symbol an argument) about a hundred times, so the check grew with the
    square of the number of symbols.  Now the module is evaluated a bounded number of
    times (the budget) and each grad_S runs a fixed number of times."""
    import matcalc.verify
    budget = getattr(matcalc.verify, "EVALUATIONS", 2000)
    calls = {}
    for k in (100, 200):
        d, module = _scalars(k)
        checks = check_module(d.problem, d.results, module)
        assert len(checks) == k and all(c.passed for c in checks.values()), checks
        whole = module.calls["value"] + module.calls["value_and_grad"]
        assert whole <= budget + 50, (k, whole)
        per_symbol = [module.calls.get(f"grad_a{i}", 0) for i in range(k)]
        assert max(per_symbol) <= 3, (k, max(per_symbol))
        calls[k] = sum(module.calls.values())
    assert calls[200] <= 2 * calls[100] + 100      # linear, or better


def test_a_wrong_gradient_among_many_is_named_and_the_rest_pass():
    """Checked together, a block that fails is split until the symbol at fault is found."""
    def off(**kw):
        return 1.001 * 2 * kw["a7"]

    def raises(**kw):
        raise ValueError("boom")

    d, module = _scalars(24, wrong={"grad_a7": off, "grad_a13": raises})
    checks = check_module(d.problem, d.results, module, stability=False)
    bad = {name: c for name, c in checks.items() if not c.passed}
    assert set(bad) == {"a7", "a13"}, bad
    # (a7's standalone function disagrees with value_and_grad; with it wrong too, its differences fail)
    assert bad["a7"].cause in ("agreement", "differences") and bad["a13"].cause == "runs"
    assert "grad_a13() raises ValueError: boom" in bad["a13"].why


def test_a_gradient_wrong_in_value_and_grad_too_is_found_by_its_differences():
    d, module = _scalars(24)
    real = module.value_and_grad

    def both(**kw):
        value, grads = real(**kw)
        return value, {**grads, "a5": 1.001 * grads["a5"]}
    module.value_and_grad = both
    module.grad_a5 = lambda **kw: 1.001 * 2 * kw["a5"]
    checks = check_module(d.problem, d.results, module, stability=False)
    assert {n for n, c in checks.items() if not c.passed} == {"a5"}
    assert checks["a5"].cause == "differences", checks["a5"]


# -- memory: refused before anything big is allocated -----------------------------------

def _limited(gib: int):
    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (gib * 2**30, gib * 2**30))
    return limit


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux's")
@pytest.mark.parametrize("symbols", [{"X": {"shape": ["n", "n"]}},
                                     {"S": {"shape": ["n", "n"], "props": ["spd"]}}])
def test_sizes_too_large_to_check_are_refused_before_allocating(tmp_path, symbols):
    """X: [n, n] with n = 100,000 (the largest size the spec accepts) ended in "internal error:
    MemoryError ... 74.5 GiB" (exit 3), and an spd one of n = 20,000 in a segmentation fault
    inside BLAS under an 8 GB limit.  Under a 2 GiB address-space limit any big allocation
    fails, so exit 2 with this message means none was made."""
    name = next(iter(symbols))
    spec = tmp_path / "huge.yaml"
    spec.write_text(json.dumps({"name": "huge", "dims": {"n": 100_000}, "symbols": symbols,
                                "expr": f"sum({name} * {name})"}))
    env = {k: v for k, v in os.environ.items() if k != "MATCALC_CHECK_MEMORY"}
    got = subprocess.run([sys.executable, "-m", "matcalc", "derive", str(spec)], capture_output=True,
                         check=False, text=True, cwd=REPO, timeout=300, preexec_fn=_limited(2), env=env)
    assert got.returncode == 2, got.stderr
    assert "the check would need" in got.stderr and "GiB" in got.stderr
    assert "use smaller dims or --no-verify" in got.stderr
    assert "MemoryError" not in got.stderr and "Traceback" not in got.stderr and got.stdout == ""
    derived = subprocess.run([sys.executable, "-m", "matcalc", "derive", str(spec), "--no-verify", "-q"],
                             capture_output=True, check=False, text=True, cwd=REPO, timeout=300,
                             preexec_fn=_limited(2), env=env)
    assert derived.returncode == 0 and f"{name}: 2 * {name}" in derived.stdout, derived.stderr


def test_the_memory_limit_can_be_set(tmp_path, monkeypatch):
    spec = tmp_path / "mid.yaml"
    spec.write_text(json.dumps({"dims": {"n": 300}, "symbols": {"X": {"shape": ["n", "n"]}},
                                "expr": "sum(X * X)"}))
    monkeypatch.setenv("MATCALC_CHECK_MEMORY", "1M")
    got = run_cli("derive", str(spec))
    assert got.exit_code == 2 and "more than the 1.0 MiB it may use (MATCALC_CHECK_MEMORY=1M)" in got.stderr
    monkeypatch.setenv("MATCALC_CHECK_MEMORY", "lots")
    got = run_cli("derive", str(spec))
    assert got.exit_code == 2 and "MATCALC_CHECK_MEMORY='lots' is not a size" in got.stderr
    monkeypatch.setenv("MATCALC_CHECK_MEMORY", "1G")
    assert run_cli("derive", str(spec), "-q").exit_code == 0


# -- progress of a long check -----------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_check_reports_its_progress():
    seen = []
    d = matcalc.derive({"dims": {"n": 6}, "symbols": {"X": {"shape": ["n", "n"]}, "w": {"shape": ["n"]}},
                        "expr": "sum(sin(X @ w))"},
                       progress=lambda text, done, total: seen.append((text, done, total)))
    assert d.verified and seen
    assert all(0 <= done <= total == 2 for _, done, total in seen)
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)     # forward only
    assert {text.rsplit(" ", 1)[-1] for text, _, _ in seen} == {"X", "w"}


def test_progress_is_drawn_on_a_terminal_only():
    from matcalc.progress import check_progress

    with check_progress(io.StringIO(), after=0.0) as progress:     # a pipe or a file: nothing
        assert progress is None
    terminal = _Terminal()
    with check_progress(terminal, after=0.0) as progress:
        matcalc.derive({"dims": {"n": 4}, "symbols": {"X": {"shape": ["n", "n"]}}, "expr": "sum(X * X)"},
                       progress=progress)
    assert "checking X" in terminal.getvalue()
