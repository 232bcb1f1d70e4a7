"""Fixtures for the API tests: the hand-written RL graph in a real Neo4j, and an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from neo4j import Driver
from rl_graphs import rl_graph

from kg.api import create_app
from kg.api.app import VERSION_TTL_S
from kg.settings import Settings
from kg.store.read import GraphReader
from kg.store.sync import VaultSync


@pytest.fixture(scope="session")
def warm_neo4j(neo4j_driver: Driver) -> Driver:
    """Plan the big read statements once per session, as `kg serve` does at startup: a cold plan on a
    fresh JVM can take longer than a request's timeout on a busy machine."""
    GraphReader(neo4j_driver).warm_up()
    return neo4j_driver


@pytest.fixture
def rl_vault(warm_neo4j: Driver, clean_db: None) -> Iterator[Driver]:
    VaultSync(warm_neo4j).sync("rl", "/vaults/rl", rl_graph())
    yield warm_neo4j


@pytest.fixture
def api_settings() -> Settings:
    return Settings(query_timeout_s=10.0)


@pytest.fixture
def version_ttl_s() -> float:
    """How long the app trusts a graph version it read (the app's default); tests override it with
    `@pytest.mark.parametrize("version_ttl_s", [...])`."""
    return VERSION_TTL_S


@pytest.fixture
async def client(rl_vault: Driver, api_settings: Settings, version_ttl_s: float) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings, driver=rl_vault, version_ttl_s=version_ttl_s)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kg.test") as c:
        yield c


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
