"""The real ingest of kg/sample_vault, then learningPath over HTTP, checked against
tests/vaults/SAMPLE_VAULT_EXPECTED.md (the vault's intended prerequisite structure)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import gql
from neo4j import Driver

from kg.api import create_app
from kg.pipeline import ingest_vault
from kg.resources import sample_vault_dir
from kg.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

EXPECTED = Path(__file__).resolve().parents[1] / "vaults" / "SAMPLE_VAULT_EXPECTED.md"


@dataclass
class Expectation:
    target: str
    spellings: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    not_before: list[str] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)


def parse_expected(text: str) -> tuple[dict[str, str], list[Expectation]]:
    notes: dict[str, str] = {}  # concept NAME -> note path
    expectations: list[Expectation] = []
    section = ""
    for line in text.splitlines():
        row = re.match(r"^\|\s*([^|]+?)\s*\|\s*([^|]+?\.md)\s*\|", line)
        if row and not expectations:
            notes[row.group(1)] = row.group(2)
            continue
        head = re.match(r'^## learningPath\(to: "(.+)"\)', line)
        if head:
            expectations.append(Expectation(head.group(1)))
            continue
        if line.startswith("### "):
            section = line
            continue
        item = re.match(r"^- (.+)$", line)
        if not (item and expectations):
            continue
        value = item.group(1).strip()
        current = expectations[-1]
        if section.startswith("### target spellings"):
            current.spellings.append(value)
        elif section.startswith("### must come before"):
            current.before.append(value)
        elif section.startswith("### must not come before"):
            current.not_before.append(value)
        elif section.startswith("### order"):
            a, b = value.split(" before ")
            current.order.append((a.strip(), b.strip()))
    return notes, expectations


NOTES, EXPECTATIONS = parse_expected(EXPECTED.read_text(encoding="utf-8"))


@pytest.fixture
async def sample_client(warm_neo4j: Driver, clean_db: None) -> AsyncIterator[httpx.AsyncClient]:
    ingest_vault(warm_neo4j, sample_vault_dir(), vault_name="sample")
    app = create_app(Settings(), driver=warm_neo4j)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kg.test") as c:
        yield c


async def concept_keys(client: httpx.AsyncClient) -> dict[str, set[str]]:
    """NAME -> keys of the concepts its note is about (aliased `note` fields, under the alias limit)."""
    names = sorted(NOTES)
    out: dict[str, set[str]] = {}
    for start in range(0, len(names), 20):
        chunk = names[start : start + 20]
        fields = " ".join(f'n{i}: note(path: "{NOTES[name]}") {{ about {{ key }} }}' for i, name in enumerate(chunk))
        body = await gql(client, "{ " + fields + " }")
        assert "errors" not in body, body
        for i, name in enumerate(chunk):
            note = body["data"][f"n{i}"]
            assert note is not None, f"note {NOTES[name]} was not ingested"
            out[name] = {c["key"] for c in note["about"]}
    return out


async def path_keys(client: httpx.AsyncClient, target: str, min_confidence: float = 0.0) -> list[str]:
    body = await gql(
        client,
        "query($to: [String!]!, $min: Float!) { learningPath(to: $to, minConfidence: $min) "
        "{ steps { concept { key } } } }",
        to=[target],
        min=min_confidence,
    )
    assert "errors" not in body, body
    return [s["concept"]["key"] for s in body["data"]["learningPath"]["steps"]]


def test_expectations_parsed() -> None:
    assert len(NOTES) >= 40
    assert [e.target for e in EXPECTATIONS] == ["GRPO", "EasyR1", "vLLM"]
    assert all(e.before and e.order for e in EXPECTATIONS)


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=lambda e: e.target)
async def test_sample_vault_learning_paths(sample_client: httpx.AsyncClient, expectation: Expectation) -> None:
    keys = await concept_keys(sample_client)
    steps = await path_keys(sample_client, expectation.target)
    position = {k: i for i, k in enumerate(steps)}
    assert steps[-1] in keys[expectation.target]

    missing = [n for n in expectation.before if not keys[n] & position.keys()]
    assert not missing, f"not on the path to {expectation.target}: {missing}"
    intruders = [n for n in expectation.not_before if keys[n] & position.keys()]
    assert not intruders, f"must not come before {expectation.target}: {intruders}"
    for a, b in expectation.order:
        pa = min(position[k] for k in keys[a] if k in position)
        pb = min(position[k] for k in keys[b] if k in position)
        assert pa < pb, f"{a} must come before {b} on the path to {expectation.target}"

    for spelling in expectation.spellings:
        assert await path_keys(sample_client, spelling) == steps, spelling


async def test_confidence_floor_drops_structural_guesses(sample_client: httpx.AsyncClient) -> None:
    keys = await concept_keys(sample_client)
    vllm = next(e for e in EXPECTATIONS if e.target == "vLLM")
    strict = await path_keys(sample_client, "vLLM", min_confidence=0.9)
    for name in ("PPO", "GRPO", "RLHF", "MDP", "Policy Gradient"):
        assert not keys[name] & set(strict), f"{name} should need more than structural evidence"
    missing = [n for n in vllm.before if not keys[n] & set(strict)]
    assert not missing, f"explicit and cue evidence should keep {missing} on the path to vLLM"
