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

import sys
from collections.abc import Mapping

from . import ir
from .errors import ExprSyntaxError, ForbiddenSyntaxError, ShapeError, UnknownNameError, excerpt, shown
from .lexer import (OP_MESSAGES, PY_KEYWORDS, STRING_PREFIXES, Comparisons, Literals, Locate, Scope, Token,
                    default_locate, tokenize)
from .ops import CALLABLE, OPS, PREC_ADD, PREC_MUL
from .registry import FUSE, WIDE
from .shapes import ShapeMismatch, known_sizes, show

MAX_DEPTH = 1000
# The operators, from their records ("+" -> add); calls are looked up in CALLABLE.
INFIX = {op.written: op for op in OPS.values() if op.syntax == "infix"}
PREFIX = {op.written: op for op in OPS.values() if op.syntax == "prefix"}
POSTFIX = {op.written: op for op in OPS.values() if op.syntax == "postfix"}
SUBSCRIPT = {op.written: op for op in OPS.values() if op.syntax == "subscript"}   # X[0:n-1, j]
MAX_LENGTH = 500_000  # characters; a 1 MB expression is refused before tokenizing

class Parser(Literals, Comparisons):
    SUBSCRIPT_OP = SUBSCRIPT["["].name      # X[0:n-1, j] (read by Literals.subscript)

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
            node = ir.apply(op, args, attrs, span=ir.Span(start, end))
            if OPS[op].check is not None:
                OPS[op].check(node)
            node = self.fused(op, node)      # a wide einsum('...->jiqp') waits for its reshape
            if node.rank > 2 and op not in WIDE:    # reshape(A, (p, q, r)): vectors and matrices only
                raise ShapeMismatch(f"a result of {node.rank} axes {show(node.shape)} is not part of the language",
                                    "reshape to a vector or a matrix")
            return node
        except ShapeMismatch as exc:
            hint = exc.hint
            if hint and "transpose" in hint and len(args) == 2:   # A @ B: did you mean A @ B.T?
                hint = self.transpose_hint(args, "right" in hint)
            raise self.error(ShapeError, f"{exc.message} in `{excerpt(self.text[start:end], 80)}`", start, end,
                             hint) from None

    def fused(self, op: str, node: ir.Apply) -> ir.Apply:
        """``reshape(einsum(...->jiqp), (p, q))`` as the one node the IR holds for it
        (:data:`~matcalc.registry.FUSE`); a result of more than two axes anywhere else is an error."""
        one = FUSE[op](node) if op in FUSE else None
        for arg in node.args if one is None else ():
            self.narrow(arg)
        return one if one is not None else node

    def narrow(self, node: ir.Expr):
        if not (isinstance(node, ir.Apply) and node.rank > 2 and node.op in WIDE):
            return
        message, hint = WIDE[node.op]
        span = node.span or ir.Span(0, 1)
        raise self.error(ShapeError, f"{message}: `{excerpt(self.text[span.start:span.end], 80)}` has "
                         f"{node.rank} axes {show(node.shape)}", span.start, span.end, hint)

    def transpose_hint(self, args, right: bool) -> str:
        """``did you mean X @ W.T?`` with the user's own operand text."""
        texts = []
        for i, arg in enumerate(args):
            span = arg.span
            text = self.text[span.start:span.end] if span else "?"
            if i == (1 if right else 0):
                if text.endswith(".T"):
                    text = text[:-2]
                elif not isinstance(arg, ir.Apply) or OPS[arg.op].syntax in ("call", "postfix"):
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
        self.narrow(expr)
        return expr

    def expr(self) -> tuple[ir.Expr, int]:
        return self.chain(PREC_ADD, self.term)

    def term(self) -> tuple[ir.Expr, int]:
        return self.chain(PREC_MUL, self.factor)

    def chain(self, level: int, operand) -> tuple[ir.Expr, int]:
        """``a + b - c``: the infix operators of one precedence, left to right (a loop)."""
        left, start = operand()
        while self.tok.kind == "op" and self.tok.text in INFIX and INFIX[self.tok.text].precedence == level:
            op = INFIX[self.advance().text]
            right, _ = operand()
            left = self.build(op.name, (left, right), start, self.tokens[self.pos - 1].end)
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
            return self.build(PREFIX[tok.text].name, (operand,), tok.start, end), tok.start
        return self.power()

    def power(self) -> tuple[ir.Expr, int]:
        base, start = self.postfix()
        if self.at("**"):
            op_tok = self.advance()
            self.enter(op_tok.start)
            exponent, _ = self.factor()
            self.depth -= 1
            base = self.build(INFIX[op_tok.text].name, (base, exponent), start, self.tokens[self.pos - 1].end)
        return base, start

    def postfix(self) -> tuple[ir.Expr, int]:
        node, start = self.atom()
        depth = self.depth
        while self.at(".", "(") or (self.at("[") and "[" in SUBSCRIPT):
            if self.at("["):
                self.enter(self.tok.start)
                node = self.subscript(node, start)
                continue
            if self.at("("):
                tok = self.tok
                raise self.error(ForbiddenSyntaxError, "only named functions can be called", tok.start,
                                 tok.end, "write a function name before '(' such as exp(...)")
            dot = self.advance()
            if self.tok.kind != "name":
                raise self.unexpected("expected T after '.'")
            attr = self.advance()
            if "." + attr.text not in POSTFIX:
                raise self.attribute_error(node, dot, attr)
            self.enter(dot.start)    # each .T is a level the passes recurse through
            node = self.build(POSTFIX["." + attr.text].name, (node,), start, attr.end)
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
            self.expect(")", "to close the parenthesis")
            return inner, tok.start
        raise self.unexpected("expected a symbol, a number, a call or '('")

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
                             f"`matcalc functions` lists the {len(CALLABLE)} functions of the language")
        open_tok = self.advance()
        self.enter(open_tok.start)
        positional: list[tuple[object, Token, int]] = []
        keywords: dict[str, tuple[object, Token]] = {}
        if op.leading_string and self.tok.kind == "string":
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
                if keywords and not op.leading_string:
                    raise self.error(ExprSyntaxError, "a positional argument follows a keyword argument",
                                     self.tok.start, self.tok.end)
                start_tok = self.tok
                if op.dim_args or 0 <= op.arity <= len(positional):
                    value = self.constant(op, None if op.dim_args else
                                          self.param_name(op, len(positional), start_tok))
                    positional.append((value, start_tok, -1))
                else:
                    value, _ = self.expr()
                    if op.compare is not None and not positional:     # where(A > B, P, Q)
                        value = self.comparison(op, value, start_tok)
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

    def finish_call(self, op, name_tok, close, positional, keywords) -> ir.Expr:
        start, end = name_tok.start, close.end
        args = [v for v, _, kind in positional if kind == 0]
        if op.compare is not None:
            args = self.compared(op, args, start, end)
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
    locate = locate or default_locate(text)
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"the expression is {len(text):,} characters long; the limit is "
                              f"{MAX_LENGTH:,}", location=locate(0, 1))
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 12 * MAX_DEPTH + 2000))
    try:
        with known_sizes({k: v for k, v in dims.items() if isinstance(v, int)}):
            return Parser(text, Scope(symbols, dims), locate).parse()
    finally:
        sys.setrecursionlimit(old_limit)


