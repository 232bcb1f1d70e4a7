"""`learningPath` answered without graphql-core's field-by-field execution.

A path answer holds thousands of fields, and graphql-core completes each one through several
calls (resolve info, resolver, completion, serialisation): for a 60-step path that is about half
the time of a first-time answer. Every field on the path's types is a plain attribute, so a
document that asks only for such fields is a projection: `plan` compiles its selection, once per
document, into functions that read the attributes and serialise them with the schema's own
scalars and enums. Anything else (fragments, directives, repeated keys, fields with resolvers or
arguments, other root fields, bad variables) has no plan and is executed by graphql-core as
before. tests/api/test_api_projection.py checks that both give the same JSON.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationType,
    SelectionSetNode,
    located_error,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast

ROOT_FIELD = "learningPath"
Convert = Callable[[Any], Any]


class _NoPlan(Exception):
    """The document (or a value met while projecting) needs graphql-core's own execution."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How to answer one operation: coerce its variables, read the root field's arguments, project."""

    schema: GraphQLSchema
    operation: Any  # OperationDefinitionNode
    field: FieldNode
    response_key: str
    project: Convert
    selected: frozenset[tuple[str, str]]  # (GraphQL type, field) pairs the document reads

    def selects(self, type_name: str, field_name: str) -> bool:
        return (type_name, field_name) in self.selected

    def arguments(self, variables: dict[str, Any] | None) -> dict[str, Any] | None:
        """The root field's arguments by GraphQL name (defaults applied), or None if the variables are
        not valid (graphql-core then reports what is wrong)."""
        coerced = get_variable_values(self.schema, self.operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            return None
        field_def = self.schema.query_type.fields[ROOT_FIELD]  # type: ignore[union-attr]
        try:
            return get_argument_values(field_def, self.field, coerced)
        except Exception:  # a GraphQLError: graphql-core reports it
            return None

    def result(self, value: Any) -> ExecutionResult | None:
        """The answer for the root field's value, or None if it needs graphql-core (a null where the
        schema says never, which graphql-core reports as an error)."""
        try:
            return ExecutionResult(data={self.response_key: self.project(value)}, errors=None)
        except _NoPlan:
            return None

    def error(self, exc: Exception) -> ExecutionResult:
        """What graphql-core answers when the (non-null) root field's resolver raises `exc`."""
        return ExecutionResult(data=None, errors=[located_error(exc, [self.field], [self.response_key])])


class Plans:
    """Plans per (document text, operation name), LRU-bounded; `None` is kept too (no plan)."""

    def __init__(self, schema: GraphQLSchema, maxsize: int = 256) -> None:
        self.schema = schema
        self.maxsize = maxsize
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def get(self, query: str, operation_name: str | None, document: DocumentNode) -> Plan | None:
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        try:
            found: Plan | None = _plan(self.schema, document, operation_name)
        except _NoPlan:
            found = None
        self._plans[key] = found
        if len(self._plans) > self.maxsize:
            self._plans.popitem(last=False)
        return found


def _plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan:
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY or operation.directives:
        raise _NoPlan
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        raise _NoPlan
    field = selections[0]
    if field.name.value != ROOT_FIELD or field.directives or schema.query_type is None:
        raise _NoPlan
    field_def = schema.query_type.fields[ROOT_FIELD]
    selected: set[tuple[str, str]] = set()
    project = _convert(field_def.type, field.selection_set, selected)
    key = field.alias.value if field.alias else field.name.value
    return Plan(schema, operation, field, key, project, frozenset(selected))


def _null() -> Any:
    raise _NoPlan


def _convert(
    type_: GraphQLOutputType, selection_set: SelectionSetNode | None, selected: set[tuple[str, str]]
) -> Convert:
    """value -> JSON-ready value, as graphql-core's completion of `type_` with `selection_set` gives it;
    adds the (type, field) pairs it reads to `selected`."""
    if isinstance(type_, GraphQLNonNull):
        inner = _convert(type_.of_type, selection_set, selected)
        return lambda v: _null() if v is None else inner(v)
    if isinstance(type_, GraphQLList):
        item = _convert(type_.of_type, selection_set, selected)
        return lambda v: None if v is None else [item(x) for x in v]
    if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
        if selection_set is not None:
            raise _NoPlan
        serialize = type_.serialize

        def leaf(v: Any) -> Any:
            if v is None:
                return None
            out = serialize(v)
            return _null() if out is None else out

        return leaf
    if isinstance(type_, GraphQLObjectType) and selection_set is not None:
        project = _object(type_, selection_set, selected)
        return lambda v: None if v is None else project(v)
    raise _NoPlan  # interfaces, unions


def _object(type_: GraphQLObjectType, selection_set: SelectionSetNode, selected: set[tuple[str, str]]) -> Convert:
    fields: list[tuple[str, str, Convert]] = []  # (response key, attribute, conversion)
    typename: list[str] = []  # response keys of __typename
    order: list[str] = []  # every response key, in the document's order
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            raise _NoPlan
        name = selection.name.value
        key = selection.alias.value if selection.alias else name
        if key in order:  # graphql-core merges repeated keys; not worth doing here
            raise _NoPlan
        order.append(key)
        if name == "__typename":
            typename.append(key)
            continue
        field_def = type_.fields.get(name)
        definition = field_def.extensions.get("strawberry-definition") if field_def else None
        if field_def is None or definition is None or definition.base_resolver is not None or field_def.args:
            raise _NoPlan
        selected.add((type_.name, name))
        fields.append((key, definition.python_name, _convert(field_def.type, selection.selection_set, selected)))
    if typename:  # keeps the document's key order
        type_name = type_.name

        def with_typename(obj: Any) -> dict[str, Any]:
            values = {key: convert(getattr(obj, attr)) for key, attr, convert in fields}
            return {key: values.get(key, type_name) for key in order}

        return with_typename

    def project(obj: Any) -> dict[str, Any]:
        return {key: convert(getattr(obj, attr)) for key, attr, convert in fields}

    return project
