"""No gallery module slower than before: every function of each gallery case's emitted
module, as the checkout's matcalc derives it now, timed against the module of an earlier
commit, side by side.

    python bench/gallery_speed.py                     # against HEAD~1
    python bench/gallery_speed.py --against main      # any revision git knows
    python bench/gallery_speed.py --only softmax_regression --only det -v
    python bench/gallery_speed.py --quick             # small sizes, few rounds

The earlier module is the gallery file committed at that revision
(``git show REV:derivations/NAME.py``) when its expr.yaml there is the same as now;
otherwise (or with ``--derive-old``) the revision's matcalc is exported (``git archive``)
to a temporary directory and derives the case in a subprocess.  Inputs are drawn by
matcalc's own sampler (props and ``domain:`` respected) at the declared dimensions
scaled up together, doubling while the largest stays within ``--max-dim`` and one pass of
every function stays cheap.  One pinned core, one BLAS thread; per function, the two
modules interleaved (new, old, old, new, ...), the median of the paired ratios
new / old.  Per case: the worst function's ratio, SLOWER above 1 + ``--margin``
(the noise margin, default 0.10); a function past it is raced again, twice as long,
and that second race decides.  A module whose text is unchanged is not timed ("same
code"; ``--time-same`` times it anyway: a measure of the noise).  Outputs of the two
modules that disagree are reported (DIFFERS): the comparison is then of different code
paths.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]               # the pinning helper; this checkout's matcalc

from pinning import pin

CORE = pin() if __name__ == "__main__" else None    # before numpy loads; not when a test imports this

import argparse
import inspect
import io
import json
import subprocess
import tarfile
import tempfile
import time
import types
from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------- the two modules


def git(*args: str, binary: bool = False):
    """A git command in this checkout: its output, or None when it fails."""
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=not binary, check=False)
    return done.stdout if done.returncode == 0 else None


OLD_DERIVE = r"""
import json, sys
import matcalc
out = {"__file__": matcalc.__file__}
for name, path in json.load(sys.stdin).items():
    try:
        d = matcalc.derive(path, verify=False)
        out[name] = {"code": (d[0] if isinstance(d, list) else d).code}
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:100]}"}
print(json.dumps(out))
"""


def derive_old(rev: str, paths: dict[str, Path]) -> dict[str, dict]:
    """{name: {"code": text} | {"error": why}}: each case derived by the matcalc of ``rev``,
    exported to a temporary directory, in a subprocess (its imports are its own)."""
    if not paths:
        return {}
    archive = git("archive", "--format=tar", rev, "matcalc", binary=True)
    if archive is None:
        return {name: {"error": f"git archive {rev} failed"} for name in paths}
    with tempfile.TemporaryDirectory(prefix="gallery_speed_") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        env = {**os.environ, "PYTHONPATH": tmp}
        done = subprocess.run([sys.executable, "-c", OLD_DERIVE], input=json.dumps({k: str(v) for k, v in paths.items()}),
                              capture_output=True, text=True, cwd=tmp, env=env, check=False)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {name: {"error": f"the old matcalc failed: {why[:100]}"} for name in paths}
    out = json.loads(done.stdout)
    if not out.pop("__file__", "").startswith(tmp):
        return {name: {"error": "the subprocess imported another matcalc"} for name in paths}
    return out


def old_modules(rev: str, paths: dict[str, Path], always_derive: bool) -> dict[str, tuple[str | None, str]]:
    """{name: (the earlier module's text or None, where it came from or why not)}."""
    out, derive = {}, {}
    for name, path in paths.items():
        committed = None if always_derive else git("show", f"{rev}:derivations/{name}.py")
        same_case = git("show", f"{rev}:derivations/{name}.yaml") == path.read_text()
        if committed is not None and same_case:
            out[name] = (committed, "committed")
        else:
            derive[name] = path
    for name, got in derive_old(rev, derive).items():
        out[name] = (got.get("code"), "derived by its matcalc" if "code" in got else got["error"])
    return out


def load(text: str, name: str) -> types.ModuleType:
    from matcalc.codegen import load_module
    return load_module(text, name)


def public(module: types.ModuleType) -> dict[str, types.FunctionType]:
    """The module's functions (value, grad_S, jac_S, hess_S, hvp_S, hess_S1_S2, value_and_grad)."""
    return {k: f for k, f in vars(module).items()
            if not k.startswith("_") and isinstance(f, types.FunctionType) and f.__module__ == module.__name__}


# ---------------------------------------------------------------- inputs


def arguments(d, fn, values: dict, rng) -> dict:
    """The keyword arguments of ``fn``: the symbols, and for hvp_S its direction dS (a
    random direction inside S's props)."""
    from matcalc.verify.sample import direction
    args = dict(values)
    if fn.__name__.startswith("hvp_"):
        r = d.results.get(fn.__name__[4:])
        params = [p for p in inspect.signature(fn).parameters.values() if p.kind == p.KEYWORD_ONLY]
        extra = [p.name for p in params if p.name not in values]
        name = extra[0] if extra else (r.direction.name if r is not None and r.direction is not None else None)
        sym = d.problem.symbols.get(fn.__name__[4:])
        if name and sym is not None:
            args[name] = direction(sym, values[sym.name], rng)
    return args


def draw(d, module, dims: dict, rng, tries: int = 5) -> dict | None:
    """Values of every symbol at ``dims`` inside props and domain, where the value is finite."""
    from matcalc.verify.sample import draw_within
    p = d.problem
    exprs = [p.expr] + [r.matrix for r in d.results.values() if getattr(r, "matrix", None) is not None]
    for _ in range(tries):
        values = draw_within(tuple(getattr(p, "domain", ())), exprs, p.symbols, dims, rng)
        if values is None:
            return None
        with np.errstate(all="ignore"):
            try:
                v = module.value(**values)
            except Exception:  # noqa: BLE001, S112 -- a point the module refuses: drawn again
                continue
        if np.all(np.isfinite(v)):
            return values
    return None


def one_pass(calls: dict) -> tuple[float, int]:
    """Seconds and the largest output (bytes) of one call of every function; raises what they raise."""
    start, nbytes = time.perf_counter(), 0
    with np.errstate(all="ignore"):
        for call in calls.values():
            nbytes = max(nbytes, sum(np.asarray(a).nbytes for a in leaves(call())))
    return time.perf_counter() - start, nbytes


def leaves(result) -> list:
    if isinstance(result, dict):
        return [x for v in result.values() for x in leaves(v)]
    if isinstance(result, (tuple, list)):
        return [x for v in result for x in leaves(v)]
    return [result]


@dataclass
class Pair:
    """One function of both modules on one input: the per-round times."""
    name: str
    new: object
    old: object
    new_t: list[float] = field(default_factory=list)
    old_t: list[float] = field(default_factory=list)
    number: int = 1

    def ratio(self) -> float:
        return float(np.median(np.array(self.new_t) / np.array(self.old_t)))


def calls_at(d, new_fns, old_fns, values: dict, seed: int) -> list[Pair]:
    rng = np.random.default_rng(seed)
    pairs = []
    for name in sorted(set(new_fns) & set(old_fns)):
        args = arguments(d, new_fns[name], values, rng)
        pairs.append(Pair(name, lambda f=new_fns[name], a=args: f(**a), lambda f=old_fns[name], a=args: f(**a)))
    return pairs


def choose(d, new, new_fns, old_fns, max_dim: int, budget: float, seed: int):
    """(scale, dims, the function pairs) at the largest doubling of the declared dims
    where both modules run every common function, the largest dimension is at most
    ``max_dim`` and a pass takes at most ``budget`` s; or (None, why, [])."""
    from matcalc.codegen.arguments import carried
    p = d.problem
    scaled = carried(p.symbols, p.dims)
    base = max([int(p.dims[k]) for k in scaled] or [1])
    rng, best, why = np.random.default_rng(seed), None, "no point inside the domain"
    f = 1
    while True:
        dims = {k: int(v) * f if k in scaled else v for k, v in p.dims.items()}
        values = draw(d, new, dims, rng)
        if values is None:
            why = f"no point inside the domain at {dims}"
            break
        pairs = calls_at(d, new_fns, old_fns, values, seed)
        try:
            (t_new, bytes_new), (t_old, bytes_old) = (min(one_pass({q.name: getattr(q, side) for q in pairs})
                                                          for _ in range(2)) for side in ("new", "old"))
        except Exception as exc:  # noqa: BLE001 -- a size a module refuses: the previous one stays
            why = f"at {dims}: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:80]}"
            break
        best = (f, dims, pairs, "")
        why = (f"a pass takes {1e3 * max(t_new, t_old):.0f} ms" if max(t_new, t_old) > budget / 4
               else f"an output of {max(bytes_new, bytes_old) / 2**20:.1f} MB" if max(bytes_new, bytes_old) > 2**22
               else "" if base * f * 2 > max_dim else None)
        if why is not None:
            break
        f *= 2
    return (*best[:3], why) if best else (None, why, [], why)


# ---------------------------------------------------------------- timing


def race(pairs: list[Pair], reps: int, budget: float, blocks: int = 3) -> None:
    """Each function's two modules interleaved, rounds alternating which goes first.  A
    sample is the fastest of ``blocks`` blocks of calls (a block lasting about
    ``budget / blocks`` s): on a shared core another process's time slice lands in a
    block now and then, and the fastest block is the one it missed."""
    for q in pairs:
        q.new(), q.old()
        start = time.perf_counter()
        q.new()
        q.number = max(1, int(budget / blocks / max(time.perf_counter() - start, 1e-9)))
    with np.errstate(all="ignore"):
        for r in range(reps):
            for q in pairs:
                order = ((q.new, q.new_t), (q.old, q.old_t))
                for f, times in order if r % 2 == 0 else order[::-1]:
                    f()
                    times.append(min(block(f, q.number) for _ in range(blocks)))


def block(f, number: int) -> float:
    """Seconds per call over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        f()
    return (time.perf_counter() - start) / number


def differs(q: Pair) -> bool:
    """Whether the two modules' results disagree (beyond 1e-6 of their size)."""
    with np.errstate(all="ignore"):
        a = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in leaves(q.new())] or [np.zeros(0)])
        b = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in leaves(q.old())] or [np.zeros(0)])
    if a.shape != b.shape:
        return True
    scale = max(float(np.nanmax(np.abs(b))) if b.size else 0.0, 1e-300)
    return not np.allclose(a, b, rtol=1e-6, atol=1e-6 * scale, equal_nan=True)


