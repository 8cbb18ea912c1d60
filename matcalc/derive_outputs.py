"""The files ``matcalc derive`` writes: ``--emit-code``, ``--latex``, ``--markdown`` and
``--save`` (an inline problem's expr.yaml), planned together and written once all
derivations are made and checked (:mod:`matcalc.files`)."""

from __future__ import annotations

from pathlib import Path

from .errors import FileError
from .files import Output, output_path, plan, stamped, write_all


def code_outputs(derivations, target: Path, source: Path, code_target: str = "numpy") -> list[Output]:
    """The module(s) --emit-code writes for one input file: TARGET, or
    TARGET_<name>.py each for a derivations: list."""
    from .codegen import emit_module

    origin = f"--emit-code for {source}"
    return [Output(target if len(derivations) == 1 else target.with_name(f"{target.stem}_{d.name}.py"),
                   stamped(d.code if code_target == "numpy" else emit_module(d, code_target), "python", source.name),
                   origin)
            for d in derivations]


def document_outputs(derivations, latex, markdown, source: Path) -> list[Output]:
    """The documents --latex and --markdown write for one input file."""
    from .render.document import to_latex_document, to_markdown

    return [Output(target, stamped(render(derivations), kind, source.name), f"{option} for {source}")
            for target, render, kind, option in ((latex, to_latex_document, "latex", "--latex"),
                                                 (markdown, to_markdown, "markdown", "--markdown"))
            if target is not None]


def save_output(raw: str | None, text: str, force: bool) -> Output | None:
    """--save FILE.yaml: the expr.yaml of an inline problem.  An existing file is
    kept (FileError, before any work) unless ``force``."""
    path = output_path(raw, "--save")
    if path is None:
        return None
    if path.exists() and not force:
        raise FileError(f"{path} exists; --save does not replace a file", hint="add --force to replace it, "
                        "or choose another name")
    return Output(path, text, "--save")


def write(planned, inputs, wrote=None) -> None:
    """Check all outputs of the run together (collisions, inputs), then write them."""
    write_all(plan(planned, protect=inputs), wrote)
