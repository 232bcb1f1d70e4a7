"""NoteDigests: a digest is reused only when certainly the same, and a watch-style run with it leaves
exactly the graph a fresh full run would write."""

from __future__ import annotations

import contextlib
import gc
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from neo4j import Driver

from bench.generate_vault import generate
from ingest.vault import ParseCache, read_vault
from kg.model import Mention
from kg.pipeline import ingest_vault
from kg.store.sync import NoteDigests, _concept_rows, _note_digest, _relations_by_note


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(120, tmp_path_factory.mktemp("gen") / "v120", seed=3)


def _digest_all(memo: NoteDigests, graph_notes: dict, relations: dict) -> dict[str, str]:  # type: ignore[type-arg]
    memo._start(graph_notes)
    used: set[str] = set()
    return {p: memo.digest(n, relations.get(p, ()), graph_notes, used) for p, n in graph_notes.items()}


def test_reused_only_when_equal(vault: Path) -> None:
    cache, memo = ParseCache(), NoteDigests()
    graph = read_vault(vault, cache=cache)
    relations = _relations_by_note(graph)
    first = _digest_all(memo, graph.notes, relations)
    assert memo.reused == 0
    assert first == {p: _note_digest(n, relations.get(p, ()), graph.notes, set()) for p, n in graph.notes.items()}
    again = read_vault(vault, cache=cache)  # nothing changed: the cache hands out the same links and mentions
    relations = _relations_by_note(again)
    assert _digest_all(memo, again.notes, relations) == first
    assert memo.reused >= len(first) - sum(1 for r in again.relations if r.rule == "statistics.refd")
    path, note = next((p, n) for p, n in again.notes.items() if n.mentions)
    again.notes[path] = replace(note, mentions=[m._replace() for m in note.mentions])  # equal new objects
    assert _digest_all(memo, again.notes, relations) == first and memo.reused == len(first)
    # another mention, or another plain field: digested again (and still right)
    again.notes[path] = replace(note, mentions=[note.mentions[0]._replace(line=note.mentions[0].line + 1)])
    changed = _digest_all(memo, again.notes, relations)
    assert changed[path] != first[path]
    again.notes[path] = replace(note, title=note.title + "!")
    assert _digest_all(memo, again.notes, relations)[path] != first[path]
    assert isinstance(note.mentions[0], Mention)
    # a note gone: the notes with a link to it digest differently (their links to it no longer count)
    linked = {link.resolved_note for n in again.notes.values() for link in n.links}
    gone = next(p for p in again.notes if p != path and p in linked)
    del again.notes[gone]
    linking = {p for p, n in again.notes.items() if any(link.resolved_note == gone for link in n.links)}
    after = _digest_all(memo, again.notes, relations)
    assert after == {p: _note_digest(n, relations.get(p, ()), again.notes, set()) for p, n in again.notes.items()}
    assert all(after[p] != first[p] for p in linking - {path})
    assert memo.reused == len(again.notes) - len(linking | {path})


def test_relations_and_concept_rows_are_last_syncs_only_when_equal(vault: Path, tmp_path: Path) -> None:
    root = tmp_path / "vault"
    shutil.copytree(vault, root)
    cache, memo = ParseCache(), NoteDigests()
    graph = read_vault(root, cache=cache)
    first = _relations_by_note(graph, memo)
    assert first == _relations_by_note(graph)
    used = {key for rels in first.values() for r in rels for key in (r.source, r.target)}
    rows = _concept_rows("v", graph, used, memo)
    assert rows == _concept_rows("v", graph, used)

    note = sorted(root.rglob("*.md"))[5]
    with note.open("a", encoding="utf-8") as handle:
        handle.write("\n\nSee also [[A New Topic]] and 基于 [[GRPO]]。\n")
    again = read_vault(root, cache=cache)
    relations = _relations_by_note(again, memo)
    assert relations == _relations_by_note(again)
    reused = [path for path in relations if relations[path] is first.get(path)]
    assert len(reused) >= len(relations) - 3  # the edited note, and RefD's, are made again
    # an assertion with another confidence is another relation: that note's list is made again
    path = reused[0]
    again.relations = [r._replace(confidence=r.confidence / 2) if r.note == path else r for r in again.relations]
    changed = _relations_by_note(again, memo)
    assert changed[path] is not relations[path] and changed == _relations_by_note(again)

    rows_again = _concept_rows("v", again, used, memo)
    assert rows_again == _concept_rows("v", again, used)
    key = next(k for k in sorted(used) if k in again.concepts)
    uid = next(u for u, row in rows_again.items() if row["key"] == key)
    assert rows_again[uid] is rows[uid]  # the same concept: the same row
    again.concepts[key].aliases.add("Yet Another Spelling")  # the graph's concept changed in place
    aliased = _concept_rows("v", again, used, memo)
    assert aliased[uid] is not rows[uid] and "Yet Another Spelling" in aliased[uid]["aliases"]
    assert aliased == _concept_rows("v", again, used)
    again.concepts[key].aliases.add("One More")  # the concept whose row was just made, changed again
    assert "One More" in _concept_rows("v", again, used, memo)[uid]["aliases"]
    assert _concept_rows("w", again, used, memo) == _concept_rows("w", again, used)  # another vault: its uids


