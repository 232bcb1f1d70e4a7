"""Relation rules on phrasings from a real vault (../shared/corpora/antiai) that used to give wrong edges.

Each test pairs a bad case (the edge a careful reader rejects) with a right one the rule must still find.
"""

from __future__ import annotations

from relation_vault import vault

from ingest.vault import parse_note
from kg.model import RelationType

PRE = RelationType.PREREQUISITE_OF
VAR = RelationType.VARIANT_OF
IMP = RelationType.IMPLEMENTS
NEXT = RelationType.NEXT


# --- cue.supports ---------------------------------------------------------------------------------------


def test_supports_a_platform_or_a_task_implements_nothing() -> None:
    v = vault(
        YOLOX="# YOLOX\n\n我们已在发布代码，支持ONNX、TensorRT、NCNN和Openvino。\n",
        SegGPT="# SegGPT\n\nCOCO[30]是一个广泛使用的视觉感知数据集，支持实例分割、语义分割和全景分割。\n",
        Frameworks=(
            "# Frameworks\n\n### TRL\n\n支持GRPO\n\n### SentencePiece\n\n分词库，支持 BPE 和 [[Unigram]] 两种模式。\n"
        ),
    )
    assert v.by_rule("cue.supports") == [("SentencePiece", "BPE"), ("SentencePiece", "Unigram"), ("TRL", "GRPO")]


def test_supports_a_task_by_any_of_its_spellings() -> None:
    v = vault(
        **{
            "Semantic Segmentation": "---\naliases: [语义分割和全景]\n---\n# Semantic Segmentation\n",
            "SegGPT": "# SegGPT\n\n[[COCO]]是一个数据集，支持语义分割和全景分割。\n\n### SAM\n\n支持 [[RoPE]]\n",
        }
    )
    assert v.by_rule("cue.supports") == [("SAM", "RoPE")]


def test_supports_a_name_that_only_qualifies_the_object() -> None:
    v = vault(
        **{"DeepSeek-V3": "# DeepSeek-V3\n\nFor efficiency, we support the [[FP8]] mixed precision training.\n"},
        veRL="# veRL\n\nveRL supports PPO and GRPO training.\n",
    )
    assert v.by_rule("cue.supports") == [("veRL", "GRPO"), ("veRL", "PPO")]


def test_supports_in_a_table_row_is_not_about_the_section() -> None:
    v = vault(
        Index="# Index\n\n### NLP\n\n| 论文 | 注 |\n|---|---|\n| [[XPOS]] | 编码，支持 [[RoPE]] |\n\n支持 [[BPE]]\n",
    )
    assert v.by_rule("cue.supports") == [("NLP", "BPE")]


# --- cue.implements ---------------------------------------------------------------------------------------


def test_implements_neither_a_qualifier_nor_the_platform_code_runs_on() -> None:
    v = vault(
        **{
            "Focal Loss": "# Focal Loss\n\n我们还实现了 [[SSD]] 中使用的 OHEM 的一个变体。我们实现了 [[RetinaNet]]。\n",
            "MoCo v2": "# MoCo v2\n\nTable 3. Memory and time cost, implemented in [[PyTorch]].\n",
            "GAE": "# GAE\n\nIt is implemented in [[Stable-Baselines3]].\n",
        }
    )
    assert v.by_rule("cue.implements") == [("Focal Loss", "RetinaNet"), ("Stable-Baselines3", "GAE")]


# --- cue.based_on -----------------------------------------------------------------------------------------


def test_based_on_what_a_clause_uses_is_no_variant() -> None:
    v = vault(
        **{
            "ai-history": "# AI history\n\n* [[Self-Instruct]] 基于 [[LLM]] 自动生成各种提示任务\n",
            "PSPNet": "# PSPNet\n\n* 我们基于 [[Deep Supervision]] 损失为深度 ResNet 开发了一种优化策略。\n",
            "FPN": "# FPN\n\nDespite the good accuracy of this variant, it is based on the [[RPN]] proposals.\n",
            "DeepNet": "# DeepNet\n\nDEEPNET基于 [[Transformer]] 架构。\n",
            "mmTransformer": "# mmTransformer\n\nmmTransformer是基于 [[Transformer]] 架构设计的。\n",
        }
    )
    assert v.by_rule("cue.based_on") == [("DeepNet", "Transformer"), ("mmTransformer", "Transformer")]


def test_based_on_kind_phrase_defines_the_note_only_when_it_stands_alone() -> None:
    v = vault(
        A2C="# A2C\n\n基于[[Experience Replay]]的深度RL算法在Atari 2600等领域取得了前所未有的成功。\n",
        DiT="# DiT\n\n基于[[Transformer]]的可扩展扩散模型 2022.12.19 https://arxiv.org/abs/2212.09748\n",
    )
    assert v.by_rule("cue.based_on") == [("DiT", "Transformer")]


# --- cue.builds_on ----------------------------------------------------------------------------------------


def test_builds_on_participle_takes_the_subject_after_the_comma() -> None:
    v = vault(
        R1="# R1\n\nBuilding on [[CoT]]'s framework, numerous prompt engineering techniques have been proposed.\n",
        Mamba="# Mamba\n\nBuilding on [[S4]], [[Mamba]] adds input-dependent selection.\n",
    )
    assert v.by_rule("cue.builds_on") == [("S4", "Mamba")]


