"""VaultSync against a real Neo4j: idempotency, exact retraction, several vaults, the lock, failure midway."""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from typing import Any

import pytest
from neo4j import Driver

from kg.model import Concept, Graph, Mention, Note, Relation, RelationType
from kg.store.sync import EmptyVaultError, IngestLockedError, VaultRootError, VaultSync, scoped_uid

pytestmark = pytest.mark.integration


def _note(path: str, about: list[str], mentions: list[str], tags: list[str] | None = None) -> Note:
    return Note(
        path=path,
        title=path.rsplit("/", 1)[-1].removesuffix(".md"),
        content_hash=f"hash-{path}",
        encoding="utf-8",
        tags=tags or [],
        about=about,
        mentions=[Mention(concept=c, text=c, line=i + 1, source="wikilink") for i, c in enumerate(mentions)],
        words=400,
    )


def _rel(
    t: RelationType, s: str, o: str, note: str, rule: str = "explicit.front_matter", conf: float = 1.0
) -> Relation:
    return Relation(type=t, source=s, target=o, confidence=conf, rule=rule, note=note, line=3, evidence=f"{s} {t} {o}")


def small_graph() -> Graph:
    g = Graph()
    for key, name in [("ppo", "PPO"), ("grpo", "GRPO"), ("rlhf", "RLHF"), ("trl", "TRL")]:
        g.concepts[key] = Concept(key=key, name=name, aliases={name})
    g.notes["rl/PPO.md"] = _note("rl/PPO.md", ["ppo"], ["ppo", "grpo"], ["rl"])
    g.notes["rl/GRPO.md"] = _note("rl/GRPO.md", ["grpo"], ["grpo", "ppo", "rlhf"], ["rl", "rl/grpo"])
    g.notes["tools/TRL.md"] = _note("tools/TRL.md", ["trl"], ["trl", "grpo"])
    g.relations = [
        _rel(RelationType.PREREQUISITE_OF, "ppo", "grpo", "rl/GRPO.md"),
        _rel(RelationType.PREREQUISITE_OF, "rlhf", "grpo", "rl/GRPO.md", "cue.prerequisite", 0.8),
        # the same edge asserted by a second note: it must survive the retraction of the first
        _rel(RelationType.PREREQUISITE_OF, "ppo", "grpo", "rl/PPO.md", "cue.from_to", 0.7),
        _rel(RelationType.IMPLEMENTS, "trl", "grpo", "tools/TRL.md"),
    ]
    return g


def counts(driver: Driver, vault: str | None = None) -> dict[str, int]:
    where = "WHERE n.vault = $vault AND NOT n:IngestLock" if vault else ""
    with driver.session() as s:
        nodes = s.run(f"MATCH (n) {where} RETURN count(n) AS c", vault=vault).single()
        rels = s.run(f"MATCH (n)-[r]->() {where} RETURN count(r) AS c", vault=vault).single()
    assert nodes is not None and rels is not None
    return {"nodes": nodes["c"], "rels": rels["c"]}


def typed_edges(driver: Driver, vault: str = "v") -> list[tuple[Any, ...]]:
    query = """
    MATCH (a:Concept {vault: $vault})-[r]->(b:Concept)
    RETURN a.key AS a, type(r) AS t, b.key AS b, r.note AS note, r.rule AS rule, r.confidence AS conf
    ORDER BY a, t, b, note, rule
    """
    with driver.session() as s:
        return [tuple(rec.values()) for rec in s.run(query, vault=vault)]


def test_sync_writes_nodes_relations_and_provenance(neo4j_driver: Driver, clean_db: None) -> None:
    report = VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
    assert report.notes_added == 3 and report.notes_changed == 0
    assert typed_edges(neo4j_driver) == [
        ("ppo", "PREREQUISITE_OF", "grpo", "rl/GRPO.md", "explicit.front_matter", 1.0),
        ("ppo", "PREREQUISITE_OF", "grpo", "rl/PPO.md", "cue.from_to", 0.7),
        ("rlhf", "PREREQUISITE_OF", "grpo", "rl/GRPO.md", "cue.prerequisite", 0.8),
        ("trl", "IMPLEMENTS", "grpo", "tools/TRL.md", "explicit.front_matter", 1.0),
    ]
    with neo4j_driver.session() as s:
        rec = s.run(
            "MATCH (n:Note {uid: $uid})-[:ABOUT]->(c:Concept) "
            "OPTIONAL MATCH (n)-[:TAGGED]->(t:Tag) RETURN c.name AS about, collect(t.name) AS tags",
            uid=scoped_uid("v", "rl/GRPO.md"),
        ).single()
        assert rec is not None and rec["about"] == "GRPO" and sorted(rec["tags"]) == ["rl", "rl/grpo"]
        vault = s.run("MATCH (v:Vault {name: 'v'})-[:CONTAINS]->(n:Note) RETURN count(n) AS c").single()
        assert vault is not None and vault["c"] == 3


