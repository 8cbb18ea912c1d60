"""The operation records: one typed record per operation, read by every table.

Elementwise functions of any arity take their derivatives from sympy.diff of one
scalar definition, so each is checked here against central differences of its
numpy implementation, argument by argument; a function with a hand-written
``fdiff`` (sigmoid' = sigmoid (1 - sigmoid)) is checked against sympy.diff of its
own formula.  A new record is picked up by these tests without a new test.
"""

from __future__ import annotations

import dataclasses
import itertools
import string

import numpy as np
import pytest
import sympy

from matcalc import ir
from matcalc.language import to_text
from matcalc.parse import parse
from matcalc.ops import OPS, array_api
from matcalc.ops.elementwise import Defined, derivative_index, derivative_ir, derivatives
from matcalc.evaluate import evaluate
from matcalc.index.einsum import evaluate_index
from matcalc.render.latex import to_latex
from matcalc.render.template import LEVELS, fill
from matcalc.render.unicode import to_unicode

ELEMENTWISE = [name for name, op in OPS.items() if op.elementwise]
CALLS = [name for name, op in OPS.items() if op.syntax == "call"]


def _points(op, rng, count=7):
    """Points inside the op's domain, away from kinks (relu, abs, step at 0)."""
    out = rng.uniform(0.3, 2.0, size=(len(op.sympy_args), count))
    for k, need in enumerate(op.domain):
        if need is None:
            out[k] *= rng.choice([-1.0, 1.0], size=count)
    return out


def test_the_record_is_typed_with_no_free_form_bag():
    names = {f.name for f in dataclasses.fields(next(iter(OPS.values())))}
    assert "extra" not in names and "deriv" not in names
    assert {"letter", "rowwise", "log_form", "sums_to_one", "helpers", "numpy", "array_api", "latex",
            "unicode", "einsum", "sympy"} <= names
    with pytest.raises(dataclasses.FrozenInstanceError):
        OPS["exp"].latex = "e^{{{0}}}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_derivative_is_sympy_diff_of_the_definition(name):
    """∂f/∂x_k from the record agrees with central differences of numpy's f."""
    op = OPS[name]
    assert op.arity == len(op.sympy_args) == len(derivatives(name))
    rng = np.random.default_rng(1)
    xs = _points(op, rng)
    for k, d in enumerate(derivatives(name)):
        slope = sympy.lambdify(op.sympy_args, d.replace(lambda e: isinstance(e, Defined),
                                                      lambda e: type(e).formula(*e.args)), "numpy")
        h = 1e-6
        up, down = xs.copy(), xs.copy()
        up[k] += h
        down[k] -= h
        fd = (op.fn(*up) - op.fn(*down)) / (2 * h)
        np.testing.assert_allclose(np.broadcast_to(slope(*xs), fd.shape), fd, rtol=1e-6, atol=1e-8,
                                   err_msg=f"∂{name}/∂x{k}")


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if isinstance(OPS[n].sympy, Defined)])
def test_a_hand_written_fdiff_is_the_derivative_of_its_formula(name):
    op = OPS[name]
    formula = type(op.sympy).formula(*op.sympy_args)
    for x, d in zip(op.sympy_args, derivatives(name)):
        expanded = d.replace(lambda e: isinstance(e, Defined), lambda e: type(e).formula(*e.args))
        diff = sympy.simplify(expanded - sympy.diff(formula, x))
        # relu' = step and |x|' = sign differ from sympy's Heaviside(x) only at 0
        assert diff == 0 or diff.subs({s: sympy.Rational(3, 7) for s in op.sympy_args}) == 0, (name, x, diff)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_matrix_and_index_derivatives_agree(name):
    """derivative_ir (matrix level) and derivative_index (index level) are the same
    function: both built from the one sympy derivative."""
    op = OPS[name]
    rng = np.random.default_rng(2)
    syms = [ir.Symbol(("n",), f"a{k}") for k in range(op.arity)]
    values = dict(zip((s.name for s in syms), _points(op, rng, 3)))
    from matcalc.index.nodes import Entry, Index
    i = Index("i", "n")
    for k in range(op.arity):
        matrix = evaluate(derivative_ir(name, *syms, wrt=k), values, {"n": 3})
        index = evaluate_index(derivative_index(name, *(Entry(s.name, (i,)) for s in syms), wrt=k),
                               values, {"n": 3}, (i,))
        np.testing.assert_allclose(np.broadcast_to(matrix, (3,)), index, rtol=1e-12)


