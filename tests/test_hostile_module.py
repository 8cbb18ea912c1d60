"""The emitted module against hostile input (issue 12): user text that must stay
text, symbol and dimension names that collide with the module's own, arguments
of the wrong shape or kind, logdet of a matrix with a negative determinant, and
an expression as deep as it is long."""

from __future__ import annotations

import ast
import html
import shutil
import subprocess
import sys

import numpy as np
import pytest
from support import run_cli

import matcalc
from matcalc.codegen import emit_module, load_module
from matcalc.evaluate import evaluate
from matcalc.ops.mp import logdet as mp_logdet

TARGETS = ("numpy", "array-api")


def _modules(d):
    """The numpy and the array-API module of a derivation, loaded."""
    out = {"numpy": load_module(d.code)}
    try:
        import array_api_compat  # noqa: F401
    except ImportError:
        return out
    out["array-api"] = load_module(emit_module(d, "array-api"))
    return out


# -- user text ---------------------------------------------------------------------

CODE_LINE = "import sys; sys.modules['matcalc_hostile_ran'] = True"
DESCRIPTIONS = [
    f'ends the docstring """\n{CODE_LINE}\n"""',
    f"ends it with a quote and a backslash \\\"\"\"\n{CODE_LINE}\n",
    "a Windows path C:\\Users\\new\\x and \\N{BULLET} and a NUL \x00 and a bell \x07",
    "<script>alert(1)</script> <b>raw HTML</b> & $math$ *em* _u_ `code` [link](http://x) ![i](y.png) | ~ #",
    "1. looks like a list\n# looks like a heading\n    looks like code\n- an item",
]


@pytest.mark.parametrize("description", DESCRIPTIONS)
def test_description_stays_text_in_every_module(description):
    """Importing a module never runs the user's text, and its docstring holds it exactly."""
    d = matcalc.derive({"name": "texty", "description": description, "dims": {"n": 3},
                        "symbols": {"x": {"shape": ["n"]}}, "expr": "sum(x * x)"}, verify=False)
    for target in TARGETS:
        source = d.code if target == "numpy" else emit_module(d, target)
        doc = ast.get_docstring(ast.parse(source), clean=False)
        assert description.strip() in doc, target
        sys.modules.pop("matcalc_hostile_ran", None)
        if target == "numpy":
            load_module(source)
            assert "matcalc_hostile_ran" not in sys.modules


@pytest.mark.parametrize("description", DESCRIPTIONS)
def test_description_is_plain_text_in_markdown(description):
    """Rendered by a CommonMark parser, the description's paragraph is exactly its text:
    no HTML, emphasis, code, link, list or heading made of it."""
    markdown_it = pytest.importorskip("markdown_it")
    d = matcalc.derive({"name": "texty", "description": description, "dims": {"n": 3},
                        "symbols": {"x": {"shape": ["n"]}}, "expr": "sum(x * x)"}, verify=False)
    paragraph = d.markdown().split("\n\n")[2]
    rendered = markdown_it.MarkdownIt("commonmark").render(paragraph).strip()
    assert rendered.startswith("<p>") and rendered.endswith("</p>")
    shown = html.unescape(rendered[3:-4])
    assert "<" not in shown.replace("<script>", "").replace("<b>", "").replace("</b>", "").replace("</script>", "")
    want = " ".join(description.split())
    want = "".join(ch if ch.isprintable() else " " for ch in want)
    assert shown == want + ("" if want[-1] in ".!?" else ".")


