"""matcalc: gradients and Hessians of matrix expressions, in matrix form,
derived step by step and verified numerically.

>>> import matcalc
>>> d = matcalc.derive({"symbols": {"X": {"shape": ["n", "m"]}}, "dims": {"n": 3, "m": 2},
...                     "expr": "sum(X * X)"})
>>> d.shape
()
"""

from .errors import MatcalcError
from .version import __version__

__all__ = ["Derivation", "MatcalcError", "__version__", "derive"]


def __getattr__(name: str):
    # derive and Derivation load the engine (sympy, numpy) on first use, so that
    # `matcalc --version` and an early Ctrl-C do not wait for it
    if name == "derive":         # an expr.yaml, or an expression with keyword symbols (api.py)
        from . import api
        return api.derive
    if name == "Derivation":
        from . import pipeline
        return pipeline.Derivation
    raise AttributeError(f"module 'matcalc' has no attribute {name!r}")
