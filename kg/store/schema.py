"""Apply kg's Neo4j schema (constraints and indexes from schema/constraints.cypher), idempotently."""

from __future__ import annotations

import re

from neo4j import Driver

from kg.resources import schema_dir

_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)
# Every statement of the schema file names what it creates: `CREATE [FULLTEXT ]INDEX|CONSTRAINT name IF NOT EXISTS`.
_SCHEMA_NAME = re.compile(r"^CREATE\s+(?:\w+\s+)?(?:INDEX|CONSTRAINT)\s+(\w+)\s+IF\s+NOT\s+EXISTS", re.IGNORECASE)

# Two statements: Neo4j 5 cannot UNION `SHOW` commands (a uniqueness constraint's backing index has
# its name too, but a constraint without one would only show in the second).
SHOW_INDEX_NAMES = "SHOW INDEXES YIELD name RETURN name"
SHOW_CONSTRAINT_NAMES = "SHOW CONSTRAINTS YIELD name RETURN name"


def schema_statements() -> list[str]:
    """The statements of schema/constraints.cypher, comments removed, split on ';'."""
    text = _COMMENT.sub("", (schema_dir() / "constraints.cypher").read_text(encoding="utf-8"))
    return [s.strip() for s in text.split(";") if s.strip()]


def schema_name(statement: str) -> str | None:
    """The index or constraint name a schema statement creates (None if it does not say)."""
    match = _SCHEMA_NAME.match(statement)
    return match.group(1) if match else None


def apply_schema(driver: Driver, database: str | None = None) -> int:
    """Create whatever constraint or index is missing; returns how many statements ran."""
    statements = schema_statements()
    with driver.session(database=database) as session:
        for statement in statements:
            session.run(statement).consume()
    return len(statements)


def ensure_schema(driver: Driver, database: str | None = None) -> int:
    """Like `apply_schema`, but first asks which names exist and runs only the missing statements.

    Two `SHOW` round trips instead of a statement per index on every ingest. A name already present
    is exactly what `IF NOT EXISTS` would have skipped, so the outcome is the same as `apply_schema`.
    Statements without a recognisable name always run. Returns how many statements ran.
    """
    statements = schema_statements()
    with driver.session(database=database) as session:
        existing = set(session.run(SHOW_INDEX_NAMES).value("name"))
        existing |= set(session.run(SHOW_CONSTRAINT_NAMES).value("name"))
        missing = [s for s in statements if schema_name(s) not in existing]
        for statement in missing:
            session.run(statement).consume()
    return len(missing)
