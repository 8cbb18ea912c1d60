"""What the command line prints: a derivation in the terminal (steps, results,
the check's table), the JSON object of ``matcalc derive --json``, and the
gallery's table.  Data in, text out: nothing here derives or checks."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from ..shapes import show
from .latex import to_latex
from .text import to_text

MAX_TREE_NODES = 60


def tree(derivation) -> Tree:
    rows = derivation.subexpressions()
    depth0, text0, shape0 = rows[0]
    root = Tree(_label(text0, shape0))
    parents = {0: root}
    for depth, text, shape in rows[1:MAX_TREE_NODES]:
        parents[depth] = parents[depth - 1].add(_label(text, shape))
    if len(rows) > MAX_TREE_NODES:
        root.add(Text(f"... and {len(rows) - MAX_TREE_NODES} more subexpressions", style="dim"))
    return root


def _label(text: str, shape) -> Text:
    if len(text) > 60:
        text = text[:57] + "..."
    label = Text(show(shape), style="cyan")
    label.append("  ")
    label.append(text)
    return label


def derivation(console: Console, d, path: Path, shapes: bool, show_code: bool, steps: bool = True) -> None:
    from rich.table import Table

    head = Text(d.name, style="bold")
    head.append(f"  ({Path(str(path)).name})", style="dim")
    console.print(head)
    if not steps:
        expr = Text("J = ", style="bold")
        expr.append(d.expr)
        expr.append(f"   {show(d.shape)}", style="cyan")
        console.print(expr)
    if shapes:
        console.print(tree(d))
    if steps:
        from .document import build, to_console_lines
        # a console that does not wrap (piped output, matcalc.terminal) gets each line whole:
        # a result is one line a script can read
        width = min(console.width, 100) if not console.soft_wrap else 1_000_000
        for style, line in to_console_lines(build(d), width):
            console.print(Text(line, style=style or None), soft_wrap=True)
    else:
        if d.problem.description:
            console.print(Text(d.problem.description, style="italic"))
        for name, r in d.results.items():
            console.print()
            line = Text(f"{_what(r)} ", style="bold")
            line.append(f"({r.kind}, {show(r.shape)})", style="cyan")
            console.print(line)
            console.print(Text("  " + r.text, style="bold green"))
            if r.hvp is not None:
                hvp = Text(f"  H vec({r.direction.name}) ", style="bold")
                hvp.append(f"({show(r.hvp.shape)})", style="cyan")
                hvp.append(f" = {to_text(r.hvp)}")
                console.print(hvp)
            if r.note:
                console.print(Text("  " + r.note, style="yellow"))
    if d.verification:
        table = Table(title="check of the emitted code", title_justify="left", show_edge=False)
        for col in ("symbol", "shape", "max abs err", "max rel err", "directions", "entries", "result"):
            table.add_column(col, justify="right" if col not in ("symbol", "shape", "result") else "left")
        for name, c in d.verification.items():
            verdict = {"passed": Text("pass", style="green"), "failed": Text("FAIL", style="bold red")}.get(
                c.status, Text("not judged", style="bold yellow"))
            table.add_row(name, "x".join(map(str, c.shape)) or "scalar", _figure(c.max_abs_error),
                          _figure(c.max_rel_error), str(c.directions), str(c.entries), verdict)
        console.print()
        console.print(table)
        for name, c in d.verification.items():
            if c.why:
                console.print(Text(f"{name}: {c.status}: {c.why}", style="red" if c.status == "failed" else "yellow"))
    if show_code:
        from rich.syntax import Syntax
        console.print()
        console.print(Syntax(d.code, "python", theme="ansi_dark", word_wrap=True))
    console.print()


def _what(r) -> str:
    """The derivative's name in the terminal: ``∂J/∂X``, ``∂²J/∂X²``, ``∂²J/∂W1∂W2``."""
    if r.kind == "mixed":
        return "∂²J/" + "".join(f"∂{s}" for s in r.pair)
    return ("∂²J/∂" if r.kind == "hessian" else "∂J/∂") + r.symbol + ("²" if r.kind == "hessian" else "")


def _result(r) -> dict:
    """One entry of the JSON's ``results``: its matrix text, LaTeX, shape (integers or
    dimension texts such as ``"m*n"``) and kind; for order 2 also the Hessian-vector
    product ``hvp`` (in the symbols and the direction ``dS``), for a mixed result its pair."""
    out = {"matrix": r.text, "latex": to_latex(r.written), "shape": list(r.shape), "kind": r.kind,
           **({"note": r.note} if r.note else {}),
           **({"let": {n: to_text(e) for n, e in r.let}} if r.let else {})}
    if r.hvp is not None:
        out["hvp"] = {"matrix": to_text(r.hvp), "latex": to_latex(r.hvp), "shape": list(r.hvp.shape),
                      "direction": r.direction.name}
    if r.pair is not None:
        out["pair"] = list(r.pair)
    return out


def as_dict(d) -> dict:
    return {
        "name": d.name,
        "expr": d.expr,
        "order": d.order,
        "shape": list(d.shape),
        "wrt": list(d.problem.wrt),
        **({"let": {x.name: x.text for x in d.problem.let}} if getattr(d.problem, "let", ()) else {}),
        "results": {name: _result(r) for name, r in d.results.items()},
        "code": d.code,
        "verification": {name: {"max_abs_error": _number(c.max_abs_error),
                                "max_rel_error": _number(c.max_rel_error), "passed": c.passed,
                                "status": c.status, **({"why": c.why} if c.why else {}),
                                "directions": c.directions, "entries": c.entries}
                         for name, c in d.verification.items()},
    }


def _number(x: float) -> float | None:
    """A figure for JSON: null where there is none (NaN is not JSON)."""
    return x if math.isfinite(x) else None


def _figure(x: float) -> str:
    return f"{x:.1e}" if math.isfinite(x) else "-"


def gallery_table(report):
    from rich.table import Table

    table = Table(title=f"gallery {report.directory}", title_justify="left", show_edge=False)
    table.add_column("case")
    table.add_column("results", overflow="fold")
    table.add_column("verified")
    table.add_column("time", justify="right")
    for case in report.cases:
        if case.error is not None or case.crash is not None:
            verdict = Text("bad input" if case.error else "crash", style="bold red")
        else:
            verdict = Text("yes", style="green") if case.verified else Text("FAIL", style="bold red")
        table.add_row(case.name, "\n".join(case.results), verdict, f"{case.seconds:.1f}s")
    return table
