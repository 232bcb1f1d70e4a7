"""THE table of relation rules: what each rule asserts, how sure it is, and an example (SPEC §4).

Read this file to review what the ingest believes and why; `ingest.relations` implements the rules
named here and stamps every `Relation` with the rule's name and confidence. A user extends the
table without code through a TOML file (`kg-relations.toml` at the vault root, or the path in
`KG_RELATIONS_CONFIG`):

    [keys]                                    # front matter / Dataview / typed-list keys
    "depends-on" = "PREREQUISITE_OF"          # the listed concepts come before this note's concept
    "enables"    = { type = "PREREQUISITE_OF", direction = "note-to-value" }
    "fork-of"    = "VARIANT_OF"

    [confidence]                              # override a rule's confidence (0..1); 0 turns it off
    "structure.order" = 0.2
    "statistics.refd" = 0

    [refd]
    threshold = 0.3                           # RefD score needed for a weak prerequisite
    min_links = 4                             # each concept's notes link to this many concepts

Keys are compared case-, space-, `-` and `_`-insensitively (`Depends On` = `depends_on` =
`depends-on`), so the Dataview spelling (`depends-on`) and the front matter one agree.

Direction: for a key with direction "value-to-note" (the default for PREREQUISITE_OF and for
`implementation`-style keys) the concepts in the value are the relation's source and the note's
concept its target: `prerequisites: [[PPO]]` in the GRPO note gives `(PPO)-[:PREREQUISITE_OF]->(GRPO)`.
With "note-to-value" (default for the other types) the note's concept is the source:
`implements: [[GRPO]]` in the TRL note gives `(TRL)-[:IMPLEMENTS]->(GRPO)`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from kg.model import RelationType

CONFIG_FILE_NAME = "kg-relations.toml"


class Family(StrEnum):
    """Evidence families, strongest first (SPEC §4)."""

    EXPLICIT = "explicit"
    CUE = "cue"
    STRUCTURE = "structure"
    STATISTICS = "statistics"


class Direction(StrEnum):
    VALUE_TO_NOTE = "value-to-note"  # (value)-[:TYPE]->(note's concept)
    NOTE_TO_VALUE = "note-to-value"  # (note's concept)-[:TYPE]->(value)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule: its name (stored on every relation it makes), what it asserts and how sure it is."""

    name: str
    family: Family
    relation: RelationType | None  # None: the type comes from the key table (explicit rules, labels)
    confidence: float
    description: str
    example: str


