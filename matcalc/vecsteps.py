"""The steps of a derivative in the vec convention, formatted from the recognizer's log.

A Jacobian ``∂ vec F / ∂ (vec X)ᵀ`` (and a Hessian w.r.t. a matrix, the Jacobian of the
gradient ``G``; and a mixed ``∂² J / ∂ vec W1 ∂ (vec W2)ᵀ``, that of ``G1`` w.r.t. ``W2``)
is derived as Magnus and Neudecker write it:

1. the differential in matrix form, term by term, one term per
   :class:`~matcalc.matrix.kronecker.VecTerm` the recognizer read::

       straight   L ∘ (A (R ∘ dX) Bᵀ)        crossed   L ∘ (A (R ∘ dX)ᵀ Bᵀ)        outer   A tr(Bᵀ dX)

2. vectorized with the vec rules, each named where first used (:data:`VEC_RULE_KEYS`)::

       vec(A B C) = (Cᵀ ⊗ A) vec B      vec(Xᵀ) = K_mn vec X
       vec(A ∘ B) = diag(vec A) vec B   vec(A (B : X)) = vec(A) vec(B)ᵀ vec X

   so ``d vec F = (Σ c diag(vec L) (B ⊗ A) [K_mn] diag(vec R)) d vec X``;
3. the tidy rules that fired (``Result.rules``) and the result.

Nothing here differentiates or simplifies: each term is the log's own record, written
back as the differential it stands for (an identity factor left out: ``I dX Iᵀ`` is ``dX``;
a size-1 axis left out: ``A dX reshape(x, (1, n))ᵀ`` is ``A dX x``).

>>> from matcalc.matrix.kronecker import VecTerm
>>> A, X, Bm = ir.Symbol(("a", "m"), "A"), ir.Symbol(("m", "n"), "X"), ir.Symbol(("b", "n"), "B")
>>> dX = ir.Symbol(("m", "n"), "dX")
>>> t = VecTerm("straight", A, Bm, None, None, None, B.call("kron", Bm, A))
>>> from matcalc.render.text import to_text
>>> to_text(differential(t, dX)), term_rules(t)
('A @ dX @ B.T', ('vec-product',))
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .matrix import build as B
from .matrix.kronecker import VecTerm
from .matrix.rule import Fact, Step

__all__ = ["VEC_RULE_KEYS", "VecSteps", "differential", "is_vec", "term_rules", "vec_steps"]

# the vec rules a term uses, by key (matcalc.render.vecblocks prints each identity):
# vec-product vec(ABC) = (Cᵀ ⊗ A) vec B, vec-transpose vec(Xᵀ) = K_mn vec X,
# vec-hadamard vec(A ∘ B) = diag(vec A) vec B, vec-outer vec(A (B : X)) = vec(A) vec(B)ᵀ vec X
VEC_RULE_KEYS = ("vec-product", "vec-transpose", "vec-hadamard", "vec-outer")


@dataclass
class VecSteps:
    """Everything the vec-convention steps of one result show, as data."""

    kind: str                          # "jacobian" | "hessian" | "mixed"
    of: str                            # the function differentiated: "J" (a Jacobian) or "G" (a gradient)
    of_shape: tuple                    # its shape
    gradient: ir.Expr | None           # G = ∂J/∂W for a Hessian or a mixed derivative
    gradient_of: str | None            # W: whose gradient G is
    wrt: ir.Symbol                     # X
    dX: ir.Symbol                      # the differential of X, a symbol named d + X's name
    terms: list[VecTerm]
    differentials: list[ir.Expr]       # each term's differential in dX
    forms: list[ir.Expr]               # each term's Kronecker form, for printing (kron_form: a vector
                                       # factor is the row xᵀ it stands for, so kron(xᵀ, A) only prints)
    rules: list[str]                   # keys of VEC_RULES, in the order first used
    fired: tuple[Step, ...] = ()       # the tidy rules (Result.rules)
    facts: tuple[Fact, ...] = ()
    result: ir.Expr | None = None
    hvp: ir.Expr | None = None         # order 2: H vec(dX) as a matrix in dX
    direction: ir.Symbol | None = None
    total: ir.Expr | None = None       # dF: the differentials added up
    form_total: ir.Expr | None = None  # the Kronecker forms added up


def is_vec(problem, result) -> bool:
    """Is ``result`` a derivative in the vec convention (a matrix w.r.t. a matrix or a
    vector, a vector w.r.t. a matrix, a Hessian w.r.t. a matrix, a mixed one)?"""
    if result.kind == "mixed":
        out, sym = result.gradient, problem.symbols[result.pair[1]]
    elif result.kind == "hessian":
        return problem.symbols[result.symbol].rank == 2
    elif result.kind == "jacobian":
        out, sym = problem.expr, problem.symbols[result.symbol]
    else:
        return False
    return out is not None and out.rank > 0 and sym.rank > 0 and out.rank + sym.rank > 2


def vec_steps(problem, result) -> VecSteps | None:
    """The steps of a vec-convention ``result``, read off its ``vec_terms`` and ``rules``."""
    if not is_vec(problem, result):
        return None
    if result.kind == "mixed":
        first, second = result.pair
        of, wrt, gradient, gradient_of = "G", problem.symbols[second], result.gradient, first
    elif result.kind == "hessian":
        of, wrt, gradient, gradient_of = "G", problem.symbols[result.symbol], result.gradient, result.symbol
    else:
        of, wrt, gradient, gradient_of = "J", problem.symbols[result.symbol], None, None
    taken = set(problem.symbols) | set(problem.dims) | {x.name for x in getattr(problem, "let", ())}
    of = ir.free_name(of, taken) if of == "G" else of
    dX = ir.Symbol(wrt.shape, ir.free_name("d" + wrt.name, taken))
    terms = list(result.vec_terms)
    rules: list[str] = []
    for t in terms:
        rules += [k for k in term_rules(t, wrt.rank) if k not in rules]
    of_shape = problem.expr.shape if of == "J" else gradient.shape
    differentials, forms = [differential(t, dX) for t in terms], [kron_form(t, wrt) for t in terms]
    return VecSteps(result.kind, of, tuple(of_shape), gradient, gradient_of, wrt, dX, terms, differentials,
                    forms, rules, tuple(result.rules), tuple(result.facts), result.matrix, result.hvp,
                    result.direction, _added(differentials), _added(forms))


def piece(M: ir.Expr | None) -> ir.Expr | None:
    """A factor of a VecTerm as a person writes it: the vector of a ``reshape(v, (1, n))``
    or ``reshape(v, (n, 1))`` (its orientation is ``M.shape``), None for ``ones(1, 1)``."""
    if M is None or (B.is_ones(M) and tuple(M.shape) == (1, 1)):
        return None
    if B.is_op(M, "reshape") and M.args[0].rank == 1:
        return M.args[0]
    return M


def is_identity(M: ir.Expr | None) -> bool:
    return M is None or B.is_eye(piece(M)) or piece(M) is None


def term_rules(t: VecTerm, wrt_rank: int = 2) -> tuple[str, ...]:
    """The vec rules that turn the term's differential into its Kronecker form, in order."""
    if t.kind == "outer":
        return ("vec-outer",)
    if t.kind == "einsum":
        return ()
    if t.kind == "middle":        # P diag(vec M) Q: Q's rules, the Hadamard product, then P's
        inner = [k for part in reversed(t.parts) for s in part for k in term_rules(s, wrt_rank)]
        return tuple(dict.fromkeys(inner + ["vec-hadamard"]))
    out = ["vec-hadamard"] if t.left is not None else []
    if not (is_identity(t.A) and is_identity(t.B)):
        out.append("vec-product")
    if t.kind == "crossed" and wrt_rank == 2:
        out.append("vec-transpose")
    if t.right is not None and "vec-hadamard" not in out:
        out.append("vec-hadamard")
    return tuple(out)


