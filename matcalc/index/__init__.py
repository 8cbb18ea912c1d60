"""Index notation: the closed set of node kinds every operation lowers to.

``X_ij`` (:class:`~.nodes.Entry`), ``δ_ij`` (:class:`~.nodes.Delta`),
``Σ_k`` (:class:`~.nodes.Sum`), ``+`` (:class:`~.nodes.Add`), ``·``
(:class:`~.nodes.Mul`), powers, elementwise functions, numbers, and an opaque
entry for the few operations with no index form (``(X⁻¹)_ij``, ``det X``).
Each operation's record says how it lowers (its ``index`` rule); the
lowering driver, the printer and the einsum evaluator are written once over
this set.
"""