# How every cue reads a line (ingest.relations): the subject is the clause's own name (`EasyR1 是…`,
# `veRL supports…`), a pronoun (`两者` → the note's concepts, `we`/`本文` → the note's, `它`/`这个库` → the
# section's), the sentence's `X 是 …` for a subject-less clause, else the section heading's concept in a
# short line; a clause whose subject is anything else gives no relation. Lines longer than 150 chars
# (running prose, e.g. a translated paper) only take links or concepts that have their own note.
# fmt: off
RULE_TABLE: tuple[RuleSpec, ...] = (
    # --- 1. explicit: the user typed the relation ----------------------------------------------
    RuleSpec("explicit.front_matter", Family.EXPLICIT, None, 1.0,
             "A front matter key from the key table; values are links (`\"[[X]]\"`) or plain names.",
             'prerequisites: ["[[PPO]]", "[[RLHF]]"]  ·  implements: "[[GRPO]]"  ·  up: "[[RL MOC]]"'),
    RuleSpec("explicit.dataview", Family.EXPLICIT, None, 1.0,
             "A Dataview inline field whose key is in the key table: `key:: value`, `[key:: v]`, `(key:: v)`.",
             "prerequisite:: [[Advantage Function]]"),
    RuleSpec("explicit.typed_list", Family.EXPLICIT, None, 1.0,
             "A list item that starts with a key from the key table, then links (Juggl / semantic markdown).",
             "- prerequisite [[PPO]], [[TRPO|trust region]]  ·  - depends-on [[X]]"),
    # --- 2. cue phrases: prose a careful reader understands -------------------------------------
    RuleSpec("cue.label", Family.CUE, None, 0.9,
             "A line that starts with a label from the key table and a colon, then concepts; the type "
             "and direction come from the key table (前置知识 → prerequisite, 实现 → implemented by, …).",
             "> 前置知识：[[Transformer]]、[[Tokenization]]  ·  ← 前置：[[X]]  ·  Prerequisites: [[A]], [[B]]"),
    RuleSpec("cue.builds_on", Family.CUE, RelationType.PREREQUISITE_OF, 0.8,
             "`S builds on X`, `S 建立在 X 之上`, `以 X 为基础`, `X 是/成为 S 的基础`, `需要先了解 X`: X before S. "
             "`Building on X, S …` takes its subject after the comma.",
             "RoPE builds on [[Positional Encoding]] and [[Linear Algebra]]"),
    RuleSpec("cue.from_to", Family.CUE, RelationType.PREREQUISITE_OF, 0.6,
             "`从 A、B 到 C`, `from A to C`: each A before each C (both must name concepts); not a flow or a "
             "gain (`从 FFN 到 LN 的输入`, `…的更大增益`) nor a range (`从 CNN 到 Transformer 均…`).",
             "从RLHF、PPO到GRPO  ·  from [[MDP]] to [[PPO]]"),
    # antiai: 0 of 4 right before (`#### SA → MLP.` in a paper, `# PDF Ingest — Download → Convert`)
    RuleSpec("cue.arrow", Family.CUE, RelationType.PREREQUISITE_OF, 0.5,
             "`A → B` (also `->`, `⇒`) between two concept names in a heading of an outline note (MOC, roadmap, "
             "TOC) or a list item's name part; an arrow to a MOC, a heading link or `另见` is navigation, not "
             "order, and in a paper's or a how-to's heading it is a replacement or a pipeline step.",
             "## 第四章 微调训练（SFT → RL）  ·  - [[Advantage Function]] → [[GAE]]"),
    RuleSpec("cue.in_order", Family.CUE, RelationType.PREREQUISITE_OF, 0.6,
             "`按顺序：A、B、C`, `依次`, `in order: A, B, C`: each listed concept before the next.",
             "按顺序：[[MDP]]、[[价值函数]]、[[Policy Gradient]]"),
    # antiai: 3 right, 7 wrong, 2 unsure of 12 before (YOLOX supports ONNX, COCO supports instance segmentation)
    RuleSpec("cue.supports", Family.CUE, RelationType.IMPLEMENTS, 0.7,
             "`S 支持 X`, `S supports X` (S: the clause subject, else the section's or note's concept; a table "
             "row's cue has no section subject). Not a platform (`支持 ONNX、TensorRT`, PyTorch, CUDA), a "
             "task (`支持实例分割`, `长度外推`) or a name that only qualifies the object "
             "(`supports zero-shot data editing`).",
             "### TRL … 支持GRPO  ·  veRL supports PPO and GRPO"),
    # antiai: 0 of 2 right before (`实现了SSD中使用的OHEM`, `implemented in PyTorch`)
    RuleSpec("cue.implements", Family.CUE, RelationType.IMPLEMENTS, 0.7,
             "`S 实现了 X`, `S implements X`, `S is an implementation of X`; `X 的开源实现在 T 中`, "
             "`implemented in T`: T implements the subject. Not `实现了 X 中使用的 Y` (X only qualifies), not "
             "a platform (`implemented in PyTorch`).",
             "开源实现在 [[veRL]] 中  ·  nanoGPT is a minimal implementation of GPT"),
    RuleSpec("cue.based_on", Family.CUE, RelationType.VARIANT_OF, 0.7,
             "`S 基于 X`, `S is based on X`, `a fork of X`, `extends X` with ONE base: S is a variant of X "
             "(based-on is stored as VARIANT_OF). `基于 X` must be followed by the clause's end, `的`, a kind or "
             "a verb of building (`基于 LLM 自动生成` uses X). Without a subject in the clause the line must "
             "define one: `基于 X 的<框架/模型/库…>` standing alone, not a sentence's subject "
             "(`基于MAML的模型被证明…`).",
             "EasyR1 是基于火山引擎 veRL 框架开发的  ·  Vicuna is a fork of LLaMA"),
    RuleSpec("cue.built_with", Family.CUE, RelationType.RELATED_TO, 0.4,
             "`基于 A + B + C 的框架`: built from several components — related, not a variant of each.",
             "基于 Ray + vLLM + DeepSpeed 的分布式 RLHF 框架"),
    RuleSpec("cue.variant_of", Family.CUE, RelationType.VARIANT_OF, 0.8,
             "`S 是 X 的变体`, `S is a variant of X`, `两者都是 X 的变体` (both: the note's concepts).",
             "DAPO 是 [[GRPO]] 的变体  ·  IPO is a variant of DPO"),
    RuleSpec("cue.variants_list", Family.CUE, RelationType.VARIANT_OF, 0.7,
             "`X 的变体：A、B`, `variants of X: A, B`, `A、B 等变体` / `A and other variants` (of the "
             "section's concept): each listed concept is a variant of X.",
             "Common variants of DPO: IPO, KTO, SimPO  ·  RLOO、Reinforce++ 等变体"),
    RuleSpec("cue.better_than", Family.CUE, RelationType.VARIANT_OF, 0.6,
             "`比 X 更…的 Y`, `Y improves on X`, `an improved X`: Y is a variant of X.",
             "支持比GRPO更稳定的REINFORCE++  ·  SimPO improves on DPO"),
    # --- 3. structure: what the layout of an outline says -------------------------------------
    RuleSpec("structure.order", Family.STRUCTURE, RelationType.NEXT, 0.5,
             "In a roadmap or a numbered table of contents, each section (or numbered-list item) is "
             "followed by its next sibling. Appendices are not ordered. Numbered headings need a table of "
             "contents (heading links, or a toc/moc type): a guide or a spec numbers its sections too.",
             "## 第一章 … ## 第二章 …  ·  5.1 RLHF / 5.2 … / 5.3 GRPO"),
    RuleSpec("structure.order_prerequisite", Family.STRUCTURE, RelationType.PREREQUISITE_OF, 0.3,
             "The same order as a weak prerequisite: each of the (up to 3) preceding siblings comes before "
             "a section; confidence falls with the distance (0.3, 0.25, 0.2).",
             "5.1 RLHF … 5.3 GRPO → (RLHF)-[:PREREQUISITE_OF {0.25}]->(GRPO)"),
    RuleSpec("structure.variants_heading", Family.STRUCTURE, RelationType.VARIANT_OF, 0.6,
             "Items under a heading `X 及其变体` / `X 变体` / `Variants of X` are variants of X (`## 关键变体`, "
             "`Architecture Variants`: of the section's or note's concept); bold-label items (`- **文档**: …`) "
             "are not.",
             "### 2.1 注意力机制及其变体 / - Multi-Query Attention (MQA)"),
    RuleSpec("structure.name_extension", Family.STRUCTURE, RelationType.VARIANT_OF, 0.5,
             "A concept whose name is another concept's name plus a short modifier (not a note-kind "
             "suffix, not a second concept) is a variant of it.",
             "Dr-GRPO, GRPO-Zero, DEEP-GRPO → GRPO;  GQA-MQA and GRPO-手撕实操 are not"),
    RuleSpec("structure.tool_table", Family.STRUCTURE, RelationType.IMPLEMENTS, 0.5,
             "A table whose first column is headed like a tool (框架/引擎/工具/库/Framework/Engine/Tool/"
             "Library): the row's tool implements the concepts named in its other cells.",
             "| 引擎 | 说明 |  ·  | [[vLLM]] | PagedAttention 高性能推理 |"),
    # --- 4. link statistics --------------------------------------------------------------------
    RuleSpec("statistics.refd", Family.STATISTICS, RelationType.PREREQUISITE_OF, 0.2,
             "Reference distance (Liang et al., EMNLP 2015) over the note link graph: A before B when "
             "notes about B link to A much more than notes about A link to B (score ≥ the threshold); "
             "only for pairs no other rule orders.",
             "RefD(chatGPT, GPT-3) = 0.33 ≥ 0.3 → (GPT-3)-[:PREREQUISITE_OF {0.2}]->(chatGPT)"),
)
# fmt: on

