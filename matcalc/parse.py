"""Parse expression text into the typed IR without ever executing it.

A small recursive-descent parser with Python's precedence (``+ -`` < ``* / @``
< unary ``-`` < ``**`` < ``.T`` and calls).  It reads characters, never hands
them to Python: there is no eval, exec, compile or sympify here.  Chains of
binary operators are parsed by loops, so ``x + x + ... + x`` with 10,000 terms
is fine; nesting (parentheses, calls, unary minus) is limited to
:data:`MAX_DEPTH` levels with a clear error beyond.

>>> from matcalc.ir import Symbol
>>> e = parse("X @ W", {"X": Symbol(("n", "m"), "X"), "W": Symbol(("m", "k"), "W")}, {})
>>> e.shape
('n', 'k')
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from . import ir
from .errors import ExprSyntaxError, ForbiddenSyntaxError, Location, ShapeError, UnknownNameError, excerpt, shown
from .ops import CALLABLE, OPS
from .shapes import ShapeMismatch

MAX_DEPTH = 1000
OPS_INFIX = {"add", "sub", "mul", "div", "matmul", "pow", "neg"}
MAX_LENGTH = 500_000  # characters; a 1 MB expression is refused before tokenizing

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
for _op in ("==", "!=", "<=", ">=", "<", ">"):
    OP_MESSAGES[_op] = ("comparisons are not part of the expression language", None)
for _op in ("&", "|", "^", "~", "<<", ">>"):
    OP_MESSAGES[_op] = (f"the bitwise operator {_op!r} is not part of the expression language",
                        "write ** for a power" if _op == "^" else None)


@dataclass(frozen=True)
class Token:
    kind: str   # number | name | string | op | end
    text: str
    start: int
    end: int


Locate = Callable[[int, int], Location]


def _default_locate(text: str) -> Locate:
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


class Parser:
    def __init__(self, text: str, scope: Scope, locate: Locate):
        self.text = text
        self.scope = scope
        self.locate = locate
        self.tokens = tokenize(text, locate)
        self.pos = 0
        self.depth = 0

    # -- helpers -----------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def at(self, *texts: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in texts

    def error(self, cls, message: str, start: int, end: int, hint: str | None = None):
        return cls(message, location=self.locate(start, end), hint=hint)

    def expect(self, text: str, what: str) -> Token:
        if not self.at(text):
            raise self.unexpected(f"expected {text!r} {what}")
        return self.advance()

    def unexpected(self, expected: str):
        tok = self.tok
        if tok.kind == "end":
            return self.error(ExprSyntaxError, f"the expression ends too early: {expected}",
                              max(0, tok.start - 1), tok.start + 1)
        if tok.kind == "op" and tok.text in OP_MESSAGES:
            message, hint = OP_MESSAGES[tok.text]
            return self.error(ForbiddenSyntaxError, message, tok.start, tok.end, hint)
        if tok.kind == "name" and tok.text in PY_KEYWORDS:
            return self.error(ForbiddenSyntaxError, PY_KEYWORDS[tok.text], tok.start, tok.end)
        if tok.kind == "string":
            return self.string_error(tok)
        return self.error(ExprSyntaxError, f"unexpected {shown(tok.text)}: {expected}", tok.start, tok.end)

    def string_error(self, tok: Token):
        return self.error(ForbiddenSyntaxError,
                          f"strings are not allowed here ({excerpt(tok.text)})", tok.start, tok.end,
                          "the only string in the language is 'fro', as in norm(A, 'fro')")

    def build(self, op: str, args, start: int, end: int, attrs=None) -> ir.Apply:
        try:
            return ir.apply(op, args, attrs, span=ir.Span(start, end))
        except ShapeMismatch as exc:
            hint = exc.hint
            if op == "matmul" and hint and "transpose" in hint:
                hint = self.transpose_hint(args, "right" in hint)
            raise self.error(ShapeError, f"{exc.message} in `{excerpt(self.text[start:end], 80)}`", start, end,
                             hint) from None

    def transpose_hint(self, args, right: bool) -> str:
        """``did you mean X @ W.T?`` with the user's own operand text."""
        texts = []
        for i, arg in enumerate(args):
            span = arg.span
            text = self.text[span.start:span.end] if span else "?"
            if i == (1 if right else 0):
                if text.endswith(".T"):
                    text = text[:-2]
                elif isinstance(arg, (ir.Symbol, ir.Dim)) or (isinstance(arg, ir.Apply)
                                                              and arg.op not in OPS_INFIX):
                    text = f"{text}.T"
                else:
                    text = f"({text}).T"
            texts.append(text)
        return f"did you mean {texts[0]} @ {texts[1]}?"

    def enter(self, start: int):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(ExprSyntaxError, f"the expression nests more than {MAX_DEPTH} levels deep",
                             start, start + 1, "name an intermediate or simplify the expression")

    # -- grammar -----------------------------------------------------------
    def parse(self) -> ir.Expr:
        if self.tok.kind == "end":
            raise self.error(ExprSyntaxError, "the expression is empty", 0, 1)
        expr, _ = self.expr()
        if self.tok.kind != "end":
            raise self.unexpected("expected an operator or the end of the expression")
        return expr

    def expr(self) -> tuple[ir.Expr, int]:
        left, start = self.term()
        while self.at("+", "-"):
            op = "add" if self.advance().text == "+" else "sub"
            right, _ = self.term()
            left = self.build(op, (left, right), start, self.tokens[self.pos - 1].end)
        return left, start

    def term(self) -> tuple[ir.Expr, int]:
        left, start = self.factor()
        while self.at("*", "/", "@"):
            op = {"*": "mul", "/": "div", "@": "matmul"}[self.advance().text]
            right, _ = self.factor()
            left = self.build(op, (left, right), start, self.tokens[self.pos - 1].end)
        return left, start

    def factor(self) -> tuple[ir.Expr, int]:
        if self.at("-", "+"):
            tok = self.advance()
            self.enter(tok.start)
            operand, _ = self.factor()
            self.depth -= 1
            end = self.tokens[self.pos - 1].end
            if tok.text == "+":
                return operand, tok.start
            if isinstance(operand, ir.Number):
                return ir.number(-operand.value, ir.Span(tok.start, end)), tok.start
            return self.build("neg", (operand,), tok.start, end), tok.start
        return self.power()

    def power(self) -> tuple[ir.Expr, int]:
        base, start = self.postfix()
        if self.at("**"):
            op_tok = self.advance()
            self.enter(op_tok.start)
            exponent, _ = self.factor()
            self.depth -= 1
            base = self.build("pow", (base, exponent), start, self.tokens[self.pos - 1].end)
        return base, start

    def postfix(self) -> tuple[ir.Expr, int]:
        node, start = self.atom()
        depth = self.depth
        while self.at(".", "("):
            if self.at("("):
                tok = self.tok
                raise self.error(ForbiddenSyntaxError, "only named functions can be called", tok.start,
                                 tok.end, "write a function name before '(' such as exp(...)")
            dot = self.advance()
            if self.tok.kind != "name":
                raise self.unexpected("expected T after '.'")
            attr = self.advance()
            if attr.text != "T":
                raise self.attribute_error(node, dot, attr)
            self.enter(dot.start)    # each .T is a level the passes recurse through
            node = self.build("transpose", (node,), start, attr.end)
        self.depth = depth
        return node, start

    def attribute_error(self, node, dot: Token, attr: Token):
        if self.at("("):
            hint = (f"write {attr.text}(...) instead" if attr.text in CALLABLE
                    else "functions are called by name, e.g. exp(A)")
        elif attr.text in ("transpose", "t"):
            hint = "write .T"
        else:
            hint = "the only attribute is .T (transpose)"
        return self.error(ForbiddenSyntaxError, f"attribute access .{excerpt(attr.text)} is not allowed",
                          dot.start, attr.end, hint)

    def atom(self) -> tuple[ir.Expr, int]:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return self.number(tok), tok.start
        if tok.kind == "name":
            self.advance()
            if self.at("("):
                return self.call(tok), tok.start
            return self.name(tok), tok.start
        if self.at("("):
            self.advance()
            self.enter(tok.start)
            if self.at(")"):
                raise self.error(ForbiddenSyntaxError, "empty parentheses (tuples) are not allowed",
                                 tok.start, self.tok.end)
            inner, _ = self.expr()
            self.depth -= 1
            if self.at(","):
                raise self.error(ForbiddenSyntaxError, "tuples are not allowed", self.tok.start,
                                 self.tok.end)
            self.expect(")", "to close the '(' opened here" if False else "to close the parenthesis")
            return inner, tok.start
        raise self.unexpected("expected a symbol, a number, a call or '('")

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
            raise self.error(ExprSyntaxError, f"the number {_clip(text)} is out of range", tok.start, tok.end,
                             "numbers must lie between 1e-300 and 1e300 in size")
        try:
            value = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise self.error(ExprSyntaxError, f"{shown(text)} is not a number", tok.start, tok.end) from None
        if value != 0 and not (Fraction(1, 10**300) < abs(value) < Fraction(10**300)):
            raise self.error(ExprSyntaxError, f"the number {text} is out of range", tok.start, tok.end,
                             "numbers must lie between 1e-300 and 1e300 in size")
        return ir.number(value, ir.Span(tok.start, tok.end))

    def name(self, tok: Token) -> ir.Expr:
        name = tok.text
        span = ir.Span(tok.start, tok.end)
        if name in self.scope.symbols:
            sym = self.scope.symbols[name]
            return ir.Symbol(shape=sym.shape, name=sym.name, props=sym.props, span=span)
        if name in self.scope.dims:
            return ir.Dim(shape=(), name=name, span=span)
        self.check_name(tok)
        if self.at(".") and self.tokens[self.pos + 1].kind == "name":
            attr = self.tokens[self.pos + 1]
            written = excerpt(f"{name}.{attr.text}")
            hint = (f"write {attr.text}(...) instead of {written}(...)"
                    if attr.text in CALLABLE else "the only attribute is .T (transpose)")
            raise self.error(ForbiddenSyntaxError, f"attribute access {written} is not allowed",
                             tok.start, attr.end, hint)
        if (self.tok.kind == "name" and self.tok.text in PY_KEYWORDS) or self.at(":=", "="):
            # `sum(v for v in X)`, `(v := x)`: the comprehension or the assignment is the
            # problem, not the unknown name v
            raise self.unexpected("")
        if self.tok.kind == "string" and self.tok.start == tok.end and name.lower() in STRING_PREFIXES:
            raise self.error(ForbiddenSyntaxError, f"strings are not allowed here ({excerpt(name + self.tok.text)})",
                             tok.start, self.tok.end, "the only string in the language is 'fro', as in "
                             "norm(A, 'fro')")
        if name in CALLABLE:
            raise self.error(ExprSyntaxError, f"{name} is a function; call it with arguments",
                             tok.start, tok.end, f"write {name}(...)")
        raise self.error(UnknownNameError, f"unknown name {shown(name)}", tok.start, tok.end,
                         self.scope.suggest(name) or "declare it under symbols: (or dims:)")

    def check_name(self, tok: Token):
        name = tok.text
        if name in PY_KEYWORDS:
            raise self.error(ForbiddenSyntaxError, PY_KEYWORDS[name], tok.start, tok.end)
        if name.startswith("__") and name.endswith("__"):
            raise self.error(ForbiddenSyntaxError, f"dunder names such as {excerpt(name)} are not allowed",
                             tok.start, tok.end)

    def call(self, name_tok: Token) -> ir.Expr:
        name = name_tok.text
        op = CALLABLE.get(name)
        if op is None:
            self.check_name(name_tok)
            if name in self.scope.symbols or name in self.scope.dims:
                raise self.error(ForbiddenSyntaxError, f"{name} is not a function and cannot be called",
                                 name_tok.start, self.tok.end,
                                 f"write {name} * (...) to multiply")
            raise self.error(UnknownNameError, f"unknown function {shown(name)}", name_tok.start,
                             name_tok.end, self.scope.suggest(name) or
                             "the functions are: " + ", ".join(sorted(CALLABLE)))
        open_tok = self.advance()
        self.enter(open_tok.start)
        positional: list[tuple[object, Token, int]] = []
        keywords: dict[str, tuple[object, Token]] = {}
        if op.extra.get("leading_string") and self.tok.kind == "string":
            # einsum('ij,jk->ik', A, B): the one other place a string is allowed
            keywords[op.params[0]] = (self.advance().text[1:-1], self.tok)
            if self.at(","):
                self.advance()
        while not self.at(")"):
            if self.tok.kind == "name" and self.tokens[self.pos + 1].text == "=" \
                    and self.tokens[self.pos + 1].kind == "op":
                key = self.advance()
                self.advance()
                if key.text in keywords:
                    raise self.error(ExprSyntaxError, f"{key.text}= is given twice", key.start, key.end)
                keywords[key.text] = (self.constant(op, key.text), key)
            else:
                if keywords and not op.extra.get("leading_string"):
                    raise self.error(ExprSyntaxError, "a positional argument follows a keyword argument",
                                     self.tok.start, self.tok.end)
                start_tok = self.tok
                if op.dim_args or 0 <= op.arity <= len(positional):
                    value = self.constant(op, None if op.dim_args else
                                          self.param_name(op, len(positional), start_tok))
                    positional.append((value, start_tok, -1))
                else:
                    value, _ = self.expr()
                    positional.append((value, start_tok, 0))
            if not self.at(","):
                break
            self.advance()
        close = self.expect(")", f"to close the call to {name}")
        self.depth -= 1
        return self.finish_call(op, name_tok, close, positional, keywords)

    def param_name(self, op, index: int, tok: Token) -> str:
        extra = index - op.arity
        if extra >= len(op.params):
            raise self.error(ExprSyntaxError, f"{op.written} takes {op.arity} argument"
                             f"{'s' if op.arity != 1 else ''}" +
                             (f" and the parameter{'s' if len(op.params) > 1 else ''} "
                              f"{', '.join(op.params)}" if op.params else ""),
                             tok.start, tok.end)
        return op.params[extra]

    def constant(self, op, param: str | None):
        """A literal parameter: an integer axis, the string 'fro', or a dimension."""
        tok = self.tok
        if param is None:  # a dimension for ones / eye
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
        if param == "ord":
            if tok.kind == "string" and tok.text[1:-1] == "fro":
                self.advance()
                return "fro"
            if tok.kind == "string":
                raise self.error(ForbiddenSyntaxError, f"the norm {excerpt(tok.text)} is not supported",
                                 tok.start, tok.end, "write norm(A, 'fro') or norm(x)")
            raise self.error(ExprSyntaxError, "norm's second argument must be 'fro'", tok.start, tok.end)
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

    def finish_call(self, op, name_tok, close, positional, keywords) -> ir.Expr:
        start, end = name_tok.start, close.end
        args = [v for v, _, kind in positional if kind == 0]
        attrs: dict[str, object] = {}
        if op.dim_args:
            attrs["dims"] = tuple(v for v, _, _ in positional)
            if not attrs["dims"]:
                raise self.error(ExprSyntaxError, f"{op.written} needs at least one dimension",
                                 start, end, f"write {op.written}(n)")
        else:
            if len(args) < op.arity:
                raise self.error(ExprSyntaxError, f"{op.written} takes {op.arity} argument"
                                 f"{'s' if op.arity != 1 else ''}, got {len(args)}", start, end)
            extras = [(v, t) for v, t, kind in positional if kind != 0]
            for i, (value, tok) in enumerate(extras):
                attrs[op.params[i]] = value
            for key, (value, tok) in keywords.items():
                if key in attrs:
                    raise self.error(ExprSyntaxError, f"{key} is given twice", tok.start, tok.end)
                attrs[key] = value
        return self.build(op.name, args, start, end, attrs)


def parse(text: str, symbols: Mapping[str, ir.Symbol], dims: Mapping[str, object],
          locate: Locate | None = None) -> ir.Expr:
    """Parse ``text`` into a shape-checked IR tree.

    ``symbols`` maps names to :class:`~matcalc.ir.Symbol` (shape and props),
    ``dims`` maps dimension names to sizes.  ``locate`` turns character
    offsets of ``text`` into a :class:`~matcalc.errors.Location` for error
    messages (the spec loader passes one that knows the YAML file and line).
    """
    if not isinstance(text, str):
        raise ExprSyntaxError(f"the expression must be text, not {type(text).__name__}")
    locate = locate or _default_locate(text)
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"the expression is {len(text):,} characters long; the limit is "
                              f"{MAX_LENGTH:,}", location=locate(0, 1))
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 12 * MAX_DEPTH + 2000))
    try:
        return Parser(text, Scope(symbols, dims), locate).parse()
    finally:
        sys.setrecursionlimit(old_limit)


assert set(CALLABLE) <= set(OPS)


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
