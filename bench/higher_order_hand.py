"""The hand-written numpy contenders of bench/higher_order.py (issue 15's targets).

Softmax regression J(W) = -sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W):
its value and gradient, its Hessian-vector product, and its dense Hessian w.r.t. W in
the vec convention (vec stacks columns: row p + m*q of H is W[p, q]), assembled several
ways; and kron(eye(m), A + A.T), the Hessian of trace(X.T @ A @ X) w.r.t. X [n, m].
Timings and which assembly is fastest: bench/HIGHER_ORDER_NOTES.md.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- softmax regression


def softmax_rows(Z: np.ndarray) -> np.ndarray:
    """softmax(Z, axis=1), shifted by the row maximum."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sr_value_and_grad(X, W, Y, lam):
    """J and dJ/dW = X.T @ (S - Y) / n + 2 lam W, S = softmax(X @ W, axis=1)."""
    n = X.shape[0]
    Z = X @ W
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1, keepdims=True)
    value = -(np.sum(Y * Z) - np.sum(Y.sum(axis=1, keepdims=True) * np.log(s))) / n \
        + lam * np.sum(W * W)
    return value, X.T @ (E / s - Y) / n + 2 * lam * W


def sr_hvp(X, W, Y, lam, dW):
    """H vec(dW) as a matrix: X.T @ (S * U - S * sum(S * U, axis=1)) / n + 2 lam dW,
    U = X @ dW.  Never builds H; two more [n, m] x [m, k] products than the gradient."""
    n = X.shape[0]
    S = softmax_rows(X @ W)
    SU = S * (X @ dW)
    R = SU - S * SU.sum(axis=1, keepdims=True)
    return X.T @ R / n + 2 * lam * dW


def sr_hvp_literal(X, W, Y, lam, dW):
    """The HVP as printed, evaluated term by term with nothing shared: softmax(X @ W)
    three times and X @ dW twice (what an emitter without common subexpressions runs)."""
    n = X.shape[0]
    return X.T @ (softmax_rows(X @ W) * (X @ dW) - softmax_rows(X @ W)
                  * np.sum(softmax_rows(X @ W) * (X @ dW), axis=1, keepdims=True)) / n + 2 * lam * dW


def _add_ridge(H, n, lam):
    H /= n
    H.flat[:: H.shape[0] + 1] += 2 * lam
    return H


def sr_hess_kron_loop(X, W, Y, lam):
    """The textbook sum, one row at a time:
    H = sum_i kron(diag(s_i) - s_i s_i^T, x_i x_i^T) / n + 2 lam I.  Reference only."""
    n, m = X.shape
    S = softmax_rows(X @ W)
    H = np.zeros((m * S.shape[1],) * 2)
    for i in range(n):
        s, x = S[i], X[i]
        H += np.kron(np.diag(s) - np.outer(s, s), np.outer(x, x))
    return _add_ridge(H, n, lam)


def sr_hess_einsum(X, W, Y, lam):
    """einsum form: H4[q,p,r,t] = sum_i X_ip X_it (S_iq d_qr - S_iq S_ir), by
    einsum('iq,ip,ir,it->qprt', ...) (optimize) minus the block diagonal."""
    n, m = X.shape
    S = softmax_rows(X @ W)
    k = S.shape[1]
    H4 = -np.einsum("iq,ip,ir,it->qprt", S, X, S, X, optimize=True)
    for q in range(k):
        H4[q, :, q, :] += X.T @ (X * S[:, q:q + 1])
    return _add_ridge(H4.reshape(m * k, m * k), n, lam)


def sr_hess_syrk(X, W, Y, lam):
    """Khatri-Rao Gram: H = (blockdiag_q(X.T diag(S_q) X) - M.T @ M) / n + 2 lam I,
    M[i, p + m q] = X_ip S_iq (one syrk, M.T @ M on the same buffer)."""
    n, m = X.shape
    S = softmax_rows(X @ W)
    k = S.shape[1]
    M = (S[:, :, None] * X[:, None, :]).reshape(n, k * m)
    H = M.T @ M
    H *= -1
    H4 = H.reshape(k, m, k, m)
    for q in range(k):
        H4[q, :, q, :] += X.T @ M[:, q * m:(q + 1) * m]
    return _add_ridge(H, n, lam)