RULES_BY_NAME: dict[str, RuleSpec] = {rule.name: rule for rule in RULE_TABLE}


@dataclass(frozen=True, slots=True)
class KeyRelation:
    """What a key (front matter, Dataview, typed list item, body label) asserts."""

    type: RelationType
    direction: Direction


_PRE = KeyRelation(RelationType.PREREQUISITE_OF, Direction.VALUE_TO_NOTE)
_PRE_OF = KeyRelation(RelationType.PREREQUISITE_OF, Direction.NOTE_TO_VALUE)
_IMPLEMENTS = KeyRelation(RelationType.IMPLEMENTS, Direction.NOTE_TO_VALUE)
_IMPLEMENTED_BY = KeyRelation(RelationType.IMPLEMENTS, Direction.VALUE_TO_NOTE)
_VARIANT_OF = KeyRelation(RelationType.VARIANT_OF, Direction.NOTE_TO_VALUE)
_VARIANTS = KeyRelation(RelationType.VARIANT_OF, Direction.VALUE_TO_NOTE)
_UP = KeyRelation(RelationType.PART_OF, Direction.NOTE_TO_VALUE)
_DOWN = KeyRelation(RelationType.PART_OF, Direction.VALUE_TO_NOTE)
_NEXT = KeyRelation(RelationType.NEXT, Direction.NOTE_TO_VALUE)
_PREV = KeyRelation(RelationType.NEXT, Direction.VALUE_TO_NOTE)
_RELATED = KeyRelation(RelationType.RELATED_TO, Direction.NOTE_TO_VALUE)