def test_second_run_writes_nothing(neo4j_driver: Driver, clean_db: None) -> None:
    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", small_graph())
    before = counts(neo4j_driver)
    with neo4j_driver.session() as s:
        stamps_before = s.run("MATCH (n:Note) RETURN n.uid AS u, n.updated_at AS t ORDER BY u").values()
    again = sync.sync("v", "/vault", small_graph())
    assert not again.changed
    assert again.notes_unchanged == 3
    assert again.counters == {}  # no write statement ran at all
    assert counts(neo4j_driver) == before
    with neo4j_driver.session() as s:
        assert s.run("MATCH (n:Note) RETURN n.uid AS u, n.updated_at AS t ORDER BY u").values() == stamps_before


def test_editing_one_note_changes_only_its_assertions(neo4j_driver: Driver, clean_db: None) -> None:
    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", small_graph())
    g = small_graph()
    # GRPO.md no longer says RLHF comes first, and asserts PPO by another rule
    g.relations = [r for r in g.relations if r.note != "rl/GRPO.md"] + [
        _rel(RelationType.VARIANT_OF, "grpo", "ppo", "rl/GRPO.md", "cue.variant", 0.9)
    ]
    g.notes["rl/GRPO.md"].content_hash = "hash-edited"
    report = sync.sync("v", "/vault", g)
    assert (report.notes_changed, report.notes_added, report.notes_deleted) == (1, 0, 0)
    assert typed_edges(neo4j_driver) == [
        ("grpo", "VARIANT_OF", "ppo", "rl/GRPO.md", "cue.variant", 0.9),
        ("ppo", "PREREQUISITE_OF", "grpo", "rl/PPO.md", "cue.from_to", 0.7),  # the other note's assertion stays
        ("trl", "IMPLEMENTS", "grpo", "tools/TRL.md", "explicit.front_matter", 1.0),
    ]
    # RLHF is still mentioned by GRPO.md, so the concept stays
    with neo4j_driver.session() as s:
        assert s.run("MATCH (c:Concept {key: 'rlhf'}) RETURN count(c) AS c").single()["c"] == 1  # type: ignore[index]


def test_deleting_a_note_retracts_it_and_orphans_go(neo4j_driver: Driver, clean_db: None) -> None:
    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", small_graph())
    g = small_graph()
    del g.notes["tools/TRL.md"]
    g.relations = [r for r in g.relations if r.note != "tools/TRL.md"]
    report = sync.sync("v", "/vault", g)
    assert report.notes_deleted == 1
    with neo4j_driver.session() as s:
        assert s.run("MATCH (c:Concept {key: 'trl'}) RETURN count(c) AS c").single()["c"] == 0  # type: ignore[index]
        assert s.run("MATCH (n:Note {path: 'tools/TRL.md'}) RETURN count(n) AS c").single()["c"] == 0  # type: ignore[index]
    assert all(edge[1] != "IMPLEMENTS" for edge in typed_edges(neo4j_driver))


def test_renaming_a_note_moves_its_assertions(neo4j_driver: Driver, clean_db: None) -> None:
    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", small_graph())
    g = small_graph()
    moved = copy.deepcopy(g.notes.pop("tools/TRL.md"))
    moved.path = "frameworks/TRL.md"
    g.notes[moved.path] = moved
    g.relations = [
        Relation(r.type, r.source, r.target, r.confidence, r.rule, moved.path, r.line, r.evidence)
        if r.note == "tools/TRL.md"
        else r
        for r in g.relations
    ]
    report = sync.sync("v", "/vault", g)
    assert (report.notes_added, report.notes_deleted) == (1, 1)
    assert ("trl", "IMPLEMENTS", "grpo", "frameworks/TRL.md", "explicit.front_matter", 1.0) in typed_edges(neo4j_driver)
    with neo4j_driver.session() as s:
        paths = s.run("MATCH (n:Note) RETURN n.path AS p ORDER BY p").value()
    assert paths == ["frameworks/TRL.md", "rl/GRPO.md", "rl/PPO.md"]


