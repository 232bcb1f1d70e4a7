"""`kg ingest` errors a user or cron sees: one line naming the argument or the URI, and a meaningful exit code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from neo4j import Driver
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


def test_max_tx_rows_below_one_is_refused_naming_the_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--max-tx-rows", "0"])
    assert result.exit_code == 2 and "--max-tx-rows" in result.output


def test_max_tx_rows_splits_the_write_into_transactions_of_whole_notes(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    for name, body in {
        "PPO": "Policy optimisation. 前置知识：[[RLHF]]",
        "GRPO": "前置知识：[[PPO]]，基于 [[DPO]]",
        "RLHF": "Reward models. #rl",
        "DPO": "Preference optimisation, a variant of [[RLHF]].",
    }.items():
        (tmp_path / f"{name}.md").write_text(f"# {name}\n\n{body}\n", encoding="utf-8")
    env = neo4j_connection.env()

    def ingest(*extra: str) -> str:
        result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--name", "split", *extra], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    split = ingest("--max-tx-rows", "5")
    transactions = re.search(r"transactions=(\d+)", split)
    assert transactions is not None and int(transactions.group(1)) > 1, split
    assert "added=4" in split
    # a whole read written in one transaction finds nothing to change: the split write is the same graph
    assert "added=0 changed=0 deleted=0" in ingest("--full")


def test_a_vault_folder_without_notes_keeps_the_graph_unless_allowed(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "PPO.md").write_text("# PPO\n\nPolicy optimisation.\n", encoding="utf-8")
    (vault / "GRPO.md").write_text("# GRPO\n\n前置知识：[[PPO]]\n", encoding="utf-8")
    env = neo4j_connection.env()

    def ingest(*extra: str) -> Any:
        return CliRunner().invoke(app, ["ingest", str(vault), "--name", "mount", *extra], env=env)

    def notes() -> int:
        rows, _, _ = neo4j_driver.execute_query(
            "MATCH (n:Note {vault: 'mount'}) RETURN count(n) AS n", database_=neo4j_connection.database
        )
        return int(rows[0]["n"])

    assert ingest().exit_code == 0 and notes() == 2
    for note in vault.iterdir():  # an unmounted share leaves its empty mount point
        note.unlink()
    refused = ingest()
    assert refused.exit_code == EXIT_DATA_ERROR
    assert "no notes found" in refused.output and "--allow-empty" in refused.output
    assert "Traceback" not in refused.output
    assert notes() == 2
    emptied = ingest("--allow-empty")
    assert emptied.exit_code == 0 and "deleted=2" in emptied.output and notes() == 0


def test_a_folder_named_like_an_ingested_one_does_not_replace_its_vault(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    """Two Hugo sites' `content/`: the vault name comes from the folder's, so the second would replace
    the first one's notes. It is refused, naming both folders, until it is given a name of its own or
    the first one's name explicitly."""
    first, second = tmp_path / "site-a" / "content", tmp_path / "site-b" / "content"
    for folder, note in ((first, "PPO"), (second, "GRPO")):
        folder.mkdir(parents=True)
        (folder / f"{note}.md").write_text(f"# {note}\n\nText.\n", encoding="utf-8")
    env = neo4j_connection.env()

    def ingest(folder: Path, *extra: str) -> Any:
        return CliRunner().invoke(app, ["ingest", str(folder), *extra], env=env)

    def paths() -> list[str]:
        rows, _, _ = neo4j_driver.execute_query(
            "MATCH (n:Note {vault: 'content'}) RETURN n.path AS p ORDER BY p", database_=neo4j_connection.database
        )
        return [r["p"] for r in rows]

    assert ingest(first).exit_code == 0 and paths() == ["PPO.md"]
    refused = ingest(second)
    assert refused.exit_code == EXIT_DATA_ERROR, refused.output
    assert str(first.resolve()) in refused.output and str(second.resolve()) in refused.output
    assert "--name" in refused.output and paths() == ["PPO.md"]
    assert ingest(second, "--name", "site-b").exit_code == 0 and paths() == ["PPO.md"]
    replaced = ingest(second, "--name", "content")  # said explicitly: this folder is that vault now
    assert replaced.exit_code == 0 and "added=1" in replaced.output and "deleted=1" in replaced.output
    assert paths() == ["GRPO.md"]
    assert ingest(first).exit_code == EXIT_DATA_ERROR
