"""The words of the expression language: tokens, what names mean, and the
messages for Python syntax the language leaves out (``lambda``, ``x[0]``, ``//``).

>>> [t.text for t in tokenize("sum(X @ W.T)", default_locate("sum(X @ W.T)"))]
['sum', '(', 'X', '@', 'W', '.', 'T', ')', '']
"""

from __future__ import annotations

import difflib
import re
from fractions import Fraction
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import ir
from .errors import ExprSyntaxError, ForbiddenSyntaxError, Location, excerpt, shown
from .registry import CALLABLE

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'[^'\n]*'|"[^"\n]*")
  | (?P<op>\*\*|//|==|!=|<=|>=|:=|->|<<|>>|[-+*/@().,=\[\]{}:;<>%&|^~!?\\`$#])
""", re.VERBOSE)

PY_KEYWORDS = {
    "lambda": "lambdas are not part of the expression language",
    "for": "comprehensions and loops are not part of the expression language",
    "if": "conditional expressions are not part of the expression language",
    "else": "conditional expressions are not part of the expression language",
    "in": "membership tests are not part of the expression language",
    "not": "boolean operators are not part of the expression language",
    "and": "boolean operators are not part of the expression language",
    "or": "boolean operators are not part of the expression language",
    "is": "identity tests are not part of the expression language",
    "import": "imports are not part of the expression language",
    "await": "await is not part of the expression language",
    "yield": "yield is not part of the expression language",
    "True": "booleans are not numbers here", "False": "booleans are not numbers here",
    "None": "None is not a value here",
}
for _kw in ("def", "class", "return", "del", "global", "nonlocal", "with", "as", "try", "except",
            "finally", "raise", "while", "break", "continue", "pass", "from", "assert", "elif", "async"):
    PY_KEYWORDS[_kw] = f"the Python keyword {_kw!r} is not part of the expression language"

STRING_PREFIXES = {"f", "b", "r", "u", "rb", "br", "fr", "rf"}    # f'{X}' is a string, not a name f
OP_MESSAGES = {
    "[": ("subscripts and list literals are not allowed",
          "index notation is matcalc's job: write whole-matrix operations such as sum(A, axis=0)"),
    "]": ("unexpected ']'", None),
    "{": ("set and dict literals are not allowed", None),
    "}": ("unexpected '}'", None),
    "//": ("floor division is not part of the expression language", "use /"),
    "%": ("the modulo operator is not part of the expression language", None),
    ":": ("slices and annotations are not allowed", None),
    ":=": ("assignment expressions are not allowed", None),
    "=": ("assignment is not allowed", "keywords are only allowed in calls, e.g. sum(A, axis=0)"),
    ";": ("only one expression is allowed", None),
}
COMPARISONS = (">", "<", ">=", "<=")      # only as the first argument of a call such as where
for _op in COMPARISONS:
    OP_MESSAGES[_op] = ("a comparison is allowed only as where's first argument",
                        "write where(A > B, P, Q) for P where A > B, else Q")
for _op in ("==", "!="):
    OP_MESSAGES[_op] = (f"{_op} is not part of the expression language",
                        "where(A > B, P, Q) compares with " + ", ".join(COMPARISONS))
for _op in ("&", "|", "^", "~", "<<", ">>"):
    OP_MESSAGES[_op] = (f"the bitwise operator {_op!r} is not part of the expression language",
                        "write ** for a power" if _op == "^" else None)


@dataclass(frozen=True)
class Comparison:
    """``left op right`` as written in a call that takes a comparison (where's first argument)."""

    op: str
    left: ir.Expr
    right: ir.Expr


@dataclass(frozen=True)
class Token:
    kind: str   # number | name | string | op | end
    text: str
    start: int
    end: int


Locate = Callable[[int, int], Location]


def default_locate(text: str) -> Locate:
    def locate(start: int, end: int) -> Location:
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        return Location(source=text[line_start:line_end], caret_start=start - line_start,
                        caret_end=end - line_start, column=start - line_start + 1, what="expr")
    return locate


def tokenize(text: str, locate: Locate) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            raise ExprSyntaxError(f"unexpected character {ch!r}", location=locate(pos, pos + 1),
                                  hint="names are ASCII letters, digits and underscores"
                                  if ch.isalpha() else None)
        kind = m.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, m.group(), m.start(), m.end()))
        pos = m.end()
    tokens.append(Token("end", "", n, n))
    return tokens


