"""Neo4j going away under kg: an ingest stopped midway, and the API while the database is down.

These tests run their own LocalNeo4j (not the session fixture), because they stop and restart it.
- `kg ingest` while Neo4j is stopped mid-sync: a clear one-line error and a non-zero exit; after a
  restart the graph is exactly the previous one and a re-run completes.
- the API with Neo4j down: `/readyz` fails, a query gets a clean GraphQL error (no 5xx, no trace),
  and both recover when Neo4j is back.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from neo4j import Driver, GraphDatabase

from bench.generate_vault import generate
from kg.api import create_app
from kg.api.queries import LEARNING_PATH
from kg.cli.common import EXIT_TEMPFAIL, EXIT_UNAVAILABLE
from kg.local_neo4j import LocalNeo4j, LocalNeo4jError, find_free_port
from kg.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "kg-outage-test-pw"
START_TIMEOUT_S = 300.0
VAULT_NAME = "outage"


class Server:
    """One LocalNeo4j that can be stopped and started again on the same port and data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.port = find_free_port()
        self.data_dir = data_dir

    def _local(self) -> LocalNeo4j:
        return LocalNeo4j(
            home=Settings().home,
            data_dir=self.data_dir,
            bolt_port=self.port,
            password=PASSWORD,
            heap="1g",
            pagecache="256m",
        )

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def start(self) -> None:
        try:
            self._local().start(timeout=START_TIMEOUT_S)
        except LocalNeo4jError as error:
            if os.environ.get("KG_REQUIRE_NEO4J") == "1":
                pytest.fail(f"Neo4j is required but did not start: {error}", pytrace=False)
            pytest.skip(f"Neo4j unavailable: {error}")

    def stop(self) -> None:
        self._local().stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("outage-neo4j"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def driver(server: Server) -> Iterator[Driver]:
    d = GraphDatabase.driver(server.uri, auth=("neo4j", PASSWORD))
    yield d
    d.close()


def kg_env(server: Server) -> dict[str, str]:
    return dict(os.environ, NEO4J_URI=server.uri, NEO4J_USER="neo4j", NEO4J_PASSWORD=PASSWORD, NEO4J_DATABASE="neo4j")


def kg_ingest(server: Server, vault: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "ingest", str(vault), "--name", VAULT_NAME],
        env=kg_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def snapshot(driver: Driver) -> dict[str, object]:
    """What the vault's graph holds: node uids per label and every relationship (type, ends, rule)."""
    # execute_query retries on a connection the restart left dead (a plain session.run would not).
    nodes = driver.execute_query(
        "MATCH (n) WHERE n.vault = $v RETURN labels(n)[0] AS label, n.uid AS uid, n.digest AS digest", v=VAULT_NAME
    ).records
    rels = driver.execute_query(
        "MATCH (a)-[r]->(b) WHERE a.vault = $v "
        "RETURN type(r) AS t, a.uid AS a, b.uid AS b, r.rule AS rule, r.line AS line",
        v=VAULT_NAME,
    ).records
    return {
        "nodes": sorted((r["label"], r["uid"], r["digest"] or "") for r in nodes),
        "rels": sorted((r["t"], r["a"], r["b"], r["rule"] or "", r["line"] or 0) for r in rels),
    }


def sync_started(driver: Driver) -> bool:
    """The ingest holds its lease: parsing is over and the sync transaction is under way."""
    try:
        with driver.session() as session:
            rec = session.run(
                "MATCH (l:IngestLock {vault: $v}) RETURN l.token IS NOT NULL AS held", v=VAULT_NAME
            ).single()
        return bool(rec and rec["held"])
    except Exception:  # the server may be busy; keep polling
        return False


def test_neo4j_stopped_during_ingest(server: Server, driver: Driver, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    generate(1500, vault, seed=11)
    # The previous graph: the vault with only two of its domains.
    stash = tmp_path / "stash"
    stash.mkdir()
    keep = {"00-Foundations", "01-Architecture"}
    for folder in list(vault.iterdir()):
        if folder.is_dir() and folder.name not in keep:
            shutil.move(str(folder), stash / folder.name)
    first = kg_ingest(server, vault)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    before = snapshot(driver)
    assert before["nodes"] and before["rels"]
    for folder in stash.iterdir():
        shutil.move(str(folder), vault / folder.name)

    # Ingest the whole vault; stop Neo4j once the sync has started.
    second = kg_ingest(server, vault)
    deadline = time.monotonic() + 600
    while not sync_started(driver):
        assert second.poll() is None, f"the ingest ended before its sync started: {second.communicate()}"
        assert time.monotonic() < deadline, "the sync never started"
        time.sleep(0.05)
    server.stop()
    out, err = second.communicate(timeout=600)
    assert second.returncode != 0, (out, err)

    server.start()
    assert snapshot(driver) == before  # nothing half-written
    # The dead run's lease does not block the re-run: its holder (this host, a pid that is gone) is dead.
    third = kg_ingest(server, vault)
    _, err3 = third.communicate(timeout=900)
    assert third.returncode == 0, err3  # the re-run completes
    assert f"took over the lock of {socket.gethostname()}:{second.pid}" in err3, err3
    after = snapshot(driver)
    assert len(after["nodes"]) > len(before["nodes"])  # type: ignore[arg-type]
    notes = driver.execute_query("MATCH (n:Note {vault: $v}) RETURN count(n) AS c", v=VAULT_NAME).records
    assert notes[0]["c"] == 1500

    # Last, the message of the run that lost Neo4j: one clear line naming the URI, no traceback.
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert server.uri in last and "neo4j" in last.lower(), err
    # 69 when the connection went, 75 when Neo4j ended the transaction as it shut down
    assert second.returncode in (EXIT_UNAVAILABLE, EXIT_TEMPFAIL), (second.returncode, err)


@pytest.mark.anyio
async def test_api_while_neo4j_is_down(server: Server, driver: Driver) -> None:
    settings = Settings.model_validate({"NEO4J_URI": server.uri, "NEO4J_PASSWORD": PASSWORD, "KG_QUERY_TIMEOUT": 5.0})
    app = create_app(settings, driver=driver)
    with driver.session() as session:
        session.run("MERGE (:Vault {name: 'api-outage'})").consume()
    query = {"query": LEARNING_PATH, "variables": {"to": ["GRPO"]}}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kg.test") as client,
    ):
        assert (await client.get("/readyz")).status_code == 200
        server.stop()
        try:
            ready = await client.get("/readyz")
            assert ready.status_code == 503, ready.text
            answer = await client.post("/graphql", json=query)
            assert answer.status_code < 500, answer.text
            body = answer.json()
            assert body.get("errors"), body
            message = body["errors"][0]["message"]
            assert "Traceback" not in answer.text and PASSWORD not in answer.text
            assert message, body
        finally:
            server.start()
        # Recovery: the same app and driver answer again once Neo4j is back.
        deadline = time.monotonic() + 60
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "readiness did not recover"
            await asyncio.sleep(0.5)
        answer = await client.post("/graphql", json=query)
        assert answer.status_code == 200
        # GRPO is not in this database: a clean "unknown target" error, not a connection error.
        assert "unavailable" not in answer.text.lower(), answer.text


def test_ingest_with_neo4j_down_says_so_in_one_line(server: Server, tmp_path: Path) -> None:
    vault = tmp_path / "small"
    generate(50, vault, seed=3)
    server.stop()
    try:
        proc = kg_ingest(server, vault)
        out, err = proc.communicate(timeout=120)
    finally:
        server.start()
    assert proc.returncode == 69, (out, err)  # EX_UNAVAILABLE
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and server.uri in lines[0], err
