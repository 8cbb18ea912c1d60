"""The gallery (derivations/): every case derives and verifies, its checked-in
outputs are what matcalc generates now, every .tex compiles with pdflatex
without errors or overfull boxes, and a compiled page is not blank."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from matcalc.gallery import INDEX, cases_in, derive_case, index, regenerate
from support import REPO, run_cli

GALLERY = REPO / "derivations"
CASES = cases_in(GALLERY)
TEXS = [p.with_suffix(".tex") for p in CASES]
CLASSICS = {"trace_ax", "trace_axb", "trace_xtax", "det", "logdet_spd", "inverse_bilinear", "trace_inverse",
            "quadratic_form", "quadratic_form_symmetric", "frobenius_norm", "least_squares", "ridge_regression",
            "logistic_regression", "logistic_regression_hessian", "softmax_regression", "mlp_two_layer",
            "gaussian_nll_precision", "softmax_jacobian"}

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex is not on PATH (Debian: apt-get install texlive-latex-base "
                                           "texlive-latex-recommended; .ci/run does this)")
needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                    reason="pdftoppm is not on PATH (Debian: apt-get install poppler-utils)")


def test_gallery_has_the_classics():
    names = {p.stem for p in CASES}
    assert len(names) >= 25
    assert CLASSICS <= names


@pytest.fixture(scope="module")
def derived():
    return {p.stem: derive_case(p) for p in CASES}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_verifies_and_outputs_are_current(path: Path, derived):
    """Regenerated in memory, every output equals the checked-in file.
    When this fails after an engine change: run `matcalc gallery` and commit."""
    case = derived[path.stem]
    assert case.error is None and case.crash is None, case.error or case.crash
    assert case.verified, case.results
    assert {p.suffix for p in case.outputs} == {".tex", ".md", ".py"}
    for target, text in case.outputs.items():
        assert target.is_file(), f"{target.name} is missing: run `matcalc gallery`"
        assert target.read_text(encoding="utf-8") == text, f"{target.name} is stale: run `matcalc gallery`"


def test_index_is_current(derived):
    cases = [derived[p.stem] for p in CASES]
    text = index(GALLERY, cases)
    assert (GALLERY / INDEX).read_text(encoding="utf-8") == text, "derivations/README.md is stale"
    for p in CASES:     # one line per case, linking its outputs
        assert f"[{p.stem}]({p.stem}.md)" in text and f"({p.stem}.tex)" in text and f"({p.stem}.py)" in text
    assert "∂J/∂W = Xᵀ(softmax(XW) − Y)/n + 2λW" in text


def test_softmax_regression_reads_like_the_seed_notes(derived):
    tex = derived["softmax_regression"].outputs[GALLERY / "softmax_regression.tex"]
    assert "dJ = G : dW" in tex
    assert "\\boxed{\\frac{\\partial J}{\\partial W} = \\frac{X^T \\left(S - Y\\right)}{n} + 2 \\lambda W}" in tex
    result = run_cli("derive", str(GALLERY / "softmax_regression.yaml"))
    assert "dJ = G : dW" in result.stdout and "∂J/∂W = Xᵀ(S − Y)/n + 2λW" in result.stdout


# -- the command ------------------------------------------------------------------------

def test_gallery_check_passes_on_the_repo():
    result = run_cli("gallery", str(GALLERY), "--check")
    assert result.exit_code == 0, result.output
    assert f"{len(CASES)} of {len(CASES)} cases verified; 0 files stale" in result.stdout


def _copy(tmp_path: Path, names=("trace_ax", "quadratic_form")) -> Path:
    for n in names:
        shutil.copy(GALLERY / f"{n}.yaml", tmp_path / f"{n}.yaml")
    return tmp_path


def test_gallery_writes_outputs_and_index(tmp_path):
    d = _copy(tmp_path)
    result = run_cli("gallery", str(d))
    assert result.exit_code == 0, result.output
    for n in ("trace_ax", "quadratic_form"):
        for suffix in (".tex", ".md", ".py"):
            assert (d / f"{n}{suffix}").read_text() == (GALLERY / f"{n}{suffix}").read_text()
    assert "[trace_ax](trace_ax.md)" in (d / "README.md").read_text()
    assert not list(d.glob(".*.tmp"))      # written atomically: no temp files left behind
    assert regenerate(d, check=True).stale == []


def test_gallery_check_lists_a_stale_file(tmp_path):
    d = _copy(tmp_path)
    assert run_cli("gallery", str(d)).exit_code == 0
    tex = d / "trace_ax.tex"
    tex.write_text(tex.read_text().replace("Gradient", "Gradeint"))
    (d / "quadratic_form.md").unlink()
    result = run_cli("gallery", str(d), "--check")
    assert result.exit_code == 1
    assert "stale" in result.stdout and "trace_ax.tex" in result.stdout and "quadratic_form.md" in result.stdout
    assert "Gradeint" in tex.read_text()           # --check writes nothing
    assert not (d / "quadratic_form.md").exists()


def test_gallery_fails_on_a_case_that_does_not_verify(tmp_path, monkeypatch):
    import matcalc.pipeline as pipeline

    d = _copy(tmp_path, ("trace_ax",))
    real = pipeline.differentiate

    def off(problem, name, *rest):        # a gradient 0.1% off (so its emitted code is too) must fail its check
        from dataclasses import replace
        from matcalc import ir
        result = real(problem, name, *rest)
        return replace(result, matrix=ir.apply("mul", [ir.Number((), 1.001), result.matrix]))

    monkeypatch.setattr(pipeline, "differentiate", off)
    result = run_cli("gallery", str(d))
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.stdout


@pytest.mark.parametrize("setup", ["missing", "empty", "bad"])
def test_gallery_bad_input_exits_2(tmp_path, setup):
    target = tmp_path / "nowhere"
    if setup != "missing":
        target.mkdir()
    if setup == "bad":
        (target / "broken.yaml").write_text("name: broken\nexpr: sum(X @\n")
    result = run_cli("gallery", str(target))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


# -- the documents compile --------------------------------------------------------------

@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every gallery .tex compiled once, in a temp dir: {name: (returncode, log, pdf)}."""
    out = tmp_path_factory.mktemp("pdflatex")
    results = {}
    for tex in TEXS:
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                               f"-output-directory={out}", str(tex)],
                              cwd=out, capture_output=True, text=True, timeout=120)
        log = out / f"{tex.stem}.log"
        results[tex.stem] = (proc.returncode, log.read_text(errors="replace") if log.exists() else proc.stdout,
                             out / f"{tex.stem}.pdf")
    return results


