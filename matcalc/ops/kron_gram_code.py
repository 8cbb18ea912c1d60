"""Printing the weights ``T_i`` of a row-diagonal structure (:mod:`.kron_gram`) as numpy:
``code`` gives the whole ``[n, k, k]`` array (or ``[n, k]`` for diagonal weights),
``pairs`` only the entries ``T_i[qa[j], ra[j]]`` of the blocks a symmetric Gram computes,
``[n, J]``, without the ``[n, k, k]`` array: a diagonal factor at either end of a product
scales columns (``diag(a) C diag(b)`` → ``a[:, qa] * C[qa, ra] * b[:, ra]``).
Structures: ``("eye",)``, ``("diag", M)``, ``("const", C)``, ``("prod", [...])``,
``("sum", [(c, s), ...])``; every compound text is parenthesized.
"""

from __future__ import annotations

from ..matrix import build as B
from ..registry import PREC_POSTFIX


def _diag_text(m, pr) -> str:
    text = pr.wrap(m, PREC_POSTFIX)
    return text if m.rank == 2 else f"{text}[:, None]"


def code(s, pr, k: str, n: str):
    """``(kind, text)``: kind "eye", "diag" (text [n, k] or [n, 1]), "const" ([k, k]) or
    "dense" ([n, k, k])."""
    kind = s[0]
    if kind == "eye":
        return "eye", f"{pr.namespace()}.eye({k})"
    if kind == "diag":
        return "diag", _diag_text(s[1], pr)
    if kind == "const":
        return "const", pr.wrap(s[1], PREC_POSTFIX)
    if kind == "prod":
        out = code(s[1][0], pr, k, n)
        for p in s[1][1:]:
            out = _times(out, code(p, pr, k, n))
        return out
    out = None
    for c, p in s[1]:
        kind_, text = code(p, pr, k, n)
        minus = c is not None and B.is_num(c, -1)
        if c is not None and not minus:
            text, kind_ = f"({pr.wrap(c, PREC_POSTFIX)} * {text})", ("const" if kind_ == "eye" else kind_)
        if out is None:
            out = (kind_, f"(-{text})" if minus else text)
        else:
            out = _plus(out, (kind_, text), pr, k, "-" if minus else "+")
    return out


def _times(a, b):
    (ka, ta), (kb, tb) = a, b
    if ka == "eye":
        return b
    if kb == "eye":
        return a
    if ka == kb == "diag":
        return "diag", f"({ta} * {tb})"
    if ka == "diag":
        return "dense", f"({ta}[:, :, None] * {tb})"
    if kb == "diag":
        return "dense", f"({ta} * {tb}[:, None, :])"
    if ka == kb == "const":
        return "const", f"({ta} @ {tb})"
    return "dense", f"({ta} @ {tb})"


def _plus(a, b, pr, k, sign="+"):
    (ka, ta), (kb, tb) = a, b
    if ka == kb or {ka, kb} <= {"eye", "const"}:
        return ("const" if ka == "eye" else ka), f"({ta} {sign} {tb})"
    ta = f"({ta}[:, :, None] * {pr.namespace()}.eye({k}))" if ka == "diag" else ta
    tb = f"({tb}[:, :, None] * {pr.namespace()}.eye({k}))" if kb == "diag" else tb
    return "dense", f"({ta} {sign} {tb})"


def pairs(s, pr, k: str, n: str, qa: str, ra: str) -> str:
    """The text of ``T_i[qa[j], ra[j]]``: ``[n, J]``, or ``[J]`` for a constant."""
    kind = s[0]
    if kind == "eye":
        return f"({qa} == {ra})"
    if kind == "diag":
        return f"({_diag_text(s[1], pr)}[:, {qa}] * ({qa} == {ra}))" if s[1].rank == 2 \
            else f"({_diag_text(s[1], pr)} * ({qa} == {ra}))"
    if kind == "const":
        return "1" if B.is_ones(s[1]) else f"{pr.wrap(s[1], PREC_POSTFIX)}[{qa}, {ra}]"
    if kind == "sum":
        out = ""
        for c, p in s[1]:
            text = pairs(p, pr, k, n, qa, ra)
            minus = c is not None and B.is_num(c, -1)
            if c is not None and not minus:
                text = f"({pr.wrap(c, PREC_POSTFIX)} * {text})"
            out = (f"-{text}" if minus else text) if not out else f"{out} {'-' if minus else '+'} {text}"
        return f"({out})"
    factors = list(s[1])
    left, right = [], []
    while factors and factors[0][0] == "diag":
        left.append(factors.pop(0))
    while factors and factors[-1][0] == "diag":
        right.insert(0, factors.pop())
    if not factors:                                  # a diagonal product
        return f"({' * '.join(_column(d, pr, qa) for d in left + right)} * ({qa} == {ra}))"
    if len(factors) == 1:
        middle = pairs(factors[0], pr, k, n, qa, ra)
    else:                                            # the whole middle, then its entries
        middle = f"{code(('prod', factors), pr, k, n)[1]}[..., {qa}, {ra}]"
    scales = [_column(d, pr, qa) for d in left] + [_column(d, pr, ra) for d in right]
    return f"({' * '.join(scales + ([middle] if middle != '1' else []))})"


def _column(d, pr, index: str) -> str:
    """diag(M) at rows (or columns) ``index`` of the blocks: ``M[:, index]`` ([n, J])."""
    m = d[1]
    return f"{pr.wrap(m, PREC_POSTFIX)}[:, {index}]" if m.rank == 2 else _diag_text(m, pr)
