"""Typed relation rules on small hand-written notes (no seeds needed).

Each cue-phrase test uses a phrasing the seeds do not contain: the rules must catch the family.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relation_vault import Vault, vault

from ingest.concepts import ConceptIndex
from ingest.refd import LinkGraph, _rescored, _scored
from ingest.relation_rules import (
    DEFAULT_CONFIG,
    RULE_TABLE,
    RULES_BY_NAME,
    Direction,
    Family,
    RefdSettings,
    find_relations_config,
    load_relations_config,
    normalise_key,
    parse_relations_config,
    rule_table_markdown,
)
from ingest.relations import RULES, rules_for, rules_for_vault, vault_rules
from ingest.vault import default_rules, outline_relations, parse_note, read_vault, resolve_notes
from kg.model import Graph, ProblemKind, Relation, RelationType

PRE = RelationType.PREREQUISITE_OF
VAR = RelationType.VARIANT_OF
IMP = RelationType.IMPLEMENTS


# --- the rule table and the config file -------------------------------------------------------------


def test_rule_table_is_complete_and_reviewable() -> None:
    names = [rule.name for rule in RULE_TABLE]
    assert len(names) == len(set(names))
    for rule in RULE_TABLE:
        assert rule.name.startswith(rule.family.value + ".")
        assert 0.0 < rule.confidence <= 1.0
        assert rule.description and rule.example
    explicit = [r for r in RULE_TABLE if r.family is Family.EXPLICIT]
    assert explicit and all(r.confidence == 1.0 for r in explicit)
    for kind in (PRE, VAR, IMP):
        structure = [r.confidence for r in RULE_TABLE if r.family is Family.STRUCTURE and r.relation is kind]
        cues = [r.confidence for r in RULE_TABLE if r.family is Family.CUE and r.relation is kind]
        assert max(structure) <= min(cues), kind
    refd = RULES_BY_NAME["statistics.refd"].confidence
    assert refd < min(r.confidence for r in RULE_TABLE if r.family is Family.STRUCTURE)
    table = rule_table_markdown()
    assert all(f"`{name}`" in table for name in names)


def test_every_relation_names_a_rule_of_the_table_with_its_confidence() -> None:
    v = vault(
        GRPO="---\nprerequisites: ['[[PPO]]']\n---\n# GRPO\n\nGRPO builds on [[Advantage Function]].\n",
        PPO="# PPO\n\nprerequisite:: [[TRPO]]\n",
    )
    typed = [r for r in v.relations if not r.rule.startswith("outline.")]
    assert typed
    for r in typed:
        assert r.rule in RULES_BY_NAME
        assert r.confidence == RULES_BY_NAME[r.rule].confidence
        assert r.note.endswith(".md") and r.line and r.evidence


def test_keys_are_compared_loosely() -> None:
    assert normalise_key("Depends On") == normalise_key("depends-on") == normalise_key("depends_on") == "depends_on"
    assert DEFAULT_CONFIG.key("Variant-Of") == DEFAULT_CONFIG.key("variant_of")
    assert DEFAULT_CONFIG.key("tags") is None


def test_config_maps_a_users_keys(tmp_path: Path) -> None:
    config = parse_relations_config(
        """
[keys]
"needs-first" = "PREREQUISITE_OF"
"unlocks-next" = { type = "prerequisite_of", direction = "note-to-value" }
"fork of" = "VARIANT_OF"

[confidence]
"structure.order" = 0.2

