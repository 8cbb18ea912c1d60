"""Emission rules for the derivative of tanh: ``1 - tanh²(x)`` in emitted numpy.

``1 - tanh²(x)`` is emitted stably as ``4 σ(2x) σ(-2x)`` (no cancellation where
``tanh(x)`` rounds to ±1); ``sech²(x) = 1 / cosh²(x)`` is the same value, as stable, in
one transcendental pass instead of two sigmoids (15x faster on ``[4096, 256]``).  Where the
function computes ``tanh(x)`` anyway, ``_sech2(x, tanh(x))`` is ``1 - t²`` from it (three
cheap passes instead of a transcendental one, 0.1-0.35x the time) except where ``1 - t²`` is
below 2⁻¹⁶ (its relative rounding error could then pass 10⁻¹⁰): there ``1 / cosh²(x)``, and
everywhere for arrays under 1024 entries or when one entry in 61 is that close to 1.

Backpropagation through a tanh layer multiplies it by an array, ``G ∘ (1 - tanh²(X W))``:
``_times_sech2(G, x, t)`` does that a block of 65,536 entries at a time, so ``1 - t²`` never
leaves the cache, and into ``G`` when ``G`` is a product made for it alone (``scratch``):
0.55x the time of ``G * _sech2(x, t)`` inside the two-layer perceptron's value_and_grad at
(4096, 256, 256, 10) (0.85 against 1.55 ms; the whole function 28.2-28.9 against 29.2-29.5 ms).

======================  ===================================  =======================================
rule                    identity                             numpy
======================  ===================================  =======================================
tanh-derivative         4 σ(2x) σ(-2x) = sech²(x)            _sech2(x), _sech2(x, t) for t = tanh(x)
tanh-backprop           G ∘ 4 σ(2x) σ(-2x) = G ∘ sech²(x)    _times_sech2(G, x, t, scratch=True)
======================  ===================================  =======================================
"""

from __future__ import annotations

from ..matrix import build as B
from ..registry import PREC_ATOM, EmitRule, emit_rule
from .layout_code import made_alone

NEAR_ONE = "2.0 ** -16"   # 1 - tanh(x)² below this: from cosh(x), not from tanh(x)
TANH_LIMIT = (1 - 2.0 ** -16) ** 0.5      # |tanh(x)| past this: 1 - tanh(x)² is below NEAR_ONE
BLOCK = 1 << 16           # entries of a block of _times_sech2: three of them fit in a 2 MB cache

SECH2 = f'''def _sech2(x, t=None):
    """1 - tanh(x) ** 2 = 1 / cosh(x) ** 2, without cancellation where tanh(x) rounds to 1:
    from t = tanh(x) when given, as 1 - t * t where that is at least {NEAR_ONE} (a relative
    error below 1e-10), else (and for small or mostly saturated arrays) as 1 / cosh(x) ** 2."""
    if t is not None and t.size >= 1024 and (t.flags.c_contiguous or t.flags.f_contiguous):
        probe = t.ravel(order="K")[::61]    # one in 61 entries: mostly saturated, cosh for all
        if -{TANH_LIMIT!r} <= probe.min() and probe.max() <= {TANH_LIMIT!r}:
            s = np.multiply(t, t)
            np.subtract(1, s, out=s)
            if s.min() >= {NEAR_ONE}:
                return s
            if s.strides == x.strides:      # the few entries near 1: from cosh
                flat, near = s.ravel(order="K"), x.ravel(order="K")
                i = np.flatnonzero(flat < {NEAR_ONE})
                with np.errstate(over="ignore"):
                    flat[i] = 1 / np.cosh(near[i]) ** 2
                return s
    with np.errstate(over="ignore"):    # cosh(x) = inf past |x| = 710, where sech(x) ** 2 is 0
        s = 1 / np.cosh(x)
    s *= s
    return s'''

