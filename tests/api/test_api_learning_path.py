"""learningPath over HTTP against a real Neo4j holding the hand-written RL graph."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import gql
from rl_graphs import RL_PATH_TO_GRPO

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PATH_QUERY = """
query Path($to: [String!]!, $known: [String!] = [], $min: Float! = 0, $max: Int) {
  learningPath(to: $to, known: $known, minConfidence: $min, maxSteps: $max) {
    targets { name }
    steps {
      position depth stage isTarget inCycle
      concept { name key aliases }
      requires { name }
      reasons { relation from { name } to { name } requiredBy { name } confidence rule evidence note line text implied
                assertions { rule confidence text note line } }
      notes { path title minutes kind }
      minutes
    }
    totals { steps minutes notes longestChain }
    cycles { concepts { name } }
    known { name }
    implicitlyKnown { name }
    omittedSteps
    warnings
  }
}
"""


async def path(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await gql(client, PATH_QUERY, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["learningPath"]
    return result


def names(result: dict[str, Any]) -> list[str]:
    return [s["concept"]["name"] for s in result["steps"]]


async def test_learning_path_to_grpo_as_users_write_it(client: httpx.AsyncClient) -> None:
    body = await gql(client, '{ learningPath(to: "GRPO") { steps { concept { name } depth stage } } }')
    assert "errors" not in body
    steps = body["data"]["learningPath"]["steps"]
    assert [s["concept"]["name"] for s in steps] == RL_PATH_TO_GRPO
    assert [(s["depth"], s["stage"]) for s in steps] == [(2, 1), (3, 1), (2, 2), (2, 3), (1, 4), (1, 5), (0, 6)]


async def test_steps_carry_reasons_evidence_notes_and_totals(client: httpx.AsyncClient) -> None:
    result = await path(client, to=["GRPO"])
    by_name = {s["concept"]["name"]: s for s in result["steps"]}
    ppo = by_name["PPO"]
    # GRPO needs PPO by two relations: PREREQUISITE_OF (asserted twice, merged) and VARIANT_OF; RLHF needs it too
    reasons = {(r["relation"], r["from"]["name"], r["to"]["name"]): r for r in ppo["reasons"]}
    assert set(reasons) == {
        ("PREREQUISITE_OF", "PPO", "GRPO"),
        ("VARIANT_OF", "GRPO", "PPO"),
        ("PREREQUISITE_OF", "PPO", "RLHF"),
    }
    merged = reasons[("PREREQUISITE_OF", "PPO", "GRPO")]
    assert merged["requiredBy"]["name"] == "GRPO"
    assert [(a["note"], a["rule"], a["confidence"], a["line"]) for a in merged["assertions"]] == [
        ("align/GRPO.md", "explicit.front_matter", 1.0, 3),
        ("rl/PPO 概述.md", "cue.from_to", 0.7, 12),
    ]
    assert merged["confidence"] == 1.0 and merged["note"] == "align/GRPO.md" and merged["line"] == 3
    assert merged["evidence"] == "ppo PREREQUISITE_OF grpo @align/GRPO.md:3"
    assert merged["text"] == "PPO is a prerequisite of GRPO"
    assert reasons[("VARIANT_OF", "GRPO", "PPO")]["text"] == "GRPO is a variant of PPO"
    # GRPO's need of PPO is also implied through RLHF; RLHF's is direct, and listed first
    assert [r["implied"] for r in ppo["reasons"]] == [False, True, True]
    assert ppo["reasons"][0]["requiredBy"]["name"] == "RLHF"
    # overview before the hands-on note; minutes from CJK characters and words
    assert [n["path"] for n in ppo["notes"]] == ["rl/PPO 概述.md", "rl/PPO-从零手写.md"]
    assert [n["minutes"] for n in ppo["notes"]] == [3, 10]  # 600/300 + 200/200; 2000/200
    assert ppo["minutes"] == 13
    assert [r["name"] for r in ppo["requires"]] == ["Policy Gradient", "TRPO"]
    grpo = by_name["GRPO"]
    assert grpo["isTarget"] and grpo["reasons"] == [] and grpo["depth"] == 0
    assert result["targets"] == [{"name": "GRPO"}]
    assert result["totals"] == {"steps": 7, "minutes": 1 + 3 + 5 + 2 + 13 + 5 + 10, "notes": 8, "longestChain": 6}
    assert result["cycles"] == [] and result["known"] == [] and result["omittedSteps"] == 0


async def test_every_step_comes_after_what_it_requires(client: httpx.AsyncClient) -> None:
    for target in ("GRPO", "DAPO", "TRL", "RLHF"):
        result = await path(client, to=[target])
        position = {s["concept"]["name"]: s["position"] for s in result["steps"]}
        for step in result["steps"]:
            for required in step["requires"]:
                assert position[required["name"]] < step["position"]
            for reason in step["reasons"]:
                assert position[reason["requiredBy"]["name"]] > step["position"]
        assert result["steps"][-1]["concept"]["name"] == target


async def test_variants_and_implementations_come_after_their_base(client: httpx.AsyncClient) -> None:
    dapo = await path(client, to=["DAPO"])
    assert names(dapo) == [*RL_PATH_TO_GRPO, "DAPO"]
    assert dapo["steps"][-2]["reasons"][0]["text"] == "DAPO is a variant of GRPO"
    trl = await path(client, to=["TRL"])
    assert names(trl)[-2:] == ["GRPO", "TRL"]
    assert trl["steps"][-2]["reasons"][0]["relation"] == "IMPLEMENTS"
    grpo = await path(client, to=["GRPO"])
    assert not {"DAPO", "TRL"} & set(names(grpo))


async def test_names_aliases_keys_case_and_typos_resolve(client: httpx.AsyncClient) -> None:
    for spelling in (
        "grpo",
        "Group Relative Policy Optimization",
        "群体相对策略优化",
        "GRPO.md",
        "align/GRPO.md",
        "GPRO",
    ):
        result = await path(client, to=[spelling])
        assert names(result) == RL_PATH_TO_GRPO, spelling
    typo = await path(client, to=["GPRO"])
    assert any("read as" in w for w in typo["warnings"])


async def test_unknown_target_is_an_error_with_suggestions(client: httpx.AsyncClient) -> None:
    body = await gql(client, '{ learningPath(to: "GRPX Optimisation") { steps { position } } }')
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNKNOWN_CONCEPT"
    assert "GRPX Optimisation" in error["message"]
    body = await gql(client, '{ learningPath(to: "Relative Policy") { steps { position } } }')
    (error,) = body["errors"]
    assert "GRPO" in error["extensions"]["suggestions"]
    assert "did you mean" in error["message"]
    assert "Traceback" not in str(body) and "neo4j" not in str(body).lower()


async def test_known_concepts_prune_the_walk(client: httpx.AsyncClient) -> None:
    result = await path(client, to=["GRPO"], known=["ppo"])
    assert names(result) == ["Reward Model", "RLHF", "GRPO"]
    assert result["known"] == [{"name": "PPO"}]
    assert {c["name"] for c in result["implicitlyKnown"]} == {"MDP", "Policy Gradient", "TRPO"}
    result = await path(client, to=["GRPO"], known=["Policy Gradient", "no such thing"])
    assert names(result) == ["Reward Model", "TRPO", "PPO", "RLHF", "GRPO"]
    assert {c["name"] for c in result["implicitlyKnown"]} == {"MDP"}
    assert any("no such thing" in w for w in result["warnings"])


async def test_confidence_floor_and_cycles(client: httpx.AsyncClient) -> None:
    # KV Cache needs Transformer (1.0); Transformer needs KV Cache only by weak roadmap order (0.3)
    loose = await path(client, to=["KV Cache"])
    assert set(names(loose)) == {"Transformer", "KV Cache"}
    assert [sorted(c["name"] for c in cyc["concepts"]) for cyc in loose["cycles"]] == [["KV Cache", "Transformer"]]
    assert all(s["inCycle"] for s in loose["steps"])
    strict = await path(client, to=["KV Cache"], min=0.5)
    assert names(strict) == ["Transformer", "KV Cache"] and strict["cycles"] == []
    # RLHF's 0.8 edge to GRPO drops under a 0.9 floor: RLHF and the reward model leave the path
    floor = await path(client, to=["GRPO"], min=0.9)
    assert names(floor) == ["MDP", "Policy Gradient", "TRPO", "PPO", "GRPO"]


async def test_several_targets_and_step_cap(client: httpx.AsyncClient) -> None:
    both = await path(client, to=["TRL", "DAPO"])
    assert names(both) == [*RL_PATH_TO_GRPO, "DAPO", "TRL"]
    assert [t["name"] for t in both["targets"]] == ["TRL", "DAPO"]
    capped = await path(client, to=["GRPO"], max=3)
    assert names(capped) == ["PPO", "RLHF", "GRPO"]
    assert capped["omittedSteps"] == 4 and capped["totals"]["longestChain"] == 6


async def test_bad_arguments_are_clean_errors(client: httpx.AsyncClient) -> None:
    for query in (
        "{ learningPath(to: []) { totals { steps } } }",
        '{ learningPath(to: "GRPO", minConfidence: 2) { totals { steps } } }',
        '{ learningPath(to: "GRPO", maxSteps: 0) { totals { steps } } }',
    ):
        body = await gql(client, query)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_ARGUMENT", body


@pytest.mark.parametrize("version_ttl_s", [0.0])  # the graph version is read by every request
async def test_path_costs_two_cypher_queries(client: httpx.AsyncClient) -> None:
    query = "query P($to: [String!]!) { learningPath(to: $to) { steps { concept { name } reasons { text } } } }"
    first = await gql(client, query, to=["PPO"])
    # the graph version, the spelling index (two statements, once per graph version), the closure
    assert first["extensions"]["cypherQueries"] == 4
    body = await gql(client, query, to=["GRPO"])
    assert body["extensions"]["cypherQueries"] == 2  # version + closure, whatever the path's size


@pytest.mark.parametrize("version_ttl_s", [3600.0])  # the version read by the first request stays trusted
async def test_path_costs_one_cypher_query_while_the_version_is_fresh(client: httpx.AsyncClient) -> None:
    query = "query P($to: [String!]!) { learningPath(to: $to) { steps { concept { name } } } }"
    first = await gql(client, query, to=["PPO"])
    assert first["extensions"]["cypherQueries"] == 4
    body = await gql(client, query, to=["GRPO"])
    assert body["extensions"]["cypherQueries"] == 1  # the closure only


async def test_unknown_target_in_an_empty_graph_says_to_ingest(
    warm_neo4j: Any, clean_db: None, api_settings: Any
) -> None:
    from kg.api.app import create_app

    app = create_app(api_settings, driver=warm_neo4j)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kg.test") as empty:
        (error,) = (await gql(empty, '{ learningPath(to: "GRPO") { steps { position } } }'))["errors"]
        assert error["extensions"]["code"] == "UNKNOWN_CONCEPT" and "kg ingest VAULT" in error["message"]
        (error,) = (await gql(empty, '{ learningPath(to: "GRPO", vault: "notes") { steps { position } } }'))["errors"]
        assert "vault 'notes' has no concepts" in error["message"] and "--name notes" in error["message"]


async def test_unknown_target_in_a_filled_graph_does_not_say_to_ingest(client: httpx.AsyncClient) -> None:
    (error,) = (await gql(client, '{ learningPath(to: "Zzyzx Qwerty") { steps { position } } }'))["errors"]
    assert error["extensions"]["code"] == "UNKNOWN_CONCEPT" and "ingest" not in error["message"]