def test_gallery_index_shows_the_description_as_text(tmp_path):
    (tmp_path / "hostile.yaml").write_text('description: "<script>alert(1)</script> a | b *c*"\n'
                                           "dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\nexpr: sum(x * x)\n")
    result = run_cli("gallery", str(tmp_path))
    assert result.exit_code == 0, result.output
    row = next(line for line in (tmp_path / "README.md").read_text().splitlines() if "hostile" in line)
    assert "<script>" not in row and "&lt;script&gt;alert(1)&lt;/script&gt; a \\| b \\*c\\*" in row
    assert row.count(" | ") == 2       # the description's | is no column


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not on PATH")
def test_latex_of_hostile_names_and_description_compiles(tmp_path):
    """Every special character of the description printed as itself; a symbol named
    a_b_c is no double subscript, _x no stray subscript."""
    d = matcalc.derive({"name": "hostile_latex", "description": DESCRIPTIONS[2] + " " + DESCRIPTIONS[3] + " 50% {}^~",
                        "dims": {"n": 3},
                        "symbols": {"a_b_c": {"shape": ["n"]}, "_x": {"shape": ["n"]}, "t_0_": {"shape": []}},
                        "expr": "sum(a_b_c * _x) * t_0_"}, verify=False)
    (tmp_path / "d.tex").write_text(d.latex(), encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "d.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                              check=False).stdout
        assert "C:\\Users\\new\\x" in text and "50%" in text and "<script>" in text


# -- names -------------------------------------------------------------------------

# Every name the emitted modules use (or used) for themselves, and builtins.
HOSTILE = ["t0", "t1", "t2", "value", "grad_x", "hess_x", "value_and_grad", "np", "np_", "numpy", "numpy_",
           "float", "dict", "int", "len", "range", "type", "zip", "isinstance", "ValueError", "math", "xp",
           "xp_", "self", "_", "_inputs", "_arguments", "_refuse", "_DECLARED", "_FIXED", "_KNOWN", "_numpy",
           "_namespace_of", "device", "array_namespace", "is_numpy_array", "_softmax", "_log_softmax",
           "_logsumexp", "_sigmoid", "_softplus", "_logdet", "_diag", "_trace", "_outer", "_solve", "_inv",
           "_det", "_kron", "_step", "_gathered", "_chunked"]


def _hostile_doc(names):
    """Every hostile name a [n] vector, each used, beside the ops whose code calls helpers."""
    symbols = {"x": {"shape": ["n"]}, "A": {"shape": ["n", "n"]}, **{s: {"shape": ["n"]} for s in names}}
    total = " + ".join(names)
    expr = (f"sum(softmax(A @ x) * ({total})) + sum(sigmoid(x) * {names[0]}) + sum(softplus(x) * {names[1]})"
            f" + logsumexp(x) + logdet(eye(n) + outer(x, x)) + sum(diag(A) * {names[2]}) + trace(A) * sum(x)"
            f" + det(eye(n) + outer({names[3]}, x)) + sum(inv(A) @ x) + sum(kron(x, {names[4]}))"
            f" + sum(relu(x) * {names[5]}) + n * sum(ones(n) * {names[6]})")
    return {"name": "hostile", "dims": {"n": 3}, "symbols": symbols, "expr": expr,
            "wrt": ["x", "A", names[0], names[3]]}


@pytest.mark.parametrize("names", [HOSTILE[i:i + 14] for i in range(0, len(HOSTILE), 14)],
                         ids=lambda names: ",".join(names[:3]) + ",...")
def test_symbols_named_like_the_module_internals(names):
    """The functions move out of the arguments' way: the module loads, every function of
    both targets runs and is verified, and the value is the evaluator's."""
    targets = TARGETS if _has_array_api() else ("numpy",)
    d = matcalc.derive(_hostile_doc(names), targets=targets)
    assert all(c.passed for c in d.verification.values()), {s: c.why for s, c in d.verification.items()}
    rng = np.random.default_rng(1)
    values = {s: rng.normal(size=(3, 3) if s == "A" else 3) for s in d.problem.symbols}
    values["A"] = values["A"] + 3 * np.eye(3)
    want = evaluate(d.problem.expr, values, d.problem.dims)
    for target, module in _modules(d).items():
        assert np.allclose(np.asarray(module.value(**values)), want), target
        v, grads = module.value_and_grad(**values)
        assert np.allclose(np.asarray(v), want), target
        for s in d.results:
            assert np.allclose(np.asarray(grads[s]), np.asarray(getattr(module, f"grad_{s}")(**values))), (target, s)


def test_hessian_functions_with_hostile_names():
    names = ["t1", "np", "float", "_logdet", "_softplus", "_arguments", "value", "grad_x", "hess_x", "xp", "device", "_"]
    symbols = {"x": {"shape": ["n"]}, "A": {"shape": ["n", "n"]}, **{s: {"shape": ["n"]} for s in names}}
    expr = f"sum(softplus(A @ x) * ({' + '.join(names)})) + logsumexp(x * t1) + logdet(A @ A.T + eye(n))"
    d = matcalc.derive({"name": "hostile2", "dims": {"n": 3}, "symbols": symbols, "expr": expr,
                        "wrt": ["x", "t1"], "order": 2}, targets=TARGETS if _has_array_api() else ("numpy",))
    assert d.verified, {s: c.why for s, c in d.verification.items()}


def test_t0_t1_value_and_gradients_are_right():
    """The issue's case: symbols t0, t1 (intermediates were named t1, t2, ...)."""
    d = matcalc.derive({"name": "tt", "dims": {"n": 4},
                        "symbols": {"t0": {"shape": ["n"]}, "t1": {"shape": ["n", "n"]}},
                        "expr": "sum(exp(t1 @ t0) * (t1 @ t0)) + sum(tanh(t1 @ t0))", "wrt": ["t0", "t1"]})
    assert d.verified, {s: c.why for s, c in d.verification.items()}
    rng = np.random.default_rng(2)
    values = {"t0": rng.normal(size=4) * 0.3, "t1": rng.normal(size=(4, 4)) * 0.3}
    for module in _modules(d).values():
        assert np.isclose(float(module.value(**values)), float(evaluate(d.problem.expr, values, d.problem.dims)))


def test_dimensions_named_like_the_module_internals():
    dims = {"np": 3, "t1": 4, "float": 2, "_arguments": 5, "value": 6, "xp": 7}
    d = matcalc.derive({"name": "dimmed", "dims": dims,
                        "symbols": {"X": {"shape": ["np", "t1"]}, "w": {"shape": ["t1"]}, "V": {"shape": ["float", "np"]},
                                    "c": {"shape": [1, "t1"]}},
                        "expr": "sum(softmax(X @ w)) / np + t1 * sum(w * w) + sum(V @ X @ w) * float"
                                " + value * sum(ones(xp)) + _arguments * sum(c)",
                        "wrt": ["w", "X"]}, targets=TARGETS if _has_array_api() else ("numpy",))
    assert d.verified, {s: c.why for s, c in d.verification.items()}


def _has_array_api() -> bool:
    try:
        import array_api_compat  # noqa: F401
    except ImportError:
        return False
    return True


# -- arguments ---------------------------------------------------------------------

SOFTMAX = {"name": "sr", "dims": {"n": 6, "m": 10, "k": 5},
           "symbols": {"X": {"shape": ["n", "m"]}, "W": {"shape": ["m", "k"]},
                       "Y": {"shape": ["n", "k"], "props": ["onehot"]}, "lam": {"shape": []}},
           "expr": "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)", "wrt": ["W"]}


@pytest.fixture(scope="module")
def softmax_modules():
    return _modules(matcalc.derive(SOFTMAX, verify=False))


def _good():
    rng = np.random.default_rng(3)
    return {"X": rng.normal(size=(6, 10)), "W": rng.normal(size=(10, 5)), "Y": np.eye(5)[rng.integers(5, size=6)],
            "lam": 0.1}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name, bad, words", [
    ("W", np.ones((10, 1)), ["arguments W and Y disagree on the size of k", "(10, 1)", "[m, k]", "(6, 5)"]),
    ("lam", None, ["argument lam", "None", "[]"]),
    ("lam", np.ones(5), ["argument lam", "(5,)", "scalar"]),
    ("X", np.ones(10), ["argument X", "(10,)", "[n, m]", "2-d"]),
    ("Y", np.ones((7, 5)), ["arguments X and Y disagree on the size of n", "(6, 10)", "(7, 5)", "[n, k]"]),
    ("W", np.ones((9, 5)), ["arguments X and W disagree on the size of m", "(9, 5)", "[m, k]"]),
    ("X", np.array([["a"] * 10] * 6), ["argument X", "number"]),
    ("lam", "0.1", ["argument lam", "'0.1'"]),
])
def test_wrong_arguments_are_a_clear_value_error(softmax_modules, target, name, bad, words):
    if target not in softmax_modules:
        pytest.skip("array-api-compat is not installed")
    module = softmax_modules[target]
    for fn in ("value", "grad_W", "value_and_grad"):
        with pytest.raises(ValueError) as info:
            getattr(module, fn)(**{**_good(), name: bad})
        message = str(info.value)
        assert message.startswith(f"{fn}(): argument")
        for word in words:
            assert word in message, (fn, message)