class Scope:
    """What names mean while parsing: symbols, dimension names, functions."""

    def __init__(self, symbols: Mapping[str, ir.Symbol], dims: Mapping[str, object]):
        self.symbols = dict(symbols)
        self.dims = dict(dims)

    def known_names(self) -> list[str]:
        return [*self.symbols, *self.dims, *CALLABLE]

    def suggest(self, name: str) -> str | None:
        close = difflib.get_close_matches(name, self.known_names(), n=1, cutoff=0.6)
        if not close and name.lower() in {k.lower() for k in self.known_names()}:
            close = [k for k in self.known_names() if k.lower() == name.lower()]
        return f"did you mean {close[0]!r}?" if close else None



def clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


class Literals:
    """The literal words of a call or an operand: numbers, and the parameters of a
    call (an axis, the string 'fro', a dimension).  Mixed into the parser, whose
    ``tok``, ``advance``, ``at``, ``error`` and ``scope`` they use."""

    def number(self, tok: Token) -> ir.Number:
        text = tok.text
        nxt = self.tok
        if nxt.kind == "name" and nxt.start == tok.end:
            raise self.error(ExprSyntaxError, f"a number cannot run into a name: {excerpt(text + nxt.text)}",
                             tok.start, nxt.end, excerpt(f"write {text} * {nxt.text}"))
        if len(text) > 400:
            raise self.error(ExprSyntaxError, "this number has too many digits", tok.start, tok.end)
        exponent = re.search(r"[eE]([+-]?[0-9]+)$", text)
        if exponent and abs(int(exponent.group(1))) > 400:
            # Fraction("1e999999999") would build a billion-digit integer first (a hang)
            raise self.error(ExprSyntaxError, f"the number {clip(text)} is out of range", tok.start, tok.end,
                             "numbers must lie between 1e-300 and 1e300 in size")
        try:
            value = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise self.error(ExprSyntaxError, f"{shown(text)} is not a number", tok.start, tok.end) from None
        if value != 0 and not (Fraction(1, 10**300) < abs(value) < Fraction(10**300)):
            raise self.error(ExprSyntaxError, f"the number {text} is out of range", tok.start, tok.end,
                             "numbers must lie between 1e-300 and 1e300 in size")
        return ir.number(value, ir.Span(tok.start, tok.end))

    def constant(self, op, param: str | None):
        """A literal parameter: an integer axis, the string 'fro', or a dimension."""
        tok = self.tok
        if param is None:  # a dimension for ones / eye
            after = self.tokens[min(self.pos + 1, len(self.tokens) - 1)]   # `ones(n,` ends here
            if tok.kind in ("name", "number") and after.kind == "op" and after.text == "*":
                dim = self.dim_expr(f"a dimension of {op.written}")   # eye(m*n): a product, as kron makes
                if isinstance(dim, int) and dim <= 0:
                    raise self.error(ExprSyntaxError, f"a dimension must be positive, not {dim}", tok.start,
                                     self.tokens[self.pos - 1].end)
                return dim
            self.advance()
            if tok.kind == "name" and tok.text in self.scope.dims:
                return tok.text
            if tok.kind == "number" and tok.text.isdigit() and int(tok.text) > 0:
                return int(tok.text)
            raise self.error(ExprSyntaxError, f"{op.written} takes dimensions (names from dims: or "
                             f"positive integers), not {shown(tok.text)}", tok.start, tok.end,
                             self.scope.suggest(tok.text) if tok.kind == "name" else None)
        if param not in op.params:
            raise self.error(ExprSyntaxError, f"{op.written} takes no parameter {shown(param)}", tok.start,
                             tok.end, f"{op.written} takes " + (", ".join(f"{p}=" for p in op.params)
                                                                 if op.params else "no parameters"))
        if param == "shape":
            return self.dim_tuple(op)
        if param == "ord":
            if tok.kind == "string" and tok.text[1:-1] == "fro":
                self.advance()
                return "fro"
            if tok.kind == "string":
                raise self.error(ForbiddenSyntaxError, f"the norm {excerpt(tok.text)} is not supported",
                                 tok.start, tok.end, "write norm(A, 'fro') or norm(x)")
            raise self.error(ExprSyntaxError, "norm's second argument must be 'fro'", tok.start, tok.end)
        if param == "keepdims":
            return self.flag(param)
        # axis: an optionally negative integer literal
        sign, signed = 1, self.at("-", "+")
        if signed:
            sign = -1 if self.advance().text == "-" else 1
        tok2 = self.tok
        if tok2.kind == "number" and tok2.text.isdigit():
            self.advance()
            return sign * int(tok2.text)
        if tok2.kind == "name" and tok2.text == "None" and not signed:
            self.advance()
            return None
        if tok2.kind == "string":
            raise self.string_error(tok2)
        raise self.error(ExprSyntaxError, f"{param} must be an integer such as 0 or 1", tok2.start,
                         tok2.end)

    def flag(self, param: str) -> bool:
        """``keepdims=True`` / ``keepdims=False``: the one place a boolean is allowed."""
        tok = self.tok
        if tok.kind == "name" and tok.text in ("True", "False"):
            self.advance()
            return tok.text == "True"
        raise self.error(ExprSyntaxError, f"{param} must be True or False, not {shown(tok.text)}",
                         tok.start, tok.end, f"write {param}=True (keep the reduced axis with size 1) "
                         f"or leave it out")