# Keys in their normalised form (see `normalise_key`). Breadcrumbs' implied inverses need no entry of
# their own: `up: [[B]]` in A and `down: [[A]]` in B both store (A)-[:PART_OF]->(B).
DEFAULT_KEYS: dict[str, KeyRelation] = {
    **dict.fromkeys(
        (
            "prerequisite", "prerequisites", "prereq", "prereqs", "requires", "require", "required",
            "requirements", "depends_on", "depends", "dependencies", "dependency", "needs", "builds_on",
            "前置", "前置知识", "前置概念", "先修", "先修知识", "预备知识", "知识预备", "依赖", "前提",
            "基础知识",
        ),
        _PRE,
    ),
    **dict.fromkeys(("prerequisite_of", "required_by", "enables", "unlocks", "后续", "后续知识"), _PRE_OF),
    **dict.fromkeys(("implements", "implementation_of", "implements_algorithm", "implements_concept"), _IMPLEMENTS),
    **dict.fromkeys(
        ("implementation", "implementations", "implemented_by", "实现", "开源实现", "代码实现", "框架实现"),
        _IMPLEMENTED_BY,
    ),
    **dict.fromkeys(
        ("variant_of", "based_on", "extends", "derived_from", "fork_of", "基于", "变体自"), _VARIANT_OF
    ),
    **dict.fromkeys(("variants", "变体", "改进", "forks"), _VARIANTS),
    **dict.fromkeys(("up", "parent", "parents", "part_of", "belongs_to", "north", "上级", "所属"), _UP),
    **dict.fromkeys(("down", "child", "children", "has_part", "south", "下级", "子主题"), _DOWN),
    **dict.fromkeys(("next", "下一篇", "下一步", "后一篇"), _NEXT),
    **dict.fromkeys(("prev", "previous", "上一篇", "前一篇"), _PREV),
    **dict.fromkeys(
        ("related", "related_to", "related_nodes", "related_notes", "related_concepts", "related_topics", "same",
         "see_also", "friend", "friends", "jump", "相关", "另见"), _RELATED
    ),
}  # fmt: skip

