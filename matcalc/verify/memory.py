"""Whether the check fits in memory, decided before anything is allocated.

The check draws every symbol at the declared dims and runs the emitted module
on them, so its memory follows from the shapes alone: each input a few times
over (the drawn point, its scaled copy, the point stepped along a direction,
the direction, the sampler's temporaries) and every intermediate of the
value and of each derivative (the IR knows their shapes).  Where that is more
than the memory the check may use -- a fraction of what the system has
available, and no more than the process's address-space limit leaves -- the
check is refused with one clear error (exit 2) rather than ending in a
MemoryError or a crash inside BLAS.  ``MATCALC_CHECK_MEMORY`` (``16G``,
``500MiB``, bytes) sets the limit instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from .. import ir
from ..errors import InputError, Location
from ..shapes import dim_size

ENV = "MATCALC_CHECK_MEMORY"
FRACTION = 0.5        # of the memory available: the rest is the system's, and numpy's slack
INPUT_COPIES = 6      # the point, its scaled copy, the stepped point, the direction, sampler temporaries
OUTPUT_COPIES = 2     # each intermediate, and the comparison's own copy of the outputs
ITEM = 8              # float64


class CheckTooLarge(InputError):
    """The declared dims make the numerical check larger than the memory it may use."""

    kind = "too large to check"


def _size(shape, dims: Mapping[str, int]) -> int:
    total = 1
    for d in shape:
        total *= dim_size(d, dims)
    return total


def needed(symbols: Mapping[str, ir.Symbol], exprs: Iterable[ir.Expr], dims: Mapping[str, int]) -> int:
    """Bytes the check needs at ``dims``: the inputs ``INPUT_COPIES`` times, each
    distinct intermediate of ``exprs`` ``OUTPUT_COPIES`` times."""
    inputs = sum(_size(s.shape, dims) for s in symbols.values())
    seen: set[int] = set()
    intermediate = 0
    stack = list(exprs)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ir.Apply):
            intermediate += _size(node.shape, dims)
            stack.extend(node.args)
    return ITEM * (INPUT_COPIES * inputs + OUTPUT_COPIES * intermediate)


def available() -> tuple[int | None, str]:
    """Bytes the check may use and where that figure comes from (None: unknown)."""
    text = os.environ.get(ENV, "").strip()
    if text:
        return parse_size(text), f"{ENV}={text}"
    free = _meminfo("MemAvailable")
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = None
    room = _address_space_left()
    limits = []
    if free is not None:
        limits.append((int(FRACTION * free), "half the memory available"))
    if room is not None:
        limits.append((int(FRACTION * room), "half what the address-space limit leaves"))
    return min(limits) if limits else (None, "")


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """``16G``, ``16GiB``, ``500M``, ``2e9``: a number of bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if m is None:
        raise InputError(f"{ENV}={text!r} is not a size", hint="write it as bytes or with a unit: 16G, 500MiB")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def _meminfo(key: str) -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name == key:
                    return int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _address_space_left() -> int | None:
    """What RLIMIT_AS leaves above the process's current size (None: no limit)."""
    try:
        import resource
    except ImportError:    # (not on Windows)
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return max(0, soft - used)


def human(n: float) -> str:
    """``80e9`` -> ``75 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" or n >= 10 else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.0f} PiB"


def ensure_fits(problem, results) -> None:
    """Raise :class:`CheckTooLarge` when the check of ``results`` needs more memory
    than it may use (before anything is drawn)."""
    exprs = [problem.expr, *getattr(problem, "domain", ())]
    symbols = dict(problem.symbols)
    for r in results.values():    # (a Hessian or Jacobian in the vec convention: [size(F), size(X)])
        exprs += [e for e in (r.matrix, r.gradient, r.hvp) if e is not None]
        if r.direction is not None:        # a Hessian-vector product's direction is an input too
            symbols[r.direction.name] = r.direction
    need = needed(symbols, exprs, problem.dims)
    limit, source = available()
    if limit is None or need <= limit:
        return
    raise CheckTooLarge(
        f"the check would need {human(need)} of memory at these dims, more than the {human(limit)} it may use "
        f"({source}); use smaller dims or --no-verify",
        location=Location(file=problem.file, what="dims") if problem.file else None,
        hint=f"the derivation holds for any sizes: check it at small dims; {ENV}=SIZE (16G) sets the limit")
