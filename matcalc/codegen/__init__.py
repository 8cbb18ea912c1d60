"""Code generation: matrix-form results -> a numpy (or array-API) module.

:mod:`.numerics` rewrites to stable forms, :mod:`.emit` prints IR as code,
:mod:`.module` assembles and loads the module.
"""

from .emit import expression
from .module import HELPERS, TARGETS, callables, docstring, emit_module, load_module
from .numerics import nonnegative, share_logs, stabilize

__all__ = ["HELPERS", "TARGETS", "callables", "docstring", "emit_module", "expression", "load_module", "nonnegative",
           "share_logs", "stabilize"]
