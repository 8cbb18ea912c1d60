"""Issue 17, notebooks: a Derivation shows in Jupyter as its steps and the boxed result
(``_repr_html_``: MathML from matcalc's LaTeX, the emitted module in ``<details>``,
everything the user wrote escaped) and ``_repr_latex_`` is LaTeX that compiles."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import escape

import pytest

import matcalc
from matcalc.render.mathml import to_mathml

HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


@pytest.fixture(scope="module")
def quadratic():
    return matcalc.derive("x @ A @ x", x="[n]", A="[n, n] symmetric", wrt="x")


@pytest.fixture(scope="module")
def hostile():
    """User text with markup in the description and a '<' in the expression (where's comparison)."""
    return matcalc.derive("sum(where(x < y, x, y)) + x @ A @ x", x="[n]", y="[n]", A="[n, n] symmetric",
                          wrt="x", description=HOSTILE)


def _element(html: str) -> ET.Element:
    """The HTML parsed as XML: it is well formed (every tag closed, every & an entity)."""
    return ET.fromstring(html)


def test_result_is_mathml_in_a_box(quadratic):
    pytest.importorskip("latex2mathml")
    assert quadratic.results["x"].text == "2 * A @ x" and quadratic.verified
    html = quadratic._repr_html_()
    root = _element(html)
    (box,) = [e for e in root.iter("div") if e.get("class") == "mc-result"]
    (math,) = list(box)
    assert math.tag.endswith("math") and math.get("display") == "block"
    # the result's own MathML (2 A x, from the LaTeX matcalc writes for it) is what the box holds
    two_a_x = to_mathml("2 A x")
    inner = two_a_x[two_a_x.index("<mrow>") + len("<mrow>"):two_a_x.rindex("</mrow>")]
    boxed = html[html.index('<div class="mc-result">'):]
    boxed = boxed[:boxed.index("</div>")]
    assert inner == "<mn>2</mn><mi>A</mi><mi>x</mi>" and inner in boxed
    assert "<mfrac>" in boxed and "&#x02202;" in boxed and "&#x0211D;" in boxed    # ∂J/∂x ∈ ℝ^n
    assert "mc-result{" in html and "border:1px solid" in html       # the box is the page's


def test_steps_are_shown(quadratic):
    html = quadratic._repr_html_()
    for step in ("Gradient with respect to", "The expression in index notation",
                 "The chain rule over every path", "In differential (Frobenius) form",
                 "In the expression language: <code>2 * A @ x</code>", "passed"):
        assert step in html
    assert html.count('<table class="mc-math">') >= 3


def test_code_is_collapsed_in_details(quadratic):
    root = _element(quadratic._repr_html_())
    (details,) = list(root.iter("details"))
    summary = details.find("summary")
    assert "value" in summary.text and "grad_x" in summary.text
    code = "".join(details.find("pre").itertext())
    assert code == quadratic.code and "def grad_x(" in code


def test_user_text_is_escaped(hostile):
    html = hostile._repr_html_()
    root = _element(html)
    assert not [e for e in root.iter() if e.tag in ("script", "b")]
    assert "<script" not in html and "<b>" not in html
    assert escape(HOSTILE) in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert "where(y &gt; x, 1, 0)" in html          # the result's text, escaped
    assert any("&lt;" in "".join(e.itertext()) or "<" in "".join(e.itertext())
               for e in root.iter("code"))        # shown as the characters, not markup


def test_without_latex2mathml_the_text_form_is_shown(quadratic, monkeypatch):
    monkeypatch.setitem(sys.modules, "latex2mathml.converter", None)     # import fails
    html = quadratic._repr_html_()
    assert "<math" not in html
    root = _element(html)
    (box,) = [e for e in root.iter("div") if e.get("class") == "mc-result"]
    assert "".join(box.itertext()) == "∂J/∂x = 2Ax   [n]"
    assert "<details>" in html


def test_mathml_from_text_it_passed_through_is_refused():
    pytest.importorskip("latex2mathml")
    assert to_mathml("\\text{<script>}") is None
    assert to_mathml("x < y") is not None and "&#x0003C;" in to_mathml("x < y")


def test_repr_latex_has_the_steps_and_the_boxed_result(quadratic):
    tex = quadratic._repr_latex_()
    assert "\\documentclass" not in tex and "\\begin{document}" not in tex
    assert "\\boxed{\\frac{\\partial J}{\\partial x} = 2 A x}" in tex
    assert tex.count("\\begin{align*}") == tex.count("\\end{align*}") >= 3
    assert tex.count("{") == tex.count("}")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not on PATH (as for the gallery)")
def test_repr_latex_compiles(quadratic, hostile, tmp_path):
    """Put in a document with amsmath and amssymb (what a notebook's LaTeX export has), it compiles."""
    body = quadratic._repr_latex_() + "\n\\newpage\n" + hostile._repr_latex_()
    (tmp_path / "nb.tex").write_text("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
                                     "\\usepackage{amsmath,amssymb}\n\\begin{document}\n" + body +
                                     "\\end{document}\n", encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "nb.tex"],
                          check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("!")]
    assert proc.returncode == 0 and not errors, "\n".join(errors) or proc.stdout[-2000:]
    assert (tmp_path / "nb.pdf").stat().st_size > 1000
