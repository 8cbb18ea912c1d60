"""The ``matcalc`` command: thin over :func:`matcalc.derive`.

Library code raises :class:`~matcalc.errors.MatcalcError`; only this module
chooses exit codes (0 ok, 1 failed verification, 2 bad input or usage) and
prints errors as one short block on stderr, never a traceback (``--debug``
shows one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from . import __version__
from .errors import MatcalcError
from .shapes import show

EPILOG = """\
Examples:

  matcalc derive derivations/softmax_regression.yaml

  matcalc derive derivations/*.yaml --json
"""

app = typer.Typer(
    name="matcalc",
    help="Gradients and Hessians of matrix expressions, in matrix form, derived step by step "
         "and checked numerically.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

MAX_TREE_NODES = 60


def _version(value: bool):
    if value:
        typer.echo(f"matcalc {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.",
                                          callback=_version, is_eager=True)] = False,
):
    """Gradients and Hessians of matrix expressions, in matrix form."""


def _fail(err: MatcalcError, debug: bool) -> None:
    if debug:
        raise err
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(err.render()))
    raise typer.Exit(err.exit_code) from None


def _internal(exc: BaseException, debug: bool) -> None:
    if debug:
        raise exc
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "This is a bug in matcalc, not in your input. Run again with --debug for the traceback."))
    raise typer.Exit(3) from None


def _tree(derivation) -> Tree:
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


@app.command(epilog=EPILOG)
def derive(
    files: Annotated[list[Path], typer.Argument(help="expr.yaml files (see derivations/ for examples).",
                                                show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")]
    = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the finite-difference check.")]
    = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the random inputs of the check.")] = 0,
    shapes: Annotated[bool, typer.Option("--shapes", help="Show every subexpression with its shape.")]
    = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
):
    """Derive the gradient (or Hessian) that each FILE asks for.

    Reads each expr.yaml, differentiates its expression, states the result in
    matrix form and checks it against finite differences at random inputs that
    respect the declared props.  Exit code 0: all verified; 1: a result failed
    its check; 2: bad input.
    """
    from .pipeline import derive as run

    console = Console(highlight=False)
    outputs = []
    failed = False
    for path in files:
        try:
            result = run(path, verify=not no_verify, seed=seed)
        except MatcalcError as err:
            _fail(err, debug)
        except Exception as exc:  # a bug: say so in one line, never a traceback
            _internal(exc, debug)
        derivations = result if isinstance(result, list) else [result]
        for d in derivations:
            failed |= any(not c.passed for c in d.verification.values())
            if as_json:
                outputs.append(_as_dict(d))
            else:
                _show(console, d, path, shapes)
    if as_json:
        payload = outputs[0] if len(outputs) == 1 else {"derivations": outputs}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    if failed:
        raise typer.Exit(1)


def _show(console: Console, d, path: Path, shapes: bool) -> None:
    head = Text(d.name, style="bold")
    head.append(f"  ({Path(str(path)).name})", style="dim")
    console.print(head)
    if d.problem.description:
        console.print(Text(d.problem.description, style="italic"))
    expr = Text("J = ", style="bold")
    expr.append(d.expr)
    expr.append(f"   {show(d.shape)}", style="cyan")
    console.print(expr)
    if shapes:
        console.print(_tree(d))
    for name, r in d.results.items():
        console.print()
        what = {"gradient": "∂J/∂", "jacobian": "∂J/∂", "hessian": "∂²J/∂"}[r.kind] + name
        if r.kind == "hessian":
            what += "²"
        line = Text(f"{what} ", style="bold")
        line.append(f"({r.kind}, {show(r.shape)})", style="cyan")
        console.print(line)
        console.print(Text("  " + r.text, style="bold green"))
        c = d.verification.get(name)
        if c is not None:
            status = Text("  verified" if c.passed else "  FAILED verification",
                          style="green" if c.passed else "bold red")
            status.append(f": abs error {c.max_abs_error:.1e}, rel error {c.max_rel_error:.1e} "
                          f"({c.directions} directions, {c.entries} entries)", style="dim")
            console.print(status)
    console.print()


def _as_dict(d) -> dict:
    from .render.latex import to_latex

    return {
        "name": d.name,
        "expr": d.expr,
        "order": d.order,
        "shape": list(d.shape),
        "wrt": list(d.problem.wrt),
        "results": {name: {"matrix": r.text, "latex": to_latex(r.matrix), "shape": list(r.shape),
                           "kind": r.kind} for name, r in d.results.items()},
        "verification": {name: {"max_abs_error": c.max_abs_error, "max_rel_error": c.max_rel_error,
                                "passed": c.passed} for name, c in d.verification.items()},
    }


def main() -> None:
    app()
