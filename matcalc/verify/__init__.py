"""Numerical verification: random inputs that respect the declared props and
domain (:mod:`.sample`), central finite differences (:mod:`.differences`,
with its noise model in :mod:`.noise` and its budget of evaluations in
:mod:`.budget`), the emitted module run function by function (:mod:`.module`;
many gradients together, :mod:`.together`), the stability probe against exact
arithmetic (:mod:`.stability`), and the memory the check needs, refused before
anything is allocated when it is too much (:mod:`.memory`).
"""

from .budget import EVALUATIONS, Progress
from .differences import FAILED, NOT_JUDGED, PASSED, REL_TOL, SCALES, Check, check_function
from .evaluated import check_derivative
from .module import check_module
from .sample import UNSCALED, direction, domains, draw_inputs, draw_within, entry_directions, margin, sample

__all__ = ["EVALUATIONS", "FAILED", "NOT_JUDGED", "PASSED", "REL_TOL", "SCALES", "UNSCALED", "Check", "Progress",
           "check_derivative", "check_function", "check_module", "direction", "domains", "draw_inputs",
           "draw_within", "entry_directions", "margin", "sample"]
