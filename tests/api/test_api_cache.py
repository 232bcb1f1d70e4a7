"""The API keeps spellings and learning-path answers per graph version: a re-ingest must show at once."""

from __future__ import annotations

import httpx
import pytest
from conftest import gql
from neo4j import Driver
from rl_graphs import note, rel, rl_graph

from kg.model import Concept, RelationType
from kg.store.sync import VaultSync

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PATH = "query P($to: [String!]!) { learningPath(to: $to) { steps { concept { name } } } }"


async def steps(client: httpx.AsyncClient, target: str) -> list[str]:
    body = await gql(client, PATH, to=[target])
    assert "errors" not in body, body["errors"]
    return [s["concept"]["name"] for s in body["data"]["learningPath"]["steps"]]


async def test_answers_follow_a_reingest(client: httpx.AsyncClient, rl_vault: Driver) -> None:
    before = await steps(client, "GRPO")
    again = await gql(client, PATH, to=["GRPO"])
    assert again["extensions"]["cypherQueries"] == 1  # the kept answer: only the graph version was read
    assert "Advantage" not in before
    unknown = await gql(client, PATH, to=["Advantage Estimation"])
    assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_CONCEPT"

    # Re-ingest: a new concept (reachable by name and alias) becomes a prerequisite of PPO.
    g = rl_graph()
    g.concepts["gae"] = Concept(key="gae", name="Advantage Estimation", aliases={"Advantage Estimation", "GAE"})
    g.notes["rl/GAE.md"] = note("rl/GAE.md", ["gae"], words=300)
    g.relations.append(rel(RelationType.PREREQUISITE_OF, "gae", "ppo", "rl/GAE.md"))
    VaultSync(rl_vault).sync("rl", "/vaults/rl", g)

    after = await steps(client, "GRPO")
    assert "Advantage Estimation" in after and after.index("Advantage Estimation") < after.index("PPO")
    assert set(after) - {"Advantage Estimation"} == set(before)
    assert await steps(client, "gae") == ["Advantage Estimation"]

    # And back: removing it again is seen too.
    VaultSync(rl_vault).sync("rl", "/vaults/rl", rl_graph())
    assert await steps(client, "GRPO") == before
    gone = await gql(client, PATH, to=["GAE"])
    assert gone["errors"][0]["extensions"]["code"] == "UNKNOWN_CONCEPT"


async def test_in_memory_resolution_answers_as_the_cypher_one(client: httpx.AsyncClient, rl_vault: Driver) -> None:
    """The server resolves from its in-memory spelling index; `kg path` (no snapshot) from Cypher."""
    from kg.store.read import GraphReader, GraphSnapshot

    probes = ["ppo", "PPO", "策略梯度", "rl/PPO 概述.md", "[[GRPO]]", "align/GRPO.md", "PPO-从零手写",
              "Trust-Region  policy optimization", "grpo", "Group Relative Policy Optimization", "GPRO",
              "zzzz", "kv cache", "KVCache", "APO"]  # fmt: skip
    plain = GraphReader(rl_vault).resolve(probes)
    cached = GraphReader(rl_vault, snapshot=GraphSnapshot()).resolve(probes)
    assert plain == cached
    for vault in ("rl", "elsewhere"):
        assert GraphReader(rl_vault).resolve(probes, vault) == GraphReader(rl_vault, snapshot=GraphSnapshot()).resolve(
            probes, vault
        )


def test_kept_values_are_bounded_by_entries_and_cost_and_dropped_with_the_version() -> None:
    from kg.store.read import GraphSnapshot

    kept = GraphSnapshot({"p": (3, 100)})
    for i in range(4):
        kept.put("p", "v1", i, f"value {i}")
    assert [kept.get("p", "v1", i) for i in range(4)] == [None, "value 1", "value 2", "value 3"]
    kept.get("p", "v1", 1)  # used: now the most recent
    kept.put("p", "v1", "big", "B", cost=99)  # over the cost: the least recently used go first
    assert kept.get("p", "v1", 2) is None and kept.get("p", "v1", 3) is None
    assert kept.get("p", "v1", 1) == "value 1" and kept.get("p", "v1", "big") == "B"
    kept.put("p", "v1", "huge", "H", cost=101)  # never kept: more than the whole pool
    assert kept.get("p", "v1", "huge") is None and kept.get("p", "v1", "big") == "B"
    assert kept.get("p", "v2", "big") is None  # another version does not see it
    kept.put("p", "v2", "x", "X")
    assert kept.get("p", "v1", "big") is None and kept.get("p", "v2", "x") == "X"