@pytest.mark.parametrize("name", CALLS)
def test_every_call_has_its_templates(name):
    op = OPS[name]
    assert op.numpy and op.array_api, name
    assert array_api.helpers_of(op.array_api) <= set(array_api.HELPERS)
    assert op.binds in LEVELS
    if op.leading_string is not None:    # einsum: the subscripts and the operands, named
        assert "{spec}" in op.latex and "{args}" in op.latex, name
        return
    for template in (op.latex, op.unicode):
        fill(template, lambda k, spec: "x")      # every field is an argument with a known spec
        assert all(spec in ("", "T", *LEVELS) for _, _, spec, _ in string.Formatter().parse(template)
                   if spec is not None)


@pytest.mark.parametrize("name", CALLS)
def test_every_call_prints_and_parses_back(name):
    """Each call op prints in the language, LaTeX and unicode at a shape its rule accepts."""
    op = OPS[name]
    shapes = [("n", "n"), ("n",), ()]
    if op.arity < 0:      # variadic (einsum): at each of its sample parameters
        for key, values in op.samples.items():
            for value in values:
                arity = op.arity_of({key: value})
                for combo in itertools.product(shapes[:2], repeat=arity):
                    args = [ir.Symbol(s, f"A{k}") for k, s in enumerate(combo)]
                    try:
                        node = ir.apply(name, args, {key: value})
                    except Exception:   # noqa: BLE001  (the shape rule refuses: try the next shapes)
                        continue
                    text, latex, uni = to_text(node), to_latex(node), to_unicode(node)
                    assert latex.count("{") == latex.count("}") and uni, (name, latex, uni)
                    assert parse(text, {a.name: a for a in args}, {"n": 3}) == node, (name, text)
                    break
        return
    domain = op.domain if isinstance(op.domain, tuple) else ()
    # a record's sample parameters (reshape's new shape, a subscript, matrix_power's k) or none
    params = [dict(zip(op.samples, values)) for values in itertools.product(*op.samples.values())]
    for combo, attrs in itertools.product(itertools.product(shapes, repeat=op.arity), params):
        # an argument that must be spd (cholesky) is declared so, as the parser asks
        args = [ir.Symbol(s, f"A{k}", frozenset({"spd"}) if k < len(domain) and domain[k] == "spd" and len(s) == 2
                          else frozenset()) for k, s in enumerate(combo)]
        try:
            node = ir.apply(name, args, {"dims": ("n",)} if op.dim_args else attrs)
        except Exception:   # noqa: BLE001  (the shape rule refuses: try the next shapes)
            continue
        text, latex, uni = to_text(node), to_latex(node), to_unicode(node)
        assert latex.count("{") == latex.count("}") and uni, (name, latex, uni)
        assert parse(text, {a.name: a for a in args}, {"n": 3}) == node, (name, text)
        return
    pytest.fail(f"{name}: no sample shape fits")


def test_helpers_come_with_their_records():
    from matcalc.codegen import HELPERS
    from matcalc.ops import EMIT_RULES      # and with the emission rules (matcalc/ops/kron_code.py)
    assert set(HELPERS) == ({h for op in OPS.values() for h in op.helpers}
                            | {h for rules in EMIT_RULES.values() for rule in rules for h in rule.helpers})
    for name, op in OPS.items():
        for helper in op.helpers:
            assert helper in op.numpy, (name, helper)