# ---------------------------------------------------------------- one case, the run


@dataclass
class Outcome:
    name: str
    verdict: str                                    # ok | SLOWER | same code | not compared
    detail: str
    ratios: dict[str, float] = field(default_factory=dict)
    worst: float | None = None


def body(text: str) -> str:
    """A module's text without its leading comment lines (the gallery file's header)."""
    lines = text.splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "\n".join(lines).strip()


def compare(path: Path, old: tuple[str | None, str], a) -> Outcome:
    """One gallery case: the current module against the earlier one, function by function."""
    import matcalc
    name = path.stem
    try:
        d = matcalc.derive(path, verify=False)
    except Exception as exc:  # noqa: BLE001 -- reported, the run goes on
        return Outcome(name, "not compared", f"the current matcalc: {type(exc).__name__}: {str(exc)[:80]}")
    d = d[0] if isinstance(d, list) else d
    text, source = old
    if text is None:
        return Outcome(name, "not compared", f"no earlier module: {source}")
    if body(d.code) == body(text) and not a.time_same:
        return Outcome(name, "same code", f"the module text is unchanged: not timed; {source}")
    new = load(d.code, f"new_{name}")
    new_fns, old_fns = public(new), public(load(text, f"old_{name}"))
    f, dims, pairs, stop = choose(d, new, new_fns, old_fns, a.max_dim, a.pass_budget, a.seed)
    if f is None:
        return Outcome(name, "not compared", f"no input both modules run on ({dims})")
    race(pairs, a.reps, a.sample)
    if suspects := [q for q in pairs if q.ratio() > 1 + a.margin]:    # a second race, twice as long, decides
        for q in suspects:
            q.new_t, q.old_t = [], []
        race(suspects, 2 * a.reps, a.sample)
    ratios = {q.name: q.ratio() for q in pairs}
    worst, best = max(ratios, key=ratios.get), min(ratios, key=ratios.get)
    notes = [f"{'x'.join(str(v) for v in dims.values())} ({', '.join(f'{k}={v}' for k, v in dims.items())})",
             f"{len(pairs)} functions", f"worst {worst} {ratios[worst]:.2f}", f"best {best} {ratios[best]:.2f}",
             source]
    if suspects:
        notes.append(f"raced again ({2 * a.reps} rounds): {', '.join(q.name for q in suspects)}")
    if stop and a.verbose:
        notes.append(f"not scaled further: {stop}")
    if lost := sorted(set(old_fns) - set(new_fns)):
        notes.append("MISSING now: " + ", ".join(lost))
    if wrong := [q.name for q in pairs if differs(q)]:
        notes.append("DIFFERS: " + ", ".join(wrong))
    verdict = "SLOWER" if ratios[worst] > 1 + a.margin else "ok"
    return Outcome(name, verdict, "; ".join(notes), ratios, ratios[worst])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default="HEAD~1", help="the earlier revision (default HEAD~1)")
    ap.add_argument("--derive-old", action="store_true", help="derive every earlier module with the old matcalc")
    ap.add_argument("--only", action="append", help="this case (the yaml's stem; repeatable)")
    ap.add_argument("--quick", action="store_true", help="small sizes, few rounds")
    ap.add_argument("--max-dim", type=int, default=None, help="largest dimension (default 256, quick 24)")
    ap.add_argument("--reps", type=int, default=None, help="interleaved rounds per function (default 9, quick 2)")
    ap.add_argument("--margin", type=float, default=0.10, help="noise margin: SLOWER above 1 + margin")
    ap.add_argument("--time-same", action="store_true", help="time a module whose text is unchanged too")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-v", "--verbose", action="store_true", help="every function's ratio")
    a = ap.parse_args(argv)
    a.max_dim = a.max_dim or (24 if a.quick else 256)
    a.reps = a.reps or (2 if a.quick else 9)
    a.pass_budget, a.sample = (0.02, 0.001) if a.quick else (0.05, 0.005)
    rev = (git("rev-parse", "--verify", "--short", f"{a.against}^{{commit}}") or "").strip()
    if not rev:
        print(f"gallery_speed: git does not know the revision {a.against!r} (try --against HEAD~1, a branch, "
              "or a commit)", file=sys.stderr)
        return 2
    paths = {p.stem: p for p in sorted((REPO / "derivations").glob("*.yaml")) if not a.only or p.stem in a.only}
    if a.only and (unknown := sorted(set(a.only) - set(paths))):
        print(f"gallery_speed: no gallery case {', '.join(unknown)} in derivations/", file=sys.stderr)
        return 2
    head = (git("rev-parse", "--short", "HEAD") or "?").strip()
    print(f"gallery modules of the work tree at {head} (new) against {a.against} = {rev} (old); numpy {np.__version__}, "
          f"core {CORE}, 1 BLAS thread; {a.reps} interleaved rounds; ratio = new / old, SLOWER above "
          f"{1 + a.margin:.2f}")
    olds = old_modules(rev, paths, a.derive_old)
    outcomes = []
    for name, path in paths.items():
        o = compare(path, olds[name], a)
        outcomes.append(o)
        print(f"{o.name:<34} {o.verdict:<12} {o.detail}", flush=True)
        if a.verbose:
            for fn, r in o.ratios.items():
                print(f"    {fn:<30} {r:6.2f}")
    slower = [o.name for o in outcomes if o.verdict == "SLOWER"]
    compared = [o for o in outcomes if o.worst is not None]
    same = sum(o.verdict == "same code" for o in outcomes)
    print(f"\n{len(compared)} of {len(outcomes)} cases timed, {same} unchanged (same module text); "
          f"{len(slower)} SLOWER"
          + (f": {', '.join(slower)}" if slower else "")
          + (f"; worst ratio {max(o.worst for o in compared):.2f} ({max(compared, key=lambda o: o.worst).name})"
             if compared else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