# Keys that are not relations even though they hold links (kept out of a user's mapping by mistake).
RESERVED_KEYS = frozenset({"tags", "tag", "aliases", "alias", "title", "cssclasses", "cssclass"})

_KEY_SEPARATORS = re.compile(r"[\s\-_]+")


@lru_cache(maxsize=8192)  # the same front matter keys and labels in every note
def normalise_key(key: str) -> str:
    """`Depends On` → `depends_on`; `variant-of` → `variant_of`; `前置知识` stays."""
    return _KEY_SEPARATORS.sub("_", key.strip().casefold()).strip("_")


@dataclass(frozen=True, slots=True)
class RefdSettings:
    # Checked by eye on ../shared/corpora/antiai (828 notes): θ=0.1 / 2 links gave 75 edges, fewer than half
    # right (GPT-3 before GPT-1, CNN before Activation); θ=0.3 / 4 links gives a handful, mostly right.
    threshold: float = 0.3  # a concept pair needs |RefD| at least this to give an edge
    min_links: int = 4  # each concept's notes must link to at least this many concepts that have notes


@dataclass(frozen=True, slots=True)
class RelationsConfig:
    """The key table and rule confidences in force for one ingest (defaults + a user's file)."""

    keys: Mapping[str, KeyRelation] = field(default_factory=lambda: dict(DEFAULT_KEYS))
    confidence: Mapping[str, float] = field(default_factory=dict)  # rule name -> override
    refd: RefdSettings = field(default_factory=RefdSettings)
    source: str | None = None  # the file it came from, for messages

    def key(self, name: str) -> KeyRelation | None:
        return self.keys.get(normalise_key(name))

    def confidence_of(self, rule: str) -> float:
        if rule in self.confidence:
            return self.confidence[rule]
        return RULES_BY_NAME[rule].confidence

    def enabled(self, rule: str) -> bool:
        return self.confidence_of(rule) > 0.0


DEFAULT_CONFIG = RelationsConfig()

_DEFAULT_DIRECTION = {
    RelationType.PREREQUISITE_OF: Direction.VALUE_TO_NOTE,
}


def _bad(source: str, where: str, reason: str) -> ValueError:
    return ValueError(f"{source}: {where}: {reason}")


def _relation_type(source: str, key: str, value: object) -> RelationType:
    if not isinstance(value, str):
        raise _bad(source, f"[keys] {key!r}", f"type must be a string, got {type(value).__name__}")
    try:
        return RelationType(value.strip().upper())
    except ValueError:
        allowed = ", ".join(t.value for t in RelationType)
        raise _bad(source, f"[keys] {key!r}", f"unknown relation type {value!r} (one of {allowed})") from None


def _key_relation(source: str, key: str, value: object) -> KeyRelation:
    if isinstance(value, str):
        kind = _relation_type(source, key, value)
        return KeyRelation(kind, _DEFAULT_DIRECTION.get(kind, Direction.NOTE_TO_VALUE))
    if isinstance(value, dict):
        unknown = set(value) - {"type", "direction"}
        if unknown:
            raise _bad(source, f"[keys] {key!r}", f"unknown field(s) {', '.join(sorted(unknown))} (type, direction)")
        if "type" not in value:
            raise _bad(source, f"[keys] {key!r}", "missing 'type'")
        kind = _relation_type(source, key, value["type"])
        raw_direction = value.get("direction", _DEFAULT_DIRECTION.get(kind, Direction.NOTE_TO_VALUE).value)
        try:
            direction = Direction(str(raw_direction).strip().casefold())
        except ValueError:
            allowed = ", ".join(d.value for d in Direction)
            raise _bad(source, f"[keys] {key!r}", f"unknown direction {raw_direction!r} (one of {allowed})") from None
        return KeyRelation(kind, direction)
    raise _bad(source, f"[keys] {key!r}", f"expected a relation type or a table, got {type(value).__name__}")


