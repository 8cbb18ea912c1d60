"""Shared helpers: one scope of symbols and dimensions for expression tests,
and functions that write expr.yaml files and run the CLI on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from matcalc.cli import app
from matcalc.ir import Symbol
from matcalc.parse import parse

REPO = Path(__file__).resolve().parent.parent

# name -> (shape, props).  n, m, k are dimension names.
SHAPES = {
    "A": (("n", "n"), ("spd", "symmetric")),
    "B": (("n", "n"), ()),
    "X": (("n", "m"), ()),
    "Y": (("m", "k"), ()),
    "x": (("n",), ()),
    "z": (("n",), ()),
    "y": (("m",), ()),
    "c": (("n", 1), ()),   # a column, [n, 1]
    "r": ((1, "m"), ()),   # a row, [1, m]
    "s": ((), ()),
    "p": ((), ("positive",)),
}
SYMBOLS = {name: Symbol(shape, name, frozenset(props)) for name, (shape, props) in SHAPES.items()}
DIMS = {"n": 3, "m": 4, "k": 5}


def parse_in_scope(text: str):
    """Parse ``text`` with the shared symbols and dims."""
    return parse(text, SYMBOLS, DIMS)


def yaml_doc(expr: str, wrt: str | None = None, extra_symbols: str = "") -> str:
    """An expr.yaml whose expression sits on line 10 (double-quoted, so any text fits)."""
    lines = [
        "name: case",
        "dims: {n: 3, m: 4}",
        "symbols:",
        "  X: {shape: [n, m]}",
        "  A: {shape: [n, n]}",
        "  x: {shape: [n]}",
        "  y: {shape: [m]}",
        "  s: {shape: []}",
        "  G: {shape: [n, m], props: [constant]}" + extra_symbols,
        "expr: " + json.dumps(expr, ensure_ascii=False),
    ]
    if wrt is not None:
        lines.append(f"wrt: [{wrt}]")
    return "\n".join(lines) + "\n"


EXPR_LINE = 10


def run_cli(*args: str):
    """Run the CLI in-process; returns click's Result (stdout and stderr apart)."""
    return CliRunner().invoke(app, list(args))


def run_subprocess(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m matcalc ARGS`` as a real process."""
    return subprocess.run([sys.executable, "-m", "matcalc", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=120)


def compact_doc(expr: str, symbols: str, wrt: str, order: int = 1, dims=None) -> dict:
    """An expr.yaml document from compact symbols: ``"M0:[n,1] v1:[m]:positive"``."""
    syms = {}
    for decl in symbols.split():
        name, shape, *props = decl.split(":")
        sizes = [d for d in shape.strip("[]").split(",") if d]
        syms[name] = {"shape": [int(d) if d.isdigit() else d for d in sizes]}
        if props:
            syms[name]["props"] = props[0].split(",")
    return {"name": "regression", "dims": dict(dims or {"n": 3, "m": 4}), "symbols": syms, "expr": expr,
            "wrt": [wrt], "order": order}