@needs_pdflatex
@pytest.mark.parametrize("tex", TEXS, ids=[p.stem for p in TEXS])
def test_tex_compiles_without_overfull_boxes(tex: Path, compiled):
    code, log, pdf = compiled[tex.stem]
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert code == 0 and not errors, "\n".join(errors) or log[-2000:]
    overfull = [line for line in log.splitlines() if "Overfull \\hbox" in line]
    assert not overfull, "\n".join(overfull)
    assert pdf.is_file()


def _ppm(data: bytes) -> tuple[int, int, bytes]:
    """Parse a binary PPM (P6): width, height, RGB bytes."""
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and int(fields[3]) == 255
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[pos + 1:pos + 1 + 3 * width * height]


@needs_pdflatex
@needs_pdftoppm
def test_compiled_page_is_not_blank(compiled, tmp_path):
    """The first page of softmax_regression.pdf, rendered, has ink on it: the
    document holds the derivation, not an empty page."""
    code, log, pdf = compiled["softmax_regression"]
    assert code == 0, log[-2000:]
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    (page,) = tmp_path.glob("page*.ppm")
    width, height, rgb = _ppm(page.read_bytes())
    assert width > 300 and height > 400
    dark = sum(1 for i in range(0, len(rgb), 3) if rgb[i] + rgb[i + 1] + rgb[i + 2] < 3 * 128)
    assert dark > 0.005 * width * height, f"only {dark} dark pixels of {width * height}"
    # and ink in the lower half too: the steps, not just a title
    half = 3 * width * (height // 2)
    assert sum(1 for i in range(half, len(rgb), 3) if rgb[i] + rgb[i + 1] + rgb[i + 2] < 3 * 128) > 100
