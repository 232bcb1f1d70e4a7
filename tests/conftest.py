"""Real Neo4j for integration tests.

`neo4j_connection` (session): if NEO4J_URI is set, that server (NEO4J_USER / NEO4J_PASSWORD /
NEO4J_DATABASE); otherwise a fresh Neo4j 5.26 started through kg's own `LocalNeo4j` on free ports
with a temporary data dir, stopped at the end of the session. The launcher build is cached in
KG_HOME (default ~/.kg), so only the very first run pays for it.

If Neo4j cannot be started the integration tests are skipped, unless KG_REQUIRE_NEO4J=1 (CI), in
which case they fail with the reason. `clean_db` empties the database (all nodes and relationships;
constraints and indexes stay) before a test: never point NEO4J_URI at data you want to keep.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import pytest
from neo4j import Driver, GraphDatabase

from kg.local_neo4j import LocalNeo4j, LocalNeo4jError, find_free_port
from kg.settings import Settings

# Small enough to sit beside other processes on a 2-core CI box, big enough for the sample vault.
TEST_HEAP = "1g"
TEST_PAGECACHE = "256m"
# Generous: a cold JVM on a busy 2-core machine can take a minute before Bolt answers.
TEST_START_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Neo4jConnection:
    uri: str
    user: str
    password: str
    database: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def env(self) -> dict[str, str]:
        """The settings a `kg` command run by a test reads to reach this server."""
        return {
            "NEO4J_URI": self.uri,
            "NEO4J_USER": self.user,
            "NEO4J_PASSWORD": self.password,
            "NEO4J_DATABASE": self.database,
        }


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("KG_REQUIRE_NEO4J") == "1":
        pytest.fail(f"Neo4j is required (KG_REQUIRE_NEO4J=1) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"Neo4j unavailable: {reason}")


@pytest.fixture(scope="session")
def neo4j_connection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jConnection]:
    settings = Settings()
    if os.environ.get("NEO4J_URI"):
        yield Neo4jConnection(
            uri=settings.neo4j_uri,
            user=settings.neo4j_user,
            password=settings.neo4j_password.get_secret_value(),
            database=settings.neo4j_database,
        )
        return

    password = settings.neo4j_password.get_secret_value()
    server = LocalNeo4j(
        home=settings.home,
        data_dir=tmp_path_factory.mktemp("neo4j-data"),
        bolt_port=find_free_port(),
        http_port=None,
        password=password,
        heap=TEST_HEAP,
        pagecache=TEST_PAGECACHE,
    )
    try:
        uri = server.start(timeout=TEST_START_TIMEOUT_S)
    except LocalNeo4jError as error:
        _unavailable(f"{error}\n{error.details or ''}".strip())
    try:
        yield Neo4jConnection(uri=uri, user="neo4j", password=password, database="neo4j")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def neo4j_uri(neo4j_connection: Neo4jConnection) -> str:
    return neo4j_connection.uri


@pytest.fixture(scope="session")
def neo4j_auth(neo4j_connection: Neo4jConnection) -> tuple[str, str]:
    return neo4j_connection.auth


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_connection: Neo4jConnection) -> Iterator[Driver]:
    driver = GraphDatabase.driver(neo4j_connection.uri, auth=neo4j_connection.auth)
    try:
        driver.verify_connectivity()
    except Exception as error:  # any failure to reach the configured server means "unavailable"
        driver.close()
        _unavailable(f"cannot connect to {neo4j_connection.uri}: {error}")
    yield driver
    driver.close()


@pytest.fixture
def clean_db(neo4j_driver: Driver, neo4j_connection: Neo4jConnection) -> None:
    """Delete every node and relationship first; schema (constraints, indexes) is kept."""
    with neo4j_driver.session(database=neo4j_connection.database) as session:
        # Batched, in auto-commit transactions, so a big leftover graph cannot exhaust the heap.
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
