"""The engine's required results (issue 3), as a table shared by the tests and
the benchmark: each case is an expr.yaml document, the form matcalc must print,
and the form a careful person writes by hand (for the operation-count ratio).

The hand forms are written from the mathematics (the Matrix Cookbook, the ML
textbook form), not copied from matcalc's output: where the two agree, that is
the finding.  tests/test_engine.py checks each hand form against matcalc's
verified result numerically, so a hand form cannot be wrong and unnoticed.

Symbols are written compactly: ``"X:[n,m] Y:[n,k]:onehot lam:[]"``.
"""

from __future__ import annotations

from dataclasses import dataclass

DIMS = {"n": 5, "m": 4, "k": 3, "p": 2, "q": 3}


@dataclass(frozen=True)
class Case:
    id: str
    symbols: str
    expr: str
    wrt: str
    expected: str          # matcalc's printed form
    hand: str              # a careful person's form, written from the mathematics
    order: int = 1

    def doc(self, dims=None) -> dict:
        syms = {}
        for decl in self.symbols.split():
            name, shape, *props = decl.split(":")
            dims_ = [d for d in shape.strip("[]").split(",") if d]
            syms[name] = {"shape": [int(d) if d.isdigit() else d for d in dims_]}
            if props:
                syms[name]["props"] = props[0].split(",")
        return {"name": self.id, "dims": dict(dims or DIMS), "symbols": syms, "expr": self.expr,
                "wrt": [self.wrt], "order": self.order}


SEEDS = [
    # rᵀ W x = tr(x rᵀ W): ∂/∂W = r xᵀ
    Case("column_layer", "r:[n] W:[n,m] x:[m]", "r.T @ W @ x", "W", "outer(r, x)", hand="outer(r, x)"),
    Case("row_layer", "x:[m] W:[m,n] r:[n]", "x @ W @ r", "W", "outer(x, r)", hand="outer(x, r)"),
    # Σ G ∘ (XY) = tr(Gᵀ X Y): ∂/∂X = G Yᵀ, ∂/∂Y = Xᵀ G
    Case("matmul_X", "G:[n,p]:constant X:[n,m] Y:[m,p]", "sum(G * (X @ Y))", "X", "G @ Y.T", hand="G @ Y.T"),
    Case("matmul_Y", "G:[n,p]:constant X:[n,m] Y:[m,p]", "sum(G * (X @ Y))", "Y", "X.T @ G", hand="X.T @ G"),
    # y is added to every row: its gradient sums G over the rows, Gᵀ 1
    Case("broadcast_sum", "G:[n,m]:constant X:[n,m] y:[m]", "sum(G * (X + y))", "y", "sum(G, axis=0)",
         hand="sum(G, axis=0)"),
    Case("broadcast_product_y", "G:[n,m]:constant X:[n,m] y:[m]", "sum(G * (y * X))", "y",
         "sum(G * X, axis=0)", hand="sum(G * X, axis=0)"),
    Case("broadcast_product_X", "G:[n,m]:constant X:[n,m] y:[m]", "sum(G * (y * X))", "X", "y * G",
         hand="G * y"),
    # cross-entropy of a softmax: Xᵀ (P − Y), using that the rows of Y sum to 1
    Case("softmax_ce", "X:[n,m] W:[m,k] Y:[n,k]:onehot", "-sum(Y * log(softmax(X @ W, axis=1)))", "W",
         "X.T @ (softmax(X @ W, axis=1) - Y)", hand="X.T @ (softmax(X @ W, axis=1) - Y)"),
    Case("softmax_regression", "X:[n,m] W:[m,k] Y:[n,k]:onehot lam:[]",
         "-sum(Y * log(softmax(X @ W, axis=1))) / n + lam * sum(W * W)", "W",
         "X.T @ (softmax(X @ W, axis=1) - Y) / n + 2 * lam * W",
         hand="X.T @ (softmax(X @ W, axis=1) - Y) / n + 2 * lam * W"),
]