def test_right_arguments_of_every_kind_still_work(softmax_modules):
    good = _good()
    want = softmax_modules["numpy"].value(**good)
    kinds = {**good, "X": good["X"].tolist(), "lam": np.float32(0.1), "Y": good["Y"].astype(int)}
    assert np.isclose(softmax_modules["numpy"].value(**kinds), want, rtol=1e-6)
    if "array-api" in softmax_modules:
        assert np.isclose(float(softmax_modules["array-api"].value(**{**good, "lam": 0.1})), want)
    big = {"X": np.ones((3, 10)), "W": np.ones((10, 5)), "Y": np.ones((3, 5)), "lam": np.asarray(2.0)}
    assert softmax_modules["numpy"].grad_W(**big).shape == (10, 5)     # other sizes, consistent: fine


def test_fixed_dimensions_are_checked():
    d = matcalc.derive({"name": "fixed", "dims": {"n": 3}, "symbols": {"c": {"shape": ["n", 1]}},
                        "expr": "sum(c * c)"}, verify=False)
    module = load_module(d.code)
    assert np.isclose(module.value(c=np.ones((4, 1))), 4.0)
    with pytest.raises(ValueError, match=r"argument c has shape \(4, 2\).*axis 1 must have size 1"):
        module.value(c=np.ones((4, 2)))


