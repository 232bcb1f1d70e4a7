"""What Neo4j plans for a statement, for tests that a read seeks an index rather than scanning."""

from __future__ import annotations

from typing import Any

from neo4j import Driver


def plan_operators(driver: Driver, statement: str, database: str | None = None, **params: object) -> list[str]:
    """The operators of `statement`'s plan (EXPLAIN, nothing run), root first, once the indexes are online."""
    with driver.session(database=database) as session:
        session.run("CALL db.awaitIndexes(60)").consume()
        plan = session.run("EXPLAIN " + statement, **params).consume().plan
    assert plan is not None

    def walk(step: dict[str, Any]) -> list[str]:
        return [step["operatorType"].split("@")[0], *(o for child in step.get("children", []) for o in walk(child))]

    return walk(plan)
