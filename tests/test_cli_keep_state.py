"""`kg ingest --keep-state`, as cron runs it: the second run after an edit starts from the state the
first kept, parses only the edited note, and leaves the graph a whole read without any state gives."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from neo4j import Driver
from note_files import is_utf8
from typer.testing import CliRunner

from bench.generate_vault import generate
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


def test_keep_state_is_saved_again_only_once_the_vault_drifted_from_it(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    """A one-shot run writes the state again only past ONE_SHOT_SAVE_SHARE of the vault read again,
    or when the concept index was rebuilt; in between each run reads the notes changed since it was."""
    vault = generate(250, tmp_path / "v", seed=5)  # 1% of it: 2.5 notes
    notes = [p for p in sorted(vault.rglob("*.md")) if is_utf8(p)]  # the edits append UTF-8
    for note in vault.rglob("*.md"):  # written long before (just written, the files would be hashed again)
        os.utime(note, ns=(OLD_NS, OLD_NS))
    env = {**neo4j_connection.env(), "KG_HOME": str(tmp_path / "home")}

    def ingest(*extra: str) -> str:
        result = CliRunner().invoke(app, ["ingest", str(vault), "--name", "drift", *extra], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    def append(note: Path, text: str) -> None:
        with note.open("a", encoding="utf-8") as handle:
            handle.write(text)

    assert "kept state (" in ingest("--keep-state")
    (state,) = (tmp_path / "home" / "ingest-state").glob("*.pickle")
    saved = state.read_bytes()
    append(notes[10], "\n\nA sentence written later, with no name in it.\n")
    first = ingest("--keep-state")
    assert "parsed=1 resolved=1" in first and "kept state not saved again: 1 of 250" in first
    assert state.read_bytes() == saved
    append(notes[20], "\n\nAnother sentence.\n")
    second = ingest("--keep-state")  # the note edited before too: the state is behind by it
    assert "parsed=2 resolved=2" in second and "not saved again: 2 of 250" in second
    append(notes[30], "\n\nA third sentence.\n")
    third = ingest("--keep-state")
    assert "parsed=3 resolved=3" in third and "kept state (" in third and state.read_bytes() != saved
    append(notes[40], "\n\nA fourth.\n")
    assert "parsed=1 resolved=1" in ingest("--keep-state")
    saved = state.read_bytes()
    append(notes[50], "\n\nSee [[A Topic Nobody Named]] and [[GRPO|Group Relative PO]].\n")  # a new alias
    rebuilt = ingest("--keep-state")
    assert "kept state (" in rebuilt and state.read_bytes() != saved
    # Every note touched (new mtimes, the same bytes): the run that hashes them saves the state with
    # their new mtimes, so that the next run hashes none of them again.
    saved = state.read_bytes()
    for note in vault.rglob("*.md"):
        os.utime(note, ns=(OLD_NS + 10**9, OLD_NS + 10**9))
    append(notes[60], "\n\nA fifth.\n")
    os.utime(notes[60], ns=(OLD_NS + 2 * 10**9, OLD_NS + 2 * 10**9))  # not too recent to tell next time
    touched = ingest("--keep-state")
    assert "parsed=1 resolved=1 hashed=249" in touched and "kept state (" in touched
    assert state.read_bytes() != saved
    append(notes[70], "\n\nA sixth.\n")
    after = ingest("--keep-state")
    assert "parsed=1 resolved=1 hashed=0" in after and "not saved again: 1 of 250" in after
    # Notes with an mtime in the future (a clock ahead) are hashed by every run, which a save would not
    # change: the state is not saved for them.
    future = time.time_ns() + 86_400 * 10**9
    for note in vault.rglob("*.md"):
        os.utime(note, ns=(future, future))
    saved = state.read_bytes()
    for _ in range(2):
        ahead = ingest("--keep-state")
        # the note edited since the last save is read again; the others are hashed
        assert "parsed=1 resolved=1 hashed=249" in ahead and "not saved again: 1 of 250" in ahead
    assert state.read_bytes() == saved
    # whatever the state lagged behind, the runs wrote the graph a whole read gives
    whole = ingest("--full")
    assert "added=0 changed=0 deleted=0" in whole, whole
