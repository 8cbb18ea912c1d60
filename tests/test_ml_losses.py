"""Losses ML code is written with, through the whole check of the emitted module,
stability probe included, at several seeds: each must come out verified (a probe
that rejected one of these would be a false alarm; subnormal results, for
example, are not a loss of digits).  fuzz_check.examine also parses each result
again and compares the expression with its index form."""

from __future__ import annotations

import pytest

from fuzz_check import examine

D = {"n": 8, "m": 4, "k": 3, "h": 5}


def S(**kw):
    return {k: {"shape": v[0], **({"props": v[1]} if len(v) > 1 else {})} for k, v in kw.items()}


cases = [
 ("softmax_xent", "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)", S(X=(["n","m"],["constant"]), W=(["m","k"],), Y=(["n","k"],["onehot","constant"]), lam=([],["constant","positive"])), ["W"], 1),
 ("soft_labels", "-sum(Y * log_softmax(X @ W, axis=1)) / n", S(X=(["n","m"],["constant"]), W=(["m","k"],), Y=(["n","k"],["stochastic","constant"])), ["W"], 1),
 ("entropy", "-sum(softmax(X @ W, axis=1) * log_softmax(X @ W, axis=1))", S(X=(["n","m"],["constant"]), W=(["m","k"],)), ["W"], 1),
 ("logistic", "sum(softplus(X @ w) - y * (X @ w)) / n", S(X=(["n","m"],["constant"]), w=(["m"],), y=(["n"],["constant"])), ["w"], 1),
 ("logistic_hess", "sum(softplus(X @ w) - y * (X @ w)) / n", S(X=(["n","m"],["constant"]), w=(["m"],), y=(["n"],["constant"])), ["w"], 2),
 ("logistic_sigmoid_form", "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))", S(X=(["n","m"],["constant"]), w=(["m"],), y=(["n"],["constant"])), ["w"], 1),
 ("mlp_tanh", "-sum(Y * log_softmax(tanh(X @ W1) @ W2, axis=1)) / n", S(X=(["n","m"],["constant"]), W1=(["m","h"],), W2=(["h","k"],), Y=(["n","k"],["onehot","constant"])), ["W1", "W2"], 1),
 ("mlp_sigmoid", "sum((sigmoid(X @ W1) @ w2 - y) ** 2)", S(X=(["n","m"],["constant"]), W1=(["m","h"],), w2=(["h"],), y=(["n"],["constant"])), ["W1", "w2"], 1),
 ("mlp_relu", "sum((relu(X @ W1) @ w2 - y) ** 2)", S(X=(["n","m"],["constant"]), W1=(["m","h"],), w2=(["h"],), y=(["n"],["constant"])), ["W1", "w2"], 1),
 ("mlp_softplus", "sum((softplus(X @ W1) @ w2 - y) ** 2)", S(X=(["n","m"],["constant"]), W1=(["m","h"],), w2=(["h"],), y=(["n"],["constant"])), ["W1"], 1),
 ("poisson", "sum(exp(X @ w) - y * (X @ w))", S(X=(["n","m"],["constant"]), w=(["m"],), y=(["n"],["constant","positive"])), ["w"], 2),
 ("gauss_nll", "(sum((X @ P) * X) - n * logdet(P)) / 2", S(X=(["n","m"],["constant"]), P=(["m","m"],["spd"])), ["P"], 1),
 ("gp_nll", "x @ inv(K + s * eye(n)) @ x + logdet(K + s * eye(n))", S(x=(["n"],["constant"]), K=(["n","n"],["spd","constant"]), s=([],["positive"])), ["s"], 1),
 ("logsumexp", "logsumexp(x)", S(x=(["n"],)), ["x"], 2),
 ("infonce", "-sum(diag(log_softmax(A @ B.T / t, axis=1))) / n", S(A=(["n","m"],), B=(["n","m"],["constant"]), t=([],["constant","positive"])), ["A"], 1),
 ("triplet", "sum(relu(norm(a - p) ** 2 - norm(a - q) ** 2 + 1))", S(a=(["m"],), p=(["m"],["constant"]), q=(["m"],["constant"])), ["a"], 1),
 ("nmf", "norm(V - W @ H, 'fro') ** 2", S(V=(["n","k"],["constant","positive"]), W=(["n","m"],["positive"]), H=(["m","k"],["positive"])), ["W", "H"], 1),
 ("pca", "-trace(U.T @ C @ U)", S(U=(["n","m"],), C=(["n","n"],["spd","constant"])), ["U"], 1),
 ("huber_pseudo", "sum(d ** 2 * (sqrt(1 + ((X @ w - y) / d) ** 2) - 1))", S(X=(["n","m"],["constant"]), w=(["m"],), y=(["n"],["constant"]), d=([],["constant","positive"])), ["w"], 2),
 ("elastic", "sum((X @ w - y) ** 2) / n + a * sum(abs(w)) + b * sum(w * w)", S(X=(["n","m"],["constant"]), w=(["m"],), y=(["n"],["constant"]), a=([],["constant","positive"]), b=([],["constant","positive"])), ["w"], 1),
 ("ridge_hess", "norm(X @ w - y) ** 2 + lam * w @ w", S(X=(["n","m"],["constant"]), w=(["m"],), y=(["n"],["constant"]), lam=([],["constant","positive"])), ["w"], 2),
 ("attention", "sum(G * (softmax(Q @ K.T / sqrt(m), axis=1) @ V))", S(Q=(["n","m"],), K=(["n","m"],["constant"]), V=(["n","k"],["constant"]), G=(["n","k"],["constant"])), ["Q"], 1),
 ("cox", "sum(logsumexp(X @ w) - X @ w)", S(X=(["n","m"],["constant"]), w=(["m"],)), ["w"], 2),
 ("softmax_jac", "softmax(x)", S(x=(["n"],)), ["x"], 1),
 ("tanh_jac", "tanh(W @ x)", S(W=(["n","m"],["constant"]), x=(["m"],)), ["x"], 1),
 ("log_det_barrier", "-logdet(X)", S(X=(["n","n"],["spd"])), ["X"], 1),
 ("kl_softmax", "sum(softmax(a) * (log_softmax(a) - log_softmax(b)))", S(a=(["n"],), b=(["n"],["constant"])), ["a"], 1),
 ("smooth_l1", "sum(sqrt(e + w ** 2))", S(w=(["n"],), e=([],["constant","positive"])), ["w"], 2),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, expr, symbols, wrt, order", cases, ids=[c[0] for c in cases])
def test_ml_loss_is_verified(name, expr, symbols, wrt, order, seed):
    doc = {"name": name, "dims": D, "symbols": symbols, "expr": expr, "wrt": wrt, "order": order}
    outcome = examine(doc, seed=seed)
    assert outcome.kind == "verified", outcome