def test_two_vaults_never_touch_each_other(neo4j_driver: Driver, clean_db: None) -> None:
    sync = VaultSync(neo4j_driver)
    sync.sync("a", "/a", small_graph())
    sync.sync("b", "/b", small_graph())
    b_before = counts(neo4j_driver, "b")
    sync.sync("a", "/a", Graph(), allow_empty=True)  # vault a emptied
    assert counts(neo4j_driver, "a") == {"nodes": 0, "rels": 0}
    assert counts(neo4j_driver, "b") == b_before
    assert len(typed_edges(neo4j_driver, "b")) == 4


def test_a_graph_without_notes_removes_a_vault_only_when_allowed(neo4j_driver: Driver, clean_db: None) -> None:
    """An unmounted share or an emptied folder reads as a vault without notes: it must not wipe the
    vault's graph unless the caller says the vault is empty now."""
    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", small_graph())
    before = counts(neo4j_driver, "v")
    with pytest.raises(EmptyVaultError, match=r"vault 'v': no notes found under /vault, while the graph holds 3 "):
        sync.sync("v", "/vault", Graph())
    assert counts(neo4j_driver, "v") == before
    # the refusal released the lease, and an ingest that finds the notes again writes nothing
    assert sync.sync("v", "/vault", small_graph()).changed is False
    report = sync.sync("v", "/vault", Graph(), allow_empty=True)
    assert report.notes_deleted == 3 and counts(neo4j_driver, "v") == {"nodes": 0, "rels": 0}
    # a vault without notes in the database takes an empty graph as it is
    assert sync.sync("w", "/w", Graph()).notes_deleted == 0


def test_a_vault_of_another_folder_is_refused_when_the_root_must_match(neo4j_driver: Driver, clean_db: None) -> None:
    """Two folders of the same name are two vaults of one name when the name comes from the folder's:
    `same_root` stops the second from replacing the first; without it the vault moves to the new folder."""
    sync = VaultSync(neo4j_driver)
    sync.sync("notes", "/a/notes", small_graph())
    before = counts(neo4j_driver, "notes")
    changed = small_graph()
    del changed.notes["tools/TRL.md"]
    changed.relations = [r for r in changed.relations if r.note != "tools/TRL.md"]
    with pytest.raises(VaultRootError, match="ingested from /a/notes, not from /b/notes"):
        sync.sync("notes", "/b/notes", changed, same_root=True)
    assert counts(neo4j_driver, "notes") == before
    assert sync.sync("notes", "/a/notes", small_graph(), same_root=True).changed is False  # the lease was released
    # a vault moved (the caller names it): nothing of its notes changed, its folder is the new one
    assert sync.sync("notes", "/b/notes", small_graph()).changed is False
    assert sync.stored_fingerprint("notes")[2] == "/b/notes"
    with pytest.raises(VaultRootError, match="ingested from /b/notes, not from /a/notes"):
        sync.sync("notes", "/a/notes", small_graph(), same_root=True)


def test_user_data_is_never_touched(neo4j_driver: Driver, clean_db: None) -> None:
    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", small_graph())
    with neo4j_driver.session() as s:
        s.run(
            "CREATE (:Person {name: 'me'}) WITH 1 AS x "
            "MATCH (c:Concept {key: 'trl'}), (p:Person {name: 'me'}) CREATE (p)-[:LIKES]->(c)"
        ).consume()
    g = small_graph()
    del g.notes["tools/TRL.md"]
    g.relations = [r for r in g.relations if r.note != "tools/TRL.md"]
    sync.sync("v", "/vault", g)
    with neo4j_driver.session() as s:
        rec = s.run("MATCH (p:Person)-[:LIKES]->(c:Concept) RETURN c.key AS k").single()
    assert rec is not None and rec["k"] == "trl"  # a user's relationship keeps the concept alive