[refd]
threshold = 0.3
min_links = 3
""",
        "kg-relations.toml",
    )
    needs = config.key("Needs First")
    assert needs is not None and needs.type is PRE and needs.direction is Direction.VALUE_TO_NOTE
    unlocks = config.key("unlocks_next")
    assert unlocks is not None and unlocks.direction is Direction.NOTE_TO_VALUE
    fork = config.key("fork-of")
    assert fork is not None and fork.type is VAR and fork.direction is Direction.NOTE_TO_VALUE
    assert config.confidence_of("structure.order") == 0.2
    assert config.confidence_of("cue.supports") == RULES_BY_NAME["cue.supports"].confidence
    assert config.refd.threshold == 0.3 and config.refd.min_links == 3
    assert config.key("prerequisites") is not None  # defaults stay

    v = Vault(
        {
            "Mamba.md": "---\nneeds-first: '[[S4]]'\nfork of: '[[SSM]]'\n---\n# Mamba\n\nunlocks-next:: [[Jamba]]\n",
        },
        config,
    )
    assert v.rules(PRE, "S4", "Mamba") == {"explicit.front_matter"}
    assert v.rules(VAR, "Mamba", "SSM") == {"explicit.front_matter"}
    assert v.rules(PRE, "Mamba", "Jamba") == {"explicit.dataview"}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('[keys]\n"x" = "PREREQ"\n', ["'x'", "unknown relation type 'PREREQ'"]),
        ('[keys]\n"x" = { type = "NEXT", direction = "up" }\n', ["'x'", "unknown direction 'up'"]),
        ('[keys]\n"x" = { direction = "note-to-value" }\n', ["'x'", "missing 'type'"]),
        ('[keys]\n"x" = 3\n', ["'x'", "expected a relation type or a table"]),
        ('[keys]\n"tags" = "RELATED_TO"\n', ["'tags'", "reserved"]),
        ('[confidence]\n"cue.nope" = 0.5\n', ["'cue.nope'", "unknown rule"]),
        ('[confidence]\n"cue.supports" = 1.5\n', ["'cue.supports'", "[0, 1]"]),
        ("[refd]\nthreshold = 0\n", ["'threshold'"]),
        ("[refd]\nmin_links = 0\n", ["'min_links'"]),
        ("[extra]\na = 1\n", ["unknown section", "extra"]),
        ("[keys\n", ["not valid TOML"]),
    ],
)
def test_bad_config_is_a_clear_error_naming_file_and_key(text: str, names: list[str]) -> None:
    with pytest.raises(ValueError) as error:
        parse_relations_config(text, "/vault/kg-relations.toml")
    message = str(error.value)
    assert message.startswith("/vault/kg-relations.toml: ")
    for name in names:
        assert name in message


def test_config_file_is_found_at_the_vault_root_or_given(tmp_path: Path) -> None:
    assert find_relations_config(tmp_path) is DEFAULT_CONFIG
    (tmp_path / "kg-relations.toml").write_text('[keys]\n"grundlage" = "PREREQUISITE_OF"\n', encoding="utf-8")
    assert find_relations_config(tmp_path).key("Grundlage") is not None
    other = tmp_path / "other.toml"
    other.write_text('[keys]\n"basis" = "PREREQUISITE_OF"\n', encoding="utf-8")
    chosen = find_relations_config(tmp_path, other)
    assert chosen.key("basis") is not None and chosen.key("grundlage") is None
    with pytest.raises(ValueError, match=r"missing\.toml"):
        load_relations_config(tmp_path / "missing.toml")
    (tmp_path / "Backprop.md").write_text("# Backprop\n\ngrundlage:: [[Linear Algebra]]\n", encoding="utf-8")
    rules = rules_for_vault(tmp_path)
    graph = read_vault(tmp_path, rules=[outline_relations, *rules])
    assert any(r.rule == "explicit.dataview" and r.type is PRE for r in graph.relations)
    assert not any(r.rule == "explicit.dataview" for r in read_vault(tmp_path).relations)  # defaults: no such key
    via_settings = read_vault(tmp_path, rules=vault_rules(tmp_path, None))
    assert sorted(map(repr, via_settings.relations)) == sorted(map(repr, graph.relations))
    (tmp_path / "kg-relations.toml").write_text('[keys]\n"grundlage" = "NOPE"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="grundlage"):
        vault_rules(tmp_path)


def test_default_rules_are_the_outline_rule_and_the_typed_rules() -> None:
    rules = default_rules()
    assert rules[0] is outline_relations and list(rules[1:]) == list(RULES)


def test_zero_confidence_turns_a_rule_off() -> None:
    config = parse_relations_config('[confidence]\n"cue.supports" = 0\n')
    text = "# vLLM\n\nvLLM supports [[PagedAttention]].\n"
    assert Vault({"vLLM.md": text}).find(IMP, "vLLM", "PagedAttention")
    assert not Vault({"vLLM.md": text}, config).find(IMP, "vLLM", "PagedAttention")


# --- explicit -------------------------------------------------------------------------------------------


def test_front_matter_keys_links_and_plain_names() -> None:
    v = vault(
        **{
            "DPO": (
                "---\nrequires: ['[[RLHF]]', 'Bradley-Terry']\nvariant-of: '[[RLHF]]'\nrelated: '[[KTO]]'\n"
                "up: '[[Alignment MOC]]'\nnext: '[[IPO]]'\n---\n# DPO\n"
            ),
            "TRL": "---\nimplements: [DPO, '[[SFT]]']\ndown: '[[SFTTrainer]]'\nprev: '[[PEFT]]'\n---\n# TRL\n",
        }
    )
    assert v.rules(PRE, "RLHF", "DPO") == {"explicit.front_matter"}
    assert v.find(PRE, "Bradley-Terry", "DPO")  # a plain name names a concept too
    assert v.find(VAR, "DPO", "RLHF")
    assert v.find(RelationType.RELATED_TO, "DPO", "KTO")
    assert v.find(RelationType.PART_OF, "DPO", "Alignment MOC")
    assert v.find(RelationType.NEXT, "DPO", "IPO")
    assert v.find(IMP, "TRL", "DPO") and v.find(IMP, "TRL", "SFT")
    assert v.find(RelationType.PART_OF, "SFTTrainer", "TRL")  # Breadcrumbs `down`: the implied `up`
    assert v.find(RelationType.NEXT, "PEFT", "TRL")  # `prev`: the implied `next`
    evidence = v.find(PRE, "RLHF", "DPO")[0]
    assert evidence.line == 2 and evidence.evidence.startswith("requires:")


def test_dataview_inline_fields_in_all_three_forms() -> None:
    v = vault(
        Mamba=(
            "# Mamba\n\nBackground [depends on:: [[S4]]] and (based_on:: [[Linear RNN]]).\n\n"
            "- requires:: [[HiPPO]], [[Selective Scan]]\n"
            "`prerequisite:: [[InCode]]`\n"
        )
    )
    assert v.rules(PRE, "S4", "Mamba") == {"explicit.dataview"}
    assert v.find(VAR, "Mamba", "Linear RNN")
    assert v.find(PRE, "HiPPO", "Mamba") and v.find(PRE, "Selective Scan", "Mamba")
    assert v.index.resolve("InCode") is None  # code is not read


def test_typed_list_items_with_hyphenated_keys() -> None:
    v = vault(
        RWKV=(
            "# RWKV\n\n- depends-on [[Linear Attention]], [[RNN|recurrent nets]]\n- implemented_by [[RWKV-CUDA]]\n"
            "- see [[Mamba]]\n- prerequisite: [[Transformer]]\n"
        )
    )
    assert v.rules(PRE, "Linear Attention", "RWKV") == {"explicit.typed_list"}
    assert v.find(PRE, "RNN", "RWKV")
    assert v.find(IMP, "RWKV-CUDA", "RWKV")
    assert v.find(PRE, "Transformer", "RWKV")
    assert not [r for r in v.relations if "mamba" in (r.source, r.target) and not r.rule.startswith("outline")]


# --- cue phrases ----------------------------------------------------------------------------------------


def test_label_cues_in_chinese_and_english() -> None:
    v = vault(
        **{
            "LoRA": "# LoRA\n\n> **先修知识**：[[矩阵分解]]、[[SVD]]\n\nSee also: [[QLoRA]]\n",
            "ZeRO": "# ZeRO\n\nPrereqs: [[Data Parallelism]] and [[Adam]]\n\n代码实现：[[DeepSpeed]]\n",
        }
    )
    assert v.rules(PRE, "矩阵分解", "LoRA") == {"cue.label"}
    assert v.find(PRE, "SVD", "LoRA")
    assert v.find(RelationType.RELATED_TO, "LoRA", "QLoRA")
    assert v.find(PRE, "Data Parallelism", "ZeRO") and v.find(PRE, "Adam", "ZeRO")
    assert v.rules(IMP, "DeepSpeed", "ZeRO") == {"cue.label"}


def test_builds_on_family() -> None:
    v = vault(
        **{
            "Mamba": "# Mamba\n\nMamba builds upon [[S4]] and [[HiPPO]].\n",
            "FlashAttention-2": "# FlashAttention-2\n\nFlashAttention-2 建立在 [[FlashAttention]] 之上。\n",
            "Attention": "# Attention\n\n读这篇之前需要先掌握 [[Softmax]]。\n",
            "Transformer": "# Transformer\n\n本文以 [[Seq2Seq]] 为基础。[[Self-Attention]] 是 [[Transformer]] 的基础。\n",  # noqa: E501
        }
    )
    assert v.rules(PRE, "S4", "Mamba") == {"cue.builds_on"} and v.find(PRE, "HiPPO", "Mamba")
    assert v.find(PRE, "FlashAttention", "FlashAttention-2")
    assert v.find(PRE, "Softmax", "Attention")
    assert v.find(PRE, "Seq2Seq", "Transformer")
    assert v.find(PRE, "Self-Attention", "Transformer")


def test_from_to_family_in_both_languages() -> None:
    v = vault(
        **{
            "Sequence models": (
                "# Sequence models\n\n本章从 [[RNN]]、[[LSTM]] 一路讲到 [[Transformer]]，再到 [[Mamba]]。\n\n"
                "We move from REINFORCE to PPO here.\n\nfrom scratch to production; 从零到一\n"
            ),
            "REINFORCE": "# REINFORCE\n",
            "PPO": "# PPO\n",
        }
    )
    assert v.rules(PRE, "RNN", "Transformer") == {"cue.from_to"}
    assert v.find(PRE, "LSTM", "Transformer")
    assert v.find(PRE, "Transformer", "Mamba")  # `再到` continues the chain
    assert v.find(PRE, "REINFORCE", "PPO")
    assert v.index.resolve("scratch") is None


def test_arrows_between_names_but_not_navigation_or_prose() -> None:
    v = vault(
        **{
            "Tokenizers MOC": (
                "---\ntype: moc\n---\n# Tokenizers MOC\n\n## BPE ⇒ WordPiece -> Unigram\n\n"
                "### Byte-level → [[#Appendix]]\n\n### Models → [[Models/目录|Models MOC]]\n\n"
                "- [[Char-level]] → [[BPE]]\n- 词表太大 → [[BPE]]\n- [[SentencePiece]] — 训练快 → 部署简单\n"
            ),
        }
    )
    assert v.rules(PRE, "BPE", "WordPiece") == {"cue.arrow"}
    assert v.find(PRE, "WordPiece", "Unigram")
    assert v.find(PRE, "Char-level", "BPE")
    arrows = [r for r in v.relations if r.rule == "cue.arrow"]
    assert len(arrows) == 3, arrows


def test_in_order_lists_may_wrap() -> None:
    v = vault(
        Roadmap=(
            "# Plan\n\n建议依次学习：[[Linear Algebra]]、[[Probability]]、\n[[Optimization]]、[[Deep Learning]]。\n"
        )
    )
    assert v.rules(PRE, "Linear Algebra", "Probability") == {"cue.in_order"}
    assert v.find(PRE, "Probability", "Optimization")
    assert v.find(PRE, "Optimization", "Deep Learning")
    assert not v.find(PRE, "Linear Algebra", "Deep Learning")


def test_supports_family() -> None:
    v = vault(
        **{
            "Frameworks": (
                "# Frameworks\n\n## LLaMA-Factory\n\n它还支持 [[LoRA]] 与 [[QLoRA]] 两种微调。\n\n"
                "## SGLang\n\nSGLang natively supports RadixAttention.\n\n不支持 [[DPO]]。\n\n"
                "支持多模态模型的训练。\n\n## SVM\n\n支持向量机（[[SVM]]）是分类器。\n"
            ),
        }
    )
    assert v.rules(IMP, "LLaMA-Factory", "LoRA") == {"cue.supports"}
    assert v.find(IMP, "LLaMA-Factory", "QLoRA")
    assert v.find(IMP, "SGLang", "RadixAttention")
    assert not [r for r in v.relations if r.type is IMP and r.target == v.key("DPO")]
    assert not [r for r in v.relations if r.type is IMP and r.source == v.key("SVM")]


def test_supports_a_list_after_such_as_and_entity_links() -> None:
    v = vault(
        **{
            "Tools": (
                "# Tools\n\n## NeMo-Aligner\n\n该库支持多种对齐算法，例如 [直接偏好优化](https://x.org/a)（Direct Preference "  # noqa: E501
                "Optimization, DPO）、[KTO](https://x.org/b) 和 ORPO。\n"
            ),
            "DPO": "# DPO\n",
        }
    )
    assert v.rules(IMP, "NeMo-Aligner", "DPO") == {"cue.supports"}
    assert v.find(IMP, "NeMo-Aligner", "KTO") and v.find(IMP, "NeMo-Aligner", "ORPO")


def test_implements_family() -> None:
    v = vault(
        **{
            "nanoGPT": "# nanoGPT\n\nnanoGPT is a minimal implementation of [[GPT]].\n",
            "Megatron": "# Megatron\n\nMegatron-LM 实现了 [[Tensor Parallelism]]。\n",
            "GAE": "# GAE\n\nIt is implemented in [[Stable-Baselines3]].\n",
        }
    )
    assert v.rules(IMP, "nanoGPT", "GPT") == {"cue.implements"}
    assert v.find(IMP, "Megatron-LM", "Tensor Parallelism")
    assert v.find(IMP, "Stable-Baselines3", "GAE")


def test_based_on_one_base_is_a_variant_several_are_components() -> None:
    v = vault(
        **{
            "Vicuna": "# Vicuna\n\nVicuna is based on [[LLaMA]].\n",
            "Alpaca": "# Alpaca\n\nAlpaca 是 [[LLaMA]] 的一个精简 fork。\n",
            "Axolotl": "# Axolotl\n\n基于 [[PyTorch]] + [[PEFT]] 的训练工具。\n",
            "RLHF": "---\naliases: [基于人类反馈的强化学习]\n---\n# RLHF\n\n基于人类反馈的强化学习（RLHF）用 [[PPO]]。\n",  # noqa: E501
        }
    )
    assert v.rules(VAR, "Vicuna", "LLaMA") == {"cue.based_on"}
    assert v.rules(VAR, "Alpaca", "LLaMA") == {"cue.variant_of"}
    assert v.rules(RelationType.RELATED_TO, "Axolotl", "PyTorch") == {"cue.built_with"}
    assert not v.find(VAR, "Axolotl", "PyTorch")
    assert not [r for r in v.relations if r.rule == "cue.based_on" and r.source == v.key("RLHF")]


def test_variant_family() -> None:
    v = vault(
        **{
            "SimPO": "# SimPO\n\nSimPO 是 [[DPO]] 的一种改进变体。\n",
            "IPO": "# IPO\n\nIPO is a principled variant of DPO.\n",
            "GQA and MQA": "---\naliases: [GQA, MQA]\n---\n# GQA and MQA\n\n二者均为 [[MHA]] 的变体。\n",
            "Adam": "# Adam\n\n[[Adam]] 的常见变体：[[AdamW]]、[[Adafactor]]\n\nPopular variants of Adam: LAMB, NAdam\n",  # noqa: E501
            "Optimizers": "# Optimizers\n\n## SGD\n\n- [[Momentum]]、[[Nesterov]] 等几种变体\n",
            "QLoRA": "# QLoRA\n\n比 [[LoRA]] 更省显存的 [[QLoRA]]。DoRA improves upon LoRA.\n",
        }
    )
    assert v.rules(VAR, "SimPO", "DPO") == {"cue.variant_of"}
    assert v.find(VAR, "IPO", "DPO")
    assert v.find(VAR, "GQA and MQA", "MHA")
    assert v.rules(VAR, "AdamW", "Adam") == {"cue.variants_list"} and v.find(VAR, "Adafactor", "Adam")
    assert v.find(VAR, "LAMB", "Adam") and v.find(VAR, "NAdam", "Adam")
    assert v.find(VAR, "Momentum", "SGD") and v.find(VAR, "Nesterov", "SGD")
    assert v.rules(VAR, "QLoRA", "LoRA") == {"cue.better_than"}
    assert v.find(VAR, "DoRA", "LoRA")


# --- structure ------------------------------------------------------------------------------------------


ROADMAP = """---
type: roadmap
---
# Deep learning roadmap