def test_becomes_the_basis_of_is_one_verb() -> None:
    v = vault(
        **{
            "Latent Diffusion": (
                "# Latent Diffusion\n\n- **关键要点**: 1. 潜在空间扩散降低计算量 2. 交叉注意力 "
                "3. 成为 [[Stable Diffusion]] 的基础架构\n"
            ),
        }
    )
    assert v.by_rule("cue.builds_on") == [("Latent Diffusion", "Stable Diffusion")]


# --- cue.from_to ------------------------------------------------------------------------------------------


def test_from_to_a_flow_or_a_range_is_no_order() -> None:
    v = vault(
        DeepNet="# DeepNet\n\n图4：（b）从[[FFN]]到[[LN]]的输入（c）从注意力到LN的输出\n",
        GPT3="# GPT3\n\nWebQS 显示出从[[zero-shot]]到[[few-shot]]的更大增益。\n",
        Residual="# Residual\n\n从 [[CNN]]（ResNet）到 [[Transformer]] 均依赖此机制。\n",
        Kosmos="# Kosmos\n\n推进从 [[LLM]] 到 [[MLLM]] 的趋势。\n",
        Optimizer="# Optimizer\n\n- 优化器：从 [[SGD]] 到 [[AdamW]] 的参数更新算法\n",
    )
    assert v.by_rule("cue.from_to") == [("LLM", "MLLM"), ("SGD", "AdamW")]


# --- cue.arrow --------------------------------------------------------------------------------------------


def test_heading_arrows_order_only_outlines() -> None:
    v = vault(
        ResMLP="# ResMLP\n\n## Ablation\n\nWe replace it.\n\n#### SA → MLP.\n\nText.\n\n- [[Char-level]] → [[BPE]]\n",
        SKILL="# PDF Ingest — Download → Convert → Cleanup\n\nSteps.\n",
        Roadmap="---\ntype: moc\n---\n# Roadmap\n\n## 第四章 微调训练（SFT → RL）\n\n- [[SFT]]\n- [[RL]]\n",
    )
    assert v.by_rule("cue.arrow") == [("Char-level", "BPE"), ("SFT", "RL")]


# --- structure.variants_heading ---------------------------------------------------------------------------


def test_variants_heading_skips_bold_labels() -> None:
    v = vault(
        getting_started=(
            "# Getting started\n\n## Step 7：Transformer 及其变体\n\n- **文档**: `intro_transformer.md`\n"
            "- **视觉版**: [[ViT]] — 图像切成 patch\n\n## Normalization variants\n\n- [[RMSNorm]] — cheaper\n"
        ),
    )
    assert v.by_rule("structure.variants_heading") == [("RMSNorm", "Normalization")]


def test_variants_heading_without_a_base_of_its_own_is_the_notes() -> None:
    v = vault(
        **{
            "Batch Normalization": (
                "# Batch Normalization\n\n## 关键变体\n\n- **LayerNorm**（[[layer_norm_2016]]）— 沿特征维度归一化\n"
                "- **GroupNorm** — 分组归一化\n"
            ),
            "Swin Transformer": (
                "# Swin Transformer\n\n## 3. Method\n\n### 3.3. Architecture Variants 架构变体\n\n"
                "* Swin-S: C = 96, layer numbers = {2, 2, 18, 2}\n* Swin-B: C = 128\n"
            ),
        }
    )
    assert v.by_rule("structure.variants_heading") == [
        ("GroupNorm", "Batch Normalization"),
        ("LayerNorm", "Batch Normalization"),
        ("Swin-B", "Swin Transformer"),
        ("Swin-S", "Swin Transformer"),
    ]


# --- structure.order --------------------------------------------------------------------------------------

GUIDE = """# 团队协作指南

## 1. 核心原则

- [[AGENTS.md]] 是最高契约
- [[角色分工]]

## 2. 环境与工具

### 2.1 Python 虚拟环境

- [[venv]]
- [[pip]]

### 2.2 Docker 标准化

- [[Dockerfile]]
- [[docker-compose]]

## 3. 代码规范

- [[ruff]]
- [[mypy]]
"""

TOC = """## 目录

- [1. 核心原则](#1-核心原则)
- [2. 环境与工具](#2-环境与工具)
- [3. 代码规范](#3-代码规范)
"""


def test_numbered_sections_without_a_table_of_contents_are_not_an_order() -> None:
    assert parse_note("Guide.md", GUIDE).outline  # an index page: its sections are outline entries
    guide = vault(Guide=GUIDE)
    assert not [r for r in guide.graph.relations if r.rule.startswith("structure.order")]
    book = vault(Book=GUIDE.replace("\n## 1.", "\n" + TOC + "\n## 1.", 1))
    assert book.find(NEXT, "核心原则", "环境与工具") and book.find(NEXT, "Python 虚拟环境", "Docker 标准化")
    assert [r.confidence for r in book.find(PRE, "核心原则", "环境与工具")] == [0.3]
