"""schemathesis against the GraphQL endpoint: generated queries never get a 5xx.

The API runs in-process (ASGI) on the session's real Neo4j with the sample vault ingested, so the
queries reach the real resolvers and Cypher. Each root field gets a bounded number of generated
queries (arguments of every shape schemathesis can build: long strings, unicode, huge numbers, empty
lists); every answer must be a well-formed GraphQL response below 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neo4j import Driver

from kg.api import create_app
from kg.pipeline import ingest_vault
from kg.resources import sample_vault_dir
from kg.settings import Settings

schemathesis = pytest.importorskip("schemathesis")

pytestmark = pytest.mark.integration

EXAMPLES_PER_FIELD = 40


@pytest.fixture(scope="module")
def graphql_schema(neo4j_driver: Driver) -> Iterator[Any]:
    with neo4j_driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    ingest_vault(neo4j_driver, sample_vault_dir(), vault_name="sample")
    app = create_app(Settings(query_timeout_s=10.0, graphiql=False), driver=neo4j_driver)
    yield schemathesis.graphql.from_asgi("/graphql", app)


def test_generated_graphql_queries_never_get_a_5xx(graphql_schema: Any) -> None:
    operations = [result.ok() for result in graphql_schema.get_all_operations()]
    assert operations, "schemathesis found no GraphQL operations"
    failures: list[str] = []
    for operation in operations:
        label = operation.label

        @settings(
            max_examples=EXAMPLES_PER_FIELD,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy(), label=st.just(label))
        def check(case: Any, label: str) -> None:
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{label}: HTTP {response.status_code} for {case.body!r}: {response.text[:300]}")
                return
            body = response.json()
            assert isinstance(body, dict) and ("data" in body or "errors" in body), response.text[:300]
            for error in body.get("errors") or []:
                # clean errors: no stack trace, no driver internals or connection details
                text = str(error)
                assert "Traceback" not in text and "bolt://" not in text and "neo4j.exceptions" not in text, error

        check()
    assert not failures, "\n".join(failures[:10])