def sr_hess_blocks_all(X, W, Y, lam):
    """The direct reading of (I_k kron X)^T D (I_k kron X) / n, D's blocks diagonal
    D_qr = diag(S_q d_qr - S_q S_r): k^2 gemms X.T @ (X * w_qr), no symmetry used."""
    n, m = X.shape
    S = softmax_rows(X @ W)
    k = S.shape[1]
    H4 = np.empty((k, m, k, m))
    for q in range(k):
        for r in range(k):
            w = S[:, q] * ((q == r) - S[:, r])
            H4[q, :, r, :] = X.T @ (X * w[:, None])
    return _add_ridge(H4.reshape(k * m, k * m), n, lam)


def _fill_last_blocks(H4):
    """Blocks in block row or column k-1 from the others: the rows of diag(s) - s s^T sum
    to 0 (sum_q s_q = 1), so block (q, k-1) = -sum_{r<k-1} block (q, r); H is symmetric."""
    k = H4.shape[0]
    H4[: k - 1, :, k - 1, :] = -H4[: k - 1, :, : k - 1, :].sum(axis=2)
    H4[k - 1, :, : k - 1, :] = H4[: k - 1, :, k - 1, :].transpose(2, 0, 1)
    H4[k - 1, :, k - 1, :] = -H4[: k - 1, :, k - 1, :].sum(axis=0)
    return H4


def sr_hess_blocks(X, W, Y, lam, rowsum=False):
    """Block rows: for each q one gemm (X * S_q).T @ [X * (1 - S_q) | -X * S_r for r > q]
    gives the blocks (q, r >= q) = X.T diag(S_q d_qr - S_q S_r) X; the lower blocks are
    transposes.  ``rowsum``: blocks of q or r = k-1 from the zero row sums (k-1 gemms)."""
    n, m = X.shape
    S = softmax_rows(X @ W)
    k = S.shape[1]
    kk = k - 1 if rowsum else k
    M = (X[:, None, :] * S[:, :kk, None]).reshape(n, kk * m)     # M[:, q m + p] = X_p S_q
    H4 = np.empty((k, m, k, m))
    R = np.empty((n, kk * m))
    np.negative(M, out=R)
    for q in range(kk):
        Mq = M[:, q * m:(q + 1) * m]
        np.subtract(X, Mq, out=R[:, q * m:(q + 1) * m])            # X (1 - S_q)
        B = (Mq.T @ R[:, q * m:]).reshape(m, kk - q, m)
        H4[q, :, q:kk, :] = B
        H4[q + 1:kk, :, q, :] = B[:, 1:, :].transpose(1, 2, 0)
    if rowsum:
        _fill_last_blocks(H4)
    return _add_ridge(H4.reshape(k * m, k * m), n, lam)


def sr_hess_syrk_rowsum(X, W, Y, lam):
    """Khatri-Rao Gram on the first k-1 classes only: H[:(k-1)m, :(k-1)m] =
    (blockdiag_q(X.T diag(S_q) X) - M.T @ M) / n with M[i, p + m q] = X_ip S_iq, q < k-1
    (one syrk); block row and column k-1 from the zero row sums of diag(s) - s s^T."""
    n, m = X.shape
    S = softmax_rows(X @ W)
    k = S.shape[1]
    M = (S[:, : k - 1, None] * X[:, None, :]).reshape(n, (k - 1) * m)
    H4 = np.empty((k, m, k, m))
    top = H4[: k - 1, :, : k - 1, :]
    np.negative((M.T @ M).reshape(k - 1, m, k - 1, m), out=top)
    for q in range(k - 1):
        top[q, :, q, :] += X.T @ M[:, q * m:(q + 1) * m]
    _fill_last_blocks(H4)
    return _add_ridge(H4.reshape(k * m, k * m), n, lam)