COOKBOOK = [
    Case("trace_AX", "A:[n,n] X:[n,n]", "trace(A @ X)", "X", "A.T", hand="A.T"),                    # eq. 100
    Case("trace_XtAX", "A:[n,n] X:[n,m]", "trace(X.T @ A @ X)", "X", "(A + A.T) @ X",
         hand="(A + A.T) @ X"),                                                                      # eq. 108
    Case("quadratic", "A:[n,n] x:[n]", "x.T @ A @ x", "x", "(A + A.T) @ x", hand="(A + A.T) @ x"),  # eq. 81
    Case("quadratic_symmetric", "A:[n,n]:symmetric x:[n]", "x.T @ A @ x", "x", "2 * A @ x", hand="2 * A @ x"),
    # ‖r‖² with r = Ax − b: 2 Aᵀ r
    Case("least_squares", "A:[n,m] x:[m] b:[n]", "norm(A @ x - b) ** 2", "x", "2 * A.T @ (A @ x - b)",
         hand="2 * A.T @ (A @ x - b)"),
    Case("det", "X:[n,n]", "det(X)", "X", "det(X) * inv(X).T", hand="det(X) * inv(X).T"),          # eq. 49
    Case("logdet", "X:[n,n]", "logdet(X)", "X", "inv(X).T", hand="inv(X).T"),                      # eq. 57
    # symmetric X: the gradient that agrees on symmetric directions (not the structured 2X⁻¹ − X⁻¹ ∘ I)
    Case("logdet_spd", "X:[n,n]:spd", "logdet(X)", "X", "inv(X)", hand="inv(X)"),
    Case("logdet_symmetric", "X:[n,n]:symmetric", "logdet(X)", "X", "inv(X)", hand="inv(X)"),
    # eq. 61, −X⁻ᵀ a bᵀ X⁻ᵀ, as the outer product of two solved vectors: −(X⁻ᵀ a)(X⁻¹ b)ᵀ
    Case("inverse_bilinear", "a:[n] X:[n,n] b:[n]", "a @ inv(X) @ b", "X",
         "-inv(X).T @ outer(a, b) @ inv(X).T", hand="-outer(inv(X).T @ a, inv(X) @ b)"),
    # eq. 113 with B = I: −(X⁻¹ A X⁻¹)ᵀ
    Case("trace_inv", "X:[n,n] A:[n,n]", "trace(inv(X) @ A)", "X", "-inv(X).T @ A.T @ inv(X).T",
         hand="-(inv(X) @ A @ inv(X)).T"),
    Case("frobenius", "X:[n,m]", "norm(X, 'fro') ** 2", "X", "2 * X", hand="2 * X"),
]

# Σ A ∘ f(X): the gradient is A ∘ f′(X); f′ from the table of derivatives
ELEMENTWISE = [
    Case(f"ew_{f}", "A:[n,m]:constant X:[n,m]", f"sum(A * {f}(X))", "X", form, hand=hand)
    for f, form, hand in [
        ("exp", "A * exp(X)", "A * exp(X)"),
        ("log", "A / X", "A / X"),
        ("sqrt", "A / (2 * sqrt(X))", "A / (2 * sqrt(X))"),
        ("abs", "A * sign(X)", "A * sign(X)"),
        ("sin", "A * cos(X)", "A * cos(X)"),
        ("cos", "-A * sin(X)", "-A * sin(X)"),
        ("tanh", "A * (1 - tanh(X) ** 2)", "A * (1 - tanh(X) ** 2)"),
        ("sigmoid", "A * sigmoid(X) * (1 - sigmoid(X))", "A * sigmoid(X) * (1 - sigmoid(X))"),
        ("softplus", "A * sigmoid(X)", "A * sigmoid(X)"),
        ("relu", "A * step(X)", "A * step(X)"),
    ]
]

