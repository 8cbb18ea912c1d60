"""The numpy helpers the emission rule ``kron-row-gram`` (:mod:`.kron_gram`) calls: sums
``Σ_i kron(T_i, p_i q_iᵀ)`` over the rows ``p_i`` of ``P [n, a]`` and ``q_i`` of
``Q [n, b]`` with per-row weights ``T_i [k, k]`` (``T [n, k, k]``, or ``T [n, k]`` for
diagonal weights ``T_i = diag(T[i])``), in the vec convention: entry
``(q a + p, r b + t)`` is ``Σ_i P_ip T_iqr Q_it``.

``_vech_gram`` is the fastest numpy measured for a symmetric weighted Gram
(bench/HIGHER_ORDER_NOTES.md): both symmetries are used (``p ≤ t`` of ``p_i p_iᵀ`` and
``q ≤ r`` of a symmetric ``T_i``, whose weights on those blocks
``_kron_gram`` takes); n is cut into chunks of 256 rows whose products stay in cache
(256 measured ~10 % faster than the notes' 512 at (10000, 100, 10) here, 1 BLAS thread).
"""

VECH_GRAM = "_vech_gram"
KRON_GRAM = "_kron_gram"
KRON_SANDWICH = "_kron_sandwich"

HELPERS = {
    VECH_GRAM: '''def _vech_gram(X, T, chunk=256):
    """G[p, t, j] = sum_i X_ip X_it T_ij for p <= t (t < p left 0): the upper half of
    X.T diag(T[:, j]) X for every column j, rows of X taken chunk by chunk."""
    n, m = X.shape
    G = np.zeros((m, m, T.shape[1]))
    if m * m * T.shape[1] <= 4096:     # small: one product, the loop below costs more
        G[...] = np.moveaxis((X.T @ (T[:, :, None] * X[:, None, :]).reshape(n, -1)).reshape(m, -1, m), 1, 2)
        return G
    Z, P = np.empty((m, chunk)), np.empty((m, T.shape[1]))
    for start in range(0, n, chunk):
        Xc = np.ascontiguousarray(X[start:start + chunk].T)
        Tc = np.ascontiguousarray(T[start:start + chunk])
        for p in range(m):             # rows p..m-1 of vech(x_i x_i^T), times the weights
            z = Z[: m - p, : Xc.shape[1]]
            np.multiply(Xc[p:], Xc[p], out=z)
            np.matmul(z, Tc, out=P[: m - p])
            G[p, p:] += P[: m - p]
    return G''',
    KRON_GRAM: '''def _kron_gram(X, W, pairs, k, fill=False):
    """sum_i kron(T_i, x_i x_i^T) [k m, k m] for X [n, m] and symmetric weights T_i [k, k]
    given on the blocks pairs = (qa, ra) (qa <= ra): W[i, j] = T_i[qa[j], ra[j]], the
    other blocks 0 (pairs None: W [n, k] is the diagonal, T_i = diag(W[i])); fill: T_i 1 = 0
    and pairs are the q <= r < k - 1, the last block row and column minus the sums of the
    others.  Entry (q m + p, r m + t) is sum_i X_ip T_iqr X_it; only p <= t is computed
    (_vech_gram), the rest mirrored."""
    n, m = X.shape
    qa, ra = (np.arange(k), np.arange(k)) if pairs is None else pairs
    H4 = np.empty((k, m, k, m)) if fill or len(qa) == k * (k + 1) // 2 else np.zeros((k, m, k, m))
    G = _vech_gram(X, W)
    pu, tu = np.triu_indices(m, 1)
    G[tu, pu, :] = G[pu, tu, :]                # x x^T is symmetric
    H4[qa, :, ra, :] = G.transpose(2, 0, 1)
    H4[ra, :, qa, :] = G.transpose(2, 1, 0)    # block (r, q) = block (q, r)^T
    if fill:                                   # sum_r block (q, r) = 0
        j = k - 1
        H4[:j, :, j, :] = -H4[:j, :, :j, :].sum(axis=2)
        H4[j, :, :j, :] = H4[:j, :, j, :].transpose(2, 0, 1)
        H4[j, :, j, :] = -H4[:j, :, j, :].sum(axis=0)
    return H4.reshape(k * m, k * m)''',
    KRON_SANDWICH: '''def _kron_sandwich(P, T, Q):
    """sum_i kron(T_i, p_i q_i^T) [k a, k b] for P [n, a], Q [n, b] and weights T [n, k, k]
    (T [n, k]: T_i = diag(T[i])): entry (q a + p, r b + t) is sum_i P_ip T_iqr Q_it,
    one block row (one product P^T [a, n] @ [n, k b]) at a time."""
    n, a = P.shape
    b, k = Q.shape[1], T.shape[1]
    H4 = np.zeros((k, a, k, b), dtype=np.result_type(P, T, Q, 0.0))
    for q in range(k):
        if T.ndim == 2:
            H4[q, :, q, :] = P.T @ (T[:, q, None] * Q)
        else:
            H4[q] = (P.T @ (T[:, q, :, None] * Q[:, None, :]).reshape(n, k * b)).reshape(a, k, b)
    return H4.reshape(k * a, k * b)''',
}