@pytest.mark.integration
def test_watch_style_runs_write_the_graph_a_fresh_run_writes(
    neo4j_driver: Driver, clean_db: None, vault: Path, tmp_path: Path
) -> None:
    root = tmp_path / "vault"
    shutil.copytree(vault, root)
    cache, memo = ParseCache(), NoteDigests()
    ingest_vault(neo4j_driver, root, vault_name="w", cache=cache, digests=memo)
    notes = sorted(root.rglob("*.md"))
    edits = [
        "More notes, written while reading.",
        "See also [[A New Topic]] and 基于 [[GRPO]]。",
        f"Related: [[{notes[3].stem}]].",
        "add",  # a new note, which an earlier edit linked to
        "remove",  # a note others link to
    ]
    for i, edit in enumerate(edits):
        if edit == "add":
            (root / "A New Topic.md").write_text("# A New Topic\n\n基于 [[PPO]]。\n", encoding="utf-8")
        elif edit == "remove":
            notes[3].unlink()
        else:
            with notes[10 * i].open("a", encoding="utf-8") as handle:
                handle.write(f"\n\n{edit}\n")
        result = ingest_vault(neo4j_driver, root, vault_name="w", cache=cache, digests=memo)
        assert result.report.changed
        assert memo.reused >= len(result.graph.notes) // 2
        # a full run without any memory of earlier runs finds nothing to write
        fresh = ingest_vault(neo4j_driver, root, vault_name="w")
        assert not fresh.report.changed, fresh.report.summary()


@contextlib.contextmanager
def _collections() -> Iterator[list[int]]:
    """The generations of the cyclic collections that start inside the block (the test's own young
    garbage collected first, so that nothing young is left for the code under test to trip over)."""
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect(0)
    gc.callbacks.append(count)
    try:
        yield collections
    finally:
        gc.callbacks.remove(count)


def _kept_copy(neo4j_driver: Driver, vault: Path, tmp_path: Path) -> tuple[Path, ParseCache, NoteDigests]:
    """A copy of the vault, ingested once with a cache and digests kept for the next runs."""
    root = tmp_path / "vault"
    shutil.copytree(vault, root)
    cache, memo = ParseCache(), NoteDigests()
    ingest_vault(neo4j_driver, root, vault_name="g", cache=cache, digests=memo)
    return root, cache, memo


@pytest.mark.integration
def test_an_edits_run_takes_no_collection(neo4j_driver: Driver, clean_db: None, vault: Path, tmp_path: Path) -> None:
    """A kept run after one edit reads and syncs with the cyclic collector paused: no collection of
    the kept heap lands in it (one did in about every sixth such run at 10k notes, ~1.5 s); the
    collector is as it was afterwards and the run's graph is the one a fresh run writes."""
    root, cache, memo = _kept_copy(neo4j_driver, vault, tmp_path)
    note = sorted(root.rglob("*.md"))[7]
    for i in range(3):
        with note.open("a", encoding="utf-8") as handle:
            handle.write(f"\n\nSee also [[Topic {i} Added]], written while reading.\n")
        with _collections() as collections:
            result = ingest_vault(neo4j_driver, root, vault_name="g", cache=cache, digests=memo)
        assert result.report.notes_changed == 1
        assert collections == []
        assert gc.isenabled()
    assert not ingest_vault(neo4j_driver, root, vault_name="g").report.changed


@pytest.mark.integration
def test_a_big_kept_run_takes_no_collection(neo4j_driver: Driver, clean_db: None, vault: Path, tmp_path: Path) -> None:
    """A kept run that rewrites much of the vault (a folder renamed: its notes move, the notes linking
    to them change) syncs with the collector paused too: a full collection in it walks the whole kept
    heap. The graph is the one a fresh run writes."""
    root, cache, memo = _kept_copy(neo4j_driver, vault, tmp_path)
    folder = max((p for p in root.iterdir() if p.is_dir()), key=lambda p: len(list(p.rglob("*.md"))))
    folder.rename(folder.with_name(folder.name + " (renamed)"))
    with _collections() as collections:
        result = ingest_vault(neo4j_driver, root, vault_name="g", cache=cache, digests=memo)
    assert result.report.notes_added >= 10 and result.report.notes_deleted >= 10
    assert collections == []
    assert gc.isenabled()
    assert not ingest_vault(neo4j_driver, root, vault_name="g").report.changed