class Comparisons:
    """The comparison a call such as ``where`` takes as its first argument, mixed
    into the parser (whose ``expr``, ``tok``, ``advance`` and ``error`` it uses)."""

    def comparison(self, op, left: ir.Expr, first: Token) -> "Comparison":
        """``L > R`` (or ``<``, ``>=``, ``<=``): the first argument of ``where``."""
        tok = self.tok
        if not (tok.kind == "op" and tok.text in COMPARISONS):
            end = self.tokens[self.pos - 1].end
            if tok.kind == "op" and tok.text in ("==", "!="):
                raise self.error(ForbiddenSyntaxError, f"{tok.text} is not a comparison {op.written} takes: "
                                 f"it compares with {', '.join(COMPARISONS)}", tok.start, tok.end,
                                 "equality is where the choice jumps: write A > B or A >= B")
            raise self.error(ExprSyntaxError, f"{op.written}'s first argument must be a comparison such as X > 0",
                             first.start, max(end, first.start + 1),
                             f"write {op.written}(A > B, P, Q): P where A > B, else Q")
        self.advance()
        right, _ = self.expr()
        if self.tok.kind == "op" and self.tok.text in (*COMPARISONS, "==", "!="):
            raise self.error(ForbiddenSyntaxError, "chained comparisons are not allowed", self.tok.start,
                             self.tok.end, f"{op.written} takes one comparison: nest {op.written}(...) "
                             "for two conditions")
        return Comparison(tok.text, left, right)

    def compared(self, op, args: list, start: int, end: int) -> list:
        """``where(L cmp R, P, Q)``'s arguments in the record's order."""
        if len(args) != op.arity - 1:
            raise self.error(ExprSyntaxError, f"{op.written} takes {op.arity - 1} arguments (a comparison "
                             f"and {op.arity - 2} values), got {len(args)}", start, end,
                             f"write {op.written}(A > B, P, Q): P where A > B, else Q")
        cmp = args[0]
        return op.compare(cmp.op, cmp.left, cmp.right, args[1:])


    # -- dimensions written in an expression: reshape(A, (p, q*r)), X[1:n-1, :] -------------

    def subscript(self, node, start: int) -> ir.Expr:
        """``X[i]``, ``X[:, j]``, ``X[a:b, :]``, ``x[a:b]``: per axis an index or a slice whose
        bounds are integers and dimension names with ``+ - *``."""
        self.advance()
        items: list[tuple] = []
        while True:
            if self.at("]") and not items:
                raise self.unexpected("expected an index or a slice")
            lo = 0 if self.at(":") else self.dim_expr("an index", signed=True)
            if self.at(":"):
                self.advance()
                hi = None if self.at(",", "]", ":") else self.dim_expr("the end of a slice", signed=True)
                if self.at(":"):
                    raise self.error(ForbiddenSyntaxError, "slices with a step are not supported", self.tok.start,
                                     self.tok.end, "take a contiguous slice a:b")
                items.append(("slice", lo, hi))
            else:
                items.append(("index", lo))
            if not self.at(","):
                break
            self.advance()
        close = self.expect("]", "to close the subscript")
        return self.build(self.SUBSCRIPT_OP, (node,), start, close.end, {"at": tuple(items)})

    def dim_tuple(self, op) -> tuple:
        """``(p, q)``, ``(m*n,)``: the new shape of a reshape."""
        open_tok = self.tok
        if not self.at("("):
            raise self.error(ExprSyntaxError, f"{op.written} needs the new shape as a tuple such as (p, q)",
                             open_tok.start, open_tok.end, f"write {op.written}(A, (p, q))")
        self.advance()
        dims = []
        while not self.at(")"):
            tok = self.tok
            if self.at("-"):
                raise self.error(ExprSyntaxError, "reshape takes its dimensions written out, not -1",
                                 tok.start, tok.end + 1, "write the size, e.g. reshape(A, (m*n,))")
            dim = self.dim_expr("a dimension of the new shape")
            if isinstance(dim, int) and dim <= 0:
                raise self.error(ExprSyntaxError, f"a dimension must be positive, not {dim}", tok.start,
                                 self.tokens[self.pos - 1].end)
            dims.append(dim)
            if not self.at(","):
                break
            self.advance()
        self.expect(")", "to close the shape")
        if not dims:
            raise self.error(ExprSyntaxError, "the new shape is empty", open_tok.start, self.tokens[self.pos - 1].end,
                             "write reshape(A, (p, q)) or reshape(A, (n,))")
        return tuple(dims)

    def dim_expr(self, what: str, signed: bool = False):
        """``n``, ``3``, ``m*n``, ``n-1``, ``-1`` (when ``signed``): integers and dimension names
        with ``* + -``, as a canonical dimension (:func:`matcalc.shapes.dim_text`)."""
        from .shapes import dim_poly, dim_text

        start, text = self.tok.start, ""
        if signed and self.at("-", "+"):
            text += self.advance().text
        while True:
            tok = self.tok
            if tok.kind == "number" and tok.text.isdigit():
                text += tok.text
            elif tok.kind == "name" and tok.text in self.scope.dims:
                text += tok.text
            elif tok.kind == "number":
                raise self.error(ExprSyntaxError, f"{what} must be an integer, not {shown(tok.text)}",
                                 tok.start, tok.end, "indices and sizes are whole numbers or dimension names")
            elif tok.kind == "name" and tok.text in self.scope.symbols:
                raise self.error(ExprSyntaxError, f"{what} is an integer or a dimension name, not the symbol "
                                 f"{shown(tok.text)}", tok.start, tok.end,
                                 "indices are fixed: integers and names from dims: (with + - *)")
            elif tok.kind == "name":
                raise self.error(ExprSyntaxError, f"unknown dimension {shown(tok.text)} in {what}", tok.start,
                                 tok.end, self.scope.suggest(tok.text) or "declare it under dims:")
            elif self.at("[", "("):
                raise self.error(ForbiddenSyntaxError, "lists and tuples of indices are not supported", tok.start,
                                 tok.end, "take one index or one slice a:b per axis, e.g. X[0:2, :]")
            else:
                raise self.unexpected(f"expected {what}: an integer or a dimension name")
            self.advance()
            if self.at("*", "+", "-") and not (self.tokens[self.pos + 1].kind == "op"):
                text += self.advance().text
                continue
            break
        return dim_text(dim_poly(text)) if not text.startswith("+") else dim_text(dim_poly(text[1:]))
