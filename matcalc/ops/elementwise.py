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
from . import Op, register

_x = sympy.Symbol("x", real=True)



def _f(name):
    return lambda x: B.call(name, x)


# name: (numpy, latex, domain, sympy definition, derivative in IR)
FUNCTIONS = {
    "exp": ("np.exp({0})", "\\exp({0})", None, sympy.exp(_x), _f("exp")),
    "log": ("np.log({0})", "\\log({0})", "positive", sympy.log(_x), lambda x: B.div(B.ONE, x)),
    "sqrt": ("np.sqrt({0})", "\\sqrt{{{0}}}", "positive", sympy.sqrt(_x),
             lambda x: B.div(B.num(Fraction(1, 2)), B.call("sqrt", x))),
    "abs": ("np.abs({0})", "\\lvert {0} \\rvert", None, sympy.Abs(_x), _f("sign")),
    "sin": ("np.sin({0})", "\\sin({0})", None, sympy.sin(_x), _f("cos")),
    "cos": ("np.cos({0})", "\\cos({0})", None, sympy.cos(_x), lambda x: B.neg(B.call("sin", x))),
    "tanh": ("np.tanh({0})", "\\tanh({0})", None, sympy.tanh(_x),
             lambda x: B.sub(B.ONE, B.power(B.call("tanh", x), B.num(2)))),
    "sigmoid": ("_sigmoid({0})", "\\sigma({0})", None, 1 / (1 + sympy.exp(-_x)),
                lambda x: B.mul(B.call("sigmoid", x), B.sub(B.ONE, B.call("sigmoid", x)))),
    "softplus": ("np.logaddexp(0.0, {0})", "\\operatorname{{softplus}}({0})", None,
                 sympy.log(1 + sympy.exp(_x)), _f("sigmoid")),
    "relu": ("np.maximum({0}, 0.0)", "\\operatorname{{relu}}({0})", None, sympy.Max(_x, 0), _f("step")),
    "sign": ("np.sign({0})", "\\operatorname{{sign}}({0})", None, sympy.sign(_x), lambda x: B.ZERO),
    "step": ("np.heaviside({0}, 0.0)", "\\operatorname{{step}}({0})", None, sympy.Heaviside(_x, 0),
             lambda x: B.ZERO),
}


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



for _name, (_numpy, _latex, _domain, _definition, _deriv) in FUNCTIONS.items():
    def _vjp(g, node, _deriv=_deriv):
        return (B.mul(g, _deriv(node.args[0])),)
    register(Op(_name, "call", 1, _same, numpy=_numpy, latex=_latex, domain=(_domain,),
                doc=f"elementwise {_name}", vjp=_vjp, fn=NUMPY[_name],
                index=lambda node, args, idx, pool: I.Func(node.op, args[0](idx)), deriv=_deriv, elementwise=True,
                extra={"sympy": _definition, "helpers": ("_sigmoid",) if _name == "sigmoid" else ()}))
