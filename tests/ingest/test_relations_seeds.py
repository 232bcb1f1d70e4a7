"""Typed relations on real notes: the five seeds (../shared/seeds) and kg's sample vault.

The seeds must give: PPO and RLHF before GRPO (with evidence from 002 and 004); TRL, veRL and
EasyR1 implement GRPO; EasyR1 is based on veRL (stored as VARIANT_OF, rule `cue.based_on`); MQA and
GQA are variants of attention; OpenRLHF supports REINFORCE++; nothing from the inference or RAG
chapters comes before GRPO. The sample vault must respect every pair of
tests/vaults/SAMPLE_VAULT_EXPECTED.md through its requires-edges.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ingest.concepts import ConceptIndex
from ingest.relation_rules import RULES_BY_NAME
from ingest.relations import vault_stage
from ingest.vault import read_vault_parsed
from kg.model import Graph, Relation, RelationType

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
SAMPLE_VAULT = REPO / "kg" / "sample_vault"
EXPECTED = REPO / "tests" / "vaults" / "SAMPLE_VAULT_EXPECTED.md"

REQUIRES = (RelationType.PREREQUISITE_OF, RelationType.VARIANT_OF, RelationType.IMPLEMENTS)


@dataclass
class Ingested:
    graph: Graph
    index: ConceptIndex
    relations: list[Relation]
    requires: dict[str, set[str]] = field(default_factory=dict)  # dependent -> what it requires

    def key(self, name: str) -> str:
        found = self.index.resolve(name)
        assert found is not None, f"{name!r} is not a concept"
        return found

    def edges(self, kind: RelationType, source: str, target: str) -> list[Relation]:
        return [r for r in self.relations if r.type is kind and r.source == source and r.target == target]

    def before(self, target: str, min_confidence: float = 0.0) -> set[str]:
        """Everything `target` requires, transitively (its learning-path closure)."""
        graph: dict[str, set[str]] = defaultdict(set)
        for r in self.relations:
            if r.confidence < min_confidence:
                continue
            if r.type is RelationType.PREREQUISITE_OF:
                graph[r.target].add(r.source)
            elif r.type in (RelationType.VARIANT_OF, RelationType.IMPLEMENTS):
                graph[r.source].add(r.target)
        seen: set[str] = set()
        stack = [target]
        while stack:
            for required in graph.get(stack.pop(), ()):
                if required not in seen:
                    seen.add(required)
                    stack.append(required)
        seen.discard(target)
        return seen


def ingest(root: Path) -> Ingested:
    graph, parsed, index = read_vault_parsed(root)
    relations, _ = vault_stage(parsed, index, graph.relations)
    return Ingested(graph, index, relations)


# --- the seeds ----------------------------------------------------------------------------------------

seeds_present = pytest.mark.skipif(len(SEED_FILES) < 5, reason="../shared/seeds is not present")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    if len(SEED_FILES) < 5:
        pytest.skip("../shared/seeds is not present")
    root = tmp_path_factory.mktemp("seed-vault")
    for seed in SEED_FILES:
        shutil.copyfile(seed, root / f"{seed.stem}.md")
    return ingest(root)


def seed_note(graph: Graph, number: str) -> str:
    return next(path for path in graph.notes if path.startswith(number))


@seeds_present
def test_ppo_and_rlhf_come_before_grpo_with_evidence_from_002_and_004(seeds: Ingested) -> None:
    grpo, ppo, rlhf = seeds.key("GRPO"), seeds.key("PPO"), seeds.key("RLHF")
    into_grpo = [r for r in seeds.relations if r.type is RelationType.PREREQUISITE_OF and r.target == grpo]
    notes_for = {source: {r.note[:3] for r in into_grpo if r.source == source} for source in (ppo, rlhf)}
    assert "004" in notes_for[ppo]
    assert {"002", "004"} <= notes_for[rlhf]
    assert {"002", "004"} <= {n for ns in notes_for.values() for n in ns}
    from_004 = [r for r in into_grpo if r.note.startswith("004") and r.source in (ppo, rlhf)]
    assert all("从RLHF、PPO到GRPO" in r.evidence and r.rule == "cue.from_to" for r in from_004)
    from_002 = [r for r in into_grpo if r.note.startswith("002") and r.source == rlhf]
    assert from_002 and all(r.rule.startswith("structure.") and r.confidence < 0.5 for r in from_002)
    assert {ppo, rlhf} <= seeds.before(grpo)


@seeds_present
def test_trl_verl_and_easyr1_implement_grpo(seeds: Ingested) -> None:
    grpo = seeds.key("GRPO")
    for tool in ("TRL", "veRL", "EasyR1"):
        found = seeds.edges(RelationType.IMPLEMENTS, seeds.key(tool), grpo)
        assert found, f"{tool} does not implement GRPO"
        assert any(r.note.startswith("004") and "GRPO" in r.evidence for r in found)


@seeds_present
def test_easyr1_is_based_on_verl(seeds: Ingested) -> None:
    found = seeds.edges(RelationType.VARIANT_OF, seeds.key("EasyR1"), seeds.key("veRL"))
    assert [r.rule for r in found] == ["cue.based_on"]
    assert "基于火山引擎 veRL" in found[0].evidence


@seeds_present
def test_mqa_and_gqa_are_variants_of_attention(seeds: Ingested) -> None:
    for name in ("MQA", "GQA"):
        bases = [r for r in seeds.relations if r.type is RelationType.VARIANT_OF and r.source == seeds.key(name)]
        names = {seeds.graph.concepts[r.target].name for r in bases}
        assert any("注意力" in n or "attention" in n.casefold() for n in names), names
        assert any("注意力机制及其变体" in seeds.graph.notes[r.note].title or r.note.startswith("002") for r in bases)


@seeds_present
def test_openrlhf_supports_reinforce_plus_plus(seeds: Ingested) -> None:
    found = seeds.edges(RelationType.IMPLEMENTS, seeds.key("OpenRLHF"), seeds.key("REINFORCE++"))
    assert found and found[0].rule == "cue.supports" and "REINFORCE++" in found[0].evidence
    # `比GRPO更稳定的REINFORCE++`: REINFORCE++ improves on GRPO
    assert seeds.edges(RelationType.VARIANT_OF, seeds.key("REINFORCE++"), seeds.key("GRPO"))


@seeds_present
def test_nothing_from_the_inference_or_rag_chapters_comes_before_grpo(seeds: Ingested) -> None:
    graph = seeds.graph
    roadmap = graph.notes[seed_note(graph, "001")]
    chapters: dict[str, set[str]] = {
        "第五章": set(),
        "第六章": set(),
    }  # 推理部署 (Inference), 应用层 (RAG / Prompt / Code)
    current: str | None = None
    text = (SEEDS / f"{Path(roadmap.path).stem}.txt").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(text, start=1):
        if line.startswith("## "):
            current = next((c for c in chapters if c in line), None)
        if current:
            chapters[current].update(link.concept for link in roadmap.links if link.line == number and link.concept)
    inference_and_rag = chapters["第五章"] | chapters["第六章"]
    assert {seeds.key("vLLM"), seeds.key("KV Cache"), seeds.key("RAG")} <= inference_and_rag
    before = seeds.before(seeds.key("GRPO"))
    assert not (before & inference_and_rag), {graph.concepts[k].name for k in before & inference_and_rag}
    for name in ("vLLM", "KV Cache", "RAG", "推理优化", "Embedding"):
        key = seeds.index.resolve(name)
        assert key is None or key not in before, name


@seeds_present
def test_every_seed_relation_has_provenance(seeds: Ingested) -> None:
    assert seeds.relations
    for r in seeds.relations:
        assert r.source != r.target
        assert r.note in seeds.graph.notes
        assert 0.0 < r.confidence <= 1.0
        if r.rule in RULES_BY_NAME:
            assert r.confidence <= RULES_BY_NAME[r.rule].confidence
        else:
            assert r.rule.startswith("outline."), r.rule
        assert r.line is not None and r.evidence


# --- the sample vault -------------------------------------------------------------------------------


@dataclass
class Expectations:
    notes: dict[str, str]  # NAME -> note path
    before: dict[str, list[str]] = field(default_factory=dict)  # target -> must come before
    not_before: dict[str, list[str]] = field(default_factory=dict)  # target -> must not come before
    pairs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # target -> (A, B): A before B


def read_expectations(path: Path) -> Expectations:
    notes: dict[str, str] = {}
    expectations = Expectations(notes)
    target: str | None = None
    section: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        row = re.match(r"^\| (.+?) \| (.+?\.md) \|", line)
        if row:
            notes[row.group(1).strip()] = row.group(2).strip()
            continue
        heading = re.match(r'^## learningPath\(to: "(.+)"\)', line)
        if heading:
            target = heading.group(1)
            continue
        sub = re.match(r"^### (.+)$", line)
        if sub:
            section = sub.group(1)
            continue
        item = re.match(r"^- (.+)$", line)
        if not item or target is None or section is None:
            continue
        text = item.group(1).strip()
        if section.startswith("must come before"):
            expectations.before.setdefault(target, []).append(text)
        elif section.startswith("must not come before"):
            expectations.not_before.setdefault(target, []).append(text)
        elif section.startswith("order"):
            a, _, b = text.partition(" before ")
            expectations.pairs.setdefault(target, []).append((a.strip(), b.strip()))
    return expectations


@pytest.fixture(scope="module")
def sample() -> tuple[Ingested, Expectations]:
    return ingest(SAMPLE_VAULT), read_expectations(EXPECTED)


def concept_of(sample: tuple[Ingested, Expectations], name: str) -> str:
    ingested, expected = sample
    path = expected.notes.get(name)
    if path is not None:
        about = ingested.graph.notes[path].about
        assert about, path
        return about[0]
    return ingested.key(name)


def test_expectations_file_is_read() -> None:
    expected = read_expectations(EXPECTED)
    assert len(expected.notes) >= 40
    assert {"GRPO", "EasyR1", "vLLM"} <= set(expected.before)
    assert len(expected.pairs["GRPO"]) >= 40 and ("PPO", "GRPO") in expected.pairs["GRPO"]


@pytest.mark.parametrize("target", ["GRPO", "EasyR1", "vLLM"])
def test_sample_vault_requires_edges_reach_what_must_come_before(
    sample: tuple[Ingested, Expectations], target: str
) -> None:
    ingested, expected = sample
    goal = concept_of(sample, target)
    before = ingested.before(goal)
    missing = [name for name in expected.before[target] if concept_of(sample, name) not in before]
    assert not missing, f"not before {target}: {missing}"
    for a, b in expected.pairs[target]:
        assert concept_of(sample, a) in ingested.before(concept_of(sample, b)), f"{a} is not before {b}"


def test_sample_vault_nothing_that_must_not_come_before_grpo_does(sample: tuple[Ingested, Expectations]) -> None:
    ingested, expected = sample
    before = ingested.before(concept_of(sample, "GRPO"))
    wrong = [name for name in expected.not_before["GRPO"] if concept_of(sample, name) in before]
    assert not wrong, wrong


def test_sample_vault_rl_concepts_before_vllm_only_through_weak_structure(
    sample: tuple[Ingested, Expectations],
) -> None:
    ingested, _ = sample
    strong_before = ingested.before(concept_of(sample, "vLLM"), min_confidence=0.5)
    for name in ("PPO", "GRPO", "RLHF", "DPO", "Reward Model"):
        assert concept_of(sample, name) not in strong_before, name


def test_sample_vault_has_no_prerequisite_cycles() -> None:
    graph, parsed, index = read_vault_parsed(SAMPLE_VAULT)
    _, problems = vault_stage(parsed, index, graph.relations)
    assert problems == []