STRUCTURE = [
    # S = softmax by rows: ∂/∂X = S ∘ (A − ((A ∘ S) 1) 1ᵀ); the row sums kept as a column [n, 1]
    Case("softmax_rows", "X:[n,m] A:[n,m]:constant", "sum(A * softmax(X, axis=1))", "X",
         "softmax(X, axis=1) * (A - sum(A * softmax(X, axis=1), axis=1, keepdims=True))",
         hand="softmax(X, axis=1) * (A - (A * softmax(X, axis=1)) @ ones(m, 1))"),
    Case("softmax_cols", "X:[n,m] A:[n,m]:constant", "sum(A * softmax(X, axis=0))", "X",
         "softmax(X, axis=0) * (A - sum(A * softmax(X, axis=0), axis=0))",
         hand="softmax(X, axis=0) * (A - sum(A * softmax(X, axis=0), axis=0))"),
    # log_softmax(X) = X − lse(X) 1ᵀ: ∂/∂X = A − (A 1) ∘ S, row by row
    Case("log_softmax_rows", "X:[n,m] A:[n,m]:constant", "sum(A * log_softmax(X, axis=1))", "X",
         "A - diag(sum(A, axis=1)) @ softmax(X, axis=1)", hand="A - A @ ones(m, 1) * softmax(X, axis=1)"),
    Case("log_softmax_cols", "X:[n,m] A:[n,m]:constant", "sum(A * log_softmax(X, axis=0))", "X",
         "A - sum(A, axis=0) * softmax(X, axis=0)", hand="A - sum(A, axis=0) * softmax(X, axis=0)"),
    # ∇ logsumexp = softmax
    Case("logsumexp_rows", "X:[n,m] a:[n]:constant", "a @ logsumexp(X, axis=1)", "X",
         "diag(a) @ softmax(X, axis=1)", hand="diag(a) @ softmax(X, axis=1)"),
    Case("logsumexp_cols", "X:[n,m] a:[m]:constant", "a @ logsumexp(X, axis=0)", "X",
         "a * softmax(X, axis=0)", hand="a * softmax(X, axis=0)"),
    Case("logsumexp_vector", "x:[n]", "logsumexp(x)", "x", "softmax(x)", hand="softmax(x)"),
    Case("sum_all", "X:[n,m]", "sum(X)", "X", "ones(n, m)", hand="ones(n, m)"),
    Case("sum_cols", "X:[n,m] a:[m]:constant", "a @ sum(X, axis=0)", "X", "outer(ones(n), a)",
         hand="ones(n, m) * a"),
    Case("sum_rows", "X:[n,m] a:[n]:constant", "a @ sum(X, axis=1)", "X", "outer(a, ones(m))",
         hand="outer(a, ones(m))"),
    Case("mean_all", "X:[n,m]", "mean(X)", "X", "ones(n, m) / (m * n)", hand="ones(n, m) / (n * m)"),
    Case("mean_cols", "X:[n,m] a:[m]:constant", "a @ mean(X, axis=0)", "X", "outer(ones(n), a) / n",
         hand="ones(n, m) * a / n"),
    Case("mean_rows", "X:[n,m] a:[n]:constant", "a @ mean(X, axis=1)", "X", "outer(a, ones(m)) / m",
         hand="outer(a, ones(m)) / m"),
    # Σ A ∘ diag(x) = Σ_i A_ii x_i
    Case("diag_of_vector", "x:[n] A:[n,n]:constant", "sum(A * diag(x))", "x", "diag(A)", hand="diag(A)"),
    Case("diag_of_matrix", "X:[n,n] a:[n]:constant", "a @ diag(X)", "X", "diag(a)", hand="diag(a)"),
    # Σ A ∘ x yᵀ = xᵀ A y
    Case("outer_x", "x:[n] y:[m] A:[n,m]:constant", "sum(A * outer(x, y))", "x", "A @ y", hand="A @ y"),
    Case("outer_y", "x:[n] y:[m] A:[n,m]:constant", "sum(A * outer(x, y))", "y", "A.T @ x", hand="A.T @ x"),
    Case("dot", "x:[n] y:[n]", "dot(x, y) ** 2", "x", "2 * dot(x, y) * y", hand="2 * (x @ y) * y"),
    # sum(A ⊗ B) = sum(A) sum(B), tr(A ⊗ B) = tr(A) tr(B)
    Case("kron_sum", "A:[n,m] B:[p,q]", "sum(kron(A, B))", "A", "sum(B) * ones(n, m)",
         hand="sum(B) * ones(n, m)"),
    Case("kron_trace", "A:[n,n] B:[p,p]", "trace(kron(A, B))", "B", "trace(A) * eye(p)",
         hand="trace(A) * eye(p)"),
    Case("power", "A:[n,m]:constant X:[n,m]", "sum(A * X ** 3)", "X", "3 * A * X ** 2", hand="3 * A * X ** 2"),
    # d/de x^e = x^e log x
    Case("power_exponent", "X:[n,m]:positive e:[]", "sum(X ** e)", "e", "sum(X ** e * log(X))",
         hand="sum(X ** e * log(X))"),
    Case("broadcast_scalar", "A:[n,m]:constant X:[n,m] c:[]", "sum(A * (X + c))", "c", "sum(A)", hand="sum(A)"),
    # c [n, 1] scales the rows: its gradient is the row sums of A ∘ X, kept a column
    Case("broadcast_column", "A:[n,m]:constant X:[n,m] c:[n,1]", "sum(A * (X * c))", "c",
         "sum(A * X, axis=1, keepdims=True)", hand="(A * X) @ ones(m, 1)"),
    Case("broadcast_row", "A:[n,m]:constant X:[n,m] r:[1,m]", "sum(A * (X * r))", "r",
         "sum(A * X, axis=0, keepdims=True)", hand="ones(1, n) @ (A * X)"),
    Case("broadcast_column_X", "A:[n,m]:constant X:[n,m] c:[n,1]", "sum(A * (X * c))", "X", "A * c",
         hand="A * c"),
    # Σ_ij A_ij X_ij / v_j: −(column sums of A ∘ X) / v²
    Case("broadcast_divide", "A:[n,m]:constant X:[n,m] v:[m]", "sum(A * (X / v))", "v",
         "-sum(A * X / v ** 2, axis=0)", hand="-sum(A * X, axis=0) / v ** 2"),
]

