"""The one error type of kg.local_neo4j."""

from __future__ import annotations


class LocalNeo4jError(Exception):
    """Starting, stopping or building the local Neo4j failed.

    `str(error)` is one line meant for the user; `details` (e.g. the tail of the Neo4j log) is
    optional extra context the CLI prints below it.
    """

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.details = details
