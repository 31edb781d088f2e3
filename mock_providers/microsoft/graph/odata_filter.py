"""Graph's `$filter` on events and contacts: the OData v4 grammar real clients send there, parsed
by lark (LALR, a well-kept parser library) instead of string splitting, type-checked against the
entity's properties, and compiled to a predicate.

Accepted: `eq ne gt ge lt le`, `and`/`or`/`not` with their OData precedence, parentheses,
`startswith`/`endswith`/`contains` (also compared with `eq true`), `tolower`/`toupper`/`trim`,
`any`/`all` lambdas over collections (`attendees/any(a: a/emailAddress/address eq '…')`,
`categories/any(c: c eq '…')`, `emailAddresses/any(a: a/address eq '…')`, the documented way to
find a contact by e-mail), a bare boolean property (`isAllDay`, `not isCancelled`), and typed
literals: strings, numbers, `true`/`false`, `null`, DateTimeOffset (`2024-05-01T10:00:00Z`),
GUIDs and enum literals (`microsoft.graph.sensitivity'private'`).

Coercion as Graph's OData reader does it: a string literal stands for an enum member (`sensitivity
eq 'private'`) and for the `dateTime` string of start/end (compared as an instant, as Outlook
does); a DateTimeOffset literal or a string is accepted for `createdDateTime` and
`lastModifiedDateTime`; anything else of the wrong type is ODL's 400 "A binary operator with
incompatible types was detected". String comparisons ignore case, as Outlook's do.

Errors, never a 5xx: a syntax error is 400 `BadRequest` "Invalid filter clause: Syntax error at
position N in '…'."; a property Graph does not filter on there is 400
`ErrorInvalidUrlQueryFilter` "The query filter contains one or more invalid nodes."; an unknown
function or a wrong argument count is 400 `BadRequest` as ODL words it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput

from mock_providers.microsoft.graph.errors import GraphError, bad_request

MAX_FILTER_LENGTH = 4096  # longer filters are refused before parsing (Graph's URL cap is ~8 KB)
MAX_DEPTH = 64  # nesting of parentheses / not / lambdas

_GRAMMAR = r"""
?start: or_
?or_: and_
    | or_ OR and_                      -> or_op
?and_: unary
    | and_ AND unary                   -> and_op
?unary: NOT unary                      -> not_op
    | atom
?atom: "(" or_ ")"
    | value COMP value                 -> compare
    | call
    | lambda_
    | path                             -> bare
?value: path
    | literal
    | call
call: FUNC "(" [value ("," value)*] ")"
lambda_: path "/" LAMBDA "(" [NAME ":" or_] ")"
path: NAME
    | path "/" NAME
?literal: STRING                       -> string
    | NUMBER                           -> number
    | BOOL                             -> boolean
    | NULL                             -> null
    | DATETIME                         -> datetimeoffset
    | GUID                             -> guid
    | QUALIFIED STRING                 -> enum