def parse_relations_config(text: str, source: str = "<relations config>") -> RelationsConfig:
    """Parse a TOML relations config (pure). Bad config → `ValueError` naming `source` and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML: {exc}") from None
    unknown_sections = set(data) - {"keys", "confidence", "refd"}
    if unknown_sections:
        raise _bad(source, "top level", f"unknown section(s) {', '.join(sorted(unknown_sections))} "
                   "(keys, confidence, refd)")  # fmt: skip
    keys: dict[str, KeyRelation] = dict(DEFAULT_KEYS)
    raw_keys = data.get("keys", {})
    if not isinstance(raw_keys, dict):
        raise _bad(source, "[keys]", "must be a table")
    for key, value in raw_keys.items():
        normal = normalise_key(key)
        if not normal:
            raise _bad(source, f"[keys] {key!r}", "empty key")
        if normal in RESERVED_KEYS:
            raise _bad(source, f"[keys] {key!r}", "is reserved (tags, aliases, title …) and cannot be a relation")
        keys[normal] = _key_relation(source, key, value)
    confidence: dict[str, float] = {}
    raw_confidence = data.get("confidence", {})
    if not isinstance(raw_confidence, dict):
        raise _bad(source, "[confidence]", "must be a table")
    for rule, value in raw_confidence.items():
        if rule not in RULES_BY_NAME:
            raise _bad(source, f"[confidence] {rule!r}", f"unknown rule (one of {', '.join(RULES_BY_NAME)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
            raise _bad(source, f"[confidence] {rule!r}", f"must be a number in [0, 1], got {value!r}")
        confidence[rule] = float(value)
    refd = RefdSettings()
    raw_refd = data.get("refd", {})
    if not isinstance(raw_refd, dict):
        raise _bad(source, "[refd]", "must be a table")
    for name, value in raw_refd.items():
        if name == "threshold":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
                raise _bad(source, "[refd] 'threshold'", f"must be a number in (0, 1], got {value!r}")
            refd = replace(refd, threshold=float(value))
        elif name == "min_links":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _bad(source, "[refd] 'min_links'", f"must be a whole number ≥ 1, got {value!r}")
            refd = replace(refd, min_links=value)
        else:
            raise _bad(source, f"[refd] {name!r}", "unknown setting (threshold, min_links)")
    return RelationsConfig(keys=keys, confidence=confidence, refd=refd, source=source)


def load_relations_config(path: Path) -> RelationsConfig:
    """Read and parse a TOML relations config; unreadable or bad → `ValueError` naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read relations config: {exc}") from None
    return parse_relations_config(text, str(path))


def find_relations_config(vault_root: Path, explicit: Path | None = None) -> RelationsConfig:
    """The config for a vault: `explicit` (must exist), else `<vault>/kg-relations.toml`, else defaults."""
    if explicit is not None:
        return load_relations_config(explicit)
    candidate = Path(vault_root) / CONFIG_FILE_NAME
    if candidate.is_file():
        return load_relations_config(candidate)
    return DEFAULT_CONFIG


def rule_table_markdown() -> str:
    """The rule table as markdown (for docs and `kg` help)."""
    lines = ["| rule | family | relation | confidence | what | example |", "|---|---|---|---|---|---|"]
    for rule in RULE_TABLE:
        relation = rule.relation.value if rule.relation else "from the key"
        description, example = (text.replace("|", "\\|") for text in (rule.description, rule.example))
        lines.append(
            f"| `{rule.name}` | {rule.family.value} | {relation} | {rule.confidence:g} | {description} | {example} |"
        )
    return "\n".join(lines)


__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_CONFIG",
    "DEFAULT_KEYS",
    "RULES_BY_NAME",
    "RULE_TABLE",
    "Direction",
    "Family",
    "KeyRelation",
    "RefdSettings",
    "RelationsConfig",
    "RuleSpec",
    "find_relations_config",
    "load_relations_config",
    "normalise_key",
    "parse_relations_config",
    "rule_table_markdown",
]
