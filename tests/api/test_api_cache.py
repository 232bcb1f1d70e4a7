"""The API keeps spellings and learning-path answers per graph version: a re-ingest must show at once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import gql
from neo4j import Driver
from rl_graphs import note, rel, rl_graph

from kg.api import create_app
from kg.api.queries import LEARNING_PATH, LEARNING_PATH_OUTLINE
from kg.model import Concept, RelationType
from kg.settings import Settings
from kg.store.read import GraphReader
from kg.store.sync import VaultSync

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PATH = "query P($to: [String!]!) { learningPath(to: $to) { steps { concept { name } } } }"


async def steps(client: httpx.AsyncClient, target: str) -> list[str]:
    body = await gql(client, PATH, to=[target])
    assert "errors" not in body, body["errors"]
    return [s["concept"]["name"] for s in body["data"]["learningPath"]["steps"]]


@pytest.mark.parametrize("version_ttl_s", [0.0])  # every request reads the graph version: a sync shows at once
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


@pytest.mark.parametrize("version_ttl_s", [2.0])
async def test_a_reingest_shows_within_the_version_ttl(client: httpx.AsyncClient, rl_vault: Driver) -> None:
    started = time.monotonic()  # no later than the app's reading of the graph version
    before = await steps(client, "GRPO")
    g = rl_graph()
    g.concepts["gae"] = Concept(key="gae", name="Advantage Estimation", aliases={"GAE"})
    g.notes["rl/GAE.md"] = note("rl/GAE.md", ["gae"], words=300)
    g.relations.append(rel(RelationType.PREREQUISITE_OF, "gae", "ppo", "rl/GAE.md"))
    VaultSync(rl_vault).sync("rl", "/vaults/rl", g)
    soon = await gql(client, PATH, to=["GRPO"])
    if time.monotonic() - started < 2.0:  # still within the TTL: the kept answer, no statement at all
        assert [s["concept"]["name"] for s in soon["data"]["learningPath"]["steps"]] == before
        assert soon["extensions"]["cypherQueries"] == 0
    await asyncio.sleep(max(0.0, started + 2.0 - time.monotonic()) + 0.05)
    after = await steps(client, "GRPO")  # the version is read again: the new graph
    assert set(after) == {*before, "Advantage Estimation"}


def raw(query: str, variables: dict[str, Any], operation: str | None = None) -> dict[str, Any]:
    return {"query": query, "variables": variables, **({"operationName": operation} if operation else {})}


def without_extensions(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    data.pop("extensions")
    return data


@pytest.mark.parametrize("version_ttl_s", [3600.0])
async def test_kept_responses_are_the_computed_answers(client: httpx.AsyncClient) -> None:
    """A repeated question is answered from bytes without GraphQL: the same JSON as computing it,
    and only for the same document, operation and variables; errors are never kept."""
    for document in (LEARNING_PATH_OUTLINE, LEARNING_PATH):
        first = await client.post("/graphql", json=raw(document, {"to": ["GRPO"], "minConfidence": 0.5}))
        assert first.status_code == 200 and first.headers["content-type"] == "application/json"
        assert "errors" not in first.json()
        # the variables in another order: the same question, kept
        again = await client.post("/graphql", json=raw(document, {"minConfidence": 0.5, "to": ["GRPO"]}))
        assert again.json()["extensions"]["cypherQueries"] == 0 and again.headers["kg-answer"] == "kept"
        assert "kg-answer" not in first.headers
        assert without_extensions(again.content) == without_extensions(first.content)
        assert "GRPO" in again.text  # UTF-8 JSON, as the computed answer

    plain = await client.post("/graphql", json=raw(PATH, {"to": ["GRPO"]}))
    assert (await client.post("/graphql", json=raw(PATH, {"to": ["GRPO"]}))).headers.get("kg-answer") == "kept"
    other = await client.post("/graphql", json=raw(PATH, {"to": ["GRPO"], "x": 1}))  # other variables: computed
    named = await client.post("/graphql", json=raw(PATH, {"to": ["GRPO"]}, "P"))  # an operation name: computed
    for computed in (other, named):
        assert "kg-answer" not in computed.headers
        assert without_extensions(computed.content) == without_extensions(plain.content)
    for _ in range(2):  # an error is computed each time
        unknown = await client.post("/graphql", json=raw(PATH, {"to": ["no such concept"]}))
        assert unknown.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_CONCEPT"
        assert "kg-answer" not in unknown.headers
    bad = await client.post("/graphql", content=b'{"query": ', headers={"content-type": "application/json"})
    assert bad.status_code == 400  # what strawberry says about a broken body, unchanged


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


def test_a_request_of_an_older_version_does_not_switch_the_kept_values_back() -> None:
    """A request that read the version just before an ingest and finishes after a newer one was read
    neither keeps its answer nor drops the newer version's spelling index (which the next request
    would then wait to have built again)."""
    from kg.store.read import GraphSnapshot, SpellingIndex

    kept = GraphSnapshot(version_ttl_s=0.01)
    builds: list[str] = []

    def build(label: str) -> Callable[[], SpellingIndex]:
        def spelling_index() -> SpellingIndex:
            builds.append(label)
            return SpellingIndex([], [])

        return spelling_index

    old = kept.current_version(lambda: "v1")  # a slow request reads v1 ...
    time.sleep(0.02)
    new = kept.current_version(lambda: "v2")  # ... an ingest, and the next request reads v2
    index = kept.spellings(new, build("v2"))
    kept.put("answers", new, "q", b"new answer")
    kept.put("answers", old, "q-old", b"old answer")  # the slow request ends
    assert kept.spellings(old, build("v1 again")) is index and builds == ["v2"]
    assert kept.spellings_version == "v2" and kept.get("answers", new, "q") == b"new answer"
    assert kept.get("answers", old, "q-old") is None
    time.sleep(0.02)
    newer = kept.current_version(lambda: "v3")  # the next ingest: its first request builds v3's index
    assert kept.spellings(newer, build("v3")) is not index and builds == ["v2", "v3"]
    assert kept.get("answers", new, "q") is None


async def test_a_running_app_builds_a_new_versions_spellings_before_a_request_asks(
    rl_vault: Driver, api_settings: Settings
) -> None:
    """After an ingest, the first name lookup need not wait for the spelling index: the running app
    (its lifespan) notices the new version and builds it in the background."""
    app = create_app(api_settings, driver=rl_vault, version_ttl_s=0.0, spellings_refresh_s=0.05)
    snapshot = app.state.snapshot
    concept = "query C($name: String!) { concept(name: $name) { name } }"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kg.test") as client,
    ):

        async def spellings_built_for(version: str) -> bool:
            deadline = time.monotonic() + 30
            while snapshot.spellings_version != version and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return bool(snapshot.spellings_version == version)

        assert await spellings_built_for(GraphReader(rl_vault).version())  # the start's warm-up
        g = rl_graph()
        g.concepts["gae"] = Concept(key="gae", name="Advantage Estimation", aliases={"GAE"})
        g.notes["rl/GAE.md"] = note("rl/GAE.md", ["gae"], words=300)
        VaultSync(rl_vault).sync("rl", "/vaults/rl", g)
        assert await spellings_built_for(GraphReader(rl_vault).version())  # no request asked for them
        body = await gql(client, concept, name="GAE")
        assert body["data"]["concept"] == {"name": "Advantage Estimation"}
        assert body["extensions"]["cypherQueries"] == 1  # the version; the spellings were ready