def vech_gram(X, T, chunk=512):
    """G[p, t, j] = sum_i X_ip X_it T_ij for p <= t (t < p left 0): the rows p..m-1 of
    vech(x_i x_i^T) times T, one gemm per p, over chunks of ``chunk`` rows of X so that
    the products X_ip X_it stay in cache."""
    n, m = X.shape
    G = np.zeros((m, m, T.shape[1]))
    Z, P = np.empty((m, chunk)), np.empty((m, T.shape[1]))
    for start in range(0, n, chunk):
        Xc = np.ascontiguousarray(X[start:start + chunk].T)
        Tc = np.ascontiguousarray(T[start:start + chunk])
        for p in range(m):
            z = Z[: m - p, : Xc.shape[1]]
            np.multiply(Xc[p:], Xc[p], out=z)
            np.matmul(z, Tc, out=P[: m - p])
            G[p, p:] += P[: m - p]
    return G


def kron_gram(X, T, k, out=None, chunk=512):
    """H4[q, p, r, t] = sum_i A_i[q, r] X_ip X_it, i.e. sum_i kron(A_i, x_i x_i^T) as
    [k, m, k, m], for symmetric k x k weights A_i given by their upper triangles:
    T[i, j] = A_i[qa[j], ra[j]], (qa, ra) = np.triu_indices(k).  Both symmetries used:
    one Gram of vech(x_i x_i^T) against T (``vech_gram``), then two scatters.  ``out``:
    an array [K, m, K, m], K >= k, whose leading k x k blocks are written."""
    m = X.shape[1]
    qa, ra = np.triu_indices(k)
    G = vech_gram(X, T, chunk)                      # G[p, t, j] for p <= t
    pu, tu = np.triu_indices(m, 1)
    G[tu, pu, :] = G[pu, tu, :]                     # x x^T symmetric
    H4 = np.empty((k, m, k, m)) if out is None else out
    H4[qa, :, ra, :] = G.transpose(2, 0, 1)
    H4[ra, :, qa, :] = G.transpose(2, 1, 0)         # block (r, q) = block (q, r)^T
    return H4


def sr_hess_vech(X, W, Y, lam, rowsum=True, chunk=512):
    """H = sum_i kron(A_i, x_i x_i^T) / n + 2 lam I, A_i = diag(s_i) - s_i s_i^T, by
    ``kron_gram`` (both symmetries) with T[i, (q, r)] = S_iq d_qr - S_iq S_ir.
    ``rowsum``: only q, r < k-1 (the rest from the zero row sums of A_i)."""
    n, m = X.shape
    S = softmax_rows(X @ W)
    k = S.shape[1]
    kk = k - 1 if rowsum else k
    qa, ra = np.triu_indices(kk)
    T = -S[:, qa] * S[:, ra]
    T[:, qa == ra] += S[:, :kk]
    H4 = kron_gram(X, T, kk, out=np.empty((k, m, k, m)), chunk=chunk)
    if rowsum:
        _fill_last_blocks(H4)
    return _add_ridge(H4.reshape(k * m, k * m), n, lam)


# ---------------------------------------------------------------- trace(X.T @ A @ X)


def trace_hess_kron(A, m):
    """The reference: np.kron(np.eye(m), A + A.T), [n m, n m]."""
    return np.kron(np.eye(m), A + A.T)


def trace_hess_blocks(A, m):
    """kron(eye(m), B) without kron: zeros, then B on the m diagonal blocks (a strided view
    of the diagonal blocks, H.reshape(m, n, m, n)[r, :, r, :] for r = 0..m-1)."""
    n = A.shape[0]
    H = np.zeros((m * n, m * n))
    r = np.arange(m)
    H.reshape(m, n, m, n)[r, :, r, :] = A + A.T
    return H


def commutation(m, n):
    """The dense commutation matrix K [m n, m n]: K vec(X) = vec(X.T) for X [m, n].  For
    the tests only (never in a contender: a product with it is O((m n)^3))."""
    K = np.zeros((m * n, m * n))
    i, j = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    K[(j + n * i).ravel(), (i + m * j).ravel()] = 1.0
    return K
