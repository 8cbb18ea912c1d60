"""Every operation of the registry, checked three ways at every shape its
shape rule accepts (so a new operation is tested without a new test):

1. its index-notation definition, evaluated by einsum, equals its numpy value;
2. its derivative (the vjp in matrix form) equals the derivative obtained
   *elementwise* from its index definition: Σ_out G_out ∂N_out/∂A_pq with
   Kronecker deltas, contracted (matcalc.index.calculus);
3. the vjp agrees with central finite differences of sum(G * N).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from matcalc import ir
from matcalc.evaluate import evaluate
from matcalc.index.calculus import contract, differentiate
from matcalc.index.einsum import evaluate_index
from matcalc.index.lower import Pool, lower
from matcalc.index.nodes import UNIT, Entry, Mul, Sum
from matcalc.ops import OPS
from matcalc.shapes import ShapeMismatch, dim_size
from matcalc.verify import sample

DIMS = {"n": 3, "m": 4}
SHAPES = [(), ("n",), ("m",), ("n", "n"), ("n", "m"), ("m", "n"), ("n", 1), (1, "m")]
ATTRS = {"axis": [None, 0, 1], "ord": [None, "fro"]}
NEEDS = {"positive": {"positive"}, "spd": {"spd", "symmetric"}, "invertible": {"invertible"},
         "nonzero": {"positive"}}


def examples(op):
    """(argument shapes, attrs) the op's own shape rule accepts."""
    found = []
    params = [p for p in op.params]
    samples = op.samples    # a variadic op (einsum) names its sample parameters
    for values in itertools.product(*[samples.get(p, ATTRS.get(p)) for p in params]):
        arity = op.arity if op.arity >= 0 else op.arity_of(dict(zip(params, values)))
        for shapes in itertools.product(SHAPES, repeat=arity):
            attrs = dict(zip(params, values))
            try:
                attrs = op.normalize_attrs(list(shapes), dict(attrs))
                op.shape(list(shapes), attrs)
            except ShapeMismatch:
                continue
            if (shapes, attrs) not in found:
                found.append((shapes, attrs))
    return found


# kron has composite indices ((A ⊗ B)_{(i,k),(j,l)}) that index notation here does not
# name; its derivative is tested through the structured adjoints it supports
# (tests/cases.py: kron_sum, kron_trace) and its refusal otherwise.
# stop_gradient (op.frozen) has the derivative 0 by definition, not that of its value: its
# record is checked in tests/test_choice.py.
DIFFERENTIABLE = [name for name, op in OPS.items() if (op.arity > 0 or op.arity_of is not None) and name != "kron"
                  and not op.frozen]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_operation_definition_and_derivative(name):
    op = OPS[name]
    cases = examples(op)
    assert cases, f"{name}: the shape rule accepts none of the sample shapes"
    rng = np.random.default_rng(0)
    checked = 0
    for shapes, attrs in cases:
        syms = [ir.Symbol(shape=s, name=f"A{k}") for k, s in enumerate(shapes)]
        node = ir.apply(name, syms, attrs)
        domain = op.domain(node) if callable(op.domain) else op.domain
        values = {}
        for k, s in enumerate(syms):
            need = NEEDS.get(domain[k], set()) if k < len(domain) and domain[k] else set()
            if name == "pow" and k == 0 and "positive" not in need:
                need = {"positive"}
            values[s.name] = sample(s, DIMS, rng, need)
        G = ir.Symbol(shape=node.shape, name="G")
        values["G"] = rng.normal(size=tuple(dim_size(d, DIMS) for d in node.shape))   # m*n for vec

        # 1. index definition == numpy
        pool = Pool()
        out = tuple(pool.fresh(d) for d in node.shape)
        entry = lower(node, out, pool)
        np.testing.assert_allclose(evaluate_index(entry, values, DIMS, out), evaluate(node, values, DIMS),
                                   rtol=1e-10, atol=1e-12, err_msg=f"{name} {shapes} {attrs}")

        contributions = op.vjp(G, node)
        for k, s in enumerate(syms):
            if contributions[k] is None:
                continue
            vjp = np.broadcast_to(np.asarray(evaluate(contributions[k], values, DIMS), dtype=float),
                                  values[s.name].shape)
            # 2. elementwise derivative with deltas, contracted
            wrt = tuple(UNIT if d == 1 else pool.fresh(d) for d in s.shape)
            body = Mul((Entry("G", tuple(UNIT if d == 1 else ix for ix, d in zip(out, node.shape))),
                        differentiate(entry, s.name, wrt, pool)))
            for ix in reversed(out):
                body = Sum(ix, body)
            by_index = evaluate_index(contract(body), values, DIMS, wrt)
            np.testing.assert_allclose(by_index.reshape(vjp.shape), vjp, rtol=1e-8, atol=1e-10,
                                       err_msg=f"{name} d/d{s.name} {shapes} {attrs}")
            # 3. finite differences of sum(G * N)
            v = rng.normal(size=vjp.shape)
            h = 1e-6
            plus = dict(values, **{s.name: values[s.name] + h * v})
            minus = dict(values, **{s.name: values[s.name] - h * v})
            fd = (np.sum(values["G"] * evaluate(node, plus, DIMS))
                  - np.sum(values["G"] * evaluate(node, minus, DIMS))) / (2 * h)
            assert abs(fd - np.sum(vjp * v)) <= 1e-5 * max(1.0, abs(fd)), (name, shapes, attrs, k)
            checked += 1
    assert checked, name
