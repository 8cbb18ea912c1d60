"""Issue 15, the dense Hessian of GLM-type losses in emitted code: the emission rule
``kron-row-gram`` (matcalc/ops/kron_gram.py) computes
``kron(eye(k), Pᵀ) @ D @ kron(eye(k), Q)`` with a row-diagonal D as Σ_i kron(T_i, p_i q_iᵀ)
from per-row k×k weights, never building D ([n k, n k]) nor the Kronecker factors.
Each case: the emitted function's text shows the rule fired (the Gram helper called,
no ``_eye_kron(`` / ``np.kron(np.eye`` / ``np.diag(`` built), its numbers agree with a
plain numpy evaluation of the result's matrix (matcalc.evaluate, which builds every
kron and diag) at small sizes with all dims different, and the derivation's own check
passes."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.evaluate import evaluate
from matcalc.ops import EMIT_RULES
from matcalc.ops.gram_helpers import HELPERS

DIMS = {"n": 11, "m": 5, "k": 3, "h": 4, "p": 6}
NOT_BUILT = ("_eye_kron(", "np.kron(", "np.diag(", "_kron_eye(")


def _sym(*shape, props=()):
    return {"shape": list(shape), **({"props": list(props)} if props else {})}


SOFTMAX = {"X": _sym("n", "m"), "W": _sym("m", "k"), "Y": _sym("n", "k", props=["onehot"]), "lam": _sym()}
TWO_LAYER = {"X": _sym("n", "m"), "W1": _sym("m", "h"), "W2": _sym("h", "k"), "Y": _sym("n", "k", props=["onehot"])}
TWO_LAYER_SOFT = {**TWO_LAYER, "Y": _sym("n", "k")}          # rows of Y not summing to 1: diag(sum(Y, 1)) in Q
LOGISTIC = {"X": _sym("n", "m"), "W": _sym("m", "k"), "Y": _sym("n", "k")}
MIXED = {"X": _sym("n", "m"), "W": _sym("m", "k"), "Z": _sym("n", "p"), "V": _sym("p", "k"),
         "Y": _sym("n", "k", props=["onehot"])}

JACOBIAN = {"X": _sym("n", "m"), "W": _sym("m", "k"), "Z": _sym("n", "p")}


def _spec(expr, symbols, wrt, order=2, **more):
    return {"expr": expr, "symbols": symbols, "wrt": wrt, "order": order, **more}


# name, spec, function, result key, the helper it calls
CASES = [
    ("softmax regression", _spec("-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)", SOFTMAX, ["W"]),
     "hess_W", "W", "_kron_gram("),
    ("two-layer output layer", _spec("-sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1)))", TWO_LAYER, ["W2"]),
     "hess_W2", "W2", "_kron_gram("),
    ("two-layer output layer, weighted rows",
     _spec("-sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1)))", TWO_LAYER_SOFT, ["W2"]), "hess_W2", "W2", "_kron_gram("),
    ("two-layer first layer", _spec("sum((tanh(X @ W1) @ W2 - Y) ** 2)", TWO_LAYER_SOFT, ["W1"]),
     "hess_W1", "W1", "_kron_gram("),
    ("logistic regression, matrix W",
     _spec("-sum(Y * log(sigmoid(X @ W)) + (1 - Y) * log(sigmoid(-(X @ W))))", LOGISTIC, ["W"]),
     "hess_W", "W", "_kron_gram("),
    ("sigmoid least squares", _spec("sum((sigmoid(X @ W) - Y) ** 2)", LOGISTIC, ["W"]), "hess_W", "W", "_kron_gram("),
    ("mixed derivative, P != Q", _spec("-sum(Y * log(softmax(X @ W + Z @ V, axis=1)))", MIXED, ["W", "V"], mixed=True),
     "hess_W_V", "W,V", "_kron_sandwich("),
    ("Jacobian, P != Q", _spec("Z.T @ softmax(X @ W, axis=1)", JACOBIAN, ["W"], order=1),
     "jac_W", "W", "_kron_sandwich("),
    ("Jacobian, diagonal weights", _spec("Z.T @ sigmoid(X @ W)", JACOBIAN, ["W"], order=1),
     "jac_W", "W", "_kron_sandwich("),
]


def function_code(code: str, name: str) -> str:
    start = code.index(f"\ndef {name}(")
    end = code.find("\ndef ", start + 1)
    return code[start:] if end < 0 else code[start:end]


def _values(spec: dict, rng) -> dict:
    out = {}
    for name, sym in spec["symbols"].items():
        shape = tuple(DIMS[d] for d in sym["shape"])
        if "onehot" in sym.get("props", []):
            out[name] = np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
        else:
            out[name] = (0.5 * rng.standard_normal(shape)) if shape else 0.3
    return out


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request):
    _, spec, function, key, helper = request.param
    d = matcalc.derive({"name": "t", "dims": DIMS, **spec}, verify=True)
    return d, spec, function, key, helper


def test_rule_fired(case):
    d, _, function, _, helper = case
    text = function_code(d.code, function)
    body = text.split('"""')[-1]          # the docstring quotes the kron form itself
    assert helper in body, text
    for built in NOT_BUILT:
        assert built not in body, (built, text)