def test_notes_changed_and_deleted_together_in_one_uid_statements_give_a_fresh_sync(
    neo4j_driver: Driver, clean_db: None
) -> None:
    """A change whose retraction spans several statements (`batch_size` 1: a statement per uid where
    they are chunked; the typed relations go in one) leaves the vault as a sync into an empty one."""
    sync = VaultSync(neo4j_driver, batch_size=1)
    sync.sync("v", "/vault", small_graph())
    g = small_graph()
    for note in g.notes.values():
        note.content_hash += " edited"
    del g.notes["tools/TRL.md"]
    g.relations = [r for r in g.relations if r.note != "tools/TRL.md" and r.rule != "cue.prerequisite"]
    report = sync.sync("v", "/vault", g)
    assert (report.notes_changed, report.notes_deleted) == (2, 1)
    sync.sync("fresh", "/fresh", g)
    assert typed_edges(neo4j_driver) == typed_edges(neo4j_driver, "fresh") != []
    assert counts(neo4j_driver, "v") == counts(neo4j_driver, "fresh")


def _typed_relationship_ids(driver: Driver, vault: str = "v") -> dict[str, set[str]]:
    """The element ids of the typed relationships of `vault`, by the note that asserts them."""
    query = "MATCH (:Concept {vault: $vault})-[r]->(:Concept) RETURN r.note AS note, elementId(r) AS id"
    ids: dict[str, set[str]] = defaultdict(set)
    with driver.session() as s:
        for record in s.run(query, vault=vault):
            ids[record["note"]].add(record["id"])
    return dict(ids)


def test_a_note_rewritten_with_the_typed_relations_stored_keeps_them(neo4j_driver: Driver, clean_db: None) -> None:
    """A changed note whose typed relations are those stored keeps those relationships (a folder renamed
    rewrites the notes linking into it, with the same relations); other relations, or none stored
    (a database an older kg wrote), are written again. The vault is always what a fresh sync writes."""
    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", small_graph())
    before = _typed_relationship_ids(neo4j_driver)

    def same_as_fresh(graph: Graph, name: str) -> bool:
        VaultSync(neo4j_driver).sync(name, f"/{name}", graph)
        return typed_edges(neo4j_driver) == typed_edges(neo4j_driver, name) and counts(neo4j_driver, "v") == counts(
            neo4j_driver, name
        )

    edited = small_graph()
    edited.notes["rl/GRPO.md"].content_hash = "edited"
    report = sync.sync("v", "/vault", edited)
    assert (report.notes_changed, report.relations_written) == (1, 0)
    assert _typed_relationship_ids(neo4j_driver) == before
    assert same_as_fresh(edited, "fresh1")

    fewer = small_graph()
    fewer.notes["rl/GRPO.md"].content_hash = "edited again"
    fewer.relations = [r for r in fewer.relations if r.rule != "cue.prerequisite"]
    report = sync.sync("v", "/vault", fewer)
    assert (report.notes_changed, report.relations_written) == (1, 1)
    after = _typed_relationship_ids(neo4j_driver)
    assert after["rl/PPO.md"] == before["rl/PPO.md"] and after["tools/TRL.md"] == before["tools/TRL.md"]
    assert len(after["rl/GRPO.md"]) == 1 and not after["rl/GRPO.md"] & before["rl/GRPO.md"]
    assert same_as_fresh(fewer, "fresh2")

    with neo4j_driver.session() as s:  # as an older kg left them: no digest of the relations alone
        s.run("MATCH (n:Note {vault: 'v'}) REMOVE n.relations_digest").consume()
    fewer.notes["tools/TRL.md"].content_hash = "edited"
    report = sync.sync("v", "/vault", fewer)
    assert (report.notes_changed, report.relations_written) == (1, 1)
    assert not _typed_relationship_ids(neo4j_driver)["tools/TRL.md"] & before["tools/TRL.md"]
    assert same_as_fresh(fewer, "fresh3")


