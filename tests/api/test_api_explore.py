"""Exploration queries over HTTP (concept, search, concepts, note, connection, stats) and no N+1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import gql

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def data(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await gql(client, query, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def test_concept_fields_and_relations_with_provenance(client: httpx.AsyncClient) -> None:
    got = await data(
        client,
        """{ concept(name: "proximal policy optimization") {
              name key aliases tags notes { path kind } mentionedIn { note { path } count }
              prerequisites { relation direction concept { name } confidence evidence { rule note line text } }
              dependents { concept { name } confidence evidence { note rule confidence } }
              variants { concept { name } } variantOf { concept { name } }
              implements { concept { name } } implementedBy { concept { name } } } }""",
    )
    ppo = got["concept"]
    assert ppo["name"] == "PPO" and ppo["key"] == "ppo"
    assert set(ppo["aliases"]) == {"Proximal Policy Optimization", "近端策略优化"}
    assert ppo["tags"] == ["rl", "rl/ppo"]
    assert [n["path"] for n in ppo["notes"]] == ["rl/PPO 概述.md", "rl/PPO-从零手写.md"]
    assert [(p["concept"]["name"], p["relation"], p["direction"]) for p in ppo["prerequisites"]] == [
        ("Policy Gradient", "PREREQUISITE_OF", "INCOMING"),
        ("TRPO", "PREREQUISITE_OF", "INCOMING"),
    ]
    assert ppo["prerequisites"][0]["evidence"] == [
        {
            "rule": "explicit.front_matter",
            "note": "rl/PPO 概述.md",
            "line": 3,
            "text": "pg PREREQUISITE_OF ppo @rl/PPO 概述.md:3",
        }
    ]
    grpo = next(d for d in ppo["dependents"] if d["concept"]["name"] == "GRPO")
    # two assertions of one edge, merged, both kept, strongest first
    assert grpo["evidence"] == [
        {"note": "align/GRPO.md", "rule": "explicit.front_matter", "confidence": 1.0},
        {"note": "rl/PPO 概述.md", "rule": "cue.from_to", "confidence": 0.7},
    ]
    assert [v["concept"]["name"] for v in ppo["variants"]] == ["GRPO"]
    assert ppo["variantOf"] == [] and ppo["implements"] == [] and ppo["implementedBy"] == []
    got = await data(
        client, '{ concept(name: "GRPO") { implementedBy { concept { name } } related { concept { name } } } }'
    )
    assert got["concept"] == {
        "implementedBy": [{"concept": {"name": "TRL"}}],
        "related": [{"concept": {"name": "DAPO"}}],
    }
    assert (await data(client, '{ concept(name: "nothing like this at all") { name } }'))["concept"] is None


async def test_search_uses_the_fulltext_index(client: httpx.AsyncClient) -> None:
    got = await data(client, '{ search(text: "policy") { score concept { name } note { path } } }')
    concepts = [h["concept"]["name"] for h in got["search"] if h["concept"]]
    notes = [h["note"]["path"] for h in got["search"] if h["note"]]
    assert "Policy Gradient" in concepts and "PPO" in concepts  # PPO by its alias
    assert "rl/Policy Gradient.md" in notes
    scores = [h["score"] for h in got["search"]]
    assert scores == sorted(scores, reverse=True)
    # Lucene syntax in user text is escaped, not an error
    assert (await data(client, '{ search(text: "GRPO) OR (\\"x") { score } }'))["search"] is not None
    got = await data(client, '{ search(text: "奖励模型") { concept { name } } }')
    assert {"concept": {"name": "Reward Model"}} in got["search"]


async def test_concepts_cursor_pagination_and_filters(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        got = await data(
            client,
            "query($after: String) { concepts(first: 4, after: $after) { totalCount nodes { name }"
            " pageInfo { hasNextPage endCursor } } }",
            after=after,
        )
        page = got["concepts"]
        assert page["totalCount"] == 11
        seen += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 11 and seen == sorted(seen) and len(set(seen)) == 11
    got = await data(client, '{ concepts(tag: "rl") { totalCount nodes { name } } }')
    # `rl` includes the nested tag `rl/grpo` (GRPO's note)
    assert [n["name"] for n in got["concepts"]["nodes"]] == ["GRPO", "MDP", "PPO", "Policy Gradient", "TRPO"]
    body = await gql(client, '{ concepts(after: "not-a-cursor") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_ARGUMENT"


async def test_note_connection_stats_vaults(client: httpx.AsyncClient) -> None:
    got = await data(
        client,
        '{ note(path: "rl/PPO 概述.md") { title kind tags minutes cjkChars words'
        " about { name } linkedFrom { path } } }",
    )
    assert got["note"] == {
        "title": "PPO 概述", "kind": "overview", "tags": ["rl", "rl/ppo"], "minutes": 3, "cjkChars": 600, "words": 200,
        "about": [{"name": "PPO"}], "linkedFrom": [],
    }  # fmt: skip
    assert (await data(client, '{ note(path: "missing.md") { title } }'))["note"] is None
    got = await data(
        client,
        '{ connection(from: "MDP", to: "TRPO") { length concepts { name }'
        " links { relation from { name } to { name } evidence { note } } } }",
    )
    chain = got["connection"]
    assert chain["length"] == 2 and [c["name"] for c in chain["concepts"]] == ["MDP", "Policy Gradient", "TRPO"]
    assert chain["links"][1] == {
        "relation": "PREREQUISITE_OF", "from": {"name": "Policy Gradient"}, "to": {"name": "TRPO"},
        "evidence": {"note": "rl/TRPO.md"},
    }  # fmt: skip
    got = await data(
        client, "{ stats { vaults notes concepts tags relations { relation count } } vaults { name notes } }"
    )
    assert got["stats"]["notes"] == 12 and got["stats"]["concepts"] == 11 and got["stats"]["vaults"] == 1
    assert {r["relation"]: r["count"] for r in got["stats"]["relations"]} == {
        "IMPLEMENTS": 1, "NEXT": 1, "PREREQUISITE_OF": 11, "RELATED_TO": 1, "VARIANT_OF": 2
    }  # fmt: skip
    assert got["vaults"] == [{"name": "rl", "notes": 12}]


NESTED = """
query($first: Int!) {
  concepts(first: $first) {
    nodes {
      name tags notes { path about { name } linksTo { path } }
      prerequisites { concept { name notes { path } prerequisites { concept { name } } } evidence { note } }
      dependents { concept { name } } variants { concept { name } } implementedBy { concept { name } }
      related { concept { name } } partOf { concept { name } } next { concept { name } }
      mentionedIn { note { path } }
    }
  }
}
"""


async def test_relationship_fields_are_batched_no_n_plus_one(client: httpx.AsyncClient) -> None:
    small = await gql(client, NESTED, first=2)
    large = await gql(client, NESTED, first=11)
    assert "errors" not in small and "errors" not in large
    assert len(large["data"]["concepts"]["nodes"]) == 11
    # One query for the graph version (what kept answers are keyed by) and one for the page, then at most
    # one per loader and nesting level: 4 loaders at the first level
    # (tags, notes, relations, mentions) and 4 at the second (note concepts, note links, the related
    # concepts' notes and relations), whatever the number of concepts. (Fewer when the DataLoader cache
    # already holds a nested key.) N+1 would cost at least one query per concept per field: > 50 here.
    for body in (small, large):
        assert 1 <= body["extensions"]["cypherQueries"] <= 1 + 1 + 4 + 4
