"""The command line: --version, --help with examples, derive on the gallery."""

from __future__ import annotations

from pathlib import Path

import pytest

import matcalc
from matcalc.shapes import show
from support import REPO, run_cli, run_subprocess

GALLERY = sorted((REPO / "derivations").glob("*.yaml"))


def test_version():
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"matcalc {matcalc.__version__}"


def test_help_shows_examples():
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "derive" in result.stdout and "Examples" in result.stdout
    assert "matcalc derive derivations/softmax_regression.yaml" in result.stdout


def test_derive_help_shows_examples():
    result = run_cli("derive", "--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout and "--json" in result.stdout


def test_no_arguments_shows_help():
    result = run_cli()
    assert "Usage" in result.output
    assert "Traceback" not in result.output


def test_gallery_has_the_seed_cases():
    names = {p.stem for p in GALLERY}
    assert {"softmax_regression", "column_layer", "row_layer", "matmul_inner", "broadcast_sum",
            "broadcast_product"} <= names


def _shape_flag() -> list[str]:
    """The shape tree is shown by default, or behind --shapes once derive prints results."""
    return ["--shapes"] if "--shapes" in run_cli("derive", "--help").stdout else []


@pytest.mark.parametrize("path", GALLERY, ids=[p.stem for p in GALLERY])
def test_derive_gallery_file(path: Path):
    result = run_cli("derive", str(path), *_shape_flag())
    assert result.exit_code == 0, result.output
    derivation = matcalc.derive(path)
    out = result.stdout
    assert derivation.name in out
    assert derivation.problem.description and derivation.problem.description.split(":")[0] in out
    # the shape tree: every subexpression (up to the CLI's limit) with its shape
    for depth, text, shape in derivation.subexpressions()[:20]:
        if len(text) <= 60:
            assert f"{show(shape)}  {text}" in out, (text, out)


@pytest.mark.parametrize("path", GALLERY, ids=[p.stem for p in GALLERY])
def test_gallery_files_are_complete(path: Path):
    """Each gallery case has a name, a one-line description and sized dims."""
    import yaml
    doc = yaml.safe_load(path.read_text())
    assert doc["name"] == path.stem
    assert "\n" not in doc["description"].strip()
    assert doc["dims"] and all(isinstance(v, int) for v in doc["dims"].values())
    d = matcalc.derive(path)
    # scalar, except the Jacobians the issue asks for (softmax's, a layer's)
    assert d.shape == () or all(r.kind == "jacobian" for r in d.results.values())


def test_derive_several_files():
    result = run_cli("derive", *map(str, GALLERY[:2]))
    assert result.exit_code == 0, result.output
    for path in GALLERY[:2]:
        assert path.stem in result.stdout


def test_python_dash_m_version():
    proc = run_subprocess("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"matcalc {matcalc.__version__}"


def test_python_dash_m_derive():
    proc = run_subprocess("derive", "derivations/softmax_regression.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "softmax_regression" in proc.stdout


def test_a_closed_output_pipe_ends_quietly_with_141():
    """``matcalc derive ... | head -1``: no traceback, and not exit 1 (failed verification)."""
    import subprocess
    import sys

    from support import REPO
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "derive",
                             str(REPO / "derivations" / "softmax_regression.yaml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert "Traceback" not in stderr and "Exception" not in stderr
