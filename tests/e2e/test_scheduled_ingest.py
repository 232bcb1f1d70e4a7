"""`kg ingest --watch` and `--every` as long-running processes against a real Neo4j."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from kg.cli.common import EXIT_DATA_ERROR
from kg.local_neo4j import LocalNeo4j, find_free_port
from kg.settings import Settings

pytestmark = pytest.mark.integration


class LineReader:
    """Reads a child's stderr lines in a thread so the test can wait for one with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stderr is not None
        stream = proc.stderr
        threading.Thread(target=lambda: [self.lines.put(line) for line in stream], daemon=True).start()

    def wait_for(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no line with {needle!r} within {timeout}s; saw:\n{''.join(self.seen)}")


@pytest.fixture
def small_vault(tmp_path: Path) -> Path:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "PPO.md").write_text("# PPO\n\nPolicy optimisation.\n", encoding="utf-8")
    (vault / "GRPO.md").write_text("# GRPO\n\n前置知识：[[PPO]]\n", encoding="utf-8")
    return vault


def _spawn(vault: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "ingest", str(vault), "--name", "watched", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_watch_reingests_when_a_note_changes(neo4j_connection: Any, clean_db: None, small_vault: Path) -> None:
    env = {"NEO4J_URI": neo4j_connection.uri, "NEO4J_PASSWORD": neo4j_connection.password}
    proc = _spawn(small_vault, env, "--watch", "--debounce", "0.5s")
    try:
        out = LineReader(proc)
        first = out.wait_for("added=2", 120)
        assert "vault=watched" in first and "parsed=2 resolved=2" in first
        time.sleep(1.1)  # mtime granularity on some filesystems
        (small_vault / "GRPO.md").write_text("# GRPO\n\nBuilds on [[PPO]] and [[RLHF]].\n", encoding="utf-8")
        second = out.wait_for("changed=1", 60)
        assert "parsed=1 " in second  # the other note was kept from the first run
    finally:
        _stop(proc)


def test_watch_keeps_the_graph_while_the_vault_folder_is_gone_or_empty(
    neo4j_connection: Any, neo4j_driver: Driver, clean_db: None, small_vault: Path, tmp_path: Path
) -> None:
    """A share unmounted under a running `--watch` (the folder gone, then its empty mount point) skips
    runs instead of deleting the vault's notes; remounted, the graph is found as it was."""
    env = {"NEO4J_URI": neo4j_connection.uri, "NEO4J_PASSWORD": neo4j_connection.password}

    def notes() -> int:
        rows, _, _ = neo4j_driver.execute_query(
            "MATCH (n:Note {vault: 'watched'}) RETURN count(n) AS n", database_=neo4j_connection.database
        )
        return int(rows[0]["n"])

    proc = _spawn(small_vault, env, "--watch", "--debounce", "0.5s")
    try:
        out = LineReader(proc)
        out.wait_for("added=2", 120)
        away = tmp_path / "away"
        small_vault.rename(away)  # unmounted
        assert "is not a directory" in out.wait_for("skipping this run", 60)
        small_vault.mkdir()  # the empty mount point
        skipped = out.wait_for("skipping this run", 60)
        assert "no notes found" in skipped and "the graph holds 2 of its notes" in skipped
        assert notes() == 2
        small_vault.rmdir()
        away.rename(small_vault)  # mounted again
        back = out.wait_for("vault=watched", 60)
        assert "added=0 changed=0 deleted=0" in back and notes() == 2
    finally:
        _stop(proc)


def test_watch_exits_on_a_folder_named_like_another_folders_vault(
    neo4j_connection: Any, clean_db: None, tmp_path: Path
) -> None:
    """Waiting cannot make another folder's vault this one's: `--watch` without `--name` exits 65 naming
    both folders, where it retries what can pass (Neo4j down, the lock held)."""
    env = {"NEO4J_URI": neo4j_connection.uri, "NEO4J_PASSWORD": neo4j_connection.password}
    first, second = tmp_path / "a" / "notes", tmp_path / "b" / "notes"
    for folder in (first, second):
        folder.mkdir(parents=True)
        (folder / "PPO.md").write_text("# PPO\n", encoding="utf-8")
    once = subprocess.run(
        [sys.executable, "-m", "kg.cli", "ingest", str(first)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert once.returncode == 0, once.stderr
    watched = subprocess.run(
        [sys.executable, "-m", "kg.cli", "ingest", str(second), "--watch"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert watched.returncode == EXIT_DATA_ERROR, watched.stderr
    assert str(first.resolve()) in watched.stderr and "--name" in watched.stderr


def test_a_restarted_every_starts_from_the_kept_state(
    neo4j_connection: Any, clean_db: None, small_vault: Path, tmp_path: Path
) -> None:
    """`--every --keep-state`: the first run keeps what it read on disk; a restarted process loads it
    and reads again only the note edited while it was down."""
    env = {**neo4j_connection.env(), "KG_HOME": str(tmp_path / "home")}
    proc = _spawn(small_vault, env, "--every", "1h", "--keep-state")
    try:
        out = LineReader(proc)
        assert "parsed=2 resolved=2" in out.wait_for("added=2", 120)
        out.wait_for("kept state (", 60)  # saved after the first run
    finally:
        _stop(proc)
    (small_vault / "GRPO.md").write_text("# GRPO\n\n前置知识：[[PPO]] 基于 [[RLHF]]\n", encoding="utf-8")
    proc = _spawn(small_vault, env, "--every", "1h", "--keep-state")
    try:
        out = LineReader(proc)
        assert "kept state of 2 notes loaded" in out.wait_for("kept state of", 120)
        first = out.wait_for("changed=1", 120)
        assert "parsed=1 " in first and "unchanged=1" in first  # PPO.md came from the kept state
    finally:
        _stop(proc)


@pytest.fixture
def own_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    """A Neo4j of this test's own, since the test stops and restarts it."""
    server = LocalNeo4j(
        home=Settings().home,
        data_dir=tmp_path_factory.mktemp("restart-neo4j"),
        bolt_port=find_free_port(),
        password="restart-test-password",
        heap="512m",
        pagecache="128m",
    )
    server.start(timeout=300)
    try:
        yield server
    finally:
        server.stop()


def test_every_survives_a_neo4j_restart(own_neo4j: LocalNeo4j, small_vault: Path) -> None:
    env = {"NEO4J_URI": own_neo4j.bolt_uri, "NEO4J_PASSWORD": "restart-test-password"}
    proc = _spawn(small_vault, env, "--every", "1s")
    try:
        out = LineReader(proc)
        out.wait_for("added=2", 120)
        own_neo4j.stop()
        line = out.wait_for("unavailable", 60)
        assert own_neo4j.bolt_uri in line and "retrying in" in line
        own_neo4j.start(timeout=300)
        out.wait_for("unchanged=2", 180)  # back, and the graph it finds is the one it wrote
        assert proc.poll() is None  # still running
    finally:
        _stop(proc)
