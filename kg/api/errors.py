"""Errors a client may see. Anything else is masked ("Unexpected error.") by the schema."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError

from kg.store.read import StoreError


class ApiError(GraphQLError):
    """A GraphQL error with a stable `extensions.code`; its message is meant for the user."""

    def __init__(self, message: str, code: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


class UnknownConceptError(ApiError):
    """`empty`: why nothing could be suggested, when the graph (or the vault asked for) has no concepts."""

    def __init__(self, text: str, suggestions: Sequence[str], empty: str | None = None) -> None:
        if suggestions:
            hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?"
        else:
            hint = f"; {empty}" if empty else ""
        super().__init__(
            f"unknown concept {text!r}{hint}", "UNKNOWN_CONCEPT", concept=text, suggestions=list(suggestions)
        )


def emptiness(concepts: int, vault: str | None) -> str | None:
    """What to tell a user whose concept is unknown because there are no concepts at all."""
    if concepts:
        return None
    if vault is not None:
        return f"vault {vault!r} has no concepts: is it ingested under that name? (`kg ingest VAULT --name {vault}`)"
    return "the graph has no concepts yet: ingest a vault first (`kg ingest VAULT`)"


class BadArgumentError(ApiError):
    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}", "BAD_ARGUMENT", argument=argument)


def is_public(error: GraphQLError) -> bool:
    """Validation errors, kg's own errors and store errors (already scrubbed) are shown as they are."""
    original = error.original_error
    return original is None or isinstance(original, (ApiError, StoreError))
