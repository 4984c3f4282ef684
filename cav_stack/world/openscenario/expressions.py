"""OpenSCENARIO 1.x parameter references and ``${...}`` expressions, evaluated without ``eval``.

An attribute value is a literal, a parameter reference ``$name`` or an expression ``${...}``
(OpenSCENARIO 1.2+, section "Expressions"): numbers, ``$name`` references, ``+ - * / %``, unary
minus, parentheses, the comparisons ``== != < <= > >=``, ``not``, ``and``, ``or`` and the functions
``round floor ceil sqrt pow``. :func:`evaluate` parses with a small recursive-descent parser over
tokens (no Python ``eval``); an error is an :class:`ExpressionError` naming the expression.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

Value = float | str | bool

_TOKEN = re.compile(r"\s*(?:(\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)"
                    r"|(\$[A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|[-+*/%(),<>]))")
_FUNCTIONS: dict[str, tuple[int, Callable[..., float]]] = {
    "round": (1, lambda x: float(math.floor(x + 0.5))), "floor": (1, lambda x: float(math.floor(x))),
    "ceil": (1, lambda x: float(math.ceil(x))), "sqrt": (1, math.sqrt), "pow": (2, math.pow),
}
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


class ExpressionError(ValueError):
    """An expression or parameter reference that cannot be evaluated (message names it)."""


def tokenize(text: str) -> list[str]:
    """Tokens of an expression body (without ``${`` and ``}``)."""
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"unexpected character {text[position:position + 1]!r} in '{text}'")
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return tokens


class _Parser:
    """expr := or; or := and ('or' and)*; and := not ('and' not)*; not := 'not' not | cmp;
    cmp := sum (op sum)?; sum := product (('+'|'-') product)*; product := unary (('*'|'/'|'%') unary)*;
    unary := '-' unary | atom; atom := number | $name | func '(' expr (',' expr)* ')' | '(' expr ')'."""

    def __init__(self, text: str, params: Mapping[str, Value]):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.params = params

    def fail(self, reason: str) -> ExpressionError:
        return ExpressionError(f"{reason} in expression '${{{self.text}}}'")

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise self.fail(f"expected {expected or 'a value'}, got {token or 'the end'}")
        self.index += 1
        return token

    def parse(self) -> Value:
        value = self.logical_or()
        if self.peek() is not None:
            raise self.fail(f"unexpected '{self.peek()}'")
        return value

    def logical_or(self) -> Value:
        value = self.logical_and()
        while self.peek() == "or":
            self.take()
            right = self.logical_and()
            value = bool(value) or bool(right)
        return value

    def logical_and(self) -> Value:
        value = self.logical_not()
        while self.peek() == "and":
            self.take()
            right = self.logical_not()
            value = bool(value) and bool(right)
        return value

    def logical_not(self) -> Value:
        if self.peek() == "not":
            self.take()
            return not bool(self.logical_not())
        return self.comparison()

    def comparison(self) -> Value:
        left = self.sum()
        token = self.peek()
        if token in _COMPARISONS:
            self.take()
            return _COMPARISONS[token](self.number(left), self.number(self.sum()))
        return left

    def sum(self) -> Value:
        value = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.number(self.product())
            value = self.number(value) + right if op == "+" else self.number(value) - right
        return value

    def product(self) -> Value:
        value = self.unary()
        while self.peek() in ("*", "/", "%"):
            op = self.take()
            left, right = self.number(value), self.number(self.unary())
            if op == "*":
                value = left * right
            elif right == 0.0:
                raise self.fail("division by zero")
            else:
                value = left / right if op == "/" else math.fmod(left, right)
        return value

    def unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            return -self.number(self.unary())
        return self.atom()

    def atom(self) -> Value:
        token = self.take()
        if token == "(":
            value = self.logical_or()
            self.take(")")
            return value
        if token.startswith("$"):
            return lookup(token[1:], self.params)
        if token in _FUNCTIONS:
            arity, function = _FUNCTIONS[token]
            self.take("(")
            args = [self.number(self.logical_or())]
            while self.peek() == ",":
                self.take()
                args.append(self.number(self.logical_or()))
            self.take(")")
            if len(args) != arity:
                raise self.fail(f"{token}() takes {arity} argument(s), got {len(args)}")
            try:
                return float(function(*args))
            except ValueError as exc:
                raise self.fail(f"{token}{tuple(args)}: {exc}") from None
        if token in ("true", "false"):
            return token == "true"
        if token[0].isdigit() or token[0] == ".":
            return float(token)
        raise self.fail(f"unexpected '{token}'")

    def number(self, value: Value) -> float:
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, float):
            return value
        try:
            return float(value)
        except ValueError:
            raise self.fail(f"'{value}' is not a number") from None


def lookup(name: str, params: Mapping[str, Value]) -> Value:
    """The value of parameter ``name`` (ExpressionError naming it when undeclared)."""
    if name not in params:
        raise ExpressionError(f"undeclared parameter '${name}'")
    return params[name]


def evaluate(expression: str, params: Mapping[str, Value]) -> Value:
    """Value of an expression body (the text between ``${`` and ``}``) given parameter values."""
    return _Parser(expression, params).parse()


def resolve_attribute(text: str, params: Mapping[str, Value]) -> str:
    """An attribute value with a ``$name`` reference or ``${...}`` expression replaced by its value
    (numbers written with ``repr``, booleans as ``true``/``false``); other text unchanged."""
    stripped = text.strip()
    if stripped.startswith("${") and stripped.endswith("}"):
        return format_value(evaluate(stripped[2:-1], params))
    if stripped.startswith("$") and re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", stripped):
        return format_value(lookup(stripped[1:], params))
    return text


def format_value(value: Value) -> str:
    """Attribute text of a value: ``true``/``false``, ``repr`` of floats (integral ones without .0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return value
