"""The README's main job, end to end: sample vault → real Neo4j → HTTP API → a learning path printed."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from kg.cli import app
from kg.local_neo4j import find_free_port

pytestmark = pytest.mark.integration


def test_demo_ingests_the_sample_vault_and_prints_a_learning_path_over_http(
    neo4j_connection: Any, clean_db: None
) -> None:
    port = find_free_port()
    env = neo4j_connection.env()
    result = CliRunner().invoke(app, ["demo", "--once", "--port", str(port)], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"http://127.0.0.1:{port}/graphql" in out  # the GraphiQL URL
    assert "Learning path to GRPO" in out
    # steps come with reasons and notes to read
    assert "read: 05-RL/PPO" in out or "read: 05-RL/PPO 概述.md" in out
    assert "prerequisite of" in out
    # PPO comes before RLHF... and both before the end of the path; the target is last
    ppo, rlhf, grpo = out.index(". PPO"), out.index(". RLHF"), out.index(". GRPO")
    assert ppo < grpo and rlhf < grpo
    # a second run is a no-op for the graph (idempotent ingest of an unchanged vault)
    again = CliRunner().invoke(app, ["demo", "--once", "--port", str(find_free_port())], env=env)
    assert again.exit_code == 0, again.output
    assert "added=0 changed=0 deleted=0 unchanged=47" in again.output
