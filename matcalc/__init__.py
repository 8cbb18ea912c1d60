"""matcalc: gradients and Hessians of matrix expressions, in matrix form,
derived step by step and verified numerically.

>>> import matcalc
>>> d = matcalc.derive({"symbols": {"X": {"shape": ["n", "m"]}}, "dims": {"n": 3, "m": 2},
...                     "expr": "sum(X * X)"})
>>> d.shape
()
"""

from .errors import MatcalcError
from .pipeline import Derivation, derive

__version__ = "0.1.0"

__all__ = ["Derivation", "MatcalcError", "__version__", "derive"]