TIMES_SECH2 = f'''def _times_sech2(g, x, t, scratch=False):
    """g * (1 - tanh(x) ** 2) from t = tanh(x), as _sech2(x, t) computes it, a block of
    {BLOCK} entries at a time (kept in cache); into g when scratch (a temporary of the caller's)."""
    out = g if scratch else None
    if not (t.size >= 1024 and g.shape == t.shape == x.shape and g.strides == t.strides == x.strides
            and (t.flags.c_contiguous or t.flags.f_contiguous) and g.dtype == t.dtype == x.dtype == np.float64):
        return np.multiply(g, _sech2(x, t), out=out)
    tf = t.ravel(order="K")
    probe = tf[::61]                        # mostly saturated: cosh for all
    if not (-{TANH_LIMIT!r} <= probe.min() and probe.max() <= {TANH_LIMIT!r}):
        return np.multiply(g, _sech2(x), out=out)
    out = g if scratch else np.empty_like(g)
    gf, xf, of = g.ravel(order="K"), x.ravel(order="K"), out.ravel(order="K")
    u = np.empty(min({BLOCK}, tf.size))
    for i in range(0, tf.size, {BLOCK}):
        s = u[:min({BLOCK}, tf.size - i)]
        np.multiply(tf[i:i + {BLOCK}], tf[i:i + {BLOCK}], out=s)
        np.subtract(1, s, out=s)
        if s.min() < {NEAR_ONE}:            # the few entries near 1: from cosh
            near = np.flatnonzero(s < {NEAR_ONE})
            with np.errstate(over="ignore"):
                s[near] = 1 / np.cosh(xf[i:i + {BLOCK}][near]) ** 2
        np.multiply(gf[i:i + {BLOCK}], s, out=of[i:i + {BLOCK}])
    return out'''


def _sech2_argument(node):
    """``x`` when ``node`` is ``4 σ(2x) σ(-2x)`` (the stable form of ``1 - tanh²(x)``), else None."""
    if not B.is_op(node, "mul"):
        return None
    a, b = node.args
    if not (B.is_op(a, "mul") and B.is_num(a.args[0], 4) and B.is_op(a.args[1], "sigmoid") and B.is_op(b, "sigmoid")):
        return None
    p, q = a.args[1].args[0], b.args[0]
    if q == B.neg(p) or p == B.neg(q):
        twice = p if q == B.neg(p) else q
        if B.is_op(twice, "mul") and B.is_num(twice.args[0], 2) and twice.shape == node.shape:
            return twice.args[1]
    return None


def _computed_tanh(x, printer):
    """``tanh(x)`` when the function computes it anyway (named or shared), else None."""
    tanh = B.call("tanh", x)
    return tanh if tanh in printer.names or tanh in printer.shared else None


def _tanh_derivative(node, printer):
    """``4 * _sigmoid(2 * x) * _sigmoid(-2 * x)`` → ``_sech2(x)``, or ``_sech2(x, t)`` where the
    function computes ``t = tanh(x)`` anyway."""
    x = _sech2_argument(node) if printer.target == "numpy" else None
    if x is None:
        return None
    tanh = _computed_tanh(x, printer)
    also = f", {printer.text(tanh)}" if tanh is not None else ""
    return f"{printer.helper('_sech2')}({printer.text(x)}{also})", PREC_ATOM


def _tanh_backprop(node, printer):
    """``G * 4 σ(2x) σ(-2x)`` (either order, one shape) with ``t = tanh(x)`` computed anyway →
    ``_times_sech2(G, x, t)``, with ``scratch=True`` when ``G`` is a plain product not used
    elsewhere (a fresh array, printed for this alone, so it may be overwritten)."""
    if printer.target != "numpy" or node.args[0].shape != node.args[1].shape or node.rank == 0:
        return None
    for g, d in (node.args, node.args[::-1]):
        x = _sech2_argument(d)
        tanh = _computed_tanh(x, printer) if x is not None else None
        if tanh is None or d in printer.names or d in printer.shared:
            continue
        fresh = made_alone(g, printer)
        printer.helper("_sech2")
        text = (f"{printer.helper('_times_sech2')}({printer.text(g)}, {printer.text(x)}, {printer.text(tanh)}"
                f"{', scratch=True' if fresh else ''})")
        return text, PREC_ATOM
    return None


emit_rule(EmitRule("tanh-backprop", "G ∘ 4 σ(2x) σ(-2x) = G ∘ (1 - t²) for the function's t = tanh(x), in "
                   "cache-sized blocks, into G when G is made for it", "mul", _tanh_backprop,
                   helpers={"_times_sech2": TIMES_SECH2, "_sech2": SECH2}))
emit_rule(EmitRule("tanh-derivative", "4 σ(2x) σ(-2x) = sech²(x) = 1 / cosh²(x): one pass, as stable; 1 - t² from "
                   "the function's t = tanh(x) where that does not cancel", "mul",
                   _tanh_derivative, helpers={"_sech2": SECH2}))
