"""`kg ingest --keep-state`, as cron runs it: the second run after an edit starts from the state the
first kept, parses only the edited note, and leaves the graph a whole read without any state gives."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from neo4j import Driver
from typer.testing import CliRunner

from kg.cli import app

OLD_NS = 1_700_000_000_000_000_000


def _vault(root: Path) -> Path:
    root.mkdir()
    (root / "PPO.md").write_text("# PPO\n\nPolicy optimisation. 前置知识：[[RLHF]]\n", encoding="utf-8")
    (root / "GRPO.md").write_text("# GRPO\n\n前置知识：[[PPO]]\n", encoding="utf-8")
    (root / "RLHF.md").write_text("# RLHF\n\nReward models.\n", encoding="utf-8")
    for path in root.rglob("*"):
        os.utime(path, ns=(OLD_NS, OLD_NS))
    return root


def test_keep_state_reads_only_the_edited_note(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    vault = _vault(tmp_path / "v")
    env = {**neo4j_connection.env(), "KG_HOME": str(tmp_path / "home")}

    def ingest(*extra: str) -> str:
        result = CliRunner().invoke(app, ["ingest", str(vault), "--name", "cron", *extra], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    first = ingest("--keep-state")
    assert "added=3" in first and "parsed=3" in first and "kept state (" in first
    assert len(list((tmp_path / "home" / "ingest-state").glob("*.pickle"))) == 1

    (vault / "GRPO.md").write_text("# GRPO\n\n前置知识：[[PPO]] 基于 [[DPO]]\n", encoding="utf-8")
    second = ingest("--keep-state")
    assert "kept state of 3 notes loaded" in second
    assert "changed=1" in second and "parsed=1 " in second
    rows, _, _ = neo4j_driver.execute_query(
        "MATCH (:Concept {name: 'GRPO'})<-[:PREREQUISITE_OF]-(c:Concept) RETURN c.name AS name ORDER BY name",
        database_=neo4j_connection.database,
    )
    assert [r["name"] for r in rows] == ["DPO", "PPO"]
    # a whole read without the state finds nothing to write: the kept run wrote the same graph
    whole = ingest("--full")
    assert "kept state" not in whole and "added=0 changed=0 deleted=0" in whole
