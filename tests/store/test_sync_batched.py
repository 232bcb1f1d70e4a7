"""A big change written in several transactions of whole notes (VaultSync's `max_tx_rows`).

Real vaults (bench.generate_vault, read by ingest.vault) against a real Neo4j. A tiny threshold
forces the multi-transaction mode; the default one keeps small changes in one transaction.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

import kg.store.sync as sync_module
from bench.generate_vault import generate
from ingest.vault import read_vault
from kg.model import Concept, Graph, Mention, Note
from kg.store.cypher import NOTE_EDGE_TYPES
from kg.store.sync import IngestLockedError, VaultSync

pytestmark = pytest.mark.integration

VAULT = "big"
# About five notes of the generated vaults (~36 rows each) a transaction.
TINY_MAX_TX_ROWS = 200
# Set by each write; they differ between two runs of the same graph.
TIMESTAMPS = frozenset({"updated_at", "created_at", "last_change_at"})


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _props(props: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, _plain(v)) for k, v in props.items() if k not in TIMESTAMPS))


@dataclass(frozen=True)
class Snapshot:
    """Every node (by uid) and relationship of the database, timestamps left out."""

    nodes: dict[str, tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]]
    rels: list[tuple[str, str, str, tuple[tuple[str, Any], ...]]]

    @classmethod
    def take(cls, driver: Driver) -> Snapshot:
        nodes = driver.execute_query(
            "MATCH (n) WHERE NOT n:IngestLock RETURN labels(n) AS labels, n.uid AS uid, properties(n) AS props"
        ).records
        rels = driver.execute_query(
            "MATCH (a)-[r]->(b) WHERE NOT a:IngestLock "
            "RETURN type(r) AS t, a.uid AS a, b.uid AS b, properties(r) AS props"
        ).records
        node_map = {r["uid"]: (tuple(sorted(r["labels"])), _props(r["props"])) for r in nodes}
        assert len(node_map) == len(nodes), "every node has its own uid"
        rel_list = sorted(((r["t"], r["a"], r["b"], _props(r["props"])) for r in rels), key=repr)
        return cls(node_map, rel_list)

    def notes(self) -> set[str]:
        return {uid for uid, (labels, _) in self.nodes.items() if "Note" in labels}

    def assertions(self, present: set[str]) -> dict[str, frozenset[Any]]:
        """Per note uid: its properties, its outgoing edges and the typed relations it asserts.
        Links to notes not in `present` are left out (a link exists only while both notes do)."""
        notes = self.notes()
        out: dict[str, set[Any]] = {uid: {("node", self.nodes[uid][1])} for uid in notes}
        for rel_type, a, b, props in self.rels:
            if rel_type == "LINKS_TO" and b not in present:
                continue
            if a in notes and rel_type in NOTE_EDGE_TYPES:
                out[a].add((rel_type, b, props))
            asserted_by = dict(props).get("asserted_by")
            if asserted_by is not None:
                out[asserted_by].add((rel_type, a, b, props))
        return {uid: frozenset(items) for uid, items in out.items()}


def wipe(driver: Driver) -> None:
    driver.execute_query("MATCH (n) DETACH DELETE n")


def old_and_new_vaults(tmp_path: Path) -> tuple[Graph, Graph]:
    """A generated vault, and the same vault after an edit + delete + rename run."""
    root = tmp_path / "vault"
    generate(60, root, seed=5)
    old = read_vault(root)
    files = sorted(p for p in root.rglob("*.md"))
    assert len(files) >= 40
    for path in files[:12]:  # edited: typed relations and tags go, a link to another note comes
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        kept = [line for line in text.splitlines() if "::" not in line and " #" not in line]
        kept.append(f"\nSee also [[{files[-1].stem}]] and https://example.org/{path.stem}\n")
        path.write_text("\n".join(kept), encoding="utf-8", errors="surrogateescape")
    for path in files[12:18]:  # deleted
        path.unlink()
    moved = root / "moved"
    moved.mkdir()
    for path in files[18:24]:  # renamed (moved)
        shutil.move(path, moved / path.name)
    return old, read_vault(root)


@pytest.fixture
def vaults(tmp_path: Path) -> tuple[Graph, Graph]:
    return old_and_new_vaults(tmp_path)


def test_batched_writes_exactly_the_graph_one_transaction_writes(
    neo4j_driver: Driver, clean_db: None, vaults: tuple[Graph, Graph]
) -> None:
    old, new = vaults
    one = VaultSync(neo4j_driver)
    first = one.sync(VAULT, "/vault", old)
    assert first.transactions == 1
    single_first = Snapshot.take(neo4j_driver)
    report = one.sync(VAULT, "/vault", new)
    assert report.transactions == 1 and report.notes_deleted and report.notes_added and report.notes_changed
    single_edit = Snapshot.take(neo4j_driver)

    wipe(neo4j_driver)
    batched = VaultSync(neo4j_driver, max_tx_rows=TINY_MAX_TX_ROWS)
    first_b = batched.sync(VAULT, "/vault", old)
    assert first_b.transactions > 5
    assert Snapshot.take(neo4j_driver) == single_first
    report_b = batched.sync(VAULT, "/vault", new)
    assert report_b.transactions > 3
    assert Snapshot.take(neo4j_driver) == single_edit
    assert (report_b.notes_added, report_b.notes_changed, report_b.notes_deleted) == (
        report.notes_added,
        report.notes_changed,
        report.notes_deleted,
    )
    assert report_b.orphans_deleted == report.orphans_deleted
    assert report_b.relations_written == report.relations_written
    assert "transactions=" in report_b.summary()
    assert batched.sync(VAULT, "/vault", new).transactions == 0  # nothing left to write


class InjectedFailure(RuntimeError):
    pass


@pytest.mark.parametrize("scenario", ["first-ingest", "edit-delete-rename"])
@pytest.mark.parametrize("committed", [1, 4])
def test_a_run_dying_midway_leaves_each_note_wholly_old_or_new_and_the_next_run_finishes(
    neo4j_driver: Driver, clean_db: None, vaults: tuple[Graph, Graph], scenario: str, committed: int
) -> None:
    old, new = vaults
    if scenario == "first-ingest":
        old = Graph()
    # The expected graphs, each written whole.
    VaultSync(neo4j_driver).sync(VAULT, "/vault", new)
    expected_new = Snapshot.take(neo4j_driver)
    wipe(neo4j_driver)
    VaultSync(neo4j_driver).sync(VAULT, "/vault", old)
    expected_old = Snapshot.take(neo4j_driver)
    stamp_query = "MATCH (v:Vault {name: $v}) RETURN v.last_change_at AS t"
    stamp_before = neo4j_driver.execute_query(stamp_query, v=VAULT).records

    calls: list[tuple[int, int]] = []

    def die_after_committed(done: int, total: int) -> None:  # called in each transaction, before its commit
        calls.append((done, total))
        if len(calls) > committed:
            raise InjectedFailure(f"after {committed} transactions")

    with pytest.raises(InjectedFailure):
        VaultSync(neo4j_driver, max_tx_rows=TINY_MAX_TX_ROWS).sync(VAULT, "/vault", new, progress=die_after_committed)
    assert len(calls) == committed + 1

    partial = Snapshot.take(neo4j_driver)
    present = partial.notes()
    now = partial.assertions(present)
    was = expected_old.assertions(present)
    will_be = expected_new.assertions(present)
    old_notes = [uid for uid, state in now.items() if uid in was and state == was[uid]]
    new_notes = [uid for uid, state in now.items() if uid in will_be and state == will_be[uid]]
    mixed = sorted(set(now) - set(old_notes) - set(new_notes))
    assert not mixed, f"notes neither wholly old nor wholly new: {mixed[:5]}"
    assert partial != expected_old and partial != expected_new  # midway indeed
    # The vault's stats (the API's cache version) are written last: still those of the old graph.
    stamp_now = neo4j_driver.execute_query(
        "MATCH (v:Vault {name: $v}) RETURN v.last_change_at AS t, v.sync_incomplete AS incomplete", v=VAULT
    ).records
    assert [r["t"] for r in stamp_now] == [r["t"] for r in stamp_before]
    assert stamp_now[0]["incomplete"] is True

    report = VaultSync(neo4j_driver).sync(VAULT, "/vault", new)  # the next run finishes it
    assert report.finished_incomplete
    # It skipped exactly the notes already new (the digest is among the properties compared).
    assert report.notes_unchanged == len(new_notes)
    assert Snapshot.take(neo4j_driver) == expected_new
    assert VaultSync(neo4j_driver).sync(VAULT, "/vault", new).transactions == 0


def test_small_changes_stay_in_one_transaction(
    neo4j_driver: Driver, clean_db: None, vaults: tuple[Graph, Graph]
) -> None:
    old, new = vaults
    sync = VaultSync(neo4j_driver)  # the default threshold
    assert sync.sync(VAULT, "/vault", old).transactions == 1
    assert sync.sync(VAULT, "/vault", old).transactions == 0  # no change: no transaction at all
    report = sync.sync(VAULT, "/vault", new)
    assert report.transactions == 1 and "transactions=1" in report.summary()
    stamp = neo4j_driver.execute_query(
        "MATCH (v:Vault {name: $v}) RETURN v.sync_incomplete AS incomplete", v=VAULT
    ).records
    assert stamp[0]["incomplete"] is None  # a one-transaction run never marks the vault


def test_max_tx_rows_must_be_positive(neo4j_driver: Driver) -> None:
    with pytest.raises(ValueError, match="max_tx_rows"):
        VaultSync(neo4j_driver, max_tx_rows=0)


def _tagged_notes(count: int, edited: set[int]) -> Graph:
    """Notes that link nowhere, each about its own concept and with its own tag (dropped when edited)."""
    graph = Graph()
    for i in range(count):
        key = f"c{i}"
        graph.concepts[key] = Concept(key=key, name=f"C{i}")
        graph.notes[f"n{i}.md"] = Note(
            path=f"n{i}.md",
            title=f"N{i}",
            content_hash=f"hash-{i}-{i in edited}",
            encoding="utf-8",
            tags=[] if i in edited else [f"t{i}"],
            about=[key],
            mentions=[Mention(concept=key, text=key, line=1, source="wikilink")],
            resources=[] if i in edited else [f"https://example.org/{i}"],
        )
    return graph


def test_an_unfinished_sync_is_finished_even_when_nothing_is_left_to_write(
    neo4j_driver: Driver, clean_db: None
) -> None:
    count = 12
    VaultSync(neo4j_driver).sync(VAULT, "/vault", _tagged_notes(count, set()))

    def die_after_two(done: int, total: int) -> None:
        if die_after_two.calls == 2:  # type: ignore[attr-defined]
            raise InjectedFailure("after 2 transactions")
        die_after_two.calls += 1  # type: ignore[attr-defined]

    die_after_two.calls = 0  # type: ignore[attr-defined]
    with pytest.raises(InjectedFailure):
        VaultSync(neo4j_driver, max_tx_rows=8).sync(
            VAULT, "/vault", _tagged_notes(count, set(range(count))), progress=die_after_two
        )
    # The notes written so far dropped their tags and resources; the other notes' edit is undone
    # on disk, so the vault now is exactly what the database holds: no note is left to write.
    records = neo4j_driver.execute_query("MATCH (n:Note) WHERE NOT (n)-[:TAGGED]->() RETURN n.path AS p").records
    written = {int(r["p"][1:].removesuffix(".md")) for r in records}
    assert 0 < len(written) < count
    now = _tagged_notes(count, written)
    report = VaultSync(neo4j_driver).sync(VAULT, "/vault", now)
    assert report.finished_incomplete and report.changed
    assert report.notes_unchanged == count and report.transactions == 1
    assert report.orphans_deleted == 2 * len(written)  # their tags and resources, found by the sweep
    finished = Snapshot.take(neo4j_driver)
    wipe(neo4j_driver)
    VaultSync(neo4j_driver).sync(VAULT, "/vault", now)
    assert finished == Snapshot.take(neo4j_driver)


def test_each_transaction_commits_only_while_the_lease_is_this_runs(
    neo4j_driver: Driver, clean_db: None, vaults: tuple[Graph, Graph]
) -> None:
    old, _ = vaults
    sync = VaultSync(neo4j_driver, max_tx_rows=TINY_MAX_TX_ROWS)
    calls: list[int] = []

    def break_lock_in_the_second(done: int, total: int) -> None:  # as `kg ingest --break-lock` would
        calls.append(done)
        if len(calls) == 2:
            VaultSync(neo4j_driver).break_lock(VAULT)

    with pytest.raises(IngestLockedError, match=r"1 of its \d+ transactions were written"):
        sync.sync(VAULT, "/vault", old, progress=break_lock_in_the_second)
    assert len(calls) == 2
    notes = neo4j_driver.execute_query("MATCH (n:Note) RETURN count(n) AS c").records[0]["c"]
    assert 0 < notes < len(old.notes)  # the first transaction only
    assert sync.sync(VAULT, "/vault", old).finished_incomplete
    assert neo4j_driver.execute_query("MATCH (n:Note) RETURN count(n) AS c").records[0]["c"] == len(old.notes)


def test_a_sync_leaves_no_rows_for_the_cyclic_collector(
    neo4j_driver: Driver, clean_db: None, vaults: tuple[Graph, Graph]
) -> None:
    # The driver's results hold their parameters in reference cycles; a big graph makes full
    # collections rare, so rows they held would pile up across the transactions of a big sync.
    import gc

    old, _ = vaults
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        report = VaultSync(neo4j_driver, max_tx_rows=TINY_MAX_TX_ROWS).sync(VAULT, "/vault", old)
        assert report.transactions > 3
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        rows = [o for o in gc.garbage if isinstance(o, dict) and ("note" in o or "note_uid" in o or "digest" in o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert rows == []


def test_a_change_split_anyway_goes_in_transactions_of_split_tx_rows(
    neo4j_driver: Driver, clean_db: None, vaults: tuple[Graph, Graph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change within `max_tx_rows` stays one transaction, however small `SPLIT_TX_ROWS` is; one
    over it is split into transactions of at most `SPLIT_TX_ROWS`, which write the same graph."""
    old, _ = vaults
    monkeypatch.setattr(sync_module, "SPLIT_TX_ROWS", 100)
    assert VaultSync(neo4j_driver, max_tx_rows=1_000_000).sync(VAULT, "/vault", old).transactions == 1
    whole = Snapshot.take(neo4j_driver)
    wipe(neo4j_driver)
    monkeypatch.setattr(sync_module, "SPLIT_TX_ROWS", 10**9)  # split at max_tx_rows only, as before
    by_max = VaultSync(neo4j_driver, max_tx_rows=1_000).sync(VAULT, "/vault", old).transactions
    assert by_max > 1 and Snapshot.take(neo4j_driver) == whole
    wipe(neo4j_driver)
    monkeypatch.setattr(sync_module, "SPLIT_TX_ROWS", 100)
    by_split = VaultSync(neo4j_driver, max_tx_rows=1_000).sync(VAULT, "/vault", old).transactions
    assert by_split > 5 * by_max and Snapshot.take(neo4j_driver) == whole
