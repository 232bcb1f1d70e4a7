"""GraphReader against a real Neo4j: deep closures, several vaults, name resolution."""

from __future__ import annotations

import pytest
from neo4j import Driver
from query_plans import plan_operators
from rl_graphs import P, note, rel, rl_graph

from kg.api.errors import BadArgumentError
from kg.api.learning import compute_learning_path
from kg.model import Concept, Graph
from kg.store import read_cypher as q
from kg.store.read import ConceptRecord, GraphReader, match_spelling, spelling_key
from kg.store.sync import VaultSync

pytestmark = pytest.mark.integration


def chain_graph(length: int) -> Graph:
    """c0 <- c1 <- ... <- c{length}: each concept the prerequisite of the next, plus parallel weak edges."""
    g = Graph()
    for i in range(length + 1):
        key = f"c{i:03d}"
        g.concepts[key] = Concept(key=key, name=f"Chain {i:03d}", aliases={f"Chain {i:03d}"})
        g.notes[f"{key}.md"] = note(f"{key}.md", [key], words=200 * (i % 3 + 1))
    for i in range(length):
        g.relations.append(rel(P, f"c{i:03d}", f"c{i + 1:03d}", f"c{i + 1:03d}.md"))
        g.relations.append(rel(P, f"c{i:03d}", f"c{i + 1:03d}", f"c{i:03d}.md", 0.4, "structure.order", 7))
    return g


def test_closure_deeper_than_one_round_trip(neo4j_driver: Driver, clean_db: None) -> None:
    levels = 8
    length = 2 * levels + 5
    VaultSync(neo4j_driver).sync("chain", "/chain", chain_graph(length))
    one_trip = GraphReader(neo4j_driver)
    closure = one_trip.closure([f"chain\u241fc{length:03d}"])
    assert one_trip.queries == 1  # the walk stops by itself when a level adds nothing
    reader = GraphReader(neo4j_driver, closure_levels=levels)
    capped = reader.closure([f"chain\u241fc{length:03d}"])
    assert reader.queries == 3  # levels 0-8, 9-17, 18-21 when a round trip walks at most 8 levels
    for c in (closure, capped):
        assert len(c.concepts) == length + 1
        assert c.depth["chain\u241fc000"] == length
        assert len(c.requires) == 2 * length  # both parallel assertions of every edge
    assert capped.depth == closure.depth

    answer = compute_learning_path(GraphReader(neo4j_driver), [f"Chain {length:03d}"], [], 0.0, None, None)
    assert [s.concept.record.key for s in answer.steps] == [f"c{i:03d}" for i in range(length + 1)]
    assert answer.totals.longest_chain == length + 1
    assert [a.confidence for a in answer.steps[0].reasons[0].assertions] == [1.0, 0.4]


def test_vaults_are_kept_apart(neo4j_driver: Driver, clean_db: None) -> None:
    VaultSync(neo4j_driver).sync("rl", "/rl", rl_graph())
    other = rl_graph()
    other.relations = [
        r for r in other.relations if "grpo" not in (r.source, r.target)
    ]  # in this vault GRPO needs nothing
    VaultSync(neo4j_driver).sync("other", "/other", other)
    reader = GraphReader(neo4j_driver)
    with pytest.raises(BadArgumentError, match="several vaults"):
        compute_learning_path(reader, ["GRPO"], [], 0.0, None, None)
    rl = compute_learning_path(reader, ["GRPO"], [], 0.0, None, "rl")
    assert len(rl.steps) == 7 and {s.concept.record.vault for s in rl.steps} == {"rl"}
    lone = compute_learning_path(reader, ["GRPO"], [], 0.0, None, "other")
    assert [s.concept.record.uid for s in lone.steps] == ["other\u241fgrpo"]


def test_resolution_ranks_name_over_alias_over_note(neo4j_driver: Driver, clean_db: None) -> None:
    g = rl_graph()
    g.concepts["pg"].aliases.add("PPO")  # a confusing alias: the display name PPO must win
    VaultSync(neo4j_driver).sync("rl", "/rl", g)
    reader = GraphReader(neo4j_driver)
    found = reader.resolve(["ppo", "策略梯度", "rl/PPO 概述.md", "Trust-Region  policy optimization", "zzzz"])
    assert [c.name for c in found["ppo"].concepts] == ["PPO"] and found["ppo"].how == "name"
    assert [c.name for c in found["策略梯度"].concepts] == ["Policy Gradient"] and found["策略梯度"].how == "alias"
    assert [c.name for c in found["rl/PPO 概述.md"].concepts] == ["PPO"] and found["rl/PPO 概述.md"].how == "note"
    assert [c.name for c in found["Trust-Region  policy optimization"].concepts] == ["TRPO"]
    assert found["zzzz"].concepts == ()
    assert reader.queries == 2  # exact spellings in one query; one more for the typo/suggestion pass


