"""The gallery: a directory of expr.yaml cases with their outputs checked in.

For every ``NAME.yaml`` in the directory the gallery holds ``NAME.tex`` (the
LaTeX document), ``NAME.md`` (the same derivation in Markdown) and ``NAME.py``
(the generated numpy module), and the directory holds a ``README.md`` that
links every case with one line: its name, what it is, and its result.

:func:`regenerate` derives and verifies every case, renders the outputs in
memory and writes the ones that changed (atomically), or, with
``check=True``, writes nothing and reports which files are stale.  The
outputs are deterministic: the documents leave out the measured error
figures (they vary in the last digits from one BLAS to another) and say only
whether the check passed.  Each starts with matcalc's generated-file header
(:func:`matcalc.files.header`), and only a file that carries it is replaced
unless ``force``: the gallery never overwrites a file it did not make.

Library code: it raises nothing for a case that fails; each case carries its
own outcome, and the command line chooses the exit code.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FileError, MatcalcError
from .files import HEADER_TEXT, Output, carries_header, header, plan, stamped, write_all

SUFFIXES = (".tex", ".md", ".py")
INDEX = "README.md"


@dataclass
class Case:
    """One gallery file: what was derived from it, and its outputs."""

    path: Path
    derivations: list = field(default_factory=list)
    outputs: dict[Path, str] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None          # bad input: the error's message
    crash: str | None = None          # an exception that is a bug in matcalc

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def verified(self) -> bool:
        return bool(self.derivations) and all(d.verified for d in self.derivations)

    @property
    def results(self) -> list[str]:
        """``W: X.T @ (softmax(X @ W, axis=1) - Y) / n + 2 * lam * W``, one per result."""
        return [f"{s}: {r.text}" for d in self.derivations for s, r in d.results.items()]


@dataclass
class Report:
    """What :func:`regenerate` did: the cases, and the files written or stale."""

    directory: Path
    cases: list[Case]
    written: list[Path] = field(default_factory=list)    # changed and rewritten
    stale: list[Path] = field(default_factory=list)      # differ from what would be generated

    @property
    def failed(self) -> list[Case]:
        """Derived but not verified."""
        return [c for c in self.cases if c.error is None and c.crash is None and not c.verified]

    @property
    def bad_input(self) -> list[Case]:
        return [c for c in self.cases if c.error is not None]

    @property
    def crashed(self) -> list[Case]:
        return [c for c in self.cases if c.crash is not None]


def cases_in(directory: str | Path) -> list[Path]:
    """The expr.yaml files of a gallery directory, by name.  A symlink to a
    file outside the directory is refused, not read: the gallery is the
    directory, and an error message would echo a line of a file it never held."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileError(f"{directory} is not a directory", hint="give the gallery directory, e.g. derivations/")
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    root = os.path.realpath(directory)
    for p in paths:
        if p.is_symlink() and os.path.commonpath([root, os.path.realpath(p)]) != root:
            raise FileError(f"{p} is a symbolic link to a file outside the gallery directory",
                            hint="matcalc does not follow links out of the gallery: copy the file in, "
                                 "or remove the link")
    if not paths:
        raise FileError(f"{directory} holds no .yaml cases", hint="a gallery case is an expr.yaml file")
    return paths


def outputs(path: Path, derivations: list) -> dict[Path, str]:
    """The generated files beside one case, rendered in memory."""
    from .render.document import to_latex_document, to_markdown

    source = path.name
    out = {path.with_suffix(".tex"): stamped(to_latex_document(derivations, figures=False), "latex", source),
           path.with_suffix(".md"): stamped(to_markdown(derivations, figures=False), "markdown", source)}
    if len(derivations) == 1:
        out[path.with_suffix(".py")] = stamped(derivations[0].code, "python", source)
    else:       # a derivations: list, one module each, named as --emit-code names them
        for d in derivations:
            out[path.with_name(f"{path.stem}_{d.name}.py")] = stamped(d.code, "python", source)
    return out


def derive_case(path: Path, seed: int = 0) -> Case:
    """Derive, verify and render one case; errors are recorded, not raised."""
    from .pipeline import derive

    case = Case(path)
    start = time.perf_counter()
    try:
        result = derive(path, seed=seed)
        case.derivations = result if isinstance(result, list) else [result]
        case.outputs = outputs(path, case.derivations)
    except MatcalcError as err:
        case.error = err.render()
    except Exception as exc:  # a bug in matcalc: reported per case, the others still run
        case.crash = f"{type(exc).__name__}: {exc}"
    case.seconds = time.perf_counter() - start
    return case


