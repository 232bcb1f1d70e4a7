"""`kg neo4j` / LocalNeo4j against a real Neo4j 5.26 process: start, Browser, auth, refusals, restart.

One server is started for the module (and restarted once, through the CLI) to keep the file to
roughly two JVM starts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError
from typer.testing import CliRunner

from kg.cli import app
from kg.cli.neo4j import local_neo4j
from kg.local_neo4j import LocalNeo4j, LocalNeo4jError, ensure_launcher, find_free_port, launcher_key
from kg.local_neo4j.build import LAUNCHER_SOURCE_DIR
from kg.settings import Settings

PASSWORD = "kg-test-password-1"
NEW_PASSWORD = "kg-test-password-2"
START_TIMEOUT_S = 300.0  # a cold JVM on a busy 2-core box


def _kg_home() -> Path:
    return Settings().home  # KG_HOME or ~/.kg: reuse the cached launcher build


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    local = LocalNeo4j(
        home=_kg_home(),
        data_dir=tmp_path_factory.mktemp("local-neo4j"),
        bolt_port=find_free_port(),
        http_port=find_free_port(),
        password=PASSWORD,
        heap="512m",
        pagecache="256m",
    )
    try:
        local.start(timeout=START_TIMEOUT_S)
    except LocalNeo4jError as error:
        if os.environ.get("KG_REQUIRE_NEO4J") == "1":
            pytest.fail(f"{error}\n{error.details or ''}", pytrace=False)
        pytest.skip(f"Neo4j unavailable: {error}")
    yield local
    local.stop()


@pytest.mark.integration
def test_start_answers_bolt_and_serves_browser(server: LocalNeo4j) -> None:
    with GraphDatabase.driver(server.bolt_uri, auth=("neo4j", PASSWORD)) as driver:
        records, _, _ = driver.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1
        components, _, _ = driver.execute_query("CALL dbms.components() YIELD versions, edition")
        assert components[0]["versions"] == ["5.26.29"]
        assert components[0]["edition"] == "community"

    assert server.browser_url is not None
    with urllib.request.urlopen(server.browser_url, timeout=10) as response:
        assert response.status == 200
        assert "<title>Neo4j Browser</title>" in response.read().decode("utf-8")

    status = server.status()
    assert status.running
    assert status.bolt_uri == server.bolt_uri
    assert status.pid is not None and _pid_alive(status.pid)
    record = json.loads(server.pid_file.read_text(encoding="utf-8"))
    assert record["pid"] == status.pid


@pytest.mark.integration
def test_auth_is_enabled_and_password_never_on_the_command_line(server: LocalNeo4j) -> None:
    with (
        GraphDatabase.driver(server.bolt_uri, auth=("neo4j", "wrong-password")) as driver,
        pytest.raises(AuthError),
    ):
        driver.execute_query("RETURN 1")
    pid = server.status().pid
    assert pid is not None
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert b"kg.launcher.KgNeo4j" in cmdline
    assert PASSWORD.encode() not in cmdline
    assert PASSWORD not in server.log_file.read_text(encoding="utf-8")


@pytest.mark.integration
def test_second_start_on_the_same_data_dir_fails_in_one_line(server: LocalNeo4j) -> None:
    second = LocalNeo4j(
        home=_kg_home(),
        data_dir=server.data_dir,
        bolt_port=find_free_port(),
        password=PASSWORD,
        heap="512m",
        pagecache="256m",
    )
    with pytest.raises(LocalNeo4jError) as caught:
        second.start(timeout=30)
    message = str(caught.value)
    assert "already running for data dir" in message
    assert str(server.status().pid) in message
    assert "\n" not in message
    assert server.status().running  # the running one is untouched


@pytest.mark.integration
def test_taken_port_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        local = LocalNeo4j(home=_kg_home(), data_dir=tmp_path / "data", bolt_port=port, password=PASSWORD, heap="512m")
        with pytest.raises(LocalNeo4jError) as caught:
            local.start(timeout=30)
    assert str(caught.value) == (f"Bolt port {port} on 127.0.0.1 is already in use; choose another with --port")
    assert not local.pid_file.exists()
    assert not local.status().running


@pytest.mark.integration
def test_cli_status_stop_start_keeps_data_and_takes_a_new_password(server: LocalNeo4j) -> None:
    runner = CliRunner()
    env = {"KG_HOME": str(_kg_home()), "NEO4J_PASSWORD": PASSWORD, "KG_NEO4J_HEAP": "512m"}
    data_dir = str(server.data_dir)

    result = runner.invoke(app, ["neo4j", "status", "--data-dir", data_dir], env=env)
    assert result.exit_code == 0, result.output
    assert f"running: {server.bolt_uri}" in result.output
    old_pid = server.status().pid
    assert old_pid is not None

    with GraphDatabase.driver(server.bolt_uri, auth=("neo4j", PASSWORD)) as driver:
        driver.execute_query("CREATE (:KgLauncherProbe {name: 'survives restarts'})")

    result = runner.invoke(app, ["neo4j", "stop", "--data-dir", data_dir], env=env)
    assert result.exit_code == 0, result.output
    assert "stopped" in result.output
    assert not _pid_alive(old_pid)
    assert not server.pid_file.exists()

    result = runner.invoke(app, ["neo4j", "status", "--data-dir", data_dir], env=env)
    assert result.exit_code == 1
    assert "stopped" in result.output

    # A clean stop leaves a class-data-sharing archive (from this run or an earlier one) for the next JVM.
    cds_dir = ensure_launcher(_kg_home()).cds_dir()
    archives = [p.name for p in cds_dir.glob("*.jsa") if not p.name.startswith("dump-")]
    assert len(archives) == 1, archives

    # Restart through the CLI on the same data dir with a changed NEO4J_PASSWORD.
    result = runner.invoke(
        app,
        [
            "neo4j", "start", "--data-dir", data_dir, "--port", str(server.bolt_port),
            "--no-browser", "--pagecache", "256m", "--timeout", str(START_TIMEOUT_S),
        ],
        env={**env, "NEO4J_PASSWORD": NEW_PASSWORD},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == server.bolt_uri
    assert NEW_PASSWORD not in result.output

    with GraphDatabase.driver(server.bolt_uri, auth=("neo4j", NEW_PASSWORD)) as driver:
        records, _, _ = driver.execute_query("MATCH (p:KgLauncherProbe) RETURN p.name AS name")
    assert [r["name"] for r in records] == ["survives restarts"]
    with (
        GraphDatabase.driver(server.bolt_uri, auth=("neo4j", PASSWORD)) as driver,
        pytest.raises(AuthError),
    ):
        driver.execute_query("RETURN 1")

    status = server.status()
    assert status.running and status.pid != old_pid
    assert status.browser_url is None
    assert f"-XX:SharedArchiveFile={cds_dir / archives[0]}".encode() in Path(
        f"/proc/{status.pid}/cmdline"
    ).read_bytes().split(b"\0")


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from kg.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path / "empty-bin"), "KG_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    result = _run_cli(["neo4j", "start", "--data-dir", str(tmp_path / "data")], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "kg: `java` not found on PATH: install a JDK 17 and Maven, e.g. `apt-get install openjdk-17-jdk-headless maven`"
    ]


def test_short_password_and_bad_sizes_are_refused_before_anything_starts(tmp_path: Path) -> None:
    env = {**os.environ, "KG_HOME": str(tmp_path / "home"), "NEO4J_PASSWORD": "short"}
    result = _run_cli(["neo4j", "start", "--data-dir", str(tmp_path / "data")], env)
    assert result.returncode == 1
    assert "at least 8 characters" in result.stderr
    assert "Traceback" not in result.stderr
    assert "short" not in result.stderr.replace("kg:", "")

    env["NEO4J_PASSWORD"] = "long-enough-password"
    result = _run_cli(["neo4j", "start", "--data-dir", str(tmp_path / "data"), "--heap", "lots"], env)
    assert result.returncode == 1
    assert result.stderr.strip() == "kg: bad heap size 'lots': use e.g. 512m or 2g"


def test_local_neo4j_reads_the_settings_and_takes_overrides(tmp_path: Path) -> None:
    settings = Settings(
        KG_HOME=tmp_path / "home",
        KG_NEO4J_BOLT_PORT=7700,
        KG_NEO4J_HTTP_PORT=7701,
        KG_NEO4J_HEAP="1g",
        NEO4J_PASSWORD=PASSWORD,
    )
    server = local_neo4j(settings)
    assert (server.home, server.data_dir) == (tmp_path / "home", tmp_path / "home" / "neo4j-data")
    assert (server.bolt_port, server.http_port, server.heap, server.pagecache) == (7700, 7701, "1g", "2g")
    assert server.browser_url == "http://127.0.0.1:7701/browser/"

    other = local_neo4j(settings, data_dir=tmp_path / "d", port=7800, browser=False, pagecache="256m")
    assert (other.data_dir, other.bolt_port, other.http_port, other.pagecache) == (tmp_path / "d", 7800, None, "256m")
    assert not other.status().running  # nothing was started


def test_launcher_key_changes_with_its_source(tmp_path: Path) -> None:
    copy = tmp_path / "launcher"
    shutil.copytree(LAUNCHER_SOURCE_DIR, copy)
    assert launcher_key(copy) == launcher_key(LAUNCHER_SOURCE_DIR)
    java = next(copy.rglob("KgNeo4j.java"))
    java.write_text(java.read_text(encoding="utf-8") + "\n// changed\n", encoding="utf-8")
    assert launcher_key(copy) != launcher_key(LAUNCHER_SOURCE_DIR)


@pytest.mark.integration
def test_a_jvm_that_dies_at_startup_is_reported_with_the_log_tail(tmp_path: Path) -> None:
    local = LocalNeo4j(
        home=_kg_home(), data_dir=tmp_path / "data", bolt_port=find_free_port(), password=PASSWORD, heap="1k"
    )
    with pytest.raises(LocalNeo4jError) as caught:
        local.start(timeout=60)
    message = str(caught.value)
    assert message.startswith("Neo4j exited during startup (exit code 1)")
    assert str(local.log_file) in message and "\n" not in message
    assert caught.value.details is not None and "Too small" in caught.value.details
    assert not local.pid_file.exists()


@pytest.mark.integration
def test_a_start_that_times_out_is_stopped_and_reported(tmp_path: Path) -> None:
    local = LocalNeo4j(
        home=_kg_home(),
        data_dir=tmp_path / "data",
        bolt_port=find_free_port(),
        password=PASSWORD,
        heap="512m",
        pagecache="64m",
    )
    with pytest.raises(LocalNeo4jError) as caught:
        local.start(timeout=1)
    assert str(caught.value).startswith(f"Neo4j did not answer on {local.bolt_uri} within 1 s (stopped it)")
    assert not local.pid_file.exists()
    assert not local.status().running
    assert _processes_mentioning(str(local.data_dir)) == []


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in path.read_bytes():
                pids.append(int(path.parent.name))
        except OSError:  # exited while we looked
            continue
    return pids
