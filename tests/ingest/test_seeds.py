"""The five real seed notes (../shared/seeds), copied into a temporary vault as `.md` files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.concepts import ConceptIndex, is_boilerplate
from ingest.vault import outline_relations, read_vault_parsed
from kg.model import Graph, ProblemKind, RelationType

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []

pytestmark = pytest.mark.skipif(len(SEED_FILES) < 5, reason="../shared/seeds is not present")

MOJIBAKE_MARKERS = ("å", "ä", "æ", "è", "é", "ç", "ï¼", "â€", "Ã")


@pytest.fixture(scope="module")
def seed_vault(tmp_path_factory: pytest.TempPathFactory) -> tuple[Graph, dict[str, str], ConceptIndex]:
    root = tmp_path_factory.mktemp("seed-vault")
    paths: dict[str, str] = {}
    for seed in SEED_FILES:
        target = root / f"{seed.stem}.md"
        shutil.copyfile(seed, target)
        paths[seed.name[:3]] = target.name
    graph, _, index = read_vault_parsed(root, rules=[outline_relations])
    return graph, paths, index


@pytest.fixture(scope="module")
def seeds(seed_vault: tuple[Graph, dict[str, str], ConceptIndex]) -> tuple[Graph, dict[str, str]]:
    return seed_vault[0], seed_vault[1]


def notes_reaching(graph: Graph, key: str) -> set[str]:
    reached = set()
    for note in graph.notes.values():
        if key in note.about or any(m.concept == key for m in note.mentions):
            reached.add(note.path)
        if any(link.concept == key for link in note.links):
            reached.add(note.path)
    return reached


def test_all_seeds_read(seeds: tuple[Graph, dict[str, str]]) -> None:
    graph, paths = seeds
    assert sorted(graph.notes) == sorted(paths.values())


def test_grpo_is_one_concept_reached_from_every_spelling(
    seed_vault: tuple[Graph, dict[str, str], ConceptIndex],
) -> None:
    graph, paths, index = seed_vault
    assert "grpo" in graph.concepts
    spellings = ["GRPO", "grpo", "群体相对策略优化（GRPO）", "群体相对策略优化", "GRPO-手撕实操", "GRPO-手撕"]
    spellings += ["GRPO-完整Notebook实现", "GRPO-Notebook", "ＧＲＰＯ"]
    assert {spelling: index.resolve(spelling) for spelling in spellings} == dict.fromkeys(spellings, "grpo")
    reached = notes_reaching(graph, "grpo")
    for seed in ("001", "002", "003", "004"):
        assert paths[seed] in reached, f"GRPO not reached from seed {seed}"
    # the spellings themselves
    roadmap = graph.notes[paths["001"]]
    by_target = {link.target: link.concept for link in roadmap.links}
    assert by_target["AI/LLM/RL/GRPO/GRPO-手撕实操"] == "grpo"  # [[…/GRPO-手撕实操|GRPO-手撕]]
    assert by_target["AI/LLM/RL/GRPO/GRPO-完整Notebook实现"] == "grpo"
    outline = graph.notes[paths["002"]]
    heading = [m for m in outline.mentions if m.source == "heading" and m.concept == "grpo"]
    assert heading and heading[0].text == "GRPO"  # `### 5.3 群体相对策略优化（GRPO）`
    assert "群体相对策略优化" in graph.concepts["grpo"].aliases


def test_mojibake_seeds_are_repaired_and_give_readable_names(seeds: tuple[Graph, dict[str, str]]) -> None:
    graph, paths = seeds
    repaired = {p.path for p in graph.problems if p.kind is ProblemKind.ENCODING_REPAIRED}
    assert repaired == {paths["000"], paths["003"], paths["004"]}
    assert graph.notes[paths["000"]].title == "大语言模型 LLM"
    assert graph.notes[paths["004"]].title == "开源框架"
    assert "大模型学习笔记" in graph.notes[paths["003"]].title
    for seed in ("000", "003", "004"):
        note = graph.notes[paths[seed]]
        assert note.encoding.endswith("mojibake-repaired(cp1254)")
    names = [c.name for c in graph.concepts.values()]
    garbled = [n for n in names if any(marker in n for marker in MOJIBAKE_MARKERS)]
    assert garbled == []
    # 000 is an older version of 001: the repaired text names the same concepts
    older = {link.concept for link in graph.notes[paths["000"]].links if link.concept}
    newer = {link.concept for link in graph.notes[paths["001"]].links if link.concept}
    assert len(older & newer) >= 0.8 * len(older)


def test_no_boilerplate_concept(seeds: tuple[Graph, dict[str, str]]) -> None:
    graph, _ = seeds
    offenders = [c.name for c in graph.concepts.values() if is_boilerplate(c.name)]
    assert offenders == []
    for key in ("目录", "前言", "参考文献与相关内容", "附录", "导航", "相关moc", "tableofcontents", "references"):
        assert key not in graph.concepts


def test_abbreviations_and_outline_structure(seeds: tuple[Graph, dict[str, str]]) -> None:
    graph, paths = seeds
    assert {"监督微调", "Supervised Fine-tuning"} <= graph.concepts["sft"].aliases
    assert "蒙特卡洛树搜索" in graph.concepts["mcts"].aliases
    outline = paths["002"]
    part_of = {(r.source, r.target) for r in graph.relations if r.type is RelationType.PART_OF and r.note == outline}
    assert ("mqa", "注意力机制") in part_of  # `- Multi-Query Attention (MQA)` under `### 2.1 注意力机制及其变体`
    assert ("grpo", graph.concepts["grpo"].key) not in part_of
    assert any(target == "grpo" or source == "grpo" for source, target in part_of)


def test_hugo_seed_front_matter(seeds: tuple[Graph, dict[str, str]]) -> None:
    graph, paths = seeds
    hugo = graph.notes[paths["004"]]
    assert hugo.front_matter["title"] == "开源框架"
    assert hugo.front_matter["draft"] is False
    assert any(url.startswith("https://mp.weixin.qq.com/") for url in hugo.resources)
