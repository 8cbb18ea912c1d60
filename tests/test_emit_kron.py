"""Issue 15, the code of Kronecker/vec forms: each emission rule of
matcalc/ops/kron_code.py and kron_sum.py, by the text it prints (structured: no
``np.kron(np.eye``, no product with ``_commutation(``) and by its numbers against a
plain numpy evaluation (matcalc.evaluate, which builds every kron and commutation
matrix), for the numpy and the array-API targets, at shapes with m != n so that a
row-major/column-major mix-up fails."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from matcalc import ir
from matcalc.codegen import HELPERS, emit_module, expression
from matcalc.evaluate import evaluate
from matcalc.matrix import build as B
from matcalc.ops import EMIT_RULES, array_api
from matcalc.parse import parse

SYMBOLS = {
    "A": ("n", "n"), "C": ("m", "m"), "X": ("n", "m"), "W": ("n", "m"), "S": ("n", "k"),
    "P": ("k", "m*n"), "V": ("m*n", "k"),
    "v": ("m*n",), "c": (), "D": ("m*n", "m*n"), "Y": ("k", "m"), "Z": ("p", "n"),
}
SYMS = {name: ir.Symbol(shape, name) for name, shape in SYMBOLS.items()}
DIMS = {"n": 3, "m": 4, "k": 5, "p": 2}


def _mn(e):
    return B.eye("m*n")


# rule, expression (text, or a function of the symbols for forms the language cannot write yet),
# the emitted text holds these, and none of these
FORBIDDEN = ("np.kron(np.eye", "_commutation(", "np.diag(")
CASES = [
    ("block-diagonal", "kron(eye(m), A + A.T)", ["_eye_kron(m, A + A.T)"], FORBIDDEN),
    ("interleaved", "kron(A, eye(m))", ["_kron_eye(A, m)"], FORBIDDEN),
    ("kron-of-eyes", "kron(eye(m), eye(n))", ["np.eye(m * n)"], ("kron",)),
    ("scalar-into-kron", "2 * kron(eye(m), A)", ["_eye_kron(m, 2 * A)"], FORBIDDEN),
    ("scalar-into-kron", "-kron(inv(A).T, inv(A))", ["np.kron(t1.T, -t1)"], ("-np.kron",)),
    ("kron-mixed-product", "kron(eye(m), A) @ kron(eye(m), A.T)", ["_eye_kron(m, A @ A.T)"], FORBIDDEN),
    ("kron-mixed-product", "kron(X, A) @ kron(C, A.T)", ["np.kron(X @ C, A @ A.T)"], FORBIDDEN),
    ("block-diagonal-product", "kron(eye(m), A) @ V", ["(A @ V.reshape(m, n, -1)).reshape(-1, k)"], FORBIDDEN),
    ("block-diagonal-product", "P @ kron(eye(m), A)", ["(P.reshape(-1, n) @ A).reshape(k, -1)"], FORBIDDEN),
    ("block-diagonal-product", "kron(eye(m), A) @ v", ["(v.reshape(m, n) @ A.T).reshape(-1)"], FORBIDDEN),
    ("block-diagonal-product", "v @ kron(eye(m), A)", ["(v.reshape(m, n) @ A).reshape(-1)"], FORBIDDEN),
    ("interleaved-product", "kron(A, eye(m)) @ V", ["(A @ V.reshape(n, -1)).reshape(-1, k)"], FORBIDDEN),
    ("interleaved-product", "P @ kron(A, eye(m))", ["(A.T @ P.reshape(-1, n, m)).reshape(k, -1)"], FORBIDDEN),
    ("interleaved-product", "kron(A, eye(m)) @ vec(X.T)", ["(A @ X.reshape(n, m)).reshape(-1)"], FORBIDDEN),
    ("commutation-rows", "commutation(m, n) @ V", ["V.reshape(n, m, -1).transpose(1, 0, 2).reshape(-1, k)"],
     FORBIDDEN),
    ("commutation-rows", "commutation(m, n) @ v", ["v.reshape(n, m).T.reshape(-1)"], FORBIDDEN),
    ("commutation-columns", "P @ commutation(m, n)", ["P.reshape(-1, m, n).transpose(0, 2, 1).reshape(k, -1)"],
     FORBIDDEN),
    ("commutation-columns", "v @ commutation(n, m)", ["v.reshape(n, m).T.reshape(-1)"], FORBIDDEN),
    ("commutation-columns", "kron(Y, Z) @ commutation(m, n)",
     ["np.kron(Y, Z).reshape(-1, m, n).transpose(0, 2, 1).reshape(k * p, -1)"], ("_commutation(",)),
    ("commutation-rows", "commutation(n, m) @ (commutation(m, n) @ D)",
     ["D.reshape(n, m, -1).transpose(1, 0, 2).reshape(m, n, -1).transpose(1, 0, 2)"],
     ("_commutation(",)),
    ("commutation-columns", "kron(eye(m), A) @ commutation(m, n)",
     ["_eye_kron(m, A).reshape(-1, m, n).transpose(0, 2, 1)"], FORBIDDEN),
    ("commutation-rows", "commutation(n, m) @ vec(X)", ["X.reshape(-1)"], FORBIDDEN + (".T",)),
    ("commutation-columns", "vec(X) @ commutation(m, n)", ["X.reshape(-1)"], FORBIDDEN + (".T",)),
    ("commutation-columns", "vec(W.T) @ commutation(n, m)", ["W.T.reshape(-1)"], FORBIDDEN),
    ("transpose-into-operator", "commutation(m, n).T @ V", ["V.reshape(m, n, -1).transpose(1, 0, 2)"], FORBIDDEN),
    ("transpose-into-operator", "P @ kron(eye(m), A).T", ["(P.reshape(-1, n) @ A.T).reshape(k, -1)"], FORBIDDEN),
    ("transpose-into-operator", "kron(X, A).T @ kron(X, A) @ V", ["np.kron(X.T @ X, A.T @ A)"], FORBIDDEN),
    ("commutation-inverse", "commutation(n, m) @ commutation(m, n)", ["np.eye(m * n)"], ("_commutation(",)),
    ("vec-of-transpose", "vec(X.T)", ["X.reshape(-1)"], (".T",)),
    ("kron-product", "kron(X, A) @ V", ["(A @ (X @ V.reshape(m, -1)).reshape(n, n, -1)).reshape(-1, k)"],
     FORBIDDEN + ("np.kron",)),
    ("kron-product", "P @ kron(X.T, A)", ["(X @ (P.reshape(-1, m, n) @ A)).reshape(k, -1)"], FORBIDDEN + ("np.kron",)),
    ("kron-product", "kron(X.T, A) @ vec(A)", ["(X.T @ A.T.reshape(n, n) @ A.T).reshape(-1)"], FORBIDDEN + ("np.kron",)),
    ("kron-product", "vec(A.T) @ kron(X, A)", ["(X.T @ A.reshape(n, n) @ A).reshape(-1)"], FORBIDDEN + ("np.kron",)),
    ("scaled-blocks", "diag(vec(S)) @ kron(eye(k), X)", ["_eye_kron(k, S.T[:, :, None] * X)"], FORBIDDEN),
    ("scaled-blocks", "kron(eye(m), A) @ diag(vec(W))", ["_eye_kron(m, A * W.T[:, None, :])"], FORBIDDEN),
    ("scaled-blocks", "diag(v) @ kron(eye(m), A)", ["_eye_kron(m, v.reshape(m, n, 1) * A)"], FORBIDDEN),
    ("diag-scaling", "diag(vec(W)) @ V", ["W.T.reshape(-1)[:, None] * V"], FORBIDDEN),
    ("diag-scaling", "P @ diag(vec(W))", ["P * W.T.reshape(-1)"], FORBIDDEN),
    ("vec", "vec(W)", ["W.T.reshape(-1)"], FORBIDDEN),
    ("vec", "outer(vec(W), vec(X))", ["np.outer(W.T.reshape(-1), X.T.reshape(-1))"], ("kron",)),
    ("vec", "diag(vec(exp(W)))", ["np.diag(np.exp(W).T.reshape(-1))"], ("kron",)),
    ("commutation", "commutation(m, n)", ["_commutation(m, n)"], ("kron", "@")),
    ("kron-sum-in-place", "kron(eye(m), A) + kron(eye(m), A.T)", ["_eye_kron(m, A + A.T)"], FORBIDDEN + ("+=",)),
    ("kron-sum-in-place", "kron(eye(m), A) - 3 * kron(eye(m), A.T) + D",
     ["t1 = _eye_kron(m, A - 3 * A.T)", "t1 += D"], FORBIDDEN),
    ("kron-sum-in-place", lambda s: B.sub(B.add(B.add(B.call("kron", B.eye("m"), s["A"]), B.mul(s["c"], _mn(s))),
                                             B.call("kron", s["C"], B.eye("n"))), s["D"]),
     ["t1 = _eye_kron(m, A)", "_kron_eye(C, n, t1)", "_add_diagonal(t1, c)", "t1 -= D"], FORBIDDEN),
    ("kron-sum-in-place", "kron(C.T, eye(m)) + kron(eye(m), C)",          # the Jacobian of C @ C
     ["t1 = _kron_eye(C.T, m)", "_eye_kron(m, C, t1)"], FORBIDDEN + ("np.kron",)),
    ("kron-sum-in-place", lambda s: B.add(B.matmul(s["D"], s["D"]), B.mul(s["c"], _mn(s))),
     ["t1 = D @ D", "_add_diagonal(t1, c)"], ("np.eye",)),
    ("kron-sum-in-place", lambda s: B.sub(B.add(s["D"], s["D"].__class__(("m*n", "m*n"), "D")), B.eye("m*n")),
     ["t1 = D + D", "_add_diagonal(t1, -1)"], ("np.eye",)),
    ("kron-sum-in-place", lambda s: B.add(s["D"], B.mul(s["c"], _mn(s))), ["D + c * np.eye(m * n)"], ("+=",)),
    ("kron-sum-in-place", "kron(eye(m), A) + diag(vec(W)) - kron(eye(m), A.T)",
     ["t1 = _eye_kron(m, A - A.T)", "_add_diagonal(t1, W.T.reshape(-1))"], FORBIDDEN),
]


def _expr(form):
    return form(SYMS) if callable(form) else parse(form, SYMS, DIMS)


def _values(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in SYMBOLS.items():
        size = tuple(int(np.prod([DIMS[f] for f in str(d).split("*")])) for d in shape)
        out[name] = rng.standard_normal(size) + (3 * np.eye(size[0]) if name in ("A", "C") else 0)
    return out


def _run(e, target="numpy", xp=None, convert=None):
    """The emitted code of e executed (matcalc's own output), with its helpers."""
    numpy = target == "numpy"
    lines, text, helpers = expression(e, target, "np" if numpy else "xp", like="A")
    namespace = {"np": np, **DIMS}
    if numpy:
        for h in helpers:
            exec(HELPERS[h], namespace)  # noqa: S102
        namespace.update(_values())
    else:
        exec("from array_api_compat import array_namespace, device, is_numpy_array\n" + array_api.INPUTS,  # noqa: S102
             namespace)
        for h in sorted(array_api.helpers_of(" ".join(f"{h}(" for h in helpers))):
            exec(array_api.HELPERS[h], namespace)  # noqa: S102
        namespace.update(xp=xp, **{k: (convert or xp.asarray)(v) for k, v in _values().items()})
    exec("\n".join(lines + [f"result_ = {text}"]), namespace)  # noqa: S102
    return "\n".join(lines + [text]), namespace["result_"]


def _expected(e):
    return evaluate(e, _values(), DIMS)


@pytest.mark.parametrize("rule,form,holds,lacks", CASES, ids=[f"{c[0]}:{c[1] if isinstance(c[1], str) else 'built'}"
                                                              for c in CASES])
def test_each_rule_prints_the_structured_form_and_agrees_with_numpy(rule, form, holds, lacks):
    e = _expr(form)
    code, got = _run(e)
    for piece in holds:
        assert piece in code, code
    for piece in lacks:
        assert piece not in code, code
    assert np.asarray(got).shape == np.asarray(_expected(e)).shape
    np.testing.assert_allclose(got, _expected(e), rtol=1e-10, atol=1e-10)


def test_every_rule_named_here_is_a_registered_rule():
    names = {r.name for rules in EMIT_RULES.values() for r in rules
             if not r.name.startswith("kron-row-gram") and r.name not in ("trace-of-product", "logdet-cholesky")   # test_emit_trace, test_emit_algebra
             and r.name not in ("short-axis-softmax", "transposed-product", "tall-product", "tanh-derivative", "tanh-backprop",   # test_emit_layout
                                 "sum-of-product", "sum-of-log-softmax")}   # test_emit_dot
    assert {c[0] for c in CASES} - {"diag-scaling", "vec", "commutation"} | {"kron-vector-as-column"} == names


def _mixed_kron(left, right, shape):
    """kron of a vector and a matrix, built past today's shape rule (the contract's column reading)."""
    return ir.Apply(shape=shape, op="kron", args=(left, right))


@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_a_vector_in_kron_is_a_column(target):
    """kron(x, eye(k)) is [n*k, k]; kron(eye(k), x) is [k*n, k], block diagonal of columns."""
    compat = pytest.importorskip("array_api_compat")
    x = ir.Symbol(("m*n",), "v")
    for e, want in [(_mixed_kron(x, B.eye("k"), ("k*m*n", "k")), lambda v: np.kron(v[:, None], np.eye(DIMS["k"]))),
                    (_mixed_kron(B.eye("k"), x, ("k*m*n", "k")), lambda v: np.kron(np.eye(DIMS["k"]), v[:, None])),
                    (_mixed_kron(SYMS["A"], x, ("m*n*n", "n")), lambda v: np.kron(_values()["A"], v[:, None]))]:
        code, got = _run(e, target, None if target == "numpy" else compat.array_namespace(np.zeros(1)))
        assert "np.kron(np.eye" not in code
        np.testing.assert_allclose(np.asarray(got), want(_values()["v"]), rtol=1e-12)


def _chunked_rows(a):
    """A Dask array in two chunks along its rows, as the array-API tests give them."""
    import dask.array

    return dask.array.from_array(a, chunks=(max(1, -(-a.shape[0] // 2)),) + a.shape[1:]) if a.ndim else a


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("rule,form,holds,lacks", CASES, ids=[f"{c[0]}:{c[1] if isinstance(c[1], str) else 'built'}"
                                                              for c in CASES])
def test_the_array_api_target_agrees(rule, form, holds, lacks, backend):
    compat = pytest.importorskip("array_api_compat")
    e = _expr(form)
    if backend == "dask":
        pytest.importorskip("dask.array")
        code, got = _run(e, "array-api", compat.array_namespace(_chunked_rows(np.zeros((2, 2)))), _chunked_rows)
    else:
        code, got = _run(e, "array-api", compat.array_namespace(np.zeros(1)))
    assert "_commutation(" not in code and "order=" not in code
    assert not re.search(r"(?<!xp)\.(reshape|transpose)\(", code), code     # the standard's spellings
    assert "xp.reshape(_reshape(" not in code and "_reshape(xp, xp.reshape(" not in code, code
    np.testing.assert_allclose(np.asarray(got), _expected(e), rtol=1e-10, atol=1e-10)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (optional backend)")
@pytest.mark.parametrize("form", [c[1] for c in CASES if c[0] == "kron-sum-in-place"][1:],
                         ids=lambda f: f if isinstance(f, str) else "built")
def test_the_array_api_target_writes_nothing_in_place(form):
    """JAX arrays are immutable: the array-API code of a sum merges Kronecker terms only."""
    import jax.numpy as jnp
    from array_api_compat import array_namespace

    e = _expr(form)
    code, got = _run(e, "array-api", array_namespace(jnp.zeros(1)))
    assert "+=" not in code and "_eye_kron" not in code
    np.testing.assert_allclose(np.asarray(got), _expected(e), rtol=1e-4, atol=1e-4)


def test_the_inputs_are_never_written():
    """The in-place sum writes only an array it made (_eye_kron's), never an argument."""
    e = _expr("kron(eye(m), A) - kron(eye(m), A.T) + D")
    lines, text, helpers = expression(e)
    namespace = {"np": np, **DIMS, **_values()}
    for h in helpers:
        exec(HELPERS[h], namespace)  # noqa: S102
    exec("\n".join(lines + [f"result_ = {text}"]), namespace)  # noqa: S102
    for name, value in _values().items():
        np.testing.assert_array_equal(namespace[name], value)


def test_a_commutation_product_is_not_written_in_place():
    """K_mn.T @ D is a reshape of D (a view of the argument when m or n is 1): c I is added, not written into it."""
    code, _ = _run(B.add(B.matmul(B.T(_expr("commutation(m, n)")), SYMS["D"]), B.eye("m*n")))
    assert "_add_diagonal" not in code, code


def test_a_shared_kron_is_computed_once_and_not_opened():
    """kron(eye(m), A) used twice is named once; the sum adds the name, it does not rebuild it."""
    k = _expr("kron(eye(m), A)")
    total = B.add(k, SYMS["D"])
    from matcalc.codegen.emit import Emitter, shared_nodes

    em = Emitter("np", shared_nodes([total, k]))
    texts = [em.value(total), em.value(k)]
    code = "\n".join(em.lines + texts)
    assert code.count("_eye_kron(m, A)") == 1, code


def test_a_row_major_mix_up_would_be_caught():
    """At these shapes (m != n) the commutation matrices K_mn and K_nm differ, and so do
    vec and a row-major ravel: a convention mix-up changes the numbers the tests compare."""
    values = _values()
    mixed = evaluate(_expr("P @ commutation(n, m)"), values, DIMS)
    assert not np.allclose(_run(_expr("P @ commutation(m, n)"))[1], mixed)
    assert not np.allclose(_run(_expr("vec(W)"))[1], values["W"].reshape(-1))


def test_an_operator_used_only_in_products_is_never_built():
    """kron(C, A) and commutation(n, m) used twice, only as factors: no name, no np.kron, no _commutation."""
    from matcalc.codegen.emit import Emitter, shared_nodes

    k, c, x = _expr("kron(eye(m), A)"), _expr("commutation(n, m)"), _expr("vec(X)")
    roots = [B.matmul(k, x), B.matmul(B.T(k), B.matmul(k, x)), B.matmul(B.T(c), B.matmul(c, x))]
    em = Emitter("np", shared_nodes(roots))
    code = "\n".join([em.value(r) for r in roots] + em.lines)
    assert "_eye_kron" not in code and "_commutation" not in code and "@ t" not in code, code


def test_a_module_carries_the_helpers_and_clears_names():
    """The helpers are module helpers (an argument called _eye_kron gets an alias)."""
    assert {"_eye_kron", "_kron_eye", "_add_diagonal"} <= set(HELPERS)
    from matcalc.codegen.emit import Emitter, shared_nodes

    e = _expr("kron(eye(m), A)")
    em = Emitter("np", shared_nodes([e]), renamed={"_eye_kron": "_eye_kron_"})
    assert em.value(e) == "_eye_kron_(m, A)"
    assert callable(emit_module)
