"""Print IR in the expression language: :mod:`matcalc.language`, named here
beside the other printers."""

from ..language import format_number, precedence, to_text  # noqa: F401