def _note_edges(driver: Driver, path: str, vault: str = "v") -> dict[str, set[tuple[str, Any]]]:
    """The edges out of a note, by type: (element id, line) of each."""
    query = (
        "MATCH (n:Note {vault: $vault, path: $path})-[e]->() RETURN type(e) AS t, elementId(e) AS id, e.line AS line"
    )
    edges: dict[str, set[tuple[str, Any]]] = defaultdict(set)
    with driver.session() as s:
        for record in s.run(query, vault=vault, path=path):
            edges[record["t"]].add((record["id"], record["line"]))
    return dict(edges)


def test_a_note_whose_links_alone_changed_keeps_its_other_edges(neo4j_driver: Driver, clean_db: None) -> None:
    """A note rewritten with the about, mentions, tags and citations stored keeps those edges and has
    its links written again; with none stored (a database an older kg wrote) all go and come back.
    The vault is always what a fresh sync writes."""
    from kg.model import Link

    def linked(line: int) -> Graph:
        g = small_graph()
        g.notes["rl/GRPO.md"].links = [Link("PPO", line, "wiki", resolved_note="rl/PPO.md", concept="ppo")]
        g.notes["rl/GRPO.md"].content_hash = f"links on line {line}"
        return g

    def same_as_fresh(graph: Graph, name: str) -> bool:
        VaultSync(neo4j_driver).sync(name, f"/{name}", graph)
        return counts(neo4j_driver, "v") == counts(neo4j_driver, name) and {
            t: {line for _, line in edges} for t, edges in _note_edges(neo4j_driver, "rl/GRPO.md").items()
        } == {t: {line for _, line in edges} for t, edges in _note_edges(neo4j_driver, "rl/GRPO.md", name).items()}

    sync = VaultSync(neo4j_driver)
    sync.sync("v", "/vault", linked(5))
    before = _note_edges(neo4j_driver, "rl/GRPO.md")
    assert {"ABOUT", "MENTIONS", "TAGGED", "LINKS_TO"} <= before.keys()
    report = sync.sync("v", "/vault", linked(7))
    assert report.notes_changed == 1
    after = _note_edges(neo4j_driver, "rl/GRPO.md")
    assert {t: e for t, e in after.items() if t != "LINKS_TO"} == {t: e for t, e in before.items() if t != "LINKS_TO"}
    assert [line for _, line in after["LINKS_TO"]] == [7]
    assert same_as_fresh(linked(7), "fresh1")

    with neo4j_driver.session() as s:  # as an older kg left them: no digest of those edges alone
        s.run("MATCH (n:Note {vault: 'v'}) REMOVE n.edges_digest").consume()
    sync.sync("v", "/vault", linked(9))
    again = _note_edges(neo4j_driver, "rl/GRPO.md")
    assert not {e for edges in again.values() for e in edges} & {e for edges in after.values() for e in edges}
    assert same_as_fresh(linked(9), "fresh2")


def test_failure_midway_leaves_previous_graph_and_next_run_completes(neo4j_driver: Driver, clean_db: None) -> None:
    sync = VaultSync(neo4j_driver, batch_size=1)
    sync.sync("v", "/vault", small_graph())
    before = typed_edges(neo4j_driver)
    g = small_graph()
    g.relations = [r for r in g.relations if r.type != RelationType.IMPLEMENTS]
    g.notes["tools/TRL.md"].content_hash = "edited"

    def explode(done: int, total: int) -> None:
        raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected"):
        sync.sync("v", "/vault", g, progress=explode)
    assert typed_edges(neo4j_driver) == before  # rolled back
    report = sync.sync("v", "/vault", g)  # the lock was released; the next run completes
    assert report.notes_changed == 1
    assert all(edge[1] != "IMPLEMENTS" for edge in typed_edges(neo4j_driver))


def test_lock_stops_a_second_ingest(neo4j_driver: Driver, clean_db: None) -> None:
    first = VaultSync(neo4j_driver)
    entered, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold(done: int, total: int) -> None:
        entered.set()
        release.wait(30)

    def run_first() -> None:
        try:
            first.sync("v", "/vault", small_graph(), progress=hold)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=run_first)
    t.start()
    assert entered.wait(30)
    try:
        with pytest.raises(IngestLockedError, match="being ingested"):
            VaultSync(neo4j_driver).sync("v", "/vault", small_graph())
    finally:
        release.set()
        t.join(60)
    assert not errors
    assert len(typed_edges(neo4j_driver)) == 4
