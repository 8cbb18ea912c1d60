"""bench/higher_order.py's hand-written contenders agree with each other, with finite
differences of the gradient in the vec convention (vec stacks columns: row p + m*q of the
Hessian w.r.t. W [m, k] is W[p, q]), and the harness runs at tiny sizes.  No timing is
asserted; jax is used only when installed."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_path = list(sys.path)
hand = _load("higher_order_hand")
bench = _load("higher_order")                       # it puts bench/ first on sys.path: undone
sys.path[:] = _path


def vec(A):
    return A.reshape(-1, order="F")


def unvec(v, shape):
    return v.reshape(shape, order="F")


def fd_jacobian(grad, W, eps=1e-6):
    """Central differences of grad (a matrix of W's shape) along each e_j of vec(W):
    column j is d vec(grad) / d vec(W)_j."""
    out = np.empty((W.size, W.size))
    for j in range(W.size):
        step = unvec(np.eye(W.size)[j] * eps, W.shape)
        out[:, j] = vec(grad(W + step) - grad(W - step)) / (2 * eps)
    return out


def softmax_problem(n, m, k, seed=0):
    rng = np.random.default_rng(seed)
    X, W = rng.standard_normal((n, m)), rng.standard_normal((m, k))
    Y = np.eye(k)[rng.integers(0, k, n)]
    return X, W, Y, 0.3


ASSEMBLIES = {
    "einsum": hand.sr_hess_einsum,
    "syrk": hand.sr_hess_syrk,
    "syrk rowsum": hand.sr_hess_syrk_rowsum,
    "blocks": hand.sr_hess_blocks,
    "all blocks": hand.sr_hess_blocks_all,
    "vech chunk 7": lambda *a: hand.sr_hess_vech(*a, chunk=7),
    "blocks rowsum": lambda *a: hand.sr_hess_blocks(*a, rowsum=True),
    "vech rowsum": hand.sr_hess_vech,
    "vech": lambda *a: hand.sr_hess_vech(*a, rowsum=False),
}


@pytest.mark.parametrize("sizes", [(40, 3, 4), (25, 5, 2), (30, 1, 3), (60, 4, 6)])
@pytest.mark.parametrize("name", sorted(ASSEMBLIES))
def test_softmax_hessians_agree_with_the_kronecker_sum(name, sizes):
    args = softmax_problem(*sizes)
    reference = hand.sr_hess_kron_loop(*args)
    H = ASSEMBLIES[name](*args)
    assert H.shape == reference.shape
    np.testing.assert_allclose(H, reference, rtol=0, atol=1e-13)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-13)


def test_softmax_hessian_is_the_vec_jacobian_of_the_gradient():
    X, W, Y, lam = softmax_problem(50, 4, 3, seed=1)
    fd = fd_jacobian(lambda W: hand.sr_value_and_grad(X, W, Y, lam)[1], W)
    H = hand.sr_hess_kron_loop(X, W, Y, lam)
    np.testing.assert_allclose(H, fd, rtol=0, atol=1e-8)
    # row-major order would be a different matrix here (k != m): the test can tell them apart
    P = np.arange(W.size).reshape(W.shape).reshape(-1, order="F")
    assert np.abs(H[np.ix_(P, P)] - fd).max() > 1e-3


def test_softmax_gradient_and_hvp():
    X, W, Y, lam = softmax_problem(50, 4, 3, seed=2)
    value = lambda W: hand.sr_value_and_grad(X, W, Y, lam)[0]
    S = hand.softmax_rows(X @ W)
    assert value(W) == pytest.approx(-np.sum(Y * np.log(S)) / 50 + lam * np.sum(W * W), rel=1e-12)
    eps, g = 1e-6, hand.sr_value_and_grad(X, W, Y, lam)[1]
    for j in range(W.size):
        step = unvec(np.eye(W.size)[j] * eps, W.shape)
        assert (value(W + step) - value(W - step)) / (2 * eps) == pytest.approx(vec(g)[j], abs=1e-8)
    dW = np.random.default_rng(3).standard_normal(W.shape)
    H = hand.sr_hess_kron_loop(X, W, Y, lam)
    np.testing.assert_allclose(vec(hand.sr_hvp(X, W, Y, lam, dW)), H @ vec(dW), rtol=0, atol=1e-13)
    np.testing.assert_allclose(vec(hand.sr_hvp_literal(X, W, Y, lam, dW)), H @ vec(dW), rtol=0, atol=1e-13)


@pytest.mark.parametrize("n, m", [(5, 3), (4, 1), (1, 4)])
def test_trace_hessian_forms(n, m):
    rng = np.random.default_rng(n + m)
    A = rng.standard_normal((n, n))
    X = rng.standard_normal((n, m))
    fd = fd_jacobian(lambda X: (A + A.T) @ X, X)       # d trace(X.T A X) / dX = (A + A.T) X
    np.testing.assert_allclose(hand.trace_hess_kron(A, m), fd, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(hand.trace_hess_blocks(A, m), hand.trace_hess_kron(A, m))
    K = hand.commutation(n, m)
    np.testing.assert_array_equal(K @ vec(X), vec(X.T))
    # the identity the generator must not multiply out: K (B kron I_m) K.T = I_m kron B
    np.testing.assert_allclose(K.T @ np.kron(A + A.T, np.eye(m)) @ K, hand.trace_hess_kron(A, m))


def test_harness_runs_at_tiny_sizes(monkeypatch, capsys):
    """Every hand contender passes its check and is timed; a matcalc contender is timed
    or n/a with its reason; the table and the targets print."""
    monkeypatch.setattr(bench, "jax_or_none", lambda: None)
    cases = [bench.softmax_case(30, 3, 3), bench.trace_case(6, 2)]
    for case in cases:
        bench.measure(case.contenders, 2)
        for c in case.contenders:
            if c.name.startswith("hand") or c.name.startswith("np."):
                assert c.run is not None and len(c.times) == 2, (c.name, c.why)
            elif c.name.startswith("jax"):
                assert c.run is None and c.why == "jax is not installed"
            else:
                assert (c.run is not None and len(c.times) == 2) or (c.why and "WRONG" not in c.why), c.why
        bench.report(case)
    out = capsys.readouterr().out
    for label in ("1  hvp_W", "2a hess_W", "2b hess_W", "3  hess_X", "hand zeros + diagonal blocks"):
        assert label in out


def test_jax_contenders_agree_in_the_vec_convention():
    pytest.importorskip("jax")
    X, W, Y, lam = softmax_problem(30, 3, 4, seed=4)
    dW = np.ones_like(W)
    contenders = bench.jax_softmax_contenders(X, W, Y, lam, dW, hand.sr_hess_kron_loop(X, W, Y, lam))
    for c in contenders:
        c.warm_up(budget=0.0)
        assert c.run is not None, c.why              # the check turns a disagreement into n/a
    np.testing.assert_allclose(np.asarray(contenders[2].run()), hand.sr_hvp(X, W, Y, lam, dW), atol=1e-12)


def test_kron_gram_is_the_sum_of_kronecker_products():
    """The helper a generator can emit for sum_i kron(A_i, x_i x_i^T), A_i symmetric."""
    rng = np.random.default_rng(5)
    n, m, k = 13, 3, 4
    X = rng.standard_normal((n, m))
    A = rng.standard_normal((n, k, k))
    A = A + A.transpose(0, 2, 1)
    qa, ra = np.triu_indices(k)
    H4 = hand.kron_gram(X, A[:, qa, ra], k, chunk=5)
    expected = sum(np.kron(A[i], np.outer(X[i], X[i])) for i in range(n))
    np.testing.assert_allclose(H4.reshape(k * m, k * m), expected, rtol=0, atol=1e-12)


def test_commutation_products_by_reshapes():
    """The recipes in bench/HIGHER_ORDER_NOTES.md for K @ M and M @ K without K."""
    m, n, N = 3, 5, 4
    rng = np.random.default_rng(6)
    K = hand.commutation(m, n)
    M, M2 = rng.standard_normal((m * n, N)), rng.standard_normal((N, m * n))
    np.testing.assert_array_equal(K @ M, M.reshape(n, m, N).transpose(1, 0, 2).reshape(m * n, N))
    np.testing.assert_array_equal(M2 @ K, M2.reshape(N, m, n).transpose(0, 2, 1).reshape(N, m * n))


def _fake_module(row_major=False):
    """What matcalc's order-2 module will offer (value_and_grad, hvp_W, hess_W, hess_X),
    from the hand functions; ``row_major``: hess_W in the wrong (row-stacking) order."""
    from types import SimpleNamespace

    def hess_W(*, X, W, Y, lam):
        H = hand.sr_hess_vech(X, W, Y, lam, rowsum=False)
        if row_major:
            m, k = W.shape
            H = H.reshape(k, m, k, m).transpose(1, 0, 3, 2).reshape(m * k, m * k)
        return H

    def value_and_grad(*, X, W, Y, lam):
        value, grad = hand.sr_value_and_grad(X, W, Y, lam)
        return value, {"W": grad}

    return SimpleNamespace(
        value_and_grad=value_and_grad, hess_W=hess_W,
        hvp_W=lambda *, X, W, Y, lam, dW: hand.sr_hvp(X, W, Y, lam, dW),
        hess_X=lambda *, X, A: hand.trace_hess_blocks(A, X.shape[1]),
        __code_text__="\ndef hess_X(*, X, A):\n    return _blocks(A + A.T)\n")


@pytest.mark.parametrize("row_major", [False, True])
def test_harness_times_an_order_2_module_and_catches_a_row_major_hessian(monkeypatch, capsys, row_major):
    monkeypatch.setattr(bench, "jax_or_none", lambda: None)
    monkeypatch.setattr(bench, "matcalc_module", lambda spec: (_fake_module(row_major), ""))
    outcomes = []
    for case in (bench.softmax_case(40, 3, 4), bench.trace_case(6, 2)):
        bench.measure(case.contenders, 2)
        outcomes += bench.report(case)
        by = {c.name: c for c in case.contenders}
    out = capsys.readouterr().out
    assert "hess_X's emitted code has no commutation matrix" in out
    assert outcomes[0] in ("holds", "MISSES") and outcomes[3] in ("holds", "MISSES")   # targets 1, 3
    assert outcomes[1] == "n/a"                                                        # 2a: no jax
    assert by["matcalc hess_X"].run is not None
    if row_major:
        assert outcomes[2] == "n/a" and "matcalc hess_W" in out and "WRONG" in out
    else:
        assert outcomes[2] in ("holds", "MISSES") and "WRONG" not in out
