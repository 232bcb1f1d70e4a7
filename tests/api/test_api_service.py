"""The service around the schema: probes, GraphiQL switch, limits, clean errors, timeouts, the SDL file."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import gql
from neo4j import Driver
from pydantic import SecretStr

from kg.api import create_app, schema_sdl
from kg.local_neo4j import find_free_port
from kg.resources import schema_dir
from kg.settings import Settings
from kg.store.read import GraphReader, QueryTimeoutError, StatsRecord, StoreError

integration = pytest.mark.integration
anyio = pytest.mark.anyio


@pytest.fixture
async def dead_client() -> AsyncIterator[httpx.AsyncClient]:
    """An app whose Neo4j is not there (nothing listens on the port), with a password it must not leak."""
    settings = Settings(
        neo4j_uri=f"bolt://127.0.0.1:{find_free_port()}",
        neo4j_password=SecretStr("do-not-leak-this-pw"),
        graphiql=False,
        query_timeout_s=5.0,
    )
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kg.test") as c:
        yield c


@integration
@anyio
async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


@anyio
async def test_neo4j_unreachable_fails_readiness_and_gives_a_clean_graphql_error(
    dead_client: httpx.AsyncClient,
) -> None:
    assert (await dead_client.get("/healthz")).status_code == 200
    ready = await dead_client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    body = await gql(dead_client, '{ learningPath(to: "GRPO") { totals { steps } } }')
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPH_UNAVAILABLE"
    assert error["message"] == "the graph database is unreachable"
    text = str(body) + ready.text
    assert "do-not-leak-this-pw" not in text and "Traceback" not in text and "bolt://" not in text


@integration
@anyio
async def test_graphiql_is_switchable(rl_vault: Driver) -> None:
    for enabled in (True, False):
        app = create_app(Settings(graphiql=enabled), driver=rl_vault)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kg.test") as c:
            page = await c.get("/graphql", headers={"Accept": "text/html"})
            assert ("graphiql" in page.text.lower()) is enabled, page.status_code


@integration
@anyio
async def test_abusive_queries_are_rejected(client: httpx.AsyncClient) -> None:
    deep = '{ concept(name: "PPO") { ' + "prerequisites { concept { " * 7 + "name" + " } }" * 7 + " } }"
    body = await gql(client, deep)
    assert body["data"] is None and "depth" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: stats {{ notes }}" for i in range(40)) + " }"
    body = await gql(client, aliases)
    assert body["data"] is None and "aliases" in body["errors"][0]["message"].lower()
    tokens = "{ stats { " + "notes " * 3000 + "} }"
    body = await gql(client, tokens)
    assert body["data"] is None and "token" in body["errors"][0]["message"].lower()
    # within the limits: fine
    body = await gql(client, "{ " + " ".join(f"a{i}: stats {{ notes }}" for i in range(10)) + " }")
    assert "errors" not in body


@integration
@anyio
async def test_the_api_is_read_only(client: httpx.AsyncClient, neo4j_driver: Driver) -> None:
    body = await gql(client, "mutation { learningPath }")
    assert body["data"] is None and "errors" in body  # the schema has no mutations
    # and the reader's sessions are READ sessions: Neo4j itself refuses a write through them
    with pytest.raises(StoreError, match="graph query failed"):
        GraphReader(neo4j_driver)._read("CREATE (n:ShouldNotExist) RETURN n")
    with neo4j_driver.session() as session:
        record = session.run("MATCH (n:ShouldNotExist) RETURN count(n) AS n").single()
    assert record is not None and record["n"] == 0


@integration
def test_reader_stops_slow_queries(neo4j_driver: Driver) -> None:
    reader = GraphReader(neo4j_driver, timeout_s=0.3)
    slow = "UNWIND range(1, 1000000000) AS x WITH x WHERE x % 7 = 123456789 RETURN count(x) AS n"
    with pytest.raises(QueryTimeoutError, match=r"longer than 0\.3 s"):
        reader._read(slow)
    assert reader.queries == 1


def test_exported_sdl_matches_the_code() -> None:
    current = (schema_dir() / "schema.graphql").read_text(encoding="utf-8")
    assert current == schema_sdl(), "schema/schema.graphql is stale: run `kg schema export-graphql`"
    assert "learningPath(to: [String!]!, known: [String!]! = []" in current


@integration
@anyio
async def test_graphiql_introspection_passes_the_limits(client: httpx.AsyncClient) -> None:
    from graphql import get_introspection_query

    body = await gql(client, get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert "errors" not in body, body.get("errors")
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"LearningPath", "LearningStep", "Reason", "Concept", "Note"} <= names


@anyio
async def test_startup_warm_up_never_blocks_or_fails_startup() -> None:
    """The lifespan plans the big statements in the background; with Neo4j down the app still starts."""
    app = create_app(Settings(neo4j_uri=f"bolt://127.0.0.1:{find_free_port()}"))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/readyz")).status_code == 503


@integration
@anyio
async def test_startup_warm_up_plans_the_closure(rl_vault: Driver) -> None:
    app = create_app(Settings(), driver=rl_vault)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        body = await gql(c, '{ learningPath(to: "GRPO") { totals { steps } } }')
    assert body["data"]["learningPath"]["totals"]["steps"] == 7


class _BrokenReader(GraphReader):
    """A reader whose `stats` fails with an unexpected error carrying something secret."""

    def stats(self, vault: str | None = None) -> StatsRecord:
        raise RuntimeError("boom at bolt://neo4j:do-not-leak-this-pw@db:7687")


@anyio
async def test_unexpected_errors_are_masked() -> None:
    import asyncio

    from neo4j import GraphDatabase

    from kg.api.context import Context
    from kg.api.schema import schema

    driver = GraphDatabase.driver(f"bolt://127.0.0.1:{find_free_port()}")
    try:
        result = await schema.execute("{ stats { notes } }", context_value=Context(reader=_BrokenReader(driver)))
    finally:
        await asyncio.to_thread(driver.close)
    (error,) = result.errors or []
    assert error.message == "Unexpected error."
    assert "do-not-leak-this-pw" not in str(error.formatted)
