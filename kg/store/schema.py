"""Apply kg's Neo4j schema (constraints and indexes from schema/constraints.cypher), idempotently."""

from __future__ import annotations

import re

from neo4j import Driver

from kg.resources import schema_dir

_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def schema_statements() -> list[str]:
    """The statements of schema/constraints.cypher, comments removed, split on ';'."""
    text = _COMMENT.sub("", (schema_dir() / "constraints.cypher").read_text(encoding="utf-8"))
    return [s.strip() for s in text.split(";") if s.strip()]


def apply_schema(driver: Driver, database: str | None = None) -> int:
    """Create whatever constraint or index is missing; returns how many statements ran."""
    statements = schema_statements()
    with driver.session(database=database) as session:
        for statement in statements:
            session.run(statement).consume()
    return len(statements)
