"""The operation registry: one record per operation of the language.

A record (:class:`matcalc.registry.Op`) holds everything about an operation in
one place: how the language spells it, its shape rule, the keyword parameters it
takes, its index-notation definition, its derivative (a scalar definition in
sympy for elementwise functions), its templates for numpy, the array API, LaTeX
and unicode, its precedence, and the input domain the numerical checks must
respect (``positive`` for ``log``).  The parser, the printers, the evaluators and
the code generator read the records.

Modules: :mod:`.arith` (``+ - * / ** @ .T``), :mod:`.elementwise`
(``exp log ...``), :mod:`.reductions` (``sum mean trace softmax ...``),
:mod:`.linalg` (``det logdet inv diag outer dot kron``), :mod:`.factor`
(``solve cholesky tril triu matrix_power``), :mod:`.constants`
(``ones eye``).
"""

from ..registry import (CALLABLE, OPS, PREC_ADD, PREC_ATOM, PREC_MUL, PREC_NEG, PREC_POSTFIX,  # noqa: F401
                        PREC_POW, REWRITES, Op, Rewrite, ShapeRule, register, rewrite)
from ..registry import EMIT_RULES, EmitRule, emit_rule  # noqa: F401
from ..registry import CODE_REWRITES, code_rewrite  # noqa: F401
from . import arith, constants, einsum, elementwise, linalg, reductions  # noqa: F401  (fill the registry)
from . import stats  # noqa: F401  (max min var std)
from . import choice  # noqa: F401,E402  (where, clip, erf, stop_gradient)
from . import einsum_grouped  # noqa: F401,E402  (reshape(einsum('ij,ip,iq->jiqp', ...), (p, q)))
from . import arith, constants, einsum, elementwise, factor, linalg, reductions  # noqa: F401  (fill the registry)
from . import arith, constants, einsum, elementwise, linalg, reductions, shape  # noqa: F401  (fill the registry)
from . import kron_gram  # noqa: F401  (Σ_i kron(T_i, p_i q_iᵀ): tried first)
from . import vec_code, kron_code, kron_sum  # noqa: F401,E402,I001  (emission rules for vec/Kronecker forms, in this order)
from .vec_code import is_operator  # noqa: F401,E402
from . import trace_code  # noqa: F401,E402  (trace of a product: the product never built)
from . import matvec_code  # noqa: F401,E402  ((A + B) @ x: the sum never built)
from . import gram_code  # noqa: F401,E402  (sum((X @ P) * X) and trace(X @ P @ X.T) through the Gram X.T @ X)
from . import spd_code  # noqa: F401,E402  (logdet of spd by Cholesky, outer products and inverses in products)
from . import layout_code  # noqa: F401,E402  (layout: products with the long side contiguous)
from . import tanh_code  # noqa: F401,E402  (1 - tanh²: sech² from the tanh, in blocks when multiplied)
from . import dot_code  # noqa: F401,E402  (sum(A * B) without the temporary)