def differential(t: VecTerm, dX: ir.Expr) -> ir.Expr:
    """The term of ``dF`` that ``t`` stands for, in ``dX`` (see the module docstring); a
    middle term ``P diag(vec M) Q`` is ``P``'s differential at ``M ∘ (Q``'s at ``dX)``, an
    einsum term the einsum with ``dX`` as one more operand."""
    if t.kind == "middle":
        p_log, q_log = t.parts
        inner = _added([differential(q, dX) for q in q_log])
        return _scaled(t.scale, _added([differential(p, B.mul(t.left, inner)) for p in p_log]))
    if t.kind == "einsum":
        return _scaled(t.scale, _einsum_applied(t.A, dX))
    x = B.mul(t.right, dX) if t.right is not None else dX
    if t.kind == "outer":
        body = _outer_term(t, x)
    else:
        a, b = piece(t.A), piece(t.B)
        body = _product(a, B.T(x) if t.kind == "crossed" else x, b, t.B)
    if t.left is not None:
        body = B.mul(t.left, body)
    return _scaled(t.scale, body)


def _product(a: ir.Expr | None, x: ir.Expr, b: ir.Expr | None, b_raw: ir.Expr) -> ir.Expr:
    """``A x Bᵀ``, a vector factor read as a column: ``B = reshape(v, (1, n))`` gives
    ``Bᵀ = v``, ``B = reshape(v, (n, 1))`` gives ``Bᵀ = vᵀ``; ``A = reshape(u, (m, 1))``
    before ``dxᵀ`` (a vector X, crossed) is the outer product ``u dxᵀ``."""
    if a is None:
        left = x
    else:
        left = B.matmul(a, x) if a.rank == 2 else B.outer(a, x)
    if b is None:
        return left
    if b.rank == 2:
        return B.matmul(left, B.T(b))
    if b_raw.shape[0] == 1:
        return B.matmul(left, b)
    return B.outer(left, b)


