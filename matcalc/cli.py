"""The ``matcalc`` command: thin over :func:`matcalc.derive`.

Library code raises :class:`~matcalc.errors.MatcalcError`; only this module
chooses exit codes (0 ok, 1 failed verification, 2 bad input or usage) and
prints errors as one short block on stderr, never a traceback (``--debug``
shows one).
"""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .errors import MatcalcError
from .files import output_path
from .serve.command import EPILOG as SERVE_EPILOG, serve
from .inline import HELP as H
from .terminal import stderr_settings, stdout_settings

EPILOG = """\
Examples:

\b
  matcalc derive derivations/softmax_regression.yaml
  matcalc derive derivations/*.yaml --json
  matcalc derive -e 'trace(X.T @ A @ X)' -s 'X: [n, m]' -s 'A: [n, n] symmetric' --wrt X
  matcalc derive -e 'x @ A @ x' -s 'x: [n]' -s 'A: [n, n] spd' --order 2 --save quad.yaml
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
app.command(name="serve", epilog=SERVE_EPILOG)(serve)   # (uvicorn stops it on Ctrl-C itself)

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


INTERRUPTED = "interrupted; no output file was left half-written"


def _interruptible(command):
    """Ctrl-C inside a command ends it with one line on stderr and exit 130
    (typer would end it silently)."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            sys.stderr.write(INTERRUPTED + "\n")
            raise typer.Exit(130) from None
    return run


def _fail(err: MatcalcError, debug: bool) -> None:
    if debug:
        raise err
    _say(err)
    raise typer.Exit(err.exit_code) from None


def _say(err: MatcalcError) -> None:
    Console(highlight=False, **stderr_settings()).print(Text(err.render()))


def _internal(exc: BaseException, debug: bool) -> None:
    if debug:
        raise exc
    Console(highlight=False, **stderr_settings()).print(Text(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "This is a bug in matcalc, not in your input. Run again with --debug for the traceback."))
    raise typer.Exit(3) from None


class CodeTarget(str, Enum):
    """Code generation targets of --emit-code (matcalc.codegen.TARGETS)."""

    numpy = "numpy"
    array_api = "array-api"


