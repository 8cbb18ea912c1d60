"""The page's side of ``matcalc serve``, without a server: the fields composed
into one expr.yaml, each error put back in the field it came from (with the
CLI's caret), and the MathML of the LaTeX matcalc writes (every tag the
converter produces is one the page's script lets in)."""

from __future__ import annotations

import importlib.util
import re

import pytest
from support import REPO

import matcalc
from matcalc.errors import MatcalcError
from matcalc.serve.page import blocks, compose, placed

SYMBOLS = "x: {shape: [n]}\nA: {shape: [n, n], props: [symmetric]}"


def error_of(**fields) -> dict:
    doc = compose({"expr": "x @ A @ x", "symbols": SYMBOLS, "dims": "n: 3", "wrt": "x", **fields})
    with pytest.raises(MatcalcError) as caught:
        matcalc.derive(doc.text, verify=False)
    return placed(caught.value, doc)


def test_the_fields_make_the_document_a_file_would_be():
    doc = compose({"expr": "x @ A @ x", "symbols": SYMBOLS, "dims": "n: 3", "wrt": "x", "order": "2"})
    d = matcalc.derive(doc.text)
    assert d.results["x"].text == "2 * A"
    assert d.verification["x"].passed


def test_an_expression_error_has_its_caret_in_the_expression():
    e = error_of(expr="x @ A @ foo(x)")
    assert (e["field"], e["line"], e["column"]) == ("expr", 1, 9)
    assert e["text"].splitlines()[1:4] == ["  --> Expression:1:9 (expr)", "  1 | x @ A @ foo(x)",
                                           "              ^^^"]
    assert e["hint"] and e["text"].splitlines()[-1].startswith("hint:")


def test_a_second_line_of_the_expression():
    e = error_of(expr="x @ A @ x +\n  (x +")
    assert (e["field"], e["line"]) == ("expr", 2)
    assert "  2 |   (x +" in e["text"]


def test_a_symbols_error_is_placed_in_its_line():
    e = error_of(symbols="x: {shape: [n]}\nA: {shape: [n, q]}")
    assert (e["field"], e["line"], e["column"]) == ("symbols", 2, 16)
    assert "  2 | A: {shape: [n, q]}" in e["text"]
    assert e["text"].splitlines()[3] == " " * 21 + "^"      # under the q


def test_an_unclosed_brace_is_shown_at_the_end_of_its_field():
    e = error_of(symbols="x: {shape: [n]}\nA: {shape: [n, n]")
    assert (e["field"], e["line"], e["column"]) == ("symbols", 2, 18)


def test_dims_and_wrt_errors():
    e = error_of(dims="n: -3")
    assert (e["field"], e["line"], e["column"]) == ("dims", 1, 4)
    assert "  1 | n: -3" in e["text"]
    e = error_of(wrt="x, B")
    assert (e["field"], e["line"], e["column"]) == ("wrt", 1, 4)
    assert "  1 | x, B\n" in e["text"]


def test_an_empty_symbols_field_says_what_it_needs():
    e = error_of(symbols="")
    assert e["field"] == "symbols" and "symbols must map" in e["message"]


def test_a_field_cannot_escape_its_key():
    # a line at column 0 in a field stays inside the field (each line is indented)
    e = error_of(symbols=SYMBOLS + "\nexpr: __import__('os')")
    assert e["field"] == "symbols"


@pytest.mark.skipif(importlib.util.find_spec("latex2mathml") is None, reason="needs latex2mathml")
@pytest.mark.parametrize("case", ["softmax_regression", "layer_norm", "huber_regression", "kron_sandwich",
                                  "gp_marginal_likelihood", "det", "attention_head"])
def test_every_formula_of_a_derivation_is_mathml_the_page_lets_in(case):
    script = (REPO / "matcalc" / "serve" / "static" / "app.js").read_text()
    allowed = set(" ".join(re.findall(r'"([a-z ]+) ?"', script.split("const TAGS")[1].split(";")[0])).split())
    attributes = set(" ".join(re.findall(r'"([a-z ]+) ?"', script.split("const ATTRIBUTES")[1].split(";")[0])).split())
    d = matcalc.derive(REPO / "derivations" / f"{case}.yaml", verify=False)
    maths = [m for b in blocks(d) for m in _maths(b) if m]
    assert len(maths) > 5
    for m in maths:
        assert "<mtext>\\" not in m, m                # not the LaTeX source shown as a fallback
        assert set(re.findall(r"<(\w+)", m)) <= allowed, m
        assert set(re.findall(r" (\w+)=", m)) <= attributes, m
        assert set(re.findall(r'mathvariant="(\w+)"', m)) <= {"normal"}   # the one value of MathML Core


def _maths(block: dict):
    if block["kind"] in ("section", "text", "user"):
        return [p["math"] for p in block["parts"] if "math" in p]
    if block["kind"] == "math":
        return [row[k] for row in block["rows"] for k in ("lhs", "rhs", "note")]
    if block["kind"] == "result":
        return [block["lhs"], block["rhs"], block["shape"]]
    return []