SECOND_ORDER = [
    Case("hessian_quadratic", "A:[n,n] x:[n]", "x.T @ A @ x", "x", "A + A.T", hand="A + A.T", order=2),
    Case("hessian_least_squares", "A:[n,m] x:[m] b:[n]", "norm(A @ x - b) ** 2", "x", "2 * A.T @ A",
         hand="2 * A.T @ A", order=2),
    # Bishop, PRML (4.97): H = Φᵀ R Φ with R = diag(σ(1 − σ))
    Case("hessian_logistic", "X:[n,m] w:[m] y:[n]", "sum(softplus(X @ w) - y * (X @ w))", "w",
         "X.T @ diag(sigmoid(X @ w) * (1 - sigmoid(X @ w))) @ X",
         hand="X.T @ diag(sigmoid(X @ w) * (1 - sigmoid(X @ w))) @ X", order=2),
    # ∂s/∂x = diag(s) − s sᵀ
    Case("jacobian_softmax", "x:[n]", "softmax(x)", "x", "diag(softmax(x)) - outer(softmax(x), softmax(x))",
         hand="diag(softmax(x)) - outer(softmax(x), softmax(x))"),
    Case("jacobian_linear", "A:[n,m] x:[m]", "A @ x", "x", "A", hand="A"),
]

REQUIRED = SEEDS + COOKBOOK + ELEMENTWISE + STRUCTURE + SECOND_ORDER
