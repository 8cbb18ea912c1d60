"""The hand-written numpy contenders of bench/jit_race.py (issue 16's targets): what a
careful person writes with numpy alone, sometimes in two orientations (the race takes
the fastest of a workload's hand contenders).  Each is checked against the others and
against matcalc's modules by tests/test_bench_jit_race.py.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- softmax regression
# J(W) = -sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)


def sr_value_rows(X, W, Y, lam):
    """J with the classes along the rows' short axis: Z = X @ W, Z - max, log-sum-exp."""
    Z = X @ W
    Z -= Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -np.sum(Y * (Z - lse)) / X.shape[0] + lam * np.sum(W * W)


def sr_value_cols(X, W, Y, lam):
    """J in the (k x n) layout: Zt = W.T @ X.T, the reductions along the long axis n."""
    Zt = W.T @ X.T
    Zt -= Zt.max(axis=0)
    lse = np.log(np.exp(Zt).sum(axis=0))
    return -(np.sum(Y.T * Zt) - np.sum(Y.sum(axis=1) * lse)) / X.shape[0] + lam * np.sum(W * W)


def sr_vg_cols(X, W, Y, lam):
    """J and X.T @ (S - Y) / n + 2 lam W in the (k x n) layout: the gradient as
    (St - Yt) @ X (D.T @ X is faster than X.T @ D for a tall X in OpenBLAS)."""
    n = X.shape[0]
    Zt = W.T @ X.T
    Zt -= Zt.max(axis=0)
    E = np.exp(Zt)
    s = E.sum(axis=0)
    Yt = Y.T
    value = -(np.sum(Yt * Zt) - np.sum(Y.sum(axis=1) * np.log(s))) / n + lam * np.sum(W * W)
    E /= s
    E -= Yt
    return value, (E @ X).T / n + 2 * lam * W


# ---------------------------------------------------------------- logistic Hessian
# J(w) = sum(softplus(X @ w) - y * (X @ w)),  H = X.T @ diag(p (1 - p)) @ X


def logistic_hess_syrk(X, w):
    """Xs = X * sqrt(p (1 - p))[:, None]; Xs.T @ Xs (numpy calls syrk for A.T @ A)."""
    p = 1 / (1 + np.exp(-(X @ w)))
    Xs = X * np.sqrt(p * (1 - p))[:, None]
    return Xs.T @ Xs


# ---------------------------------------------------------------- two-layer MLP
# J(W1, W2) = -sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1))) / n


def mlp_vg(X, W1, W2, Y):
    """Backpropagation by hand: H = tanh(X @ W1), G = (S - Y) / n,
    dW2 = H.T @ G, dW1 = X.T @ (G @ W2.T * (1 - H**2))."""
    n = X.shape[0]
    H = np.tanh(X @ W1)
    Z = H @ W2
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1, keepdims=True)
    value = -(np.sum(Y * Z) - np.sum(Y.sum(axis=1, keepdims=True) * np.log(s))) / n
    G = (E / s - Y) / n
    D = G @ W2.T
    D *= 1 - H * H
    return value, (X.T @ D, H.T @ G)


def mlp_vg_transposed(X, W1, W2, Y):
    """The same with the tall products turned: (D.T @ X).T and (G.T @ H).T."""
    n = X.shape[0]
    H = np.tanh(X @ W1)
    Z = H @ W2
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1, keepdims=True)
    value = -(np.sum(Y * Z) - np.sum(Y.sum(axis=1, keepdims=True) * np.log(s))) / n
    G = (E / s - Y) / n
    D = G @ W2.T
    D *= 1 - H * H
    return value, ((D.T @ X).T, (G.T @ H).T)


# ---------------------------------------------------------------- Gaussian NLL in the precision
# J(P) = sum(X @ P * X) / 2 - n / 2 * logdet(P) = tr(X.T X P) / 2 - n / 2 logdet(P), P spd
# dJ/dP = X.T @ X / 2 - n / 2 * inv(P)


def nll_cholesky_inv(X, P):
    """Gram X.T @ X (syrk), logdet from a Cholesky factor, one inverse (LU)."""
    n = X.shape[0]
    G = X.T @ X
    L = np.linalg.cholesky(P)
    logdet = 2 * np.sum(np.log(np.diagonal(L)))
    return np.vdot(G, P) / 2 - n / 2 * logdet, G / 2 - n / 2 * np.linalg.inv(P)


def nll_slogdet_inv(X, P):
    """Gram X.T @ X (syrk), slogdet and inv (two LU factorisations)."""
    n = X.shape[0]
    G = X.T @ X
    logdet = np.linalg.slogdet(P)[1]
    return np.vdot(G, P) / 2 - n / 2 * logdet, G / 2 - n / 2 * np.linalg.inv(P)


def nll_cholesky_only(X, P):
    """One Cholesky factor L for both: logdet from its diagonal, inv(P) = Li.T @ Li
    with Li = inv(L) (numpy has no triangular inverse: LU of L, cheap, no pivoting)."""
    n = X.shape[0]
    G = X.T @ X
    L = np.linalg.cholesky(P)
    logdet = 2 * np.sum(np.log(np.diagonal(L)))
    Li = np.linalg.inv(L)
    return np.vdot(G, P) / 2 - n / 2 * logdet, G / 2 - n / 2 * (Li.T @ Li)


# ---------------------------------------------------------------- x @ A @ x + sum(exp(x))


def quad_exp_vg(x, A):
    """Value and gradient A @ x + x @ A + exp(x), A @ x shared with the value."""
    Ax = A @ x
    e = np.exp(x)
    return x @ Ax + e.sum(), Ax + x @ A + e


def quad_exp_hess(x, A):
    """A + A.T + diag(exp(x)), the diagonal added in place."""
    H = A + A.T
    H.flat[:: H.shape[0] + 1] += np.exp(x)
    return H


# ---------------------------------------------------------------- the L-layer tanh chain
# J = sum(tanh(... tanh(tanh(X @ W1) @ W2) ... @ WL))


def chain_vg(X, Ws):
    """Value and every gradient by backpropagation: one forward pass, one backward."""
    Hs = [X]
    for W in Ws:
        Hs.append(np.tanh(Hs[-1] @ W))
    value = np.sum(Hs[-1])
    grads = [None] * len(Ws)
    D = 1 - Hs[-1] ** 2
    for i in range(len(Ws) - 1, -1, -1):
        grads[i] = Hs[i].T @ D
        if i:
            D = D @ Ws[i].T
            D *= 1 - Hs[i] ** 2
    return value, grads