# -- logdet ------------------------------------------------------------------------

def test_logdet_of_a_negative_determinant_is_nan_everywhere():
    d = matcalc.derive({"name": "ld", "dims": {"n": 3}, "symbols": {"A": {"shape": ["n", "n"]}},
                        "expr": "logdet(A)"}, verify=False)
    negative = np.diag([1.0, 2.0, -3.0])
    positive = np.diag([1.0, 2.0, 3.0])
    for target, module in _modules(d).items():
        assert np.isnan(float(module.value(A=negative))), target
        assert np.isclose(float(module.value(A=positive)), np.log(6.0)), target
        assert np.isnan(float(module.value_and_grad(A=negative)[0])), target
    assert np.isnan(float(evaluate(d.problem.expr, {"A": negative}, d.problem.dims)))
    assert np.isnan(float(evaluate(d.problem.expr, {"A": negative}, d.problem.dims, precise=True)))
    assert np.isclose(float(evaluate(d.problem.expr, {"A": positive}, d.problem.dims, precise=True)), np.log(6.0))
    assert float(mp_logdet(np.zeros((2, 2)))) == -np.inf      # log 0, as log(0)


def test_logdet_of_a_declared_spd_matrix_is_unchanged():
    d = matcalc.derive({"name": "ld_spd", "dims": {"n": 3}, "symbols": {"A": {"shape": ["n", "n"], "props": ["spd"]}},
                        "expr": "logdet(A)"})
    assert d.verified
    assert np.isclose(load_module(d.code).value(A=np.diag([1.0, 2.0, 3.0])), np.log(6.0))


# -- depth -------------------------------------------------------------------------

LONG = " - ".join(["x @ x"] * 20_000)


def test_twenty_thousand_term_difference_generates_code():
    """a - b - c - ... does not rebalance (it is no associative chain): code generation
    used to recurse once per term (RecursionError); now the deep parts are named lines."""
    d = matcalc.derive({"name": "long", "dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}}, "expr": LONG},
                       verify=False)
    x = np.array([0.5, -1.0, 2.0])
    for target, module in _modules(d).items():
        assert np.isclose(float(module.value(x=x)), -19_998 * (x @ x)), target
        assert np.allclose(np.asarray(module.grad_x(x=x)), -2 * 19_998 * x), target


def test_twenty_thousand_term_difference_through_the_cli(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\nexpr: " + LONG + "\n")
    out = tmp_path / "long.py"
    result = run_cli("derive", str(path), "--no-verify", "-q", "--emit-code", str(out))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    module = load_module(out.read_text())
    assert np.isclose(module.value(x=np.ones(3)), -19_998 * 3)