@app.command(epilog=EPILOG)
@_interruptible
def derive(
    files: Annotated[list[Path] | None, typer.Argument(help="expr.yaml files (see derivations/ for examples).",
                                                       show_default=False)] = None,
    expr: Annotated[str | None, typer.Option("-e", "--expr", metavar="EXPR", help=H["expr"])] = None,
    symbols: Annotated[list[str] | None, typer.Option("-s", "--symbol", metavar="'NAME: SHAPE [PROPS]'",
                                                      help=H["symbols"])] = None,
    dims: Annotated[list[str] | None, typer.Option("--dim", metavar="NAME=SIZE", help=H["dims"])] = None,
    wrt: Annotated[list[str] | None, typer.Option("--wrt", metavar="NAME", help=H["wrt"])] = None,
    order: Annotated[int | None, typer.Option("--order", help=H["order"], show_default=False)] = None,
    let: Annotated[list[str] | None, typer.Option("--let", metavar="'NAME = EXPR'", help=H["let"])] = None,
    domain: Annotated[list[str] | None, typer.Option("--domain", metavar="'EXPR > 0'", help=H["domain"])] = None,
    mixed: Annotated[bool, typer.Option("--mixed", help=H["mixed"])] = False,
    name: Annotated[str | None, typer.Option("--name", help=H["name"])] = None,
    save: Annotated[str | None, typer.Option("--save", metavar="FILE.yaml", help=H["save"])] = None,
    force: Annotated[bool, typer.Option("--force", help=H["force"])] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")]
    = False,
    emit_code: Annotated[str | None, typer.Option(
        "--emit-code", metavar="FILE", help="Write the numpy module to this file (several derivations: one file each, "
        "named FILE_<name>.py).", show_default=False)] = None,
    target: Annotated[CodeTarget, typer.Option(
        "--target", help="What --emit-code writes: a numpy module, or an array-API module that runs on "
        "numpy, CuPy, PyTorch, JAX and Dask arrays (needs array-api-compat).")] = CodeTarget.numpy,
    show_code: Annotated[bool, typer.Option("--show-code", help="Print the generated numpy module.")]
    = False,
    latex: Annotated[str | None, typer.Option("--latex", metavar="FILE",
                                              help="Write the derivation as a LaTeX document.",
                                              show_default=False)] = None,
    markdown: Annotated[str | None, typer.Option("--markdown", metavar="FILE",
                                                 help="Write the derivation as Markdown.",
                                                 show_default=False)] = None,
    steps: Annotated[bool, typer.Option("--steps/--no-steps", help="Show the derivation steps.")] = True,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the check of the emitted code.")]
    = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the random inputs of the check.")] = 0,
    shapes: Annotated[bool, typer.Option("--shapes", help="Show every subexpression with its shape.")]
    = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the results.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
):
    """Derive the gradient (or Hessian) that each FILE asks for, or that -e gives.

    Reads each expr.yaml, differentiates its expression, states the result in
    matrix form and checks the emitted code: every function of the module is
    run at random inputs that respect the declared props (and domain:),
    against finite differences and 60-digit arithmetic.  Exit code 0: all
    verified; 1: a result failed its check or could not be judged; 2: bad
    input.

    Or give the expression with -e and each symbol with -s: the output (--json
    too) is the equivalent expr.yaml's, which --save writes.
    """
    from .derive_outputs import code_outputs, document_outputs, save_output, write
    from .inline import from_command, to_yaml
    from .pipeline import derive as run
    from .progress import check_progress
    from .render.report import as_dict
    from .render.report import derivation as show_derivation

    console = _Out(highlight=False, **stdout_settings())
    outputs = []
    failed = False
    planned = []            # every output file of the run: written once all are derived and checked
    files = files or []
    try:
        emit_code, latex, markdown = (output_path(raw, option) for raw, option in
                                      ((emit_code, "--emit-code"), (latex, "--latex"), (markdown, "--markdown")))
        inline = from_command(files, expr, save, symbols=symbols, dims=dims, wrt=wrt, order=order, let=let,
                              domain=domain, name=name, mixed=mixed)
        if inline is not None:
            planned += [out for out in [save_output(save, to_yaml(inline.document), force)] if out]
    except MatcalcError as err:
        _fail(err, debug)
    sources = [(inline.document, Path(save or "-e"))] if inline is not None else [(path, path) for path in files]
    for source, path in sources:
        try:
            # the check runs the module that is written (both, for an array-API one)
            targets = ("numpy", target.value) if emit_code is not None and target.value != "numpy" else ("numpy",)
            with check_progress() as progress:     # (on stderr, only when it is a terminal)
                result = run(source, verify=not no_verify, seed=seed, targets=targets, progress=progress)
            derivations = result if isinstance(result, list) else [result]
            if emit_code is not None:
                planned += code_outputs(derivations, emit_code, path, target.value)
            planned += document_outputs(derivations, latex, markdown, path)
        except MatcalcError as err:
            _fail(inline.relocated(err) if inline is not None else err, debug)
        except Exception as exc:  # a bug: say so in one line, never a traceback
            _internal(exc, debug)
        for d in derivations:
            failed |= any(not c.passed for c in d.verification.values())
            if as_json:
                outputs.append(as_dict(d))
            elif quiet:
                for symbol, r in d.results.items():
                    console.print(Text(f"{symbol}: {r.text}"))
            else:
                show_derivation(console, d, path, shapes, show_code, steps)
    try:
        wrote = console if not (as_json or quiet) else None
        write(planned, files, (lambda out: wrote.print(Text(f"wrote {out}", style="dim"))) if wrote else None)
    except MatcalcError as err:
        _fail(err, debug)
    except Exception as exc:
        _internal(exc, debug)
    if as_json:
        payload = outputs[0] if len(outputs) == 1 else {"derivations": outputs}
        console.file.write(json.dumps(payload, indent=2) + "\n")   # ensure_ascii: any stream takes it
        console.file.flush()
    if failed:
        raise typer.Exit(1)


@app.command(epilog="""Examples:

\b
  matcalc check derivations/softmax_regression.yaml --against my_grads.py:grad_W
  matcalc check my_loss.yaml --against my_grads.py:grad_W --timeout 600
""")
@_interruptible
def check(
    file: Annotated[Path, typer.Argument(help="The expr.yaml the function should differentiate.",
                                         show_default=False)],
    against: Annotated[str, typer.Option("--against", help="Your gradient: FILE.py:FUNCTION, called "
                                         "with the symbols as keyword arguments.", show_default=False)],
    wrt: Annotated[str | None, typer.Option("--wrt", help="The symbol it differentiates (default: "
                                            "from its name, grad_W -> W).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the random inputs.")] = 0,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="Stop your code when "
                                           "importing FILE.py, or one call of FUNCTION, takes longer "
                                           "(inf: never).")] = 60.0,   # usercode.DEFAULT_TIMEOUT
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
):
    """Check your own gradient function against matcalc's verified derivation.

    Runs FUNCTION from your FILE.py at random inputs that respect the props,
    compares it with matcalc's result, and says how it differs: a constant
    factor, a transpose, a sign, a missing term.  Your file is imported and
    run in a separate Python process (its prints go to stderr), stopped after
    --timeout seconds.  Exit code 0 when it agrees, 1 when it returns an
    array that differs, 2 when it cannot be compared (it raises, exits,
    crashes, runs past --timeout, or returns something that is not an array
    of numbers) or the input is bad.
    """
    from .against import check_against, symbol_for
    from .pipeline import derive as run
    from .usercode import checked_timeout, parse_spec

    console = _Out(highlight=False, **stdout_settings())
    try:
        _, name = parse_spec(against)
        checked_timeout(timeout)
        result = run(file, seed=seed)
        d = result[0] if isinstance(result, list) else result
        symbol = wrt or symbol_for(name, d.problem.wrt)
        if symbol not in d.results:
            raise MatcalcError(f"{symbol} is not among the wrt symbols of {file}")
        report = check_against(d, against, symbol, seed=seed, timeout=timeout)
    except MatcalcError as err:
        _fail(err, debug)
    except Exception as exc:
        _internal(exc, debug)
    r = d.results[symbol]
    console.print(Text(f"matcalc: ∂J/∂{symbol} = {r.text}", style="bold"))
    line = Text(f"{report.function}: ", style="bold")
    line.append("agrees" if report.agrees else "DIFFERS", style="green" if report.agrees else "bold red")
    line.append(f" (max abs difference {report.max_abs_difference:.1e}, "
                f"max rel difference {report.max_rel_difference:.1e}); {report.diagnosis}")
    console.print(line)
    if not report.agrees:
        raise typer.Exit(1)


