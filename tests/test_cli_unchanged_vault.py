"""A one-shot `kg ingest` of a vault whose files are as at its last ingest reads nothing
(`kg.pipeline.vault_fingerprint`); any change of a note's name, size or mtime, of the relations
config, an unfinished sync or `--full` makes it a whole run again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver
from typer.testing import CliRunner

from ingest.vault import list_vault
from kg.cli import app
from kg.pipeline import unchanged_since_last_ingest, vault_fingerprint
from kg.store.sync import VaultRootError

OLD_NS = 1_700_000_000_000_000_000  # November 2023


def _age(root: Path, mtime_ns: int = OLD_NS) -> None:
    """Every file modified long ago: well past the window in which an mtime cannot be trusted."""
    for path in root.rglob("*"):
        os.utime(path, ns=(mtime_ns, mtime_ns))


def _vault(root: Path) -> Path:
    root.mkdir()
    (root / "PPO.md").write_text("# PPO\n\nPolicy optimisation.\n", encoding="utf-8")
    (root / "GRPO.md").write_text("# GRPO\n\n前置知识：[[PPO]]\n", encoding="utf-8")
    _age(root)
    return root


def test_the_fingerprint_follows_names_sizes_mtimes_and_the_config(tmp_path: Path) -> None:
    root = _vault(tmp_path / "v")
    first = vault_fingerprint(root)
    assert first is not None and vault_fingerprint(root) == first
    grpo = root / "GRPO.md"
    st = grpo.stat()
    grpo.write_text("# GRPO\n\n前置知识：[[PPX]]\n", encoding="utf-8")  # same size
    assert vault_fingerprint(root) is None  # modified just now: its mtime cannot tell yet
    os.utime(grpo, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    changed = vault_fingerprint(root)
    assert changed is not None and changed != first
    os.utime(grpo, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime again: taken as unchanged
    assert vault_fingerprint(root) == first
    (root / "images").mkdir()
    (root / "images" / "a.png").write_bytes(b"\x89PNG")
    _age(root)
    assert vault_fingerprint(root) == first  # not a note
    (root / "New.md").write_text("# New\n", encoding="utf-8")
    _age(root)
    assert vault_fingerprint(root) not in (None, first)
    (root / "New.md").unlink()
    assert vault_fingerprint(root) == first
    (root / ".drafts").mkdir()  # hidden folders are not read, so they do not count
    (root / ".drafts" / "Draft.md").write_text("# Draft\n", encoding="utf-8")
    _age(root)
    assert vault_fingerprint(root) == first
    # a file the read skips as too large counts: its problem names its size
    (root / "Big.md").write_text("# Big\n" + "x" * 100, encoding="utf-8")
    _age(root)
    capped = vault_fingerprint(root, listing=list_vault(root, max_file_bytes=50))
    assert capped not in (None, first)
    (root / "Big.md").write_text("# Big\n" + "x" * 200, encoding="utf-8")
    _age(root)
    assert vault_fingerprint(root, listing=list_vault(root, max_file_bytes=50)) not in (None, capped)
    (root / "Big.md").unlink()
    assert vault_fingerprint(root) == first
    config = tmp_path / "relations.toml"
    config.write_text('[keys]\n"grundlage" = "PREREQUISITE_OF"\n', encoding="utf-8")
    _age(tmp_path)
    with_config = vault_fingerprint(root, config)
    assert with_config not in (None, first)
    config.write_text('[keys]\n"grundlage" = "VARIANT_OF"\n', encoding="utf-8")
    assert vault_fingerprint(root, config) is None
    _age(tmp_path)
    assert vault_fingerprint(root, config) not in (None, with_config)


@pytest.mark.integration
def test_an_unchanged_vault_is_not_read_again(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    vault = _vault(tmp_path / "v")
    env = neo4j_connection.env()

    def ingest(*extra: str) -> str:
        result = CliRunner().invoke(app, ["ingest", str(vault), "--name", "quiet", *extra], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert "added=2" in ingest()
    assert "unchanged since its last ingest" in ingest()
    assert "unchanged since" not in ingest("--full")  # a whole run, which finds nothing to write
    assert "unchanged since" in ingest()
    (vault / "GRPO.md").write_text("# GRPO\n\n前置知识：[[PPO]] and [[RLHF]]\n", encoding="utf-8")
    assert "changed=1" in ingest()  # modified just now: read (and its fingerprint is not stored)
    assert "unchanged since" not in ingest()
    _age(vault, OLD_NS + 1)
    assert "unchanged since" not in ingest()  # new mtimes: read once more, then the fingerprint is kept
    assert "unchanged since" in ingest()
    # a sync that died midway: the next run is a whole one whatever the files say
    neo4j_driver.execute_query(
        "MATCH (v:Vault {name: 'quiet'}) SET v.sync_incomplete = true", database_=neo4j_connection.database
    )
    assert "unchanged since" not in ingest()
    assert "unchanged since" in ingest()
    # a run that does not know the files (a library call without a fingerprint) clears it
    from kg.pipeline import ingest_vault

    ingest_vault(neo4j_driver, vault, vault_name="quiet", database=neo4j_connection.database)
    assert "unchanged since" not in ingest()


def test_a_folder_named_like_another_folders_vault_is_refused_before_it_is_read(
    tmp_path: Path, neo4j_connection: Any, neo4j_driver: Driver, clean_db: None
) -> None:
    """Without a name, a copy of the vault in another folder of the same name is refused by the check
    that comes before any note is read; named, it is read and becomes the vault (moved), and then
    its unchanged files are not read again."""
    (tmp_path / "a").mkdir()
    first = _vault(tmp_path / "a" / "notes")
    copy = tmp_path / "b" / "notes"
    shutil.copytree(first, copy, copy_function=shutil.copy2)
    _age(copy)
    env = neo4j_connection.env()
    assert CliRunner().invoke(app, ["ingest", str(first)], env=env).exit_code == 0
    database = neo4j_connection.database
    fingerprint = vault_fingerprint(first)
    assert unchanged_since_last_ingest(neo4j_driver, "notes", fingerprint, database, first, same_root=True)
    assert not unchanged_since_last_ingest(neo4j_driver, "notes", vault_fingerprint(copy), database, copy)
    with pytest.raises(VaultRootError, match=f"ingested from {first.resolve()}, not from {copy.resolve()}"):
        unchanged_since_last_ingest(neo4j_driver, "notes", vault_fingerprint(copy), database, copy, same_root=True)
    moved = CliRunner().invoke(app, ["ingest", str(copy), "--name", "notes"], env=env)
    assert moved.exit_code == 0 and "added=0 changed=0 deleted=0" in moved.output
    again = CliRunner().invoke(app, ["ingest", str(copy)], env=env)
    assert again.exit_code == 0 and "unchanged since its last ingest" in again.output
