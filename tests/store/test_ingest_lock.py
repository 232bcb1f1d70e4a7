"""The ingest lease against a real Neo4j: a dead local holder, a live one, expiry, renewal, a lost lease."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver
from neo4j.exceptions import CypherSyntaxError
from test_sync import small_graph, typed_edges

from kg.store import cypher
from kg.store.sync import IngestLockedError, VaultSync, holder_gone, pid_alive

pytestmark = pytest.mark.integration

HOST = socket.gethostname()


@pytest.fixture
def dead_pid() -> int:
    """The id of a process that has exited and been reaped."""
    proc = subprocess.Popen(["sleep", "0"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """A process of this host, other than this one, that stays alive during the test."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def hold_lock(
    driver: Driver, vault: str, *, host: str, pid: int, expires_in_s: int = 3600, legacy: bool = False
) -> None:
    """Write an IngestLock as another ingest would have left it (`legacy`: only owner, as kg wrote before)."""
    props = "l.token = 'their-token', l.owner = $owner, l.expires = datetime() + duration({seconds: $s})"
    if not legacy:
        props += ", l.host = $host, l.pid = $pid"
    with driver.session() as s:
        s.run(
            f"MERGE (:Vault {{name: $vault}}) MERGE (l:IngestLock {{vault: $vault}}) SET {props}",
            vault=vault, owner=f"{host}:{pid}", host=host, pid=pid, s=expires_in_s,
        ).consume()  # fmt: skip


def lock_state(driver: Driver, vault: str = "v") -> dict[str, Any]:
    with driver.session() as s:
        rec = s.run(
            "MATCH (l:IngestLock {vault: $vault}) "
            "RETURN l.token AS token, l.owner AS owner, l.host AS host, l.pid AS pid, "
            "l.expires.epochMillis AS expires_ms, datetime().epochMillis AS now_ms",
            vault=vault,
        ).single()
    assert rec is not None
    return dict(rec)


def test_pid_alive_semantics(dead_pid: int, live_pid: int) -> None:
    assert pid_alive(os.getpid())
    assert pid_alive(live_pid)
    assert not pid_alive(dead_pid)
    if Path("/proc/self/stat").exists():  # zombies are recognised through /proc (Linux)
        zombie = subprocess.Popen(["sleep", "0"])
        try:
            deadline = time.monotonic() + 10  # exited but not reaped: a zombie, which is gone
            while pid_alive(zombie.pid):
                assert time.monotonic() < deadline, "the exited child never showed as gone"
                time.sleep(0.02)
        finally:
            zombie.wait()
    assert holder_gone(HOST, dead_pid)
    assert not holder_gone(HOST, live_pid)
    assert not holder_gone("another-host.example", dead_pid)  # cannot check another host's processes
    assert holder_gone(None, None, f"{HOST}:{dead_pid}")  # a lease written before host/pid were stored


def test_lock_of_a_dead_local_process_is_taken_over(neo4j_driver: Driver, clean_db: None, dead_pid: int) -> None:
    hold_lock(neo4j_driver, "v", host=HOST, pid=dead_pid)
    report = VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
    assert report.notes_added == 3
    assert report.took_over_from == f"{HOST}:{dead_pid}"
    assert len(typed_edges(neo4j_driver)) == 4
    assert lock_state(neo4j_driver)["token"] is None  # released after the run


def test_legacy_lock_of_a_dead_local_process_is_taken_over(neo4j_driver: Driver, clean_db: None, dead_pid: int) -> None:
    hold_lock(neo4j_driver, "v", host=HOST, pid=dead_pid, legacy=True)
    report = VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
    assert report.took_over_from == f"{HOST}:{dead_pid}"


@pytest.mark.parametrize("holder", ["parent", "child"])
def test_lock_of_a_live_process_refuses(neo4j_driver: Driver, clean_db: None, live_pid: int, holder: str) -> None:
    pid = os.getppid() if holder == "parent" else live_pid
    hold_lock(neo4j_driver, "v", host=HOST, pid=pid)
    with pytest.raises(IngestLockedError) as caught:
        VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
    message = str(caught.value)
    assert "\n" not in message
    assert f"{HOST}:{pid}" in message and "lease until" in message and "kg ingest --break-lock" in message
    state = lock_state(neo4j_driver)
    assert (state["token"], state["pid"]) == ("their-token", pid)  # left as it was
    assert typed_edges(neo4j_driver) == []


def test_lock_of_another_host_refuses_even_if_the_pid_is_unused_here(
    neo4j_driver: Driver, clean_db: None, dead_pid: int
) -> None:
    hold_lock(neo4j_driver, "v", host="another-host.example", pid=dead_pid)
    with pytest.raises(IngestLockedError, match=r"another-host\.example"):
        VaultSync(neo4j_driver).sync("v", "/vault", small_graph())


def test_expired_lease_is_free(neo4j_driver: Driver, clean_db: None, live_pid: int) -> None:
    hold_lock(neo4j_driver, "v", host=HOST, pid=live_pid, expires_in_s=-1)
    report = VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
    assert report.notes_added == 3 and report.took_over_from is None