@app.command(epilog="""Examples:

  matcalc gallery

  matcalc gallery derivations --check
""")
@_interruptible
def gallery(
    directory: Annotated[Path, typer.Argument(help="The gallery directory: expr.yaml cases, outputs beside "
                                              "them.")] = Path("derivations"),
    check_only: Annotated[bool, typer.Option("--check", help="Write nothing; list the stale files and exit "
                                             "1 if there are any.")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the random inputs of the check.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace output files even when they do not carry "
                                        "matcalc's generated-file header (hand-written ones).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
):
    """Derive, verify and regenerate every case of a gallery directory.

    For each NAME.yaml writes NAME.tex, NAME.md and NAME.py beside it, and an
    index README.md linking them (only the files that changed, atomically).
    A file that exists without matcalc's generated-file header is not
    replaced (exit 2, nothing written) unless --force.
    Exit code 0: all verified (and, with --check, nothing stale); 1: a case
    failed its check, or --check found stale files; 2: bad input.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .gallery import cases_in, regenerate
    from .render.report import gallery_table

    console = _Out(highlight=False, **stdout_settings())
    try:
        total = len(cases_in(directory))
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("deriving", total=total)
            report = regenerate(directory, check=check_only, seed=seed, force=force,
                                progress=lambda case: bar.update(task, advance=1, description=case.name))
    except MatcalcError as err:
        _fail(err, debug)
    except Exception as exc:
        _internal(exc, debug)
    console.print(gallery_table(report))
    for case in report.bad_input + report.crashed:
        console.print(Text(f"{case.name}: {case.error or 'internal error: ' + case.crash}", style="red"))
    if check_only or len(report.written) <= 10:     # a full regeneration: the count says enough
        for path in report.stale:
            console.print(Text(f"{'stale' if check_only else 'wrote'} {path}",
                               style="yellow" if check_only else "dim"))
    ok = sum(c.verified for c in report.cases)
    console.print(Text(f"{ok} of {len(report.cases)} cases verified; "
                       f"{len(report.stale)} file{'s' if len(report.stale) != 1 else ''} "
                       f"{'stale' if check_only else 'written'}.",
                       style="bold"))
    if report.crashed:
        raise typer.Exit(3)
    if report.bad_input:
        raise typer.Exit(2)
    if report.failed or (check_only and report.stale):
        raise typer.Exit(1)


@app.command(epilog="""Examples:

  matcalc rules
  matcalc rules --code
""")
def rules(code: bool = typer.Option(False, "--code", help="List how the emitted numpy computes instead: the "
                                    "stable forms, code rewrites and emission rules.")):
    """List every identity the simplifier knows: its name, the identity, the props it needs
    and its Matrix Cookbook equation number where it has one (with --code: the rules the
    emitted code is written by)."""
    from .listing import code_rule_lines, rule_lines
    _listing(code_rule_lines() if code else rule_lines())


@app.command(epilog="Examples:\n\n  matcalc functions\n")
def functions():
    """List every function of the expression language, with its parameters."""
    from .listing import function_lines
    _listing(function_lines())


def _listing(lines) -> None:
    console = _Out(highlight=False, **stdout_settings())
    [console.print(Text(line, style="bold" if heading else "")) for line, heading in lines]


class _Out(Console):
    """Standard output; when its reader goes away (``matcalc derive ... | head``),
    stop quietly with 141, the shell's code for SIGPIPE, not rich's 1 (which
    would read as "failed verification")."""

    def on_broken_pipe(self) -> None:
        _reader_gone()


def _reader_gone() -> None:
    """Point stdout at /dev/null (so the exit flush cannot fail again) and exit 141."""
    import os
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(141) from None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:   # Ctrl-C: say so in one line; outputs are written atomically
        sys.stderr.write(INTERRUPTED + "\n")
        raise SystemExit(130) from None
    except BrokenPipeError:     # output written outside rich (--json) to a closed pipe
        _reader_gone()
    except MatcalcError as err:  # standard output failed outside a command's own handling (OutputError)
        _say(err)
        raise SystemExit(err.exit_code) from None