## 第一章 Foundations

1. [[Linear Algebra]]
2. [[Calculus]]
3. [[Probability]]

## 第二章 Networks

- [[MLP]]
- [[CNN]]

## 第三章 Sequence models

## 附录 A Tools

## 附录 B Papers
"""


def test_roadmap_order_gives_next_and_weak_prerequisites() -> None:
    v = vault(Roadmap=ROADMAP)
    assert v.rules(RelationType.NEXT, "Foundations", "Networks") == {"structure.order"}
    assert v.find(RelationType.NEXT, "Networks", "Sequence models")
    weak = v.find(PRE, "Foundations", "Networks")
    assert [r.rule for r in weak] == ["structure.order_prerequisite"] and weak[0].confidence == 0.3
    farther = v.find(PRE, "Foundations", "Sequence models")
    assert farther and farther[0].confidence < weak[0].confidence
    assert v.find(PRE, "Linear Algebra", "Calculus") and v.find(PRE, "Calculus", "Probability")
    assert not v.find(PRE, "MLP", "CNN")  # bullets are not ordered
    assert not v.find(RelationType.NEXT, "Sequence models", "Tools")  # appendices are not ordered
    assert not [r for r in v.relations if r.rule.startswith("structure.order") and r.target == v.key("Papers")]


def test_unnumbered_moc_is_not_ordered() -> None:
    moc = "---\ntype: moc\n---\n# ML MOC\n\n## Vision\n\n- [[CNN]]\n\n## Language\n\n- [[RNN]]\n"
    v = vault(**{"ML MOC": moc})
    assert not [r for r in v.relations if r.rule.startswith("structure.order")]


def test_numbered_toc_is_ordered_without_being_a_roadmap() -> None:
    toc = "---\ntype: toc\n---\n# Book\n\n## 1. Foundations\n\n## 2. Models\n\n### 2.1 CNN\n\n### 2.2 RNN\n\n## 3. Training\n"  # noqa: E501
    v = vault(Book=toc)
    assert v.find(RelationType.NEXT, "Foundations", "Models") and v.find(RelationType.NEXT, "CNN", "RNN")
    assert not v.find(RelationType.NEXT, "RNN", "Training")  # different parents


def test_items_under_a_variants_heading() -> None:
    v = vault(
        Notes="# Notes\n\n## Normalization variants\n\n- [[RMSNorm]] — cheaper\n- [[DeepNorm]]\n\n## Other\n\n- [[GELU]]\n"  # noqa: E501
    )
    assert v.rules(VAR, "RMSNorm", "Normalization") == {"structure.variants_heading"}
    assert v.find(VAR, "DeepNorm", "Normalization")
    assert not [r for r in v.relations if r.type is VAR and r.source == v.key("GELU")]


def test_name_extension_but_not_kind_suffixes_or_two_concepts() -> None:
    v = vault(
        **{
            "RL MOC": "# RL MOC\n\n- [[GRPO]]\n- [[GRPO-Zero]]\n- [[DEEP-GRPO]]\n- [[GRPO-手撕实操]]\n- [[SFT-TRL]]\n",
            "SFT": "# SFT\n",
            "TRL": "# TRL\n",
        }
    )
    assert v.rules(VAR, "GRPO-Zero", "GRPO") == {"structure.name_extension"}
    assert v.find(VAR, "DEEP-GRPO", "GRPO")
    assert v.key("GRPO-手撕实操") == v.key("GRPO")  # a note kind, not a variant
    assert not [r for r in v.relations if r.rule == "structure.name_extension" and r.source == v.key("SFT-TRL")]


def test_tool_table_rows_implement_what_they_describe() -> None:
    table = (
        "# Serving\n\n| 推理引擎 | 说明 |\n|---|---|\n| [[vLLM]] | PagedAttention 与 Continuous Batching |\n"
        "| [[Ollama]] | GGUF 量化 |\n\n| Model | Note |\n|---|---|\n| [[BERT]] | MLM |\n"
    )
    v = vault(Serving=table, PagedAttention="# PagedAttention\n", GGUF="# GGUF\n", MLM="# MLM\n")
    assert v.rules(IMP, "vLLM", "PagedAttention") == {"structure.tool_table"}
    assert v.find(IMP, "Ollama", "GGUF")
    assert not v.find(IMP, "BERT", "MLM")


# --- vault-wide: RefD, merging, cycles ------------------------------------------------------------------


def refd_vault() -> dict[str, str]:
    # Backprop links to the basics, and the basics link to each other; nothing links back to Backprop.
    basics = "# {name}\n\nSee [[Calculus]] and [[Vectors]].\n"
    advanced = "# {name}\n\nUses [[Gradient]], [[Vectors]], [[Calculus]], [[Jacobian]].\n"
    files = {f"{n}.md": basics.format(name=n) for n in ("Gradient", "Jacobian")}
    files |= {f"{n}.md": "# " + n + "\n\nLinks [[Gradient]] and [[Jacobian]].\n" for n in ("Calculus", "Vectors")}
    files["Backprop.md"] = advanced.format(name="Backprop")
    files["Hessian.md"] = "# Hessian\n\nNeeds [[Backprop]] thinking, [[Calculus]], [[Vectors]].\n"
    return files


LOW_REFD = parse_relations_config("[refd]\nthreshold = 0.1\nmin_links = 2\n")


def test_refd_gives_weak_prerequisites_from_link_statistics() -> None:
    parsed = [parse_note(path, text) for path, text in refd_vault().items()]
    graph, index = resolve_notes(parsed, rules=[outline_relations, *rules_for(LOW_REFD)])
    refd = [r for r in graph.relations if r.rule == "statistics.refd"]
    assert refd, "RefD found nothing"
    for r in refd:
        assert r.type is PRE and r.confidence == RULES_BY_NAME["statistics.refd"].confidence
        assert r.evidence.startswith("RefD(") and r.note in graph.notes
        # attributed to the dependent's note, at its first link to what it requires
        assert graph.notes[r.note].about[0] == r.target
        assert r.line == next(link.line for link in graph.notes[r.note].links if link.concept == r.source)
    edges = {(r.source, r.target) for r in refd}
    basics = [index.resolve(n) for n in ("Calculus", "Gradient", "Jacobian", "Vectors")]
    backprop = index.resolve("Backprop")
    assert {(basic, backprop) for basic in basics} <= edges  # Backprop's neighbours all link to the basics
    assert not [e for e in edges if e[0] == backprop]


def test_refd_never_contradicts_stronger_evidence() -> None:
    files = refd_vault()
    files["Hessian.md"] = "---\nprerequisite_of: '[[Backprop]]'\n---\n" + files["Hessian.md"]
    graph, index = resolve_notes(
        [parse_note(p, t) for p, t in files.items()], rules=[outline_relations, *rules_for(LOW_REFD)]
    )
    hessian, backprop = index.resolve("Hessian"), index.resolve("Backprop")
    refd = [r for r in graph.relations if r.rule == "statistics.refd"]
    assert not [r for r in refd if {r.source, r.target} == {hessian, backprop}]


def test_two_rules_asserting_one_edge_keep_both_pieces_of_evidence() -> None:
    v = vault(
        GRPO="---\nprerequisites: ['[[PPO]]']\n---\n# GRPO\n\n比 [[PPO]] 更省显存的 GRPO。\n\nGRPO builds on [[PPO]].\n"
    )
    edges = v.find(PRE, "PPO", "GRPO")
    assert {r.rule for r in edges} == {"explicit.front_matter", "cue.builds_on"}
    assert max(r.confidence for r in edges) == 1.0
    assert v.find(VAR, "GRPO", "PPO")


def test_prerequisite_cycles_are_kept_and_reported() -> None:
    v = vault(
        A="---\nprerequisites: ['[[B]]']\n---\n# A\n",
        B="# B\n\nprerequisite:: [[C]]\n",
        C="# C\n\n- prerequisite [[A]]\n",
    )
    assert v.find(PRE, "B", "A") and v.find(PRE, "C", "B") and v.find(PRE, "A", "C")
    cycles = [p for p in v.graph.problems if p.kind is ProblemKind.RELATION_CYCLE]
    assert len(cycles) == 1
    assert all(name in cycles[0].message for name in ("a", "b", "c"))
    assert cycles[0].path in v.graph.notes


def test_refd_defaults_are_conservative() -> None:
    parsed = [parse_note(path, text) for path, text in refd_vault().items()]
    graph, _ = resolve_notes(parsed)  # default θ=0.3, 4 links: this small vault is too sparse
    assert not [r for r in graph.relations if r.rule == "statistics.refd"]


def test_custom_rule_lists_without_typed_rules_get_no_vault_stage() -> None:
    parsed = [parse_note(p, t) for p, t in refd_vault().items()]
    graph, _ = resolve_notes(parsed, rules=[outline_relations])
    assert [r for r in Vault(refd_vault(), LOW_REFD).relations if r.rule == "statistics.refd"]
    assert not [r for r in graph.relations if r.rule == "statistics.refd"]


def test_rules_are_pure_per_note(tmp_path: Path) -> None:
    files = {"GRPO.md": "# GRPO\n\nGRPO builds on [[PPO]].\n", "Other.md": "# Other\n\nSGLang supports [[GRPO]].\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph: Graph = read_vault(tmp_path)
    by_note = {path: {r.rule for r in graph.relations_of(path)} for path in files}
    assert "cue.builds_on" in by_note["GRPO.md"] and "cue.supports" in by_note["Other.md"]
    (tmp_path / "Other.md").unlink()
    again = read_vault(tmp_path)
    assert [r for r in again.relations if r.note == "GRPO.md"] == graph.relations_of("GRPO.md")


def test_index_is_not_polluted_by_failed_cues() -> None:
    v = vault(Note="# Note\n\n它目前支持 500+ 大模型和 200+ 多模态大模型的训练。\n")
    assert not [r for r in v.relations if r.type is IMP]
    assert isinstance(v.index, ConceptIndex)


# --- robustness -------------------------------------------------------------------------------------------


FRAGMENTS = st.sampled_from(
    [
        "支持",
        "基于",
        "从",
        "到",
        "的变体",
        "等变体",
        "比",
        "更稳定的",
        "前置知识：",
        "Prerequisites:",
        "→",
        " -> ",
        "builds on ",
        "based on ",
        "supports ",
        "implements ",
        "from ",
        " to ",
        "variants of ",
        "：",
        "，",
        "。",
        "、",
        "[[GRPO]]",
        "[[PPO|近端]]",
        "[[#Heading]]",
        "[[RL/目录|RL MOC]]",
        "[x](https://x.org)",
        "GRPO",
        "PPO",
        "REINFORCE++",
        "veRL",
        "注意力机制",
        "\n",
        "\n- ",
        "\n## ",
        "\n1. ",
        "\n> ",
        " ",
        "(",
        "）",
        "`code 支持 X`",
        "prerequisite:: ",
        "[depends on:: [[A]]]",
        "- prerequisite [[B]]",
        "两者都是",
        "它还",
        "we ",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, max_size=40), st.booleans())
def test_rules_never_fail_and_every_relation_points_into_its_note(parts: list[str], roadmap: bool) -> None:
    text = ("---\ntype: roadmap\n---\n" if roadmap else "") + "# Note\n" + "".join(parts) + "\n"
    parsed = [parse_note("Note.md", text), parse_note("GRPO.md", "# GRPO\n")]
    graph, _ = resolve_notes(parsed)
    line_count = text.count("\n") + 1
    for r in graph.relations:
        assert r.source and r.target and r.source != r.target
        assert r.note in graph.notes
        assert r.line is None or 1 <= r.line <= line_count
        assert 0.0 < r.confidence <= 1.0
        assert r.rule in RULES_BY_NAME or r.rule.startswith("outline.")


_RELATIONS = st.builds(
    Relation,
    type=st.sampled_from([PRE, RelationType.PART_OF]),
    source=st.sampled_from(["a", "b"]),
    target=st.sampled_from(["c", "d"]),
    confidence=st.sampled_from([0.5, 0.9]),
    rule=st.sampled_from(["r1", "r2"]),
    note=st.sampled_from(["n1.md", "n2.md", "n3.md"]),
    line=st.sampled_from([1, 2, None]),
    evidence=st.sampled_from(["x", "y"]),
)


@given(st.lists(_RELATIONS, max_size=30))
@settings(max_examples=300, deadline=None)
def test_deduplicating_note_by_note_keeps_what_deduplicating_at_once_keeps(relations: list[Relation]) -> None:
    from ingest.relations import _dedupe_by_note, dedupe

    assert _dedupe_by_note(relations) == dedupe(relations)  # split notes: the fallback
    grouped = sorted(relations, key=lambda r: r.note)  # as the per-note rules give them
    assert _dedupe_by_note(grouped) == dedupe(grouped)


_CONCEPTS = st.sampled_from([f"c{i}" for i in range(14)])
_LINKS = st.sets(st.tuples(_CONCEPTS, _CONCEPTS).filter(lambda edge: edge[0] != edge[1]), max_size=70)


def _link_graph(edges: set[tuple[str, str]]) -> LinkGraph:
    out: dict[str, list[str]] = {}
    for source, target in sorted(edges):
        out.setdefault(source, []).append(target)
    return LinkGraph({source: tuple(targets) for source, targets in out.items()}, {edge: ("n.md", 1) for edge in edges})


@settings(max_examples=300, deadline=None)
@given(before=_LINKS, added=_LINKS, removed=_LINKS, threshold=st.sampled_from([0.05, 0.1, 0.3]))
def test_refd_rescored_after_an_edit_equals_scored_anew(
    before: set[tuple[str, str]], added: set[tuple[str, str]], removed: set[tuple[str, str]], threshold: float
) -> None:
    """The kept RefD scores, brought up to date by scoring again only the pairs that touch a concept
    whose links changed, are exactly (order included) the scores of the new link graph."""
    refd_settings = RefdSettings(threshold=threshold, min_links=1)
    last = _link_graph(before)
    after = _link_graph((before | added) - removed)
    rescored = _rescored(_scored(last, refd_settings), last.out, after, refd_settings)
    assert rescored == _scored(after, refd_settings)