def test_numbers_agree_with_plain_numpy(case):
    d, spec, function, key, _ = case
    values = _values(spec, np.random.default_rng(3))
    got = getattr(d.function(), function)(**values)
    want = evaluate(d.results[key].matrix, values, DIMS)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_derivation_check_passes(case):
    d, _, _, key, _ = case
    assert d.verification[key].passed


def test_zero_row_sums_only_when_shown():
    """softmax's weights diag(s) - s sᵀ annihilate 1 (its rows sum to 1): the last block row
    is filled from the others; sigmoid's and the first layer's weights do not."""
    shown = []
    for _, spec, function, _, _ in CASES[:6]:
        d = matcalc.derive({"name": "t", "dims": DIMS, **spec}, verify=False)
        shown.append("fill=True" in function_code(d.code, function))
    assert shown == [True, True, True, False, False, False]


def test_merged_sum_is_one_gram():
    """2 (A D1 A' - 2 A D2 A') is one Gram with the weights D1 - 2 D2, not two."""
    d = matcalc.derive({"name": "t", "dims": DIMS, **CASES[3][1]}, verify=False)
    body = function_code(d.code, "hess_W1").split('"""')[-1]
    assert body.count("_kron_gram(") == 1, body


def test_symmetric_weights_seen_from_the_structure():
    """Softmax: T_i = (I - s_i 1ᵀ) diag(s_i), symmetric only once expanded; the output
    layer's W2 W2ᵀ is a palindrome."""
    from matcalc import ir
    from matcalc.matrix import build as B
    from matcalc.ops.kron_gram_sym import symmetric
    s = ir.Symbol(("n", "k"), "S")
    c = ir.Symbol(("k", "k"), "C")
    ones = B.ones(("k", "k"))
    softmax_like = ("prod", [("sum", [(None, ("eye",)), (B.num(-1), ("prod", [("diag", s), ("const", ones)]))]),
                             ("diag", s)])
    assert symmetric(softmax_like)
    assert not symmetric(("prod", [("diag", s), ("const", c)]))
    assert symmetric(("prod", [("diag", s), ("const", c), ("diag", s)])) is False
    assert symmetric(("sum", [(None, ("prod", [("const", c), ("diag", s)])),
                              (None, ("prod", [("diag", s), ("const", B.T(c))]))]))


def test_helpers_against_the_plain_sum():
    """_kron_gram (both symmetries, chunked; the blocks q <= r, the diagonal ones, the
    fill from zero row sums) and _kron_sandwich against
    einsum('ip,iqr,it->qprt'), at sizes taking both paths of _vech_gram."""
    ns = {"np": np}
    for source in HELPERS.values():
        exec(source, ns)        # noqa: S102 -- the helpers' own source, not user text
    rng = np.random.default_rng(0)
    for n, m, k in [(7, 5, 3), (1100, 40, 4)]:
        P, Q = rng.standard_normal((n, m)), rng.standard_normal((n, m + 2))
        T = rng.standard_normal((n, k, k))
        Ts, Td = T + T.transpose(0, 2, 1), rng.standard_normal((n, k))

        def plain(P, T, Q, k=k):
            T = np.einsum("iq,qr->iqr", T, np.eye(k)) if T.ndim == 2 else T
            return np.einsum("ip,iqr,it->qprt", P, T, Q).reshape(k * P.shape[1], k * Q.shape[1])
        full = np.triu_indices(k)
        np.testing.assert_allclose(ns["_kron_gram"](P, Ts[:, full[0], full[1]], full, k), plain(P, Ts, P), atol=1e-10)
        np.testing.assert_allclose(ns["_kron_gram"](P, Td, None, k), plain(P, Td, P), atol=1e-10)
        np.testing.assert_allclose(ns["_kron_sandwich"](P, T, Q), plain(P, T, Q), atol=1e-10)
        np.testing.assert_allclose(ns["_kron_sandwich"](P, Td, Q), plain(P, Td, Q), atol=1e-10)
        S = np.exp(rng.standard_normal((n, k)))
        S /= S.sum(axis=1, keepdims=True)
        Tz = np.einsum("iq,qr->iqr", S, np.eye(k)) - S[:, :, None] * S[:, None, :]     # diag(s) - s s^T
        lead = np.triu_indices(k - 1)
        np.testing.assert_allclose(ns["_kron_gram"](P, Tz[:, lead[0], lead[1]], lead, k, fill=True), plain(P, Tz, P),
                                   atol=1e-10)


def test_rules_registered_before_the_kronecker_rules():
    names = [r.name for r in EMIT_RULES["matmul"]]
    assert names[0] == "kron-row-gram"
    assert names.index("kron-row-gram") < names.index("block-diagonal-product")