class SlowSync:
    """A sync in a thread whose progress callback holds it inside its write transaction."""

    def __init__(self, driver: Driver, lease_s: float) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.errors: list[BaseException] = []
        graph = small_graph()

        def hold(done: int, total: int) -> None:
            self.entered.set()
            self.release.wait(60)

        def run() -> None:
            try:
                VaultSync(driver, batch_size=1).sync("v", "/vault", graph, progress=hold, lease_s=lease_s)
            except BaseException as exc:
                self.errors.append(exc)

        self.thread = threading.Thread(target=run)

    def __enter__(self) -> SlowSync:
        self.thread.start()
        assert self.entered.wait(60)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self.thread.join(60)
        assert not self.thread.is_alive()


def test_lease_is_renewed_while_the_sync_runs(neo4j_driver: Driver, clean_db: None) -> None:
    lease_s = 2
    with SlowSync(neo4j_driver, lease_s) as slow:
        first = lock_state(neo4j_driver)
        assert first["token"] is not None and first["pid"] == os.getpid() and first["host"] == HOST
        time.sleep(lease_s * 2)  # twice the lease: without renewal it would have lapsed
        later = lock_state(neo4j_driver)
        assert later["token"] == first["token"]
        assert later["expires_ms"] > first["expires_ms"]
        assert later["expires_ms"] > later["now_ms"]
        with pytest.raises(IngestLockedError, match="being ingested"):
            VaultSync(neo4j_driver).sync("v", "/vault", small_graph(), lease_s=lease_s)
    assert not slow.errors
    assert len(typed_edges(neo4j_driver)) == 4
    assert lock_state(neo4j_driver)["token"] is None


def test_a_sync_whose_lease_was_broken_writes_nothing(neo4j_driver: Driver, clean_db: None) -> None:
    with SlowSync(neo4j_driver, lease_s=120) as slow:
        VaultSync(neo4j_driver).break_lock("v")  # `kg ingest --break-lock` while it runs
    assert len(slow.errors) == 1 and isinstance(slow.errors[0], IngestLockedError)
    assert "taken over" in str(slow.errors[0])
    assert typed_edges(neo4j_driver) == []  # rolled back
    report = VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
    assert report.notes_added == 3


def wait_for_lease(driver: Driver, vault: str = "v") -> dict[str, Any]:
    """The lock once a token holds it (a prepared sync takes it in the background)."""
    deadline = time.monotonic() + 30
    while True:
        with driver.session() as s:
            held = s.run("MATCH (l:IngestLock {vault: $vault}) RETURN l.token IS NOT NULL", vault=vault).value()
        if held == [True]:
            return lock_state(driver, vault)
        assert time.monotonic() < deadline, "the prepared sync never took the lease"
        time.sleep(0.02)


def test_a_prepared_sync_holds_the_lease_while_its_graph_is_built(neo4j_driver: Driver, clean_db: None) -> None:
    with VaultSync(neo4j_driver).prepare("v", "/vault") as prepared:
        held = wait_for_lease(neo4j_driver)
        assert held["pid"] == os.getpid() and held["host"] == HOST
        with pytest.raises(IngestLockedError, match="being ingested"):  # another ingest, meanwhile
            VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
        report = prepared.sync(small_graph())  # the graph, built while the lease was held
        with pytest.raises(RuntimeError, match="has run already"):
            prepared.sync(small_graph())
    assert report.notes_added == 3
    assert {"schema", "lock", "read", "wait", "write", "release"} <= set(report.phases)
    assert len(typed_edges(neo4j_driver)) == 4
    assert lock_state(neo4j_driver)["token"] is None
    assert VaultSync(neo4j_driver).sync("v", "/vault", small_graph()).notes_unchanged == 3


def test_a_prepared_sync_left_by_an_error_writes_nothing_and_releases(neo4j_driver: Driver, clean_db: None) -> None:
    with pytest.raises(ValueError, match="a bad note"), VaultSync(neo4j_driver).prepare("v", "/vault"):
        raise ValueError("a bad note")  # the graph could not be built
    assert lock_state(neo4j_driver)["token"] is None
    assert typed_edges(neo4j_driver) == []
    assert VaultSync(neo4j_driver).sync("v", "/vault", small_graph()).notes_added == 3


def test_a_prepared_sync_refused_the_lease_raises_from_sync_only(
    neo4j_driver: Driver, clean_db: None, live_pid: int
) -> None:
    hold_lock(neo4j_driver, "v", host=HOST, pid=live_pid)
    prepare = VaultSync(neo4j_driver).prepare
    with prepare("v", "/vault") as prepared, pytest.raises(IngestLockedError, match=f"{HOST}:{live_pid}"):
        prepared.sync(small_graph())
    # the caller's own error is the one told
    with pytest.raises(ValueError, match="a bad note"), prepare("v", "/vault"):
        raise ValueError("a bad note")
    state = lock_state(neo4j_driver)
    assert (state["token"], state["pid"]) == ("their-token", live_pid)  # left as it was
    assert typed_edges(neo4j_driver) == []


def test_a_preparation_that_fails_after_taking_the_lease_releases_it(
    neo4j_driver: Driver, clean_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the stored digests cannot be read (here: a statement Neo4j refuses) once the lease is taken
    monkeypatch.setattr(cypher, "VAULT_DIGESTS", "RETURN nonsense(")
    with VaultSync(neo4j_driver).prepare("v", "/vault") as prepared, pytest.raises(CypherSyntaxError):
        prepared.sync(small_graph())
    assert lock_state(neo4j_driver)["token"] is None  # taken, then released: not left to lapse
    monkeypatch.undo()
    assert VaultSync(neo4j_driver).sync("v", "/vault", small_graph()).notes_added == 3