def test_spelling_match_is_typo_tolerant_but_not_for_short_names() -> None:
    concepts = [
        ConceptRecord(uid=f"v\u241f{k}", vault="v", key=k, name=n, aliases=a)
        for k, n, a in [
            ("ppo", "PPO", ()),
            ("dpo", "DPO", ()),
            ("grpo", "GRPO", ()),
            ("flashattention", "FlashAttention", ("Flash Attention",)),
        ]
    ]
    assert spelling_key("Ｆｌａｓｈ－Attention") == "flashattention"
    assert [c.name for c in match_spelling("flash atention", concepts).concepts] == ["FlashAttention"]
    assert [c.name for c in match_spelling("GPRO", concepts).concepts] == ["GRPO"]  # transposition
    apo = match_spelling("APO", concepts)  # one edit from both PPO and DPO: no guess, suggestions instead
    assert apo.concepts == () and set(apo.suggestions) >= {"PPO", "DPO"}


@pytest.mark.parametrize("seed", range(6))
def test_cypher_closure_equals_a_breadth_first_walk(neo4j_driver: Driver, clean_db: None, seed: int) -> None:
    """Random graphs with mixed relation types, parallel assertions, cycles and confidences."""
    import random
    from collections import deque

    from kg.model import RelationType

    rng = random.Random(seed)
    n = rng.randint(5, 40)
    g = Graph()
    for i in range(n):
        g.concepts[f"k{i}"] = Concept(key=f"k{i}", name=f"K{i}", aliases={f"K{i}"})
        g.notes[f"k{i}.md"] = note(f"k{i}.md", [f"k{i}"])
    types = [RelationType.PREREQUISITE_OF, RelationType.VARIANT_OF, RelationType.IMPLEMENTS, RelationType.RELATED_TO]
    for line in range(rng.randint(n, 4 * n)):
        a, b = rng.sample(range(n), 2)
        t = rng.choice(types)
        g.relations.append(rel(t, f"k{a}", f"k{b}", f"k{rng.randrange(n)}.md", rng.choice([0.2, 0.5, 1.0]), line=line))
    VaultSync(neo4j_driver).sync("r", "/r", g)

    for min_conf in (0.0, 0.5):
        needs: dict[str, set[str]] = {}
        for r in g.relations:
            if r.confidence < min_conf or r.type is RelationType.RELATED_TO:
                continue
            dep, req = (r.target, r.source) if r.type is RelationType.PREREQUISITE_OF else (r.source, r.target)
            needs.setdefault(dep, set()).add(req)
        start = f"k{rng.randrange(n)}"
        depth = {start: 0}
        queue = deque([start])
        while queue:
            x = queue.popleft()
            for y in needs.get(x, set()):
                if y not in depth:
                    depth[y] = depth[x] + 1
                    queue.append(y)
        closure = GraphReader(neo4j_driver).closure([f"r\u241f{start}"], min_conf)
        assert {uid.split("\u241f")[1]: d for uid, d in closure.depth.items()} == depth
        expected_edges = sum(
            1
            for r in g.relations
            if r.confidence >= min_conf
            and r.type is not RelationType.RELATED_TO
            and ((r.target if r.type is RelationType.PREREQUISITE_OF else r.source) in depth)
        )
        assert len(closure.requires) == expected_edges


def paged_graph(vault: str) -> Graph:
    """Concepts whose names repeat across vaults (ties broken by uid), in notes of nested tags."""
    g = Graph()
    for i in range(14):
        key = f"{vault}{i:02d}"
        name = f"Name {i % 5}"  # five names over fourteen concepts, within and across vaults
        g.concepts[key] = Concept(key=key, name=name, aliases={name}, kind="method" if i % 3 else None)
        tags = [["ml"], ["ml/rl"], ["other"], []][i % 4]
        g.notes[f"{key}.md"] = note(f"{key}.md", [key], tags=tags)
    return g


@pytest.mark.parametrize("tag", [None, "ml", "ml/rl", "none-such"])
@pytest.mark.parametrize("vault", [None, "a"])
@pytest.mark.parametrize("kind", [None, "method"])
def test_concept_pages_follow_name_then_uid_through_every_filter(
    neo4j_driver: Driver, clean_db: None, tag: str | None, vault: str | None, kind: str | None
) -> None:
    graphs = {v: paged_graph(v) for v in ("a", "b")}
    for v, g in graphs.items():
        VaultSync(neo4j_driver).sync(v, f"/{v}", g)
    expected = sorted(
        (c.name, f"{v}\u241f{c.key}")
        for v, g in graphs.items()
        for c in g.concepts.values()
        if (vault is None or v == vault)
        and (kind is None or c.kind == kind)
        and (tag is None or any(t == tag or t.startswith(tag + "/") for t in g.notes[f"{c.key}.md"].tags))
    )
    reader = GraphReader(neo4j_driver)
    seen: list[tuple[str, str]] = []
    after: tuple[str, str] | None = None
    while True:
        page = reader.list_concepts(first=3, after=after, tag=tag, kind=kind, vault=vault)
        assert page.total == len(expected)
        seen += [(c.name, c.uid) for c in page.items]
        if not page.has_next:
            break
        after = seen[-1]
    assert seen == expected


