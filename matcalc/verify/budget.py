"""What one check may spend: a cap on the evaluations of the function under
check, so that the check costs a bounded multiple of one evaluation of the
module whatever the sizes, and a report of how far it has got (for a progress
bar) on the way.

Random directions and the noise model are always paid for; the comparisons
entry by entry take what is left, each scale an equal share of it (a random
subset of the entries where not all of them fit).
"""

from __future__ import annotations

from collections.abc import Callable

EVALUATIONS = 2000    # evaluations of the function under check (the value, or the gradient of a Hessian check)
PER_COMPARISON = 4    # evaluations of one comparison that passes at its first step (the five-point stencil)
WORST_COMPARISON = 16     # ... and of one that tries every step
SCALE_OVERHEAD = 40   # the noise model of a scale (two nine-point fits), its finite check and its directions
SCALE_WORST = 100     # ... when every direction tries every step and the point is drawn again

# spent(done, total): ``done`` of ``total`` evaluations spent so far (one check)
Spent = Callable[[int, int], None]
# progress(text, done, total): how far the check of a derivation has got, ``done`` of
# ``total`` results (fractions included), ``text`` saying what it is on
Progress = Callable[[str, float, float], None]


class Budget:
    """Evaluations one check may still spend, counted as the function is called."""

    def __init__(self, limit: int = EVALUATIONS, progress: Spent | None = None):
        self.limit = limit
        self.planned = limit     # what the check expects to spend (for progress)
        self.used = 0
        self.progress = progress

    def plan(self, scales: int, entries: int) -> None:
        """Expect ``scales`` scales of ``entries`` entry comparisons each."""
        self.planned = max(1, min(self.limit, scales * (SCALE_OVERHEAD + PER_COMPARISON * entries)))

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)

    def counted(self, f):
        """``f``, counting each call against the budget."""
        def call(values):
            self.used += 1
            if self.progress is not None:
                self.progress(min(self.used, self.planned), self.planned)
            return f(values)
        return call

    def entries(self, total: int, scales_left: int) -> int:
        """How many of ``total`` entry comparisons this scale may make: its equal
        share of what is left, after the fixed cost of the scales still to come."""
        share = (self.left - SCALE_OVERHEAD * max(0, scales_left - 1)) // max(1, scales_left)
        return max(0, min(total, (share - SCALE_OVERHEAD) // PER_COMPARISON))
