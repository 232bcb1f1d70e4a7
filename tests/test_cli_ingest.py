"""`kg ingest` errors a user or cron sees: one line naming the argument or the URI, and a meaningful exit code."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kg.cli import app
from kg.cli.common import EXIT_DATA_ERROR, EXIT_UNAVAILABLE
from kg.local_neo4j import find_free_port


def test_missing_vault_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = CliRunner().invoke(app, ["ingest", str(missing)])
    assert result.exit_code == EXIT_DATA_ERROR
    assert str(missing) in result.output and "is not a folder" in result.output


def test_unreachable_neo4j_is_one_line_with_the_uri(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n", encoding="utf-8")
    uri = f"bolt://127.0.0.1:{find_free_port()}"
    result = CliRunner().invoke(app, ["ingest", str(tmp_path)], env={"NEO4J_URI": uri, "NEO4J_PASSWORD": "x" * 10})
    assert result.exit_code == EXIT_UNAVAILABLE
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and uri in lines[0] and "Traceback" not in result.output
    assert "x" * 10 not in result.output  # the password is never printed


def test_every_and_watch_are_exclusive(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--every", "1m", "--watch"])
    assert result.exit_code == 2 and "either --every or --watch" in result.output


def test_bad_interval_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--every", "soon"])
    assert result.exit_code == 2 and "'soon'" in result.output
