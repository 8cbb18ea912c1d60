"""Elementwise functions: ``exp log sqrt abs sin cos tanh sigmoid softplus relu``.

Each is one row: its name, the numpy it prints to, its LaTeX, and the domain
its argument must lie in.  ``sigmoid`` and ``softplus`` are composites
(``1 / (1 + exp(-x))`` and ``log(1 + exp(x))``) for the engine.
"""

from __future__ import annotations

from . import Op, register

# name: (numpy, latex, domain)
FUNCTIONS: dict[str, tuple[str, str, str | None]] = {
    "exp": ("np.exp({0})", "\\exp({0})", None),
    "log": ("np.log({0})", "\\log({0})", "positive"),
    "sqrt": ("np.sqrt({0})", "\\sqrt{{{0}}}", "positive"),
    "abs": ("np.abs({0})", "\\lvert {0} \\rvert", None),
    "sin": ("np.sin({0})", "\\sin({0})", None),
    "cos": ("np.cos({0})", "\\cos({0})", None),
    "tanh": ("np.tanh({0})", "\\tanh({0})", None),
    "sigmoid": ("_sigmoid({0})", "\\sigma({0})", None),
    "softplus": ("np.logaddexp(0.0, {0})", "\\operatorname{{softplus}}({0})", None),
    "relu": ("np.maximum({0}, 0.0)", "\\operatorname{{relu}}({0})", None),
}


def _same(shapes, attrs):
    return shapes[0]


for _name, (_numpy, _latex, _domain) in FUNCTIONS.items():
    register(Op(_name, "call", 1, _same, numpy=_numpy, latex=_latex, domain=(_domain,),
                doc=f"elementwise {_name}", extra={"elementwise": True}))
