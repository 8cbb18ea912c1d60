"""Elementwise functions: ``exp log sqrt abs sin cos tanh sigmoid softplus
relu log1p maximum`` (and ``sign``, ``step``, which their derivatives need).

Each is one row (:func:`function`): its name, its scalar definition in sympy
(a function of one symbol per argument, any number of arguments), its numpy,
array-API, LaTeX and unicode templates, and the domain its arguments must lie
in.  Derivatives are ``sympy.diff`` of the definition, one per argument; a
function that reads better in terms of itself (``sigmoid' = sigmoid (1 -
sigmoid)``) is a :class:`Defined` sympy function whose ``fdiff`` is part of its
one definition.  Both the matrix-level VJP and the index-level derivative are
built from that one derivative.  ``relu`` and ``abs`` use the subgradient 0 at 0
(``step(0) = sign(0) = 0``).
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import sympy

from ..index import nodes as I
from ..index.lower import broadcast_indices
from ..matrix import build as B
from ..registry import OPS, Op, Rewrite, register, rewrite
from ..shapes import broadcast
from . import mp

X, Y = sympy.symbols("x y", real=True)
SYMBOLS = (X, Y, *sympy.symbols("z w", real=True))     # the arguments of a scalar definition, in order


class Defined(sympy.Function):
    """An elementwise function sympy keeps whole (it would turn sigmoid into exp's).
    ``formula`` is its value (for the exact evaluator and, for several arguments,
    its index notation); ``fdiff`` is sympy.diff of it unless a subclass writes the
    derivative in terms of the function itself.  The class name is the op's name."""

    @classmethod
    def formula(cls, *args):
        raise NotImplementedError

    def fdiff(self, argindex=1):
        d = sympy.Dummy("d", real=True)
        args = list(self.args)
        args[argindex - 1] = d
        return sympy.diff(self.formula(*args), d).subs(d, self.args[argindex - 1])


class sigmoid(Defined):  # noqa: N801  (named as the language spells it)
    """σ(x) = 1 / (1 + e⁻ˣ);  σ' = σ (1 − σ)."""

    @classmethod
    def formula(cls, x):
        return 1 / (1 + sympy.exp(-x))

    def fdiff(self, argindex=1):
        return self * (1 - self)


class softplus(Defined):  # noqa: N801
    """log(1 + eˣ);  softplus' = σ."""

    @classmethod
    def formula(cls, x):
        return sympy.log(1 + sympy.exp(x))

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


class step(Defined):  # noqa: N801
    """1 for x > 0, else 0;  step' = 0 (almost everywhere)."""

    _imp_ = staticmethod(lambda x: np.heaviside(x, 0.0))    # (for sympy.lambdify, inside other formulas)

    @classmethod
    def formula(cls, x):
        return sympy.Heaviside(x, 0)

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


class relu(Defined):  # noqa: N801
    """max(x, 0);  relu' = step (0 at 0)."""

    @classmethod
    def formula(cls, x):
        return sympy.Max(x, 0)

    def fdiff(self, argindex=1):
        return step(self.args[0])


class sign(Defined):  # noqa: N801
    """−1, 0, 1;  sign' = 0 (almost everywhere)."""

    @classmethod
    def formula(cls, x):
        return sympy.sign(x)

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


def derivatives(name: str) -> tuple[sympy.Expr, ...]:
    """∂f/∂x_k of the op's scalar definition, one per argument (sympy.diff).

    >>> derivatives("sigmoid")
    ((1 - sigmoid(x))*sigmoid(x),)
    """
    return _derivatives(OPS[name])


@functools.cache
def _derivatives(op: Op) -> tuple[sympy.Expr, ...]:
    # once per record: sympy.diff costs a millisecond, and reverse mode asks at every node
    # (π, as in erf' = 2 e^{-x²} / √π, as a float: the language has no π)
    return tuple(sympy.diff(op.sympy, x).xreplace({sympy.pi: sympy.Float(np.pi)}) for x in op.sympy_args)


def derivative_ir(name: str, *args, wrt: int = 0):
    """∂f/∂x_wrt at ``args`` as a matrix-level expression (from sympy.diff)."""
    from ..matrix.algebra import Algebra

    alg = Algebra()
    alg.leaf_of.update(zip(OPS[name].sympy_args, args))
    return alg.to_ir(derivatives(name)[wrt])


def derivative_index(name: str, *args: I.IExpr, wrt: int = 0) -> I.IExpr:
    """∂f/∂x_wrt at ``args`` in index notation (from the same sympy.diff)."""
    return _to_index(derivatives(name)[wrt], dict(zip(OPS[name].sympy_args, args)))


def _names() -> dict:
    """sympy's own function classes -> op names (exp -> "exp", Abs -> "abs")."""
    return {op.sympy.func: name for name, op in OPS.items()
            if op.elementwise and op.sympy is not None and op.sympy.args == op.sympy_args[:1]
            and not op.sympy.is_Pow}


def _to_index(e, leaves: dict) -> I.IExpr:
    if e in leaves:
        return leaves[e]
    if e.is_Number:
        return I.Num(Fraction(int(e.p), int(e.q)) if e.is_Rational else float(e))
    if e.is_Add:
        return I.Add(tuple(_to_index(t, leaves) for t in e.args))
    if e.is_Mul:
        return I.Mul(tuple(_to_index(t, leaves) for t in e.args))
    if e.is_Pow:
        return I.Pow(_to_index(e.base, leaves), _to_index(e.exp, leaves))
    if isinstance(e, Defined) and len(e.args) > 1:     # where(a, b, 1, 0): by its formula
        return _to_index(type(e).formula(*e.args), leaves)
    return I.Func(_names().get(e.func, str(e.func)), _to_index(e.args[0], leaves))


def _shape(shapes, attrs):
    out = shapes[0]
    for s in shapes[1:]:
        out = broadcast(out, s)
    return tuple(out)


def _vjp(g, node):
    """G ∘ ∂f/∂x_k for each argument, summed over the axes it was broadcast along."""
    return tuple(B.unbroadcast(B.mul(g, derivative_ir(node.op, *node.args, wrt=k)), a.shape)
                 for k, a in enumerate(node.args))


def _index(node, args, idx, pool):
    """f(A)_ij = f(A_ij); a function of several arguments by its formula over the
    entries (index notation names functions of one argument only)."""
    entries = [lower(broadcast_indices(a.shape, idx)) for a, lower in zip(node.args, args)]
    if len(entries) == 1:
        return I.Func(node.op, entries[0])
    op = OPS[node.op]
    return _to_index(op.sympy.func.formula(*op.sympy_args), dict(zip(op.sympy_args, entries)))


def function(name: str, definition, numpy: str, fn, *, latex: str = "", unicode: str = "",
             array_api: str = "", domain=None, range_=None, helpers=None, letter: str = "",
             einsum=None, vjp=None, **more) -> Op:
    """Register the elementwise function ``name``: ``definition`` is its scalar
    value in sympy, a function of the first few of :data:`SYMBOLS`."""
    arity = 1 + max(k for k, x in enumerate(SYMBOLS) if x in definition.free_symbols)
    symbols = SYMBOLS[:arity]
    exact = definition.func.formula(*symbols) if isinstance(definition, Defined) else definition
    fields = ", ".join(f"{{{k}}}" for k in range(arity))
    return register(Op(name, "call", arity, _shape, numpy=numpy, array_api=array_api,
                       latex=latex or f"\\operatorname{{{{{name}}}}}({fields})", unicode=unicode,
                       domain=domain or (None,) * arity, doc=f"elementwise {name}", vjp=vjp or _vjp, fn=fn,
                       einsum=einsum, index=_index,
                       mp=more.pop("mp", None) or mp.elementwise(mp.scalar(exact, *symbols), arity),
                       elementwise=True, sympy=definition, sympy_args=symbols, helpers=helpers or {},
                       letter=letter, range=range_, **more))


def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


SIGMOID_SOURCE = '''def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))'''

function("exp", sympy.exp(X), "np.exp({0})", np.exp, latex="\\exp({0})", array_api="xp.exp({0})",
         range_="nonnegative")
function("log", sympy.log(X), "np.log({0})", np.log, latex="\\log({0})", array_api="xp.log({0})",
         domain=("positive",))
function("sqrt", sympy.sqrt(X), "np.sqrt({0})", np.sqrt, latex="\\sqrt{{{0}}}", array_api="xp.sqrt({0})",
         domain=("positive",), range_="nonnegative")
function("abs", sympy.Abs(X), "np.abs({0})", np.abs, latex="\\lvert {0} \\rvert", array_api="xp.abs({0})",
         range_="nonnegative")
function("sin", sympy.sin(X), "np.sin({0})", np.sin, latex="\\sin({0})", array_api="xp.sin({0})")
function("cos", sympy.cos(X), "np.cos({0})", np.cos, latex="\\cos({0})", array_api="xp.cos({0})")
function("tanh", sympy.tanh(X), "np.tanh({0})", np.tanh, latex="\\tanh({0})", array_api="xp.tanh({0})",
         letter="H")
function("sigmoid", sigmoid(X), "_sigmoid({0})", _sigmoid, latex="\\sigma({0})", unicode="σ({0})",
         array_api="_sigmoid(xp, {0})", range_="unit", helpers={"_sigmoid": SIGMOID_SOURCE}, letter="H",
         einsum=lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)))
