"""Concept identity: keys, kind suffixes, abbreviation pairs, boilerplate, splits, the vault index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.concepts import (
    IMPLEMENTATION,
    ConceptIndex,
    concept_key,
    is_boilerplate,
    link_target_name,
    names_in,
    split_kind,
)


def names(text: str) -> list[str]:
    return [c.name for c in names_in(text)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("veRL", "verl"),
        ("Flash Attention", "FlashAttention"),
        ("Flash-Attention", "flash_attention"),
        ("（GRPO）：", "(GRPO):"),
        ("ＧＲＰＯ", "GRPO"),
        ("Dr. GRPO", "Dr-GRPO"),
    ],
)
def test_keys_are_case_width_and_separator_insensitive(a: str, b: str) -> None:
    assert concept_key(a) == concept_key(b)


def test_keys_keep_what_distinguishes() -> None:
    assert concept_key("Qwen3.5") != concept_key("Qwen35")
    assert concept_key("GPT-2") != concept_key("GPT-3")
    assert concept_key("PPO") != concept_key("DPO")


@pytest.mark.parametrize(
    ("title", "base", "kind"),
    [
        ("GRPO-手撕实操", "GRPO", IMPLEMENTATION),
        ("GRPO-完整Notebook实现", "GRPO", IMPLEMENTATION),
        ("xtrain-lc3-ZeRO优化器从零手写", "xtrain-lc3-ZeRO优化器", IMPLEMENTATION),
        ("PPO 概述", "PPO", "overview"),
        ("量化综述", "量化", "overview"),
        ("MoE 深度解析", "MoE", "deep-dive"),
        ("SFT 原理", "SFT", "theory"),
        ("SFT-TRL实践", "SFT-TRL", "practice"),
        ("Transformer架构深度解析-2026技术全景", "Transformer架构", "overview"),
        ("LoRA Deep Dive", "LoRA", "deep-dive"),
        ("RLHF Guide", "RLHF", "guide"),
        ("强化学习路线图", "强化学习", "roadmap"),
        ("大模型学习笔记", "大模型", "notes"),
        ("强化学习 MOC", "强化学习", "moc"),
    ],
)
def test_kind_suffixes_name_the_note_kind_not_a_concept(title: str, base: str, kind: str) -> None:
    assert split_kind(title) == (base, kind)


@pytest.mark.parametrize("name", ["概述", "GRPO", "Footnotes", "Notebook", "文档解析"])
def test_names_that_are_not_suffixed_stay_whole(name: str) -> None:
    assert split_kind(name) == (name, None)


@pytest.mark.parametrize(
    ("text", "name", "aliases"),
    [
        ("5.3 群体相对策略优化（GRPO）", "GRPO", ("群体相对策略优化",)),
        ("PPO(Proximal Policy Optimization)", "PPO", ("Proximal Policy Optimization",)),
        ("Group Relative Policy Optimization (GRPO)", "GRPO", ("Group Relative Policy Optimization",)),
        ("RoPE（旋转位置编码）", "RoPE", ("旋转位置编码",)),
        ("4.1 监督微调（Supervised Fine-tuning, SFT）", "SFT", ("监督微调", "Supervised Fine-tuning")),
        ("第一章 基础概念（Foundations）", "基础概念", ("Foundations",)),
        ("4.1 监督微调 SFT", "SFT", ("监督微调",)),
        ("Engram（DeepSeek V4 架构）", "Engram", ()),
        ("Tensor Parallelism（Megatron-LM）", "Tensor Parallelism", ()),
    ],
)
def test_abbreviation_and_translation_pairs(text: str, name: str, aliases: tuple[str, ...]) -> None:
    found = names_in(text)
    assert len(found) == 1
    assert (found[0].name, found[0].aliases) == (name, aliases)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GQA / MQA", ["GQA", "MQA"]),
        ("PPO/GRPO", ["PPO", "GRPO"]),
        ("PPO / GRPO / DPO / DAPO / KTO / RLOO 及更多算法", ["PPO", "GRPO", "DPO", "DAPO", "KTO", "RLOO"]),
        ("5.5 DAPO与VAPO", ["DAPO", "VAPO"]),
        ("5.4 过程奖励模型（PRM）与蒙特卡洛树搜索（MCTS）", ["PRM", "MCTS"]),
        ("RLOO、Reinforce++ 等变体", ["RLOO", "Reinforce++"]),
        ("2.1 注意力机制及其变体", ["注意力机制"]),
        ("Flash Attention 及其性能优势", ["Flash Attention"]),
        ("幻觉问题与缓解", ["幻觉问题与缓解"]),
        ("1.1 什么是大语言模型？", ["大语言模型"]),
        ("7.1 我需要多少显存？", []),
        ("vLLM：KV Cache、PageAttention、Prefix Cache", ["vLLM", "KV Cache", "PageAttention", "Prefix Cache"]),
        ("**重要性度量**：奇异值大小反映参数重要性，剪枝小奇异值", ["重要性度量"]),
        ("🔥 [[x|y]] 这是一句很长很长的说明文字，不是一个概念的名字。", []),
        ("第四章 微调训练（SFT → RL）", ["微调训练"]),
        ("📂 01. 基础架构与核心原理 (Basic Architecture)", ["基础架构"]),
        ("长思维链（Long Chain-of-Thought, CoT）概念", ["CoT"]),
        ("MoE 基本原理", ["MoE"]),
        ("2022.8.22 BEiT_v3", ["BEiT_v3"]),
        ("调整输入大小，使短边在400和1400之间", []),
        ("🛠\ufe0f 关于笔记", []),
    ],
)
def test_splits_and_sentences(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_enumerated_members_belong_to_the_head() -> None:
    found = names_in("1.3 模型类型：Encoder-Only、Decoder-Only、Encoder-Decoder")
    assert [(c.name, c.member) for c in found] == [
        ("模型类型", False),
        ("Encoder-Only", True),
        ("Decoder-Only", True),
        ("Encoder-Decoder", True),
    ]


@pytest.mark.parametrize(
    "heading",
    [
        "目录",
        "## 📖 目录 (Table of Contents)",
        "1.5 参考文献与相关内容",
        "参考文献与相关内容",
        "附录",
        "导航",
        "相关 MOC",
        "Table of Contents",
        "References",
        "前言",
    ],
)
def test_boilerplate_headings_never_name_concepts(heading: str) -> None:
    assert is_boilerplate(heading.lstrip("# "))
    assert names_in(heading.lstrip("# ")) == []


def test_appendix_with_a_title_is_content() -> None:
    assert names("附录 A 训练基础设施（Infra）") == ["训练基础设施"]


def test_link_target_names() -> None:
    assert link_target_name("AI/LLM/RL/GRPO/GRPO-手撕实操") == "GRPO-手撕实操"
    assert link_target_name("AI/3-LLM/RL/目录") == "RL"
    assert link_target_name("./01_Basic_Architecture/") == "Basic_Architecture"


def test_index_joins_strong_pairs_and_keeps_note_names() -> None:
    index = ConceptIndex()
    index.add_note("GRPO", "RL/GRPO.md")
    index.pair("GRPO", "群体相对策略优化", strong=True)
    index.add("Group Relative Policy Optimization")
    index.pair("Group Relative Policy Optimization", "GRPO", strong=True)
    index.freeze()
    grpo = index.resolve("GRPO")
    assert grpo == "grpo"
    for spelling in ("grpo", "群体相对策略优化", "Group Relative Policy Optimization", "GRPO-手撕实操", "ＧＲＰＯ"):
        assert index.resolve(spelling) == grpo, spelling
    assert index.resolve("PPO") is None
    # every key spelled, whatever group it is in: the members of all groups
    assert index.spelling_keys() == {key for members in index.groups().values() for key in members}
    spelled = {"grpo", concept_key("群体相对策略优化"), concept_key("Group Relative Policy Optimization")}
    assert spelled <= index.spelling_keys()


def test_weak_alias_never_merges_two_named_concepts() -> None:
    index = ConceptIndex()
    index.add_note("Chat Templates", "a.md")
    index.add_note("Templates", "b.md")
    index.pair("Chat Templates", "Templates", strong=False)  # `[[Chat Templates|Templates]]`
    index.pair("Chat Templates", "CT", strong=False)
    index.freeze()
    assert index.resolve("Templates") == "templates"
    assert index.resolve("CT") == "chattemplates"


def test_alias_claimed_by_two_notes_is_ambiguous() -> None:
    index = ConceptIndex()
    index.add_note("Self-Attention", "a.md")
    index.add_note("Cross-Attention", "b.md")
    index.pair("Self-Attention", "Attention Layer", strong=True)
    index.pair("Cross-Attention", "Attention Layer", strong=True)
    index.freeze()
    assert index.resolve("Self-Attention") != index.resolve("Cross-Attention")


def test_ensure_adds_late_names() -> None:
    index = ConceptIndex()
    index.add("PPO")
    index.freeze()
    assert index.ensure("ppo") == "ppo"
    assert index.ensure("TRL") == "trl"
    assert index.resolve("trl") == "trl"


# A small alphabet of spellings, so that random indexes have groups, chains of pairs, spellings
# claimed by two notes' names and weak aliases that name something else.
_SPELLINGS = [
    "GRPO",
    "grpo",
    "PPO",
    "ppo",
    "RL",
    "Policy",
    "policy",
    "KL",
    "DPO",
    "群体",
    "策略",
    "A2C",
    "TRPO",
    "Actor",
]
_spelling = st.sampled_from(_SPELLINGS)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _spelling, st.booleans(), st.integers(0, 3)),
        st.tuples(st.just("note"), _spelling, st.sampled_from(["a.md", "b.md", "c.md"])),
        st.tuples(st.just("pair"), _spelling, _spelling, st.booleans()),
    ),
    max_size=30,
)


def _recorded(ops: list[tuple[object, ...]]) -> ConceptIndex:
    index = ConceptIndex()
    for op in ops:
        if op[0] == "add":
            index.add(str(op[1]), anchored=bool(op[2]), weight=int(op[3]))
        elif op[0] == "note":
            index.add_note(str(op[1]), str(op[2]))
        else:
            index.pair(str(op[1]), str(op[2]), strong=bool(op[3]))
    index.freeze()
    return index


@settings(max_examples=300, deadline=None)
@given(ops=_ops, uses=st.lists(st.tuples(st.sampled_from(range(len(_SPELLINGS))), st.integers(1, 4)), max_size=4))
def test_more_uses_of_known_spellings_decide_as_freezing_it_all_again(
    ops: list[tuple[object, ...]], uses: list[tuple[int, int]]
) -> None:
    """`refrozen` decides again only the components of the pairs holding a changed key: the groups
    are those that recording it all anew, the adds last, and freezing the whole index decide."""
    index = _recorded(ops)
    known = [s for s in _SPELLINGS if index.has_spelling(s)]
    if not known:
        return
    added = [(known[i % len(known)], False, weight) for i, weight in uses]
    adds: list[tuple[object, ...]] = [("add", name, anchored, weight) for name, anchored, weight in added]
    expected = _recorded(ops + adds)
    before = dict(index._parent)
    refrozen = index.refrozen(added)
    assert refrozen._parent == expected._parent
    assert refrozen._spellings == expected._spellings and refrozen.groups() == expected.groups()
    assert index._parent == before  # the kept index is as it was
    # and again from the refrozen one, whose components came with the copy
    again = refrozen.refrozen(added)
    assert again._parent == _recorded(ops + adds + adds)._parent


def test_refrozen_takes_only_spellings_the_index_has() -> None:
    index = _recorded([("add", "GRPO", True, 1)])
    with pytest.raises(ValueError, match="'PPO' is not a spelling"):
        index.refrozen([("PPO", False, 1)])
