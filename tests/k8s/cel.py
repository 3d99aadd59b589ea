"""The part of CEL (Common Expression Language) that the vendored CRDs' `x-kubernetes-validations`
rules use, evaluated the way the API server does on create.

Supported: `self` and field selection, `has(self.a.b)`, `.size()`, string/integer/bool
literals, `== != < <= > >=`, `! && ||` and parentheses. `&&` and `||` are commutative over
errors as in CEL: `true || <error>` is true, `false || <error>` is an error (and an error
fails the rule, as it does in the API server). Anything else raises `CelUnsupported`, which
the validator reports as an error: a rule is never silently skipped, except transition rules
(those that read `oldSelf`), which Kubernetes evaluates on update only.

No CEL package is pinned in this project; upstream's rules are few and small (see
k8s/crds/README.md), so this covers them and fails loudly on anything new.
"""
from __future__ import annotations

import re

TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<number>\d+)|"
                   r"(?P<name>[A-Za-z_]\w*)|(?P<op>==|!=|<=|>=|&&|\|\||[<>!().]))")


class CelUnsupported(Exception):
    """The rule uses CEL this evaluator does not implement."""


class CelError(Exception):
    """A CEL evaluation error (no such field, no matching overload): the rule fails."""


def is_transition_rule(rule: str) -> bool:
    return re.search(r"\boldSelf\b", rule) is not None


def evaluate(rule: str, self_value) -> bool:
    """True when ``rule`` holds for ``self_value``; False when it does not or errs."""
    try:
        return _evaluate(_Parser(rule).parse(), self_value) is True
    except CelError:
        return False


# -- parsing -------------------------------------------------------------------------------
def _tokens(text: str) -> list[tuple[str, str]]:
    out, position = [], 0
    while position < len(text.rstrip()):
        match = TOKEN.match(text, position)
        if not match:
            raise CelUnsupported(f"cannot read {text[position:]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens, self.at = _tokens(text), 0

    def parse(self):
        tree = self._or()
        if self.at != len(self.tokens):
            raise CelUnsupported(f"unexpected {self.tokens[self.at][1]!r}")
        return tree

    def _peek(self):
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def _take(self, expected=None):
        if self.at >= len(self.tokens):
            raise CelUnsupported("unexpected end of rule")
        kind, text = self.tokens[self.at]
        if expected is not None and text != expected:
            raise CelUnsupported(f"expected {expected!r}, found {text!r}")
        self.at += 1
        return kind, text

    def _or(self):
        left = self._and()
        while self._peek() == "||":
            self._take()
            left = ("or", left, self._and())
        return left

    def _and(self):
        left = self._unary()
        while self._peek() == "&&":
            self._take()
            left = ("and", left, self._unary())
        return left

    def _unary(self):
        if self._peek() == "!":
            self._take()
            return ("not", self._unary())
        left = self._postfix()
        if self._peek() in ("==", "!=", "<", "<=", ">", ">="):
            _, op = self._take()
            return ("compare", op, left, self._postfix())
        return left

    def _postfix(self):
        node = self._primary()
        while self._peek() == ".":
            self._take()
            _, name = self._take()
            if self._peek() == "(":
                self._take("(")
                self._take(")")
                if name != "size":
                    raise CelUnsupported(f"function {name}()")
                node = ("size", node)
            else:
                node = ("select", node, name)
        return node

    def _primary(self):
        kind, text = self._take()
        if text == "(":
            node = self._or()
            self._take(")")
            return node
        if kind == "string":
            return ("literal", bytes(text[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "number":
            return ("literal", int(text))
        if text in ("true", "false"):
            return ("literal", text == "true")
        if text == "has":
            self._take("(")
            argument = self._postfix()
            self._take(")")
            if argument[0] != "select":
                raise CelUnsupported("has() needs a field selection")
            return ("has", argument[1], argument[2])
        if text == "self":
            return ("self",)
        raise CelUnsupported(f"identifier {text!r}")


# -- evaluation ----------------------------------------------------------------------------
def _evaluate(node, self_value):
    kind = node[0]
    if kind == "self":
        return self_value
    if kind == "literal":
        return node[1]
    if kind == "select":
        target = _evaluate(node[1], self_value)
        if not isinstance(target, dict) or node[2] not in target:
            raise CelError(f"no such key: {node[2]}")
        return target[node[2]]
    if kind == "has":
        target = _evaluate(node[1], self_value)
        if not isinstance(target, dict):
            raise CelError("has() on a non-object")
        return node[2] in target
    if kind == "size":
        value = _evaluate(node[1], self_value)
        if not isinstance(value, (str, list, dict)):
            raise CelError("size() of a scalar")
        return len(value)
    if kind == "not":
        value = _evaluate(node[1], self_value)
        if not isinstance(value, bool):
            raise CelError("! of a non-bool")
        return not value
    if kind in ("and", "or"):
        return _logical(kind, node[1], node[2], self_value)
    if kind == "compare":
        return _compare(node[1], _evaluate(node[2], self_value), _evaluate(node[3], self_value))
    raise CelUnsupported(kind)


def _logical(kind, left, right, self_value):
    decisive = kind == "or"          # true decides ||, false decides &&
    values = []
    for operand in (left, right):
        try:
            value = _evaluate(operand, self_value)
            if not isinstance(value, bool):
                raise CelError(f"{kind} of a non-bool")
        except CelError as error:
            value = error
        if value is decisive:
            return decisive
        values.append(value)
    errors = [v for v in values if isinstance(v, CelError)]
    if errors:
        raise errors[0]
    return not decisive


def _compare(op, left, right):
    def kind_of(value):
        return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else type(value).__name__
    same = kind_of(left) == kind_of(right)
    if op in ("==", "!="):           # heterogeneous equality, as Kubernetes' cel-go has it
        return (same and left == right) == (op == "==")
    if not same:
        raise CelError(f"no matching overload for {kind_of(left)} {op} {kind_of(right)}")
    if not isinstance(left, (int, str)):
        raise CelError(f"{op} on {kind_of(left)}")
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
