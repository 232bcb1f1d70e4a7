"""The five real seed notes (../shared/seeds) through the real ingest, then learningPath over HTTP.

Seed 004 (Hugo page, mojibake) says "从RLHF、PPO到GRPO", that EasyR1 is "基于 veRL" and that the
frameworks "支持 GRPO": so RLHF and PPO come before GRPO, and GRPO and veRL before EasyR1.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import gql
from neo4j import Driver

from kg.api import create_app
from kg.pipeline import ingest_vault
from kg.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
HUGO_SEED = "004_1612dd530d1dfe20.md"


@pytest.fixture
async def seeds_client(warm_neo4j: Driver, clean_db: None, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    if not SEEDS.is_dir():
        pytest.skip(f"no seeds at {SEEDS}")
    vault = tmp_path / "seeds"
    vault.mkdir()
    for seed in sorted(SEEDS.glob("*.txt")):
        shutil.copyfile(seed, vault / f"{seed.stem}.md")
    ingest_vault(warm_neo4j, vault, vault_name="seeds")
    app = create_app(Settings(), driver=warm_neo4j)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kg.test") as c:
        yield c


async def steps(client: httpx.AsyncClient, target: str) -> list[dict[str, Any]]:
    body = await gql(
        client,
        "query($to: [String!]!) { learningPath(to: $to) { steps { concept { key name } "
        "reasons { requiredBy { key } note line evidence } } } }",
        to=[target],
    )
    assert "errors" not in body, body
    result: list[dict[str, Any]] = body["data"]["learningPath"]["steps"]
    return result


def position(path: list[dict[str, Any]], key: str) -> int:
    keys = [s["concept"]["key"] for s in path]
    assert key in keys, f"{key} not in {keys}"
    return keys.index(key)


async def test_seed_paths(seeds_client: httpx.AsyncClient) -> None:
    grpo = await steps(seeds_client, "GRPO")
    assert grpo[-1]["concept"]["key"] == "grpo"
    for before in ("rlhf", "ppo"):
        step = grpo[position(grpo, before)]
        evidence = [r for r in step["reasons"] if r["requiredBy"]["key"] == "grpo"]
        assert any(r["note"] == HUGO_SEED and "GRPO" in r["evidence"] for r in evidence), step

    easy = await steps(seeds_client, "easyr1")
    assert easy[-1]["concept"]["key"] == "easyr1"
    assert position(easy, "grpo") < position(easy, "verl") < position(easy, "easyr1")
    assert position(easy, "ppo") < position(easy, "grpo")
