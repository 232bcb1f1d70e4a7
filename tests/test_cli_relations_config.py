"""A vault's own relation keys (`kg-relations.toml`, `KG_RELATIONS_CONFIG`, `--relations-config`)
reach `kg export` and `kg ingest`; a bad file is one line naming it, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver
from typer.testing import CliRunner

from kg.cli import app
from kg.cli.common import EXIT_DATA_ERROR
from kg.schedule import vault_snapshot

CONFIG = '[keys]\n"grundlage" = "PREREQUISITE_OF"\n"abzweig-von" = "VARIANT_OF"\n'


def _vault(root: Path) -> Path:
    root.mkdir()
    (root / "PPO.md").write_text("# PPO\n\nPolicy optimisation.\n", encoding="utf-8")
    (root / "GRPO.md").write_text(
        "---\ngrundlage: ['[[PPO]]']\n---\n# GRPO\n\nabzweig-von:: [[PPO]]\n", encoding="utf-8"
    )
    return root


def _edges(export: dict[str, list[dict[str, object]]]) -> set[tuple[object, object, object]]:
    return {(r["type"], r["source"], r["target"]) for r in export["relations"] if r["type"] != "PART_OF"}


def _export(args: list[str], env: dict[str, str] | None = None) -> dict[str, list[dict[str, object]]]:
    result = CliRunner().invoke(app, ["export", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_export_reads_the_vaults_own_keys(tmp_path: Path) -> None:
    vault = _vault(tmp_path / "v")
    without = _edges(_export([str(vault)]))
    assert ("PREREQUISITE_OF", "ppo", "grpo") not in without  # not a built-in key
    (vault / "kg-relations.toml").write_text(CONFIG, encoding="utf-8")
    with_config = _edges(_export([str(vault)]))
    assert ("PREREQUISITE_OF", "ppo", "grpo") in with_config
    assert ("VARIANT_OF", "grpo", "ppo") in with_config


def test_explicit_config_path_wins_over_the_vault_file(tmp_path: Path) -> None:
    vault = _vault(tmp_path / "v")
    (vault / "kg-relations.toml").write_text('[keys]\n"grundlage" = "RELATED_TO"\n', encoding="utf-8")
    elsewhere = tmp_path / "mine.toml"
    elsewhere.write_text(CONFIG, encoding="utf-8")
    by_option = _edges(_export([str(vault), "--relations-config", str(elsewhere)]))
    by_env = _edges(_export([str(vault)], env={"KG_RELATIONS_CONFIG": str(elsewhere)}))
    assert ("PREREQUISITE_OF", "ppo", "grpo") in by_option
    assert by_env == by_option


@pytest.mark.parametrize("command", ["export", "ingest"])
def test_bad_config_is_one_line_naming_the_file(tmp_path: Path, command: str) -> None:
    vault = _vault(tmp_path / "v")
    bad = vault / "kg-relations.toml"
    bad.write_text('[keys]\n"grundlage" = "COMES_BEFORE"\n', encoding="utf-8")
    # ingest names the config before it asks Neo4j anything: no server is needed for this
    result = CliRunner().invoke(app, [command, str(vault)], env={"NEO4J_URI": "bolt://127.0.0.1:9"})
    assert result.exit_code == EXIT_DATA_ERROR, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "grundlage" in lines[0], result.output
    assert "Traceback" not in result.output


def test_watch_sees_a_config_edit(tmp_path: Path) -> None:
    vault = _vault(tmp_path / "v")
    before = vault_snapshot(vault)
    (vault / "kg-relations.toml").write_text(CONFIG, encoding="utf-8")
    assert vault_snapshot(vault) != before


@pytest.mark.integration
def test_ingest_stores_relations_from_the_vaults_own_keys(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    vault = _vault(tmp_path / "v")
    (vault / "kg-relations.toml").write_text(CONFIG, encoding="utf-8")
    env = neo4j_connection.env()
    result = CliRunner().invoke(app, ["ingest", str(vault), "--name", "own-keys"], env=env)
    assert result.exit_code == 0, result.output
    records = neo4j_driver.execute_query(
        "MATCH (a:Concept {vault: 'own-keys'})-[r]->(b:Concept) WHERE type(r) IN ['PREREQUISITE_OF', 'VARIANT_OF'] "
        "RETURN type(r) AS t, a.key AS a, b.key AS b, r.rule AS rule",
        database_=neo4j_connection.database,
    ).records
    edges = {(r["t"], r["a"], r["b"]) for r in records}
    assert ("PREREQUISITE_OF", "ppo", "grpo") in edges and ("VARIANT_OF", "grpo", "ppo") in edges
    # A config edited into a bad state: the run is refused and the stored graph stays as it was.
    (vault / "kg-relations.toml").write_text('[confidence]\n"cue.builds_on" = 7\n', encoding="utf-8")
    (vault / "PPO.md").write_text("# PPO\n\nChanged.\n", encoding="utf-8")
    refused = CliRunner().invoke(app, ["ingest", str(vault), "--name", "own-keys"], env=env)
    assert refused.exit_code == EXIT_DATA_ERROR and "kg-relations.toml" in refused.output
    again = neo4j_driver.execute_query(
        "MATCH (a:Concept {vault: 'own-keys'})-[r]->(b:Concept) WHERE type(r) IN ['PREREQUISITE_OF', 'VARIANT_OF'] "
        "RETURN type(r) AS t, a.key AS a, b.key AS b, r.rule AS rule",
        database_=neo4j_connection.database,
    ).records
    assert {(r["t"], r["a"], r["b"]) for r in again} == edges
