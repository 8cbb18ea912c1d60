"""Elementwise functions: ``exp log sqrt abs sin cos tanh sigmoid softplus
relu`` (and ``sign``, ``step``, which their derivatives need).

Each is one row: its name, the numpy it prints to, its LaTeX, the domain its
argument must lie in, its scalar definition in sympy, and its derivative
written in terms of the function itself where that reads best
(``sigmoid' = sigmoid (1 - sigmoid)``).  A test checks every derivative
against ``sympy.diff`` of the definition.  ``relu`` and ``abs`` use the
subgradient 0 at 0 (``step(0) = sign(0) = 0``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

from ..index import nodes as I
from ..matrix import build as B
from . import Op, Rewrite, mp, register, rewrite

X = sympy.Symbol("x", real=True)
# Functions sympy should not rewrite (it would turn sigmoid into exp's): opaque.
OPAQUE = {name: sympy.Function(name) for name in ("sigmoid", "softplus", "relu", "sign", "step")}
_sig, _step, _sign = OPAQUE["sigmoid"], OPAQUE["step"], OPAQUE["sign"]

# name: (numpy, latex, domain, definition, derivative) -- the definition is the
# scalar function in sympy; the derivative is written in terms of the function
# itself where that reads best, and a test checks it against sympy.diff of the
# definition.  Both the matrix-level and the index-level derivatives are built
# from this one expression.
FUNCTIONS = {
    "exp": ("np.exp({0})", "\\exp({0})", None, sympy.exp(X), sympy.exp(X)),
    "log": ("np.log({0})", "\\log({0})", "positive", sympy.log(X), 1 / X),
    "sqrt": ("np.sqrt({0})", "\\sqrt{{{0}}}", "positive", sympy.sqrt(X), 1 / (2 * sympy.sqrt(X))),
    "abs": ("np.abs({0})", "\\lvert {0} \\rvert", None, sympy.Abs(X), _sign(X)),
    "sin": ("np.sin({0})", "\\sin({0})", None, sympy.sin(X), sympy.cos(X)),
    "cos": ("np.cos({0})", "\\cos({0})", None, sympy.cos(X), -sympy.sin(X)),
    "tanh": ("np.tanh({0})", "\\tanh({0})", None, sympy.tanh(X), 1 - sympy.tanh(X) ** 2),
    "sigmoid": ("_sigmoid({0})", "\\sigma({0})", None, 1 / (1 + sympy.exp(-X)), _sig(X) * (1 - _sig(X))),
    "softplus": ("np.logaddexp(0.0, {0})", "\\operatorname{{softplus}}({0})", None,
                 sympy.log(1 + sympy.exp(X)), _sig(X)),
    "relu": ("np.maximum({0}, 0.0)", "\\operatorname{{relu}}({0})", None, sympy.Max(X, 0), _step(X)),
    "sign": ("np.sign({0})", "\\operatorname{{sign}}({0})", None, sympy.sign(X), sympy.Integer(0)),
    "step": ("np.heaviside({0}, 0.0)", "\\operatorname{{step}}({0})", None, sympy.Heaviside(X, 0),
             sympy.Integer(0)),
}


def derivative_ir(name: str, arg):
    """f'(arg) as a matrix-level expression (from the one sympy derivative)."""
    from ..matrix.algebra import Algebra

    alg = Algebra()
    alg.leaf_of[X] = arg
    return alg.to_ir(FUNCTIONS[name][4])


def derivative_index(name: str, arg: I.IExpr) -> I.IExpr:
    """f'(arg) in index notation (from the same sympy derivative)."""
    return _to_index(FUNCTIONS[name][4], arg)


def _to_index(e, arg: I.IExpr) -> I.IExpr:
    if e == X:
        return arg
    if e.is_Number:
        return I.Num(Fraction(int(e.p), int(e.q)) if e.is_Rational else float(e))
    if e.is_Add:
        return I.Add(tuple(_to_index(t, arg) for t in e.args))
    if e.is_Mul:
        return I.Mul(tuple(_to_index(t, arg) for t in e.args))
    if e.is_Pow:
        return I.Pow(_to_index(e.base, arg), _to_index(e.exp, arg))
    name = {sympy.exp: "exp", sympy.log: "log", sympy.sin: "sin", sympy.cos: "cos",
            sympy.tanh: "tanh"}.get(e.func, str(e.func))
    return I.Func(name, _to_index(e.args[0], arg))


HELPERS = {
    "_sigmoid": '''def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))''',
}


def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


NUMPY = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin, "cos": np.cos,
    "tanh": np.tanh, "sigmoid": _sigmoid, "softplus": lambda x: np.logaddexp(0.0, x),
    "relu": lambda x: np.maximum(x, 0.0), "sign": np.sign, "step": lambda x: np.heaviside(x, 0.0),
}


def _same(shapes, attrs):
    return shapes[0]



# What the values can be: code generation uses it (Xᵀ diag(v) X as Sᵀ S needs v >= 0).
RANGES = {"exp": "nonnegative", "sqrt": "nonnegative", "abs": "nonnegative", "softplus": "nonnegative",
          "relu": "nonnegative", "step": "nonnegative", "sigmoid": "unit", }


def _vjp(g, node):
    return (B.mul(g, derivative_ir(node.op, node.args[0])),)


def _index(node, args, idx, pool):
    return I.Func(node.op, args[0](idx))


for _name, (_numpy, _latex, _domain, _definition, _derivative) in FUNCTIONS.items():
    register(Op(_name, "call", 1, _same, numpy=_numpy, latex=_latex, domain=(_domain,),
                doc=f"elementwise {_name}", vjp=_vjp, fn=NUMPY[_name], index=_index,
                mp=mp.elementwise(mp.scalar(_definition, X)),
                deriv=lambda x, _name=_name: derivative_ir(_name, x), elementwise=True,
                extra={"sympy": _definition, "helpers": ("_sigmoid",) if _name == "sigmoid" else (),
                       **({"letter": "H"} if _name in ("tanh", "sigmoid", "relu", "softplus") else {}),
                       "range": RANGES.get(_name)}))


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
