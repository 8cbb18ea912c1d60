"""The numerical check of a derivation: every function of each target's emitted
module run against finite differences, each other and exact arithmetic
(:func:`matcalc.verify.check_module`).  :func:`matcalc.pipeline.run` calls it."""

from __future__ import annotations

from dataclasses import replace

from . import ir
from .render.text import to_text
from .spec import Problem
from .verify import FAILED, Check, Progress, check_module


def check(problem: Problem, derivation, *, seed: int = 0,
          targets: tuple[str, ...] = ("numpy",), progress: Progress | None = None) -> dict[str, Check]:
    """Run every function of each target's emitted module against finite
    differences, each other and exact arithmetic (:func:`matcalc.verify.check_module`);
    a result passes when it passes in every module.  Sizes whose check would not
    fit in memory are refused first (:func:`matcalc.verify.memory.ensure_fits`)."""
    from .codegen import emit_module, load_module
    from .verify.memory import ensure_fits

    ensure_fits(problem, derivation.results)
    out: dict[str, Check] = {}
    for index, target in enumerate(targets):
        label = "" if target == "numpy" else f"the {target} module: "
        try:
            source = derivation.code if target == "numpy" else emit_module(derivation, target)
            module = load_module(source, f"matcalc_{problem.name}")
        except Exception as exc:   # noqa: BLE001  (a module that does not load is the finding)
            why = f"{label}the emitted module does not load: {type(exc).__name__}: {exc}"
            checks = {name: Check(name, (), float("nan"), float("nan"), 0, 0, FAILED, (), why, "runs")
                      for name in derivation.results}
        else:
            checks = check_module(problem, derivation.results, module, seed=seed,
                                  explain=lambda values: _explain(problem.expr, values, problem.dims),
                                  progress=_offset(progress, index, len(targets), f"{problem.name}: {label}"))
        for name, c in checks.items():
            if name not in out or (out[name].passed and not c.passed):
                out[name] = replace(c, why=label + c.why) if c.why and label else c
    return out


def _offset(progress: Progress | None, index: int, count: int, prefix: str) -> Progress | None:
    """``progress`` for the ``index``-th of ``count`` modules checked in turn."""
    if progress is None:
        return None
    return lambda text, done, total: progress(prefix + text, index * total + done, count * total)


def _explain(expr: ir.Expr, values, dims) -> str:
    """Which part of ``expr`` is not finite at ``values``: the innermost such node."""
    from .evaluate import first_nonfinite

    node = first_nonfinite(expr, values, dims)
    return f"`{to_text(node)}` is not finite there" if node is not None else ""