@pytest.mark.parametrize("statement", ["LIST_CONCEPTS", "LIST_ALL_CONCEPTS", "LIST_CONCEPTS_TAGGED"])
def test_a_concept_page_is_read_in_index_order_not_sorted_whole(
    neo4j_driver: Driver, clean_db: None, statement: str
) -> None:
    VaultSync(neo4j_driver).sync("a", "/a", paged_graph("a"))
    params = {"vault": None, "kind": None, "tag": "ml", "after_name": "", "after_uid": "", "take": 4}
    used = plan_operators(neo4j_driver, getattr(q, statement), **params)
    if statement == "LIST_CONCEPTS_TAGGED":  # from the tag's index entry to its notes, never every concept
        assert "NodeIndexSeek" in used and "NodeByLabelScan" not in used, used
    else:  # a range seek on concept_name, cut by PartialTop (a Top or Sort would read every concept)
        assert "NodeIndexSeekByRange" in used and "PartialTop" in used and "Top" not in used, used


def test_stats_count_relations_by_type_as_the_edges_stand(neo4j_driver: Driver, clean_db: None) -> None:
    def counted(vault: str | None) -> dict[str, int]:  # the edges themselves
        with neo4j_driver.session() as session:
            rows = session.run(q.STATS_RELATIONS, vault=vault).single()
        assert rows is not None
        return {r["type"]: r["count"] for r in rows["relations"]}

    VaultSync(neo4j_driver).sync("rl", "/rl", rl_graph())
    other = rl_graph()
    other.relations = [r for r in other.relations if r.type is not P]
    VaultSync(neo4j_driver).sync("other", "/other", other)
    reader = GraphReader(neo4j_driver)
    for vault in (None, "rl", "other"):
        assert reader.stats(vault).relations == counted(vault) != {}
    assert reader.stats("other").relations != reader.stats("rl").relations

    def nodes(vault: str | None) -> list[int]:  # each label's nodes, counted one by one
        counts = []
        with neo4j_driver.session() as session:
            for label in ("Note", "Concept", "Tag", "Resource"):
                count = f"MATCH (x:{label}) WHERE $v IS NULL OR x.vault = $v RETURN count(x) AS n"
                counts.append(session.run(count, v=vault).single(strict=True)["n"])
        return counts

    with neo4j_driver.session() as session:  # a vault that shares no node with the others
        session.run("CREATE (:Vault {name: 'empty', uid: 'empty'})").consume()
    for vault in (None, "rl", "other", "empty"):
        stats = reader.stats(vault)
        assert [stats.notes, stats.concepts, stats.tags, stats.resources] == nodes(vault)
    assert reader.stats(None).vaults == 3 and reader.stats("rl").vaults == 1 and reader.stats("empty").notes == 0
    assert reader.stats(None).notes == 2 * reader.stats("rl").notes > 0

    fewer = rl_graph()  # a re-sync that drops one note's assertions
    dropped = fewer.relations[0].note
    fewer.relations = [r for r in fewer.relations if r.note != dropped]
    VaultSync(neo4j_driver).sync("rl", "/rl", fewer)
    assert reader.stats("rl").relations == counted("rl") and reader.stats(None).relations == counted(None)

    # a vault written by a kg that kept no counts, and one whose last sync did not finish: counted
    with neo4j_driver.session() as session:
        session.run("MATCH (v:Vault {name: 'rl'}) REMOVE v.relation_types, v.relation_type_counts").consume()
        session.run("MATCH (v:Vault {name: 'other'}) SET v.relation_type_counts = [0, 0, 0, 0, 0, 0]").consume()
        session.run("MATCH (v:Vault {name: 'other'}) SET v.sync_incomplete = true").consume()
    for vault in (None, "rl", "other"):
        assert reader.stats(vault).relations == counted(vault)


def test_a_note_by_path_is_an_index_seek_with_or_without_its_vault(neo4j_driver: Driver, clean_db: None) -> None:
    with neo4j_driver.session() as session:  # the sync's schema step must make it
        session.run("DROP INDEX note_path IF EXISTS").consume()
    VaultSync(neo4j_driver).sync("a", "/a", paged_graph("a"))
    used = plan_operators(neo4j_driver, q.NOTE_BY_PATH, path="a00.md", vault=None)
    assert "NodeIndexSeek" in used and "NodeByLabelScan" not in used, used
    assert [n.path for n in GraphReader(neo4j_driver).note_by_path("a00.md")] == ["a00.md"]
