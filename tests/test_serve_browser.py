"""The page of ``matcalc serve`` in a real browser: Debian's headless Chromium,
driven by playwright's Python API (``executable_path``: playwright's own browser
download is never used), against ``matcalc serve`` on a free port.

It types a problem, waits for the result and reads the MathML, the steps, the
code and the passed check; enters a bad expression and sees the caret and hint;
reloads the URL and sees the same derivation.  No request may leave 127.0.0.1
and no console error may occur.  The screenshot it takes is docs/serve.png when
``MATCALC_SCREENSHOT=docs/serve.png`` is set (so that a test run leaves the checked-in
picture alone), else a file in the test's temporary directory."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from serve_support import missing, running_server
from support import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000

pytestmark = [
    pytest.mark.skipif(bool(missing()), reason=f"needs {', '.join(missing())} (matcalc-derive[serve])"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs playwright (the test extra)"),
    pytest.mark.skipif(not CHROMIUM.exists() and shutil.which("chromium") is None,
                       reason="needs Debian's chromium (apt-get install chromium)"),
]

PROBLEM = {
    "#expr": "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)",
    "#symbols": "X: {shape: [n, m]}\nW: {shape: [m, k]}\nY: {shape: [n, k], props: [onehot]}\nlam: {shape: []}",
    "#dims": "n: 6, m: 4, k: 3",
    "#wrt": "W",
}


RESULT = "X.T @ (softmax(X @ W, axis=1) - Y) / n + 2 * lam * W"


def wait_for_result(page, matrix: str) -> None:
    """Until the page shows ``matrix`` as the result's text (no sleeps)."""
    page.wait_for_function("(m) => document.querySelector('#result code')?.textContent === m", arg=matrix,
                           timeout=WAIT_MS)


@pytest.fixture(scope="module")
def server():
    with running_server() as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                                     args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A page that may reach only the server: every request elsewhere is
    aborted and recorded, every console error recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.outside, page.errors = [], []
    local = urlsplit(server).hostname

    def route(r):
        if urlsplit(r.request.url).hostname == local or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            page.outside.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def test_type_a_problem_read_the_derivation_fix_an_error_reload_the_link(page, server, tmp_path):
    page.goto(server)
    page.wait_for_selector("#result math", timeout=WAIT_MS)       # the example, derived on opening
    assert page.locator("#result code").first.inner_text() == "2 * A @ X"
    for selector, text in PROBLEM.items():
        page.fill(selector, text)
    page.press("#expr", "Control+Enter")
    wait_for_result(page, RESULT)

    # the result, as MathML the browser renders: dJ/dW = X^T (softmax(XW) - Y)/n + 2 lam W
    result = page.locator("#result .result").first
    assert result.locator("math").count() >= 2
    # (the steps name softmax(XW) S; the box reads ∂J/∂W = Xᵀ(S − Y)/n + 2λW ∈ ℝ^{m×k})
    assert result.text_content().replace(" ", "") == "∂J∂W=XT(S−Y)n+2λW∈ℝm×k"
    assert page.locator("#result math mfrac").count() >= 1
    # the steps: sections, index notation, the chain rule
    steps = page.locator("#steps")
    assert "Gradient with respect to" in steps.inner_text()
    assert "index notation" in steps.inner_text()
    assert steps.locator("math").count() >= 5
    # the code and the check
    assert "def grad_W(" in page.inner_text("#code")
    assert page.get_attribute("#download-code", "download") == "expr.py"
    assert "\\begin{document}" in page.inner_text("#latex")
    row = page.locator("#check tbody tr").first
    assert row.get_attribute("class") == "passed"
    assert row.locator("td").nth(1).inner_text() == "passed"
    screenshot = REPO / os.environ["MATCALC_SCREENSHOT"] if os.environ.get("MATCALC_SCREENSHOT") \
        else tmp_path / "serve.png"
    screenshot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    link = page.url
    assert "expr=" in link and "softmax" in link.replace("%28", "(")

    # a bad expression: the CLI's message beside the field, with its caret and hint
    page.fill("#expr", "lam * sum(W * W) + foo(W)")
    page.click("#derive")
    error = page.locator("#error-expr")
    error.wait_for(state="visible", timeout=WAIT_MS)
    text = error.inner_text()
    assert "unknown function 'foo'" in text
    assert "--> Expression:1:20 (expr)" in text
    caret_line = text.splitlines()[3]
    assert caret_line.strip() == "^^^" and caret_line.index("^") == text.splitlines()[2].index("foo")
    assert "hint: `matcalc functions`" in text
    assert page.get_attribute("#expr", "aria-invalid") == "true"

    # the link reproduces the derivation
    page.goto(link)
    page.reload()
    wait_for_result(page, RESULT)
    assert page.input_value("#expr") == PROBLEM["#expr"]
    assert page.input_value("#symbols") == PROBLEM["#symbols"]
    assert page.locator("#error-expr").is_hidden()

    page.click("#copy-code")
    page.wait_for_function("async () => (await navigator.clipboard.readText()).includes('def grad_W(')",
                           timeout=WAIT_MS)
    assert page.outside == []
    assert page.errors == []