def _outer_term(t: VecTerm, x: ir.Expr) -> ir.Expr:
    """``A (B : dX)``: the scalar ``B : dX`` written ``tr(Bᵀ dX)`` (``bᵀ dx`` for vectors)."""
    a, b = piece(t.A), piece(t.B)
    inner = B.call("trace", B.matmul(B.T(b), x)) if b.rank == 2 else B.call("dot", b, x)
    return inner if a is None else B.mul(a, inner)


def kron_form(t: VecTerm, wrt: ir.Symbol) -> ir.Expr:
    """``t.form`` as printed: a vector factor as the row ``vᵀ`` or the column ``v`` it is
    (``reshape(x, (1, n)) ⊗ A`` is ``xᵀ ⊗ A``), and ``I ⊗ I`` left out as ``I dX I`` is
    (the identity alone: ``I``)."""
    if t.kind in ("outer", "middle", "einsum"):
        return _leading(t.form)
    body = None
    if not (is_identity(t.A) and is_identity(t.B)):
        real = B.call("kron", t.B, t.A)
        body = ir.Apply(shape=real.shape, op=real.op, args=(_shown(t.B), _shown(t.A)), attrs=real.attrs)
    if t.kind == "crossed" and wrt.rank == 2:
        body = _then(body, B.call("commutation", dims=tuple(wrt.shape)))
    if t.left is not None:
        body = _then(B.call("diag", B.call("vec", t.left)), body)
    if t.right is not None:
        body = _then(body, B.call("diag", B.call("vec", t.right)))
    return _scaled(t.scale, B.eye(t.form.shape[0]) if body is None else body)     # I dX I: vec dX = I d vec X


def _leading(e: ir.Expr) -> ir.Expr:
    """``(1/c) M`` for ``M / c`` with a scalar ``c`` (``-(1/c) M`` for ``-M / c``): a long
    product over a denominator is written after its scale, so the line can break in it."""
    if B.is_op(e, "neg"):
        inner = _leading(e.args[0])
        return e if inner is e.args[0] else ir.apply("neg", [inner])
    if B.is_op(e, "div") and e.args[1].rank == 0 and e.args[0].rank == 2:
        return ir.apply("mul", [ir.apply("div", [B.ONE, e.args[1]]), e.args[0]])
    return e


def _einsum_applied(grouped: ir.Expr, dX: ir.Expr) -> ir.Expr:
    """``reshape(einsum('...->jiqp', ...), ...) vec(dX)`` unvectorized: the einsum with ``dX``
    (letters ``pq``) as one more operand, out ``ij`` (the recognizer's letters for F and X)."""
    from .ops.einsum import parse_spec

    ins, out = parse_spec(grouped.attr("spec"))
    f_letters = "".join(c for c in "ij" if c in out)
    x_letters = "".join(c for c in "pq" if c in out)
    spec = ",".join(ins + [x_letters]) + "->" + f_letters
    return B.call("einsum", *grouped.args, dX, spec=spec)


def _then(a: ir.Expr | None, b: ir.Expr | None) -> ir.Expr:
    return b if a is None else a if b is None else B.matmul(a, b)


def _shown(M: ir.Expr) -> ir.Expr:
    """A Kronecker factor as printed: ``reshape(v, (1, n))`` is ``vᵀ``, ``reshape(v, (n, 1))`` is ``v``."""
    v = piece(M)
    if v is None or v.rank == 2:
        return M
    return ir.apply("transpose", [v]) if M.shape[0] == 1 else v


def _scaled(c: ir.Expr | None, body: ir.Expr) -> ir.Expr:
    return body if c is None else B.mul(c, body)


def _added(terms: list[ir.Expr]) -> ir.Expr | None:
    """``t1 + t2 + ...``, a negated term or one with a negative number in front subtracted."""
    out = None
    for t in terms:
        if out is None:
            out = t
            continue
        minus = _negated(t)
        out = B.add(out, t) if minus is None else B.sub(out, minus)
    return out


def _negated(t: ir.Expr) -> ir.Expr | None:
    """``a`` for ``-a`` or ``c a`` with a number ``c < 0`` (as ``|c| a``), else None."""
    if B.is_op(t, "neg"):
        return t.args[0]
    if B.is_op(t, "mul") and B.is_op(t.args[0], "div") and isinstance(t.args[0].args[0], ir.Number) \
            and t.args[0].args[0].value < 0:                     # (-1/n) a
        c = t.args[0]
        return B.mul(B.div(B.num(-c.args[0].value), c.args[1]), t.args[1])
    if B.is_op(t, "mul", "div") and isinstance(t.args[0], ir.Number) and t.args[0].value < 0:
        c = B.num(-t.args[0].value)
        rest = t.args[1]
        return (rest if c.value == 1 else B.mul(c, rest)) if t.op == "mul" else B.div(c, rest)
    return None
