"""The array-API target: one generated module agrees with the numpy module on
numpy, Dask (always), and JAX / PyTorch on the CPU when they are installed.

Every gallery case runs on every backend: value, each grad_S / hess_S, and
value_and_grad, against the numpy-target module on the same inputs."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc.codegen.module import functions
from matcalc import ir
from matcalc.codegen import emit_module
from matcalc.files import header
from matcalc.ops import OPS, array_api
from matcalc.verify import draw_within

from support import REPO, run_cli

dask_array = pytest.importorskip("dask.array", reason="dask[array] is in the test extra")
pytest.importorskip("array_api_compat", reason="array-api-compat is in the test extra")

GALLERY = sorted((REPO / "derivations").glob("*.yaml"))


def _optional(name):
    if importlib.util.find_spec(name) is None:
        return pytest.param(name, marks=pytest.mark.skip(reason=f"{name} is not installed (optional backend)"))
    return name


def _optional_jit():
    if importlib.util.find_spec("jax") is None:
        return pytest.param("jax-jit", marks=pytest.mark.skip(reason="jax is not installed (optional backend)"))
    return "jax-jit"


BACKENDS = ["numpy", "dask", _optional("jax"), _optional_jit(), _optional("torch")]


def _load(source: str, directory: Path, name: str):
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _case(path: Path, tmp: Path):
    """The derivation(s) of a gallery file with both modules loaded, once per session."""
    out = matcalc.derive(path, verify=False)
    ds = out if isinstance(out, list) else [out]
    return [(d, _load(d.code, tmp, f"np_{d.name}"), _load(emit_module(d, "array-api"), tmp, f"xp_{d.name}"))
            for d in ds]


@pytest.fixture(scope="session")
def module_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("array_api_modules")


def _inputs(d, seed=0):
    """Random inputs with the props, inside every domain (the operations' and the declared one)."""
    p = d.problem
    return draw_within(p.domain, [p.expr] + [r.matrix for r in d.results.values()], p.symbols, p.dims,
                       np.random.default_rng(seed))


def _to(backend, a):
    """An input as the backend's array; Dask arrays chunked along their rows (two chunks)."""
    a = np.asarray(a, dtype=float)
    if backend == "numpy":
        return a
    if backend == "dask":
        return dask_array.from_array(a, chunks=(max(1, -(-a.shape[0] // 2)),) + a.shape[1:]) if a.ndim else a
    if backend in ("jax", "jax-jit"):
        import jax
        jax.config.update("jax_enable_x64", True)
        return jax.numpy.asarray(a)
    import torch
    return torch.asarray(a, dtype=torch.float64)


def _back(backend, x):
    """A result as numpy, checking it is the backend's kind of array."""
    if backend == "dask":
        assert isinstance(x, dask_array.Array), type(x)
        x = x.compute()
    elif backend == "torch":
        import torch
        assert isinstance(x, torch.Tensor), type(x)
        x = x.numpy()
    elif backend in ("jax", "jax-jit"):
        import jax
        assert isinstance(x, jax.Array), type(x)
    return np.asarray(x)


def _agree(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * max(1.0, np.max(np.abs(want), initial=0.0)),
                               err_msg=what)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("path", GALLERY, ids=[p.stem for p in GALLERY])
def test_gallery_agrees_across_backends(path, backend, module_dir):
    def run(f):
        if backend != "jax-jit":
            return f
        import jax
        return jax.jit(f)

    for d, np_module, xp_module in _case(path, module_dir):
        values = _inputs(d)
        args = {s: _to(backend, v) for s, v in values.items()}
        _agree(_back(backend, run(xp_module.value)(**args)), np_module.value(**values), f"{d.name}: value")
        for s, r in d.results.items():
            for name, role in functions(d.problem, s, r):       # grad_, jac_, hess_, hvp_, hess_W1_W2
                extra = {}
                if role == "hvp":                                # the direction: a draw shaped like S
                    extra = {r.direction.name: np.cos(np.arange(np.size(values[s])) + 1.0).reshape(np.shape(values[s]))}
                _agree(_back(backend, run(getattr(xp_module, name))(**args, **{k: _to(backend, x) for k, x in extra.items()})),
                       getattr(np_module, name)(**values, **extra), f"{d.name}: {name}")
        v, grads = run(xp_module.value_and_grad)(**args)
        want_v, want_grads = np_module.value_and_grad(**values)
        _agree(_back(backend, v), want_v, f"{d.name}: value_and_grad value")
        for s in want_grads:
            _agree(_back(backend, grads[s]), want_grads[s], f"{d.name}: value_and_grad {s}")


def test_every_call_operation_has_an_array_api_spelling():
    for name, op in OPS.items():
        if op.syntax == "call":
            assert op.array_api, name
            assert array_api.helpers_of(op.array_api) <= set(array_api.HELPERS), name


def test_module_imports_array_api_compat_only_and_passes_ruff(module_dir):
    import shutil
    import subprocess
    import sys

    d = matcalc.derive(REPO / "derivations" / "mlp_two_layer.yaml", verify=False)
    source = emit_module(d, "array-api")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from array_api_compat import array_namespace, device, is_numpy_array"]
    path = module_dir / "lint_me.py"
    path.write_text(source)
    if shutil.which("ruff") is None and importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_numpy_target_is_the_default_and_unchanged():
    d = matcalc.derive(REPO / "derivations" / "softmax_regression.yaml", verify=False)
    assert emit_module(d) == emit_module(d, "numpy") == d.code
    shipped = (REPO / "derivations" / "softmax_regression.py").read_text()
    assert shipped == header("python", "softmax_regression.yaml") + d.code     # d.code, under its header
    with pytest.raises(ValueError, match="unknown code target"):
        emit_module(d, "fortran")


def test_mixed_inputs_take_the_non_numpy_kind(module_dir):
    """A small numpy W (and a Python float) beside a dask X: the result is a dask array."""
    (d, np_module, xp_module), = _case(REPO / "derivations" / "softmax_regression.yaml", module_dir)
    values = _inputs(d)
    args = dict(values, X=_to("dask", values["X"]), Y=_to("dask", values["Y"]), lam=0.1)
    grad = xp_module.grad_W(**args)
    assert isinstance(grad, dask_array.Array)
    _agree(grad.compute(), np_module.grad_W(**dict(values, lam=0.1)), "mixed grad_W")


def test_stable_on_extreme_logits(module_dir):
    (d, _, xp_module), = _case(REPO / "derivations" / "softmax_regression.yaml", module_dir)
    values = _inputs(d)
    values["W"] = values["W"] * 1e4
    v, grads = xp_module.value_and_grad(**values)
    assert np.isfinite(v) and np.all(np.isfinite(grads["W"]))


def test_cli_writes_the_array_api_module(tmp_path):
    out = tmp_path / "grad.py"
    result = run_cli("derive", str(REPO / "derivations" / "softmax_regression.yaml"), "--no-verify", "-q",
                     "--emit-code", str(out), "--target", "array-api")
    assert result.exit_code == 0, result.output
    assert "array_namespace" in out.read_text()
    result = run_cli("derive", str(REPO / "derivations" / "softmax_regression.yaml"), "--no-verify", "-q",
                     "--emit-code", str(out))
    assert result.exit_code == 0 and out.read_text() == (REPO / "derivations" / "softmax_regression.py").read_text()
    result = run_cli("derive", str(REPO / "derivations" / "softmax_regression.yaml"), "--target", "cobol")
    assert result.exit_code == 2


def test_dask_example_runs_and_agrees_with_numpy(capsys):
    """examples/dask_softmax_regression.py at a small size: exit 0 means the
    out-of-core gradient equals numpy's within 1e-10 relative."""
    import sys

    sys.path.insert(0, str(REPO / "examples"))
    try:
        from dask_softmax_regression import main
    finally:
        sys.path.pop(0)
    assert main(["--rows", "20000", "--chunk-rows", "3000", "--features", "20", "--classes", "4"]) == 0
    assert "numpy in memory agrees" in capsys.readouterr().out