function("softplus", softplus(X), "np.logaddexp(0.0, {0})", lambda x: np.logaddexp(0.0, x),
         array_api="_softplus(xp, {0})", range_="nonnegative", letter="H",
         einsum=lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0))
function("relu", relu(X), "np.maximum({0}, 0.0)", lambda x: np.maximum(x, 0.0),
         array_api="xp.clip({0}, min=0.0)", range_="nonnegative", letter="H",
         einsum=lambda x: np.where(x > 0, x, 0.0))
function("sign", sign(X), "np.sign({0})", np.sign, array_api="xp.sign({0})")
function("step", step(X), "np.heaviside({0}, 0.0)", lambda x: np.heaviside(x, 0.0), latex="[{0} > 0]",
         unicode="[{0} > 0]", array_api="_step(xp, {0})", range_="nonnegative",    # (Iverson's bracket)
         einsum=lambda x: (x > 0).astype(x.dtype))

function("log1p", sympy.log(1 + X), "np.log1p({0})", np.log1p, array_api="xp.log1p({0})",
         domain=("positive",))      # (defined for x > -1; the sampler's nearest prop is positive)


class maximum(Defined):  # noqa: N801
    """The larger of two numbers, with numpy's broadcasting: max(a, b) = (a + b + |a − b|) / 2.
    At a tie the gradient is split evenly, ∂/∂a = Heaviside(a − b, 1/2), written
    (1 + sign(a − b)) / 2: the same function (1/2 at 0), in ops the engine prints
    and numpy evaluates exactly."""

    @classmethod
    def formula(cls, a, b):
        return (a + b + sympy.Abs(a - b)) / 2

    def fdiff(self, argindex=1):
        a, b = self.args if argindex == 1 else reversed(self.args)
        return (1 + sympy.sign(a - b)) / 2