def index(directory: Path, cases: list[Case]) -> str:
    """``README.md`` of the gallery: one line per case, linking its outputs."""
    from .render.document import markdown_text
    from .render.unicode import name as uni_name, to_unicode

    lines = [header("markdown", "the .yaml cases in this directory").rstrip("\n"), "# Gallery", "",
             "Classic matrix-calculus results derived, step by step, by matcalc and checked against "
             "finite differences. Each case is an `expr.yaml`; beside it are the derivation as a "
             "LaTeX document (`.tex`) and as Markdown (`.md`), and the generated numpy module (`.py`).",
             "",
             f"Regenerate everything with `matcalc gallery {directory.name}`; "
             f"`matcalc gallery {directory.name} --check` lists stale files. "
             "This page is generated too.", "",
             "| case | what it is | result |", "| --- | --- | --- |"]
    for case in cases:
        links = " · ".join(f"[{p.suffix[1:]}]({p.name})" for p in sorted(case.outputs, key=_output_order)
                           if p.suffix != ".md")
        name = f"[{case.name}]({case.path.with_suffix('.md').name})"
        what = markdown_text(case.derivations[0].problem.description or "") if case.derivations else ""
        results = []
        for d in case.derivations:
            for s, r in d.results.items():
                if r.kind == "mixed":        # ∂²J/∂W1∂W2
                    lhs = "∂²J/" + "".join("∂" + uni_name(x) for x in r.pair)
                else:
                    lhs = {"gradient": "∂J/∂", "jacobian": "∂J/∂", "hessian": "∂²J/∂"}[r.kind] + uni_name(s)
                    lhs += "²" if r.kind == "hessian" else ""
                results.append(f"{lhs} = {to_unicode(r.matrix)}")
        result = _cell("; ".join(results)) if results else "(not derived)"
        lines.append(f"| {name} ({links}) | {what} | {result} |")
    return "\n".join(lines) + "\n"


def _output_order(path: Path) -> tuple:
    return (SUFFIXES.index(path.suffix) if path.suffix in SUFFIXES else len(SUFFIXES), path.name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def regenerate(directory: str | Path = "derivations", *, check: bool = False, seed: int = 0,
               force: bool = False, progress: Callable[[Case], None] | None = None) -> Report:
    """Derive, verify and regenerate every case of a gallery directory.

    Writes each output that differs from the file on disk (atomically), and
    the index ``README.md``; with ``check=True`` writes nothing and lists the
    stale files instead.  ``progress`` is called after each case.  A case whose
    input is bad or that crashes gets no outputs and is left out of the index.

    Every output is planned before any is written: two cases that would write
    one file (``a.yaml`` and ``a.yml``), or a stale file that does not carry
    matcalc's generated-file header (a hand-written ``README.md``) unless
    ``force``, raise a FileError and nothing is written.
    """
    directory = Path(directory)
    paths = cases_in(directory)
    report = Report(directory, [])
    for path in paths:
        case = derive_case(path, seed=seed)
        report.cases.append(case)
        if progress is not None:
            progress(case)
    wanted = [Output(target, text, case.path.name) for case in report.cases
              for target, text in case.outputs.items()]
    good = [c for c in report.cases if c.derivations]
    wanted.append(Output(directory / INDEX, index(directory, good), "the gallery index"))
    stale = [out for out in plan(wanted, protect=paths) if not _current(out)]
    if not force:
        _refuse_foreign(stale)
    report.stale = [out.path for out in stale]
    if not check:
        write_all(stale, report.written.append)
    return report


def _current(out: Output) -> bool:
    """Does the file hold ``out.text`` (newlines read as text, so a CRLF
    checkout is current)?  Only a regular file is read: never a FIFO or device."""
    try:
        if not stat.S_ISREG(os.stat(out.path).st_mode):
            return False
        return out.path.read_text(encoding="utf-8", errors="replace") == out.text
    except OSError:
        return False


def _refuse_foreign(stale: list[Output]) -> None:
    """Refuse to replace files matcalc did not generate (no header)."""
    foreign = [out.path for out in stale if os.path.lexists(out.path) and not carries_header(out.path)]
    if foreign:
        names = ", ".join(str(p) for p in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FileError(f"not generated by matcalc (no \"{HEADER_TEXT}\" first line), so not replaced: {names}; "
                        "nothing was written",
                        hint="move the file away, or run again with --force to replace it")
