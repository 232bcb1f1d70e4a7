"""`kg path` prints the API's answer; `kg schema export-graphql`; `kg serve` answers over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from neo4j import Driver
from rl_graphs import RL_PATH_TO_GRPO
from typer.testing import CliRunner

from kg.api.queries import LEARNING_PATH
from kg.cli import app
from kg.local_neo4j import find_free_port

runner = CliRunner()


@pytest.fixture
def neo4j_env(neo4j_connection: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = neo4j_connection.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.mark.integration
@pytest.mark.anyio
async def test_path_json_is_the_api_answer(
    rl_vault: Driver, neo4j_env: dict[str, str], client: httpx.AsyncClient
) -> None:
    args = ["path", "GRPO", "--known", "trpo", "--max-steps", "5", "--json"]
    result = await anyio.to_thread.run_sync(runner.invoke, app, args)  # the CLI runs its own event loop
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    variables = {"to": ["GRPO"], "known": ["trpo"], "minConfidence": 0.0, "maxSteps": 5, "vault": None}
    response = await client.post("/graphql", json={"query": LEARNING_PATH, "variables": variables})
    assert printed == response.json()["data"]["learningPath"]
    # TRPO known; of the six steps left, MDP (the farthest) is cut by --max-steps 5
    assert [s["concept"]["name"] for s in printed["steps"]] == [
        "Reward Model",
        "Policy Gradient",
        "PPO",
        "RLHF",
        "GRPO",
    ]
    assert printed["known"] == [{"name": "TRPO"}] and printed["omittedSteps"] == 1


@pytest.mark.integration
def test_path_tree_shows_order_reasons_and_notes(rl_vault: Driver, neo4j_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["path", "grpo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Learning path to GRPO: 7 steps in 6 stages")
    positions = [out.index(f". {name}  (") for name in RL_PATH_TO_GRPO]
    assert positions == sorted(positions)
    assert "← PPO is a prerequisite of GRPO [explicit.front_matter 1.00, align/GRPO.md:3, +1 more]" in out
    assert "read: rl/PPO 概述.md (3 min)" in out
    assert "stage 6" in out


@pytest.mark.integration
def test_path_unknown_concept_is_one_line(rl_vault: Driver, neo4j_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["path", "Relative Policy"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kg: unknown concept 'Relative Policy'; did you mean")


def test_path_neo4j_unreachable_is_one_line_naming_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"bolt://127.0.0.1:{find_free_port()}"
    monkeypatch.setenv("NEO4J_URI", uri)
    result = runner.invoke(app, ["path", "GRPO"])
    assert result.exit_code == 69
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and uri in lines[0]


def test_export_graphql_check_and_write(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    assert runner.invoke(app, ["schema", "export-graphql", "--check", "-o", str(target)]).exit_code == 1
    assert runner.invoke(app, ["schema", "export-graphql", "-o", str(target)]).exit_code == 0
    assert runner.invoke(app, ["schema", "export-graphql", "--check", "-o", str(target)]).exit_code == 0
    assert "learningPath(" in target.read_text(encoding="utf-8")


@pytest.mark.integration
@pytest.mark.parametrize("workers", [1, 2])
def test_kg_serve_answers_graphql_over_http(rl_vault: Driver, neo4j_env: dict[str, str], workers: int) -> None:
    port = find_free_port()
    env = {**os.environ, **neo4j_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(port), "--no-graphiql", "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "kg serve did not become ready"
            time.sleep(0.3)
        response = httpx.post(f"{base}/graphql", json={"query": '{ learningPath(to: "GRPO") { totals { steps } } }'})
        assert response.json()["data"]["learningPath"]["totals"]["steps"] == 7
        assert httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}).status_code != 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