OR.2: /or(?![A-Za-z0-9_])/
AND.2: /and(?![A-Za-z0-9_])/
NOT.2: /not(?![A-Za-z0-9_])/
COMP.2: /(eq|ne|gt|ge|lt|le)(?![A-Za-z0-9_])/
LAMBDA.3: /(any|all)(?=\s*\()/
FUNC.3: /(?!(?:not|and|or)(?![A-Za-z0-9_]))[A-Za-z_][A-Za-z0-9_]*(?=\s*\()/
BOOL.2: /(true|false)(?![A-Za-z0-9_])/
NULL.2: /null(?![A-Za-z0-9_])/
GUID.4: /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/
DATETIME.3: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/
NUMBER: /-?\d+(\.\d+)?([eE][+-]?\d+)?/
STRING: /'([^']|'')*'/
QUALIFIED.2: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+(?=')/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
%ignore /[ \t]+/
"""
_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)

# Edm types the checker knows; "enum:<name>" for an enum property.
STRING, BOOLEAN, INSTANT, NUMBER, NULL, GUID = (
    "Edm.String",
    "Edm.Boolean",
    "Edm.DateTimeOffset",
    "Edm.Double",
    "null",
    "Edm.Guid",
)
Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Prop:
    """A filterable property: its Edm type and how to read it from the entity."""

    type: str
    get: Getter
    enum_members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Collection:
    """A filterable collection (lambda operators): item properties, or `item` for a collection
    of primitives (categories, businessPhones)."""

    get: Getter
    item: Prop | None = None
    props: dict[str, Prop] = field(default_factory=dict)


Schema = dict[str, Prop | Collection]  # lower-cased path ("start/datetime") -> property


@dataclass(frozen=True, slots=True)
class _Typed:
    """A compiled operand: its type and how to compute it under a scope."""

    type: str
    eval: Callable[[dict[str, Any]], Any]
    enum_members: tuple[str, ...] = ()
    constant: Any = None  # a literal's value (coercion reads it)
    literal: bool = False


Predicate = Callable[[Any], bool]


def _syntax(text: str, position: int) -> GraphError:
    return bad_request(f"Invalid filter clause: Syntax error at position {position} in '{text}'.")


def _invalid_nodes() -> GraphError:
    return GraphError(
        400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
    )


def _incompatible(left: str, right: str, op: str) -> GraphError:
    kinds = {
        "eq": "Equal",
        "ne": "NotEqual",
        "gt": "GreaterThan",
        "ge": "GreaterThanOrEqual",
        "lt": "LessThan",
        "le": "LessThanOrEqual",
    }
    return bad_request(
        "Invalid filter clause: A binary operator with incompatible types was "
        f"detected. Found operand types '{left}' and '{right}' for operator kind "
        f"'{kinds.get(op, op)}'."
    )


def parse(text: str, schema: Schema, scope_name: str = "$it") -> Predicate:
    """The predicate `text` describes over entities of `schema`; GraphError when Graph would
    refuse it."""
    if len(text) > MAX_FILTER_LENGTH:
        raise bad_request("Invalid filter clause: the filter is too long.")
    if not text.strip():
        raise _syntax(text, 0)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as err:
        position = (
            err.pos_in_stream
            if isinstance(err, UnexpectedCharacters)
            else getattr(getattr(err, "token", None), "start_pos", None)
        )
        raise _syntax(text, position if position is not None else len(text)) from None
    except LarkError:
        raise _syntax(text, len(text)) from None
    compiled = _Compiler(text, schema).boolean(tree, {}, 0)

    def predicate(entity: Any) -> bool:
        try:
            return bool(compiled({"$it": entity}))
        except TypeError:  # ordering against null or mixed values: the clause is false
            return False

    return predicate


_FUNCS: dict[str, tuple[int, str]] = {  # name -> (argument count, result type)
    "startswith": (2, BOOLEAN),
    "endswith": (2, BOOLEAN),
    "contains": (2, BOOLEAN),
    "tolower": (1, STRING),
    "toupper": (1, STRING),
    "trim": (1, STRING),
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


class _Compiler:
    def __init__(self, text: str, schema: Schema) -> None:
        self.text = text
        self.schema = schema

    # -- boolean expressions ------------------------------------------------------------------
    def boolean(
        self, node: Tree | Token, lambdas: dict[str, Collection], depth: int
    ) -> Callable[[dict[str, Any]], bool]:
        if depth > MAX_DEPTH:
            raise bad_request("Invalid filter clause: the filter is nested too deeply.")
        if isinstance(node, Token):
            raise _syntax(self.text, node.start_pos or 0)
        kind = node.data
        if kind in ("or_op", "and_op"):
            left = self.boolean(node.children[0], lambdas, depth + 1)
            right = self.boolean(node.children[2], lambdas, depth + 1)
            if kind == "or_op":
                return lambda s: left(s) or right(s)
            return lambda s: left(s) and right(s)
        if kind == "not_op":
            inner = self.boolean(node.children[1], lambdas, depth + 1)
            return lambda s: not inner(s)
        if kind == "compare":
            return self.compare(node, lambdas)
        if kind in ("call", "bare"):
            operand = self.value(node.children[0] if kind == "bare" else node, lambdas)
            if operand.type != BOOLEAN:
                raise bad_request("Invalid filter clause: The expression is not a boolean.")
            return lambda s: operand.eval(s) is True
        if kind == "lambda_":
            return self.lambda_(node, lambdas, depth)
        raise _syntax(self.text, 0)

    def compare(
        self, node: Tree, lambdas: dict[str, Collection]
    ) -> Callable[[dict[str, Any]], bool]:
        left_node, op_token, right_node = node.children
        op = str(op_token)
        left, right = self.value(left_node, lambdas), self.value(right_node, lambdas)
        left, right = self.coerce(left, right, op), self.coerce(right, left, op)
        if left.type != right.type and NULL not in (left.type, right.type):
            raise _incompatible(left.type, right.type, op)
        if left.type == BOOLEAN and op not in ("eq", "ne"):
            raise _incompatible(left.type, right.type, op)
        func = _COMPARE[op]
        lhs, rhs = left.eval, right.eval
        return lambda s: func(_fold(lhs(s)), _fold(rhs(s)))

    def coerce(self, operand: _Typed, other: _Typed, op: str) -> _Typed:
        """A string literal read as the other side's type: an enum member, an instant."""
        if not operand.literal or operand.type != STRING or other.type in (STRING, NULL):
            return operand
        value = str(operand.constant)
        if other.type.startswith("enum:"):
            members = other.enum_members
            member = value.casefold()
            if member not in members:
                raise bad_request(
                    f"Invalid filter clause: The string '{value}' is not a valid "
                    "enumeration type constant."
                )
            return _Typed(other.type, lambda s: member, members, member, True)
        if other.type == INSTANT:
            moment = self.instant(value)
            return _Typed(INSTANT, lambda s: moment, constant=moment, literal=True)
        return operand

    def instant(self, value: Any) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise bad_request(
                f"Invalid filter clause: '{value}' is not a valid date and time."
            ) from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)

    def lambda_(
        self, node: Tree, lambdas: dict[str, Collection], depth: int
    ) -> Callable[[dict[str, Any]], bool]:
        path_node, op_token, *rest = node.children
        collection = self.collection(path_node, lambdas)
        getter = collection.get
        scope_owner = self.scope_of(path_node, lambdas)
        if not rest:  # attendees/any(): the collection is not empty
            if str(op_token) != "any":
                raise _syntax(self.text, op_token.start_pos or 0)
            return lambda s: bool(getter(s[scope_owner]) or ())
        var, body = str(rest[0]), rest[1]
        if var in lambdas or var == "$it":
            raise bad_request(
                f"Invalid filter clause: The range variable '{var}' has already been declared."
            )
        inner = self.boolean(body, {**lambdas, var: collection}, depth + 1)
        quantifier = any if str(op_token) == "any" else all

        def run(s: dict[str, Any]) -> bool:
            items: Iterable[Any] = getter(s[scope_owner]) or ()
            return quantifier(inner({**s, var: item}) for item in items)

        return run

    # -- operands ---------------------------------------------------------------------------------
    def value(self, node: Tree | Token, lambdas: dict[str, Collection]) -> _Typed:
        if isinstance(node, Token):
            raise _syntax(self.text, node.start_pos or 0)
        kind = node.data
        if kind == "path":
            return self.prop(node, lambdas)
        if kind == "call":
            return self.call(node, lambdas)
        token = node.children[-1]
        raw = str(token)
        if kind == "string":
            text = raw[1:-1].replace("''", "'")
            return _Typed(STRING, lambda s: text, constant=text, literal=True)
        if kind == "number":
            number = float(raw)
            return _Typed(NUMBER, lambda s: number)
        if kind == "boolean":
            flag = raw == "true"
            return _Typed(BOOLEAN, lambda s: flag)
        if kind == "null":
            return _Typed(NULL, lambda s: None)
        if kind == "datetimeoffset":
            moment = self.instant(raw.replace("Z", "+00:00"))
            return _Typed(INSTANT, lambda s: moment)
        if kind == "guid":
            guid = raw.lower()
            return _Typed(GUID, lambda s: guid)
        if kind == "enum":
            type_name = str(node.children[0]).rsplit(".", 1)[-1].casefold()
            member = raw[1:-1].replace("''", "'").casefold()
            return _Typed(f"enum:{type_name}", lambda s: member, (member,))
        raise _syntax(self.text, 0)

    def call(self, node: Tree, lambdas: dict[str, Collection]) -> _Typed:
        name_token, *args = node.children
        name = str(name_token)
        spec = _FUNCS.get(name)
        if spec is None:
            raise bad_request(
                f"Invalid filter clause: An unknown function with name '{name}' "
                "was found. This may also be a function import or a key lookup "
                "on a navigation property, which is not allowed."
            )
        count, result = spec
        operands = [self.value(a, lambdas) for a in args if a is not None]
        if len(operands) != count:
            raise bad_request(
                f"Invalid filter clause: No function signature for the function "
                f"with name '{name}' matches the specified arguments."
            )
        for operand in operands:
            if operand.type not in (STRING, NULL) and not operand.type.startswith("enum:"):
                raise bad_request(
                    f"Invalid filter clause: No function signature for the "
                    f"function with name '{name}' matches the specified "
                    "arguments."
                )
        evals = [o.eval for o in operands]
        if name in ("tolower", "toupper", "trim"):
            only = evals[0]
            convert = {"tolower": str.lower, "toupper": str.upper, "trim": str.strip}[name]
            return _Typed(result, lambda s: None if only(s) is None else convert(only(s)))
        first, second = evals
        test = {
            "startswith": str.startswith,
            "endswith": str.endswith,
            "contains": str.__contains__,
        }[name]

        def run(s: dict[str, Any]) -> bool:
            a, b = first(s), second(s)
            if a is None or b is None:
                return False
            return test(str(a).casefold(), str(b).casefold())

        return _Typed(BOOLEAN, run)

    def segments(self, node: Tree) -> list[str]:
        out: list[str] = []
        while isinstance(node, Tree) and node.data == "path":
            out.insert(0, str(node.children[-1]))
            node = node.children[0] if len(node.children) > 1 else None  # type: ignore[assignment]
        return out

    def scope_of(self, node: Tree, lambdas: dict[str, Collection]) -> str:
        first = self.segments(node)[0]
        return first if first in lambdas else "$it"

    def prop(self, node: Tree, lambdas: dict[str, Collection]) -> _Typed:
        names = self.segments(node)
        if names[0] in lambdas:  # a/emailAddress/address inside a lambda over `a`
            collection, var = lambdas[names[0]], names[0]
            rest = "/".join(names[1:]).casefold()
            if not rest:
                if collection.item is None:
                    raise _invalid_nodes()
                item = collection.item
                return _Typed(item.type, lambda s: item.get(s[var]), item.enum_members)
            found = collection.props.get(rest)
            if found is None:
                raise _invalid_nodes()
            return _Typed(found.type, lambda s: found.get(s[var]), found.enum_members)
        found_top = self.schema.get("/".join(names).casefold())
        if not isinstance(found_top, Prop):
            raise _invalid_nodes()
        getter = found_top.get
        return _Typed(found_top.type, lambda s: getter(s["$it"]), found_top.enum_members)

    def collection(self, node: Tree, lambdas: dict[str, Collection]) -> Collection:
        names = self.segments(node)
        if names[0] in lambdas:  # nested lambdas over an item's own collection: not modelled
            raise _invalid_nodes()
        found = self.schema.get("/".join(names).casefold())
        if not isinstance(found, Collection):
            raise _invalid_nodes()
        return found


def enum(name: str, members: Iterable[str], get: Getter) -> Prop:
    """An enum property; its members compared case-insensitively."""

    def read(entity: Any) -> Any:
        value = get(entity)
        return value.casefold() if isinstance(value, str) else value

    return Prop(f"enum:{name.casefold()}", read, tuple(m.casefold() for m in members))
