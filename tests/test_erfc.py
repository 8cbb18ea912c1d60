"""erfc (ops/choice.py) and the emitted-code rewrite 1 - erf(x) = erfc(x), 1 + erf(x) =
erfc(-x): probit regression's gradient divides by 1 - erf(z), which loses every digit
as erf(z) nears 1 (its check failed at z ~ 5 with 6 digits gone)."""

from __future__ import annotations

import math

import mpmath
import numpy as np

import matcalc
from matcalc.ops.choice import _erfc

PROBIT = {"name": "probit", "dims": {"n": 12, "m": 3},
          "symbols": {"X": {"shape": ["n", "m"], "props": ["constant"]}, "y": {"shape": ["n"], "props": ["constant"]},
                      "w": {"shape": ["m"]}},
          "let": {"p": "(1 + erf(X @ w / sqrt(2))) / 2"},
          "expr": "-sum(y * log(p) + (1 - y) * log(1 - p))", "wrt": ["w"]}


def test_erfc_is_accurate_where_erf_is_near_one():
    xs = np.linspace(-6.0, 26.0, 1601)
    exact = np.array([float(mpmath.erfc(mpmath.mpf(float(x)))) for x in xs])
    assert np.max(np.abs(_erfc(xs) - exact) / exact) < 1e-12
    assert _erfc(np.array([40.0]))[0] == 0.0 and _erfc(np.array([-40.0]))[0] == 2.0


def test_erfc_is_in_the_language():
    doc = {"dims": {"n": 4}, "symbols": {"x": {"shape": ["n"]}}, "expr": "sum(erfc(x))", "wrt": ["x"]}
    d = matcalc.derive(doc)
    assert d.verified
    assert d.results["x"].text == "-(1.1283791670955126 * exp(-x ** 2))"


def test_probit_gradient_is_emitted_with_erfc_and_keeps_its_digits_far_out():
    d = matcalc.derive(PROBIT)
    assert d.verified, d.verification["w"].why
    assert "_erfc(" in d.code and "1 - _erf(" not in d.code
    mod = d.function()
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(12, 3)), (rng.random(12) > 0.5).astype(float), np.array([3.0, 2.0, 2.5])
    got = mod.grad_w(X=X, y=y, w=w)
    mpmath.mp.dps = 50
    z = [mpmath.mpf(float(v)) for v in X @ w]
    phi = [mpmath.exp(-t * t / 2) / mpmath.sqrt(2 * mpmath.pi) for t in z]
    cdf = [mpmath.erfc(-t / mpmath.sqrt(2)) / 2 for t in z]
    r = [float(-(yy * f / c - (1 - yy) * f / (1 - c))) for yy, f, c in zip(y, phi, cdf)]
    want = X.T @ np.array(r)
    assert np.max(np.abs(got - want)) <= 1e-10 * np.max(np.abs(want))
    assert math.isfinite(float(np.sum(got)))