function("maximum", maximum(X, Y), "np.maximum({0}, {1})", np.maximum, latex="\\max({0}, {1})",
         array_api="xp.maximum({0}, {1})")


class minimum(Defined):  # noqa: N801
    """The smaller of two numbers: min(a, b) = (a + b − |a − b|) / 2; at a tie the
    gradient is split evenly, ∂/∂a = (1 − sign(a − b)) / 2."""

    @classmethod
    def formula(cls, a, b):
        return (a + b - sympy.Abs(a - b)) / 2

    def fdiff(self, argindex=1):
        a, b = self.args if argindex == 1 else reversed(self.args)
        return (1 - sympy.sign(a - b)) / 2


function("minimum", minimum(X, Y), "np.minimum({0}, {1})", np.minimum, latex="\\min({0}, {1})",
         array_api="xp.minimum({0}, {1})")
function("expm1", sympy.exp(X) - 1, "np.expm1({0})", np.expm1, array_api="xp.expm1({0})")
function("square", X ** 2, "np.square({0})", np.square, array_api="xp.square({0})", range_="nonnegative")


class log_sigmoid(Defined):  # noqa: N801
    """log σ(x) = −log(1 + e⁻ˣ);  log_sigmoid' = σ(−x)."""

    @classmethod
    def formula(cls, x):
        return -sympy.log(1 + sympy.exp(-x))

    def fdiff(self, argindex=1):
        return sigmoid(-self.args[0])


function("log_sigmoid", log_sigmoid(X), "-np.logaddexp(0.0, -{0})", lambda x: -np.logaddexp(0.0, -x),
         latex="\\log \\sigma({0})", unicode="log σ({0})", array_api="-_softplus(xp, -{0})",
         einsum=lambda x: -(np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0.0)))


# -- stable forms for emitted code (matcalc.codegen.stabilize applies them) ----------

def _one_minus(node, inner: str, power: int = 1):
    """The argument x when ``node`` is ``1 - inner(x) ** power``, else None."""
    if node.op != "sub" or not (B.is_num(node.args[0], 1) or B.is_ones(node.args[0])):
        return None
    f = node.args[1]
    if power != 1:
        if not (B.is_op(f, "pow") and B.is_num(f.args[1], power)):
            return None
        f = f.args[0]
    return f.args[0] if B.is_op(f, inner) and f.shape == node.shape else None


def _sigmoid_of(x, sign: int = 1):
    return B.call("sigmoid", B.neg(x) if sign < 0 else x)


rewrite(Rewrite("sigmoid complement", "1 - σ(x) = σ(-x)", "sub",
                lambda node: (lambda x: None if x is None else _sigmoid_of(x, -1))(_one_minus(node, "sigmoid"))))
rewrite(Rewrite("tanh derivative", "1 - tanh²(x) = 4 σ(2x) σ(-2x)", "sub",
                lambda node: (lambda x: None if x is None else B.mul(
                    B.mul(B.num(4), _sigmoid_of(B.mul(B.num(2), x))), _sigmoid_of(B.mul(B.num(2), x), -1))
                )(_one_minus(node, "tanh", 2))))
rewrite(Rewrite("log of sigmoid", "log σ(x) = -softplus(-x)", "log",
                lambda node: B.neg(B.call("softplus", B.neg(node.args[0].args[0])))
                if B.is_op(node.args[0], "sigmoid") else None))
rewrite(Rewrite("log of exp", "log exp(x) = x", "log",
                lambda node: node.args[0].args[0] if B.is_op(node.args[0], "exp") else None))
rewrite(Rewrite("softplus", "log(1 + exp(x)) = softplus(x)", "log",
                lambda node: B.call("softplus", node.args[0].args[1].args[0])
                if B.is_op(node.args[0], "add") and B.is_num(node.args[0].args[0], 1)
                and B.is_op(node.args[0].args[1], "exp") else None))
