"""Names the emitted code introduces, kept clear of the user's names.

By the contract a symbol's name is a keyword argument's name, and a dimension's
name is a local variable of every generated function (its size); the parser
lets both be almost any identifier (``t1``, ``np``, ``value``, ``float``,
``_softmax``).  So the generated code moves out of their way, never the other
way round: every name it introduces -- the numpy module, the helpers a function
calls, the intermediates ``t1, t2, ...``, the locals of ``value_and_grad`` -- is
claimed from a :class:`Namespace` that holds the user's names, and gets a
trailing ``_`` (or the next number) until it is free.  Builtins are not used
in function bodies at all (``dtype=np.float64``, not ``dtype=float``).

Module-level definitions (``import numpy as np``, ``def _softmax``) keep their
names whatever the user's are: a parameter shadows a global only inside the
function.  A function body reaches a global whose name an argument hides
through an alias (``np_ = np``) that :func:`aliases` prints.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping


class Namespace:
    """The names taken in one scope; :meth:`claim` hands out free ones."""

    def __init__(self, taken: Iterable[str] = ()):
        self.taken = set(taken)

    def claim(self, base: str) -> str:
        """``base``, or ``base_``, ``base__``, ... : the first that is free, now taken."""
        name = base
        while name in self.taken or keyword.iskeyword(name):
            name += "_"
        self.taken.add(name)
        return name

    def numbered(self, prefix: str, start: int) -> tuple[str, int]:
        """The first free ``prefix<k>`` with ``k > start``, now taken, and ``k``."""
        k = start + 1
        while f"{prefix}{k}" in self.taken:
            k += 1
        self.taken.add(f"{prefix}{k}")
        return f"{prefix}{k}", k

    def child(self) -> Namespace:
        """A scope inside this one (a function inside the module)."""
        return Namespace(self.taken)


def respell(template: str, renamed: Mapping[str, str]) -> str:
    """``template`` (matcalc's own code text) with each global it *uses* -- a name
    followed by ``.`` or ``(``, not an attribute and not a keyword argument --
    replaced by its alias: ``np.exp(...)`` -> ``np_.exp(...)``."""
    if not renamed:
        return template
    pattern = r"(?<![.\w])(" + "|".join(map(re.escape, sorted(renamed, key=len, reverse=True))) + r")(?=[.(])"
    return re.sub(pattern, lambda m: renamed[m.group(1)], template)


def aliases(renamed: Mapping[str, str], used: Iterable[str]) -> list[str]:
    """The module-level lines ``alias = name`` for the renamed globals the functions use."""
    lines = [f"{renamed[name]} = {name}" for name in sorted(set(used)) if name in renamed]
    if not lines:
        return []
    return ["# names the functions use, clear of their arguments' names", *lines]


def _cheap_return(line: str) -> bool:
    """``return value, {"x": grad_x}``: a return that computes nothing (a del before it frees nothing sooner)."""
    return line.startswith("return ") and not re.search(r"[(@*+/-]", line.split("{")[0][7:])


def released(lines: list[str], names: set[str]) -> list[str]:
    """``lines`` with ``del t3`` after the last line that reads the intermediate ``t3``
    (not before a return that computes nothing): an intermediate is freed as soon as it is done with, as it is when
    it is written inside an expression, and the function's memory stays that of the
    work.  Holding them to the end was measured 1.2x slower in a loop (the allocator
    gives the memory back and touches it afresh)."""
    last: dict[str, int] = {}
    for i, line in enumerate(lines):
        code = line.split("  #")[0]
        for word in set(re.findall(r"[A-Za-z_]\w*", code)) & names:
            last[word] = i
    after: dict[int, list[str]] = {}
    for word, i in last.items():
        defined = re.match(rf"{re.escape(word)} = ", lines[i])
        if i < len(lines) - 1 and not defined and not all(_cheap_return(x) for x in lines[i + 1:]):
            after.setdefault(i, []).append(word)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if i in after:
            out.append(f"del {', '.join(sorted(after[i]))}")
    return out
