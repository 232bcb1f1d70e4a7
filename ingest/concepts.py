"""Concept identity (SPEC §3): normalised keys, names cleaned out of headings/items/titles, aliases.

Pure functions over strings plus `ConceptIndex`, which gathers every spelling seen in a vault and
decides which spellings are one concept:

- a key is case-, width- and separator-insensitive (`veRL` = `verl`, `Flash Attention` =
  `FlashAttention`, `（）：` = `():`);
- a note-kind suffix (`-手撕实操`, `概述`, `Deep Dive`, …) names the kind of note, not a concept;
- `全称（缩写）`, `Full Name (ABBR)`, `ABBR(Full Name)`, `中文全称 ABBR` pair two spellings;
- front matter `aliases` and these pairs are *strong* (they may join two spellings already seen);
  link aliases and titles are *weak* (they only name a spelling nobody else claims).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ingest import patterns as P
from kg.model import pickled_by_fields

# --- note kinds ------------------------------------------------------------------------------------

IMPLEMENTATION = "implementation"

# Suffix → kind. Longer suffixes are tried first; matching is case-insensitive.
KIND_SUFFIXES: dict[str, str] = {
    # implementation-type: the note implements the concept
    "手撕实操": IMPLEMENTATION,
    "手撕": IMPLEMENTATION,
    "完整Notebook实现": IMPLEMENTATION,
    "Notebook实现": IMPLEMENTATION,
    "完整Pytorch实现": IMPLEMENTATION,
    "Pytorch实现": IMPLEMENTATION,
    "完整实现": IMPLEMENTATION,
    "完整系统实操": IMPLEMENTATION,
    "从零手写": IMPLEMENTATION,
    "从零实现": IMPLEMENTATION,
    "代码实现": IMPLEMENTATION,
    "代码注解": IMPLEMENTATION,
    "源码解析": IMPLEMENTATION,
    "实操": IMPLEMENTATION,
    "实现": IMPLEMENTATION,
    "Notebook": IMPLEMENTATION,
    "Implementation": IMPLEMENTATION,
    "From Scratch": IMPLEMENTATION,
    "Code": IMPLEMENTATION,
    # overviews and surveys
    "概述": "overview",
    "综述": "overview",
    "总览": "overview",
    "概览": "overview",
    "技术全景": "overview",
    "全景": "overview",
    "简介": "overview",
    "介绍": "overview",
    "Overview": "overview",
    "Survey": "overview",
    "Introduction": "overview",
    "Intro": "overview",
    "Summary": "overview",
    # deep dives
    "深度解析": "deep-dive",
    "深度理解": "deep-dive",
    "详解": "deep-dive",
    "Deep Dive": "deep-dive",
    "Explained": "deep-dive",
    # theory / basics
    "原理与架构": "theory",
    "基本原理": "theory",
    "核心原理": "theory",
    "工作原理": "theory",
    "实现原理": "theory",
    "底层原理": "theory",
    "原理": "theory",
    "基础知识": "basics",
    "基础": "basics",
    "Basics": "basics",
    "Fundamentals": "basics",
    # practice
    "工程实践": "practice",
    "实践": "practice",
    "实战指南": "practice",
    "实战": "practice",
    "In Practice": "practice",
    "Practice": "practice",
    "Hands-on": "practice",
    # guides and notes
    "指南": "guide",
    "入门": "guide",
    "教程": "guide",
    "手册": "guide",
    "Guide": "guide",
    "Tutorial": "guide",
    "Handbook": "guide",
    "Cheatsheet": "guide",
    "Cheat Sheet": "guide",
    "Primer": "guide",
    "学习笔记": "notes",
    "笔记": "notes",
    "总结": "notes",
    "Notes": "notes",
    # navigation
    "学习路线图": "roadmap",
    "路线图": "roadmap",
    "学习路线": "roadmap",
    "Roadmap": "roadmap",
    "MOC": "moc",
    "索引": "moc",
    "目录": "moc",
    "导航": "moc",
    "系列": "series",
    "综合分析": "analysis",
    "趋势分析": "analysis",
    "论文": "paper",
    "Paper": "paper",
}
_SUFFIXES_BY_LENGTH: tuple[tuple[str, str], ...] = tuple(
    sorted(((s.casefold(), k) for s, k in KIND_SUFFIXES.items()), key=lambda sk: -len(sk[0]))
)
# Suffixes grouped by their last character, so a name is compared only with suffixes it could end with.
_SUFFIXES_BY_LAST_CHAR: dict[str, tuple[tuple[str, str], ...]] = {}
for _suffix, _kind in _SUFFIXES_BY_LENGTH:
    _SUFFIXES_BY_LAST_CHAR[_suffix[-1]] = (*_SUFFIXES_BY_LAST_CHAR.get(_suffix[-1], ()), (_suffix, _kind))
# A name made only of CJK ideographs that does not end with one of these is its own concept key and
# has no kind suffix to split off (concept_key and split_kind leave it as it is): a fast path for
# the many CJK substrings relation rules try as names.
KIND_SUFFIX_LAST_CHARS: frozenset[str] = frozenset(_SUFFIXES_BY_LAST_CHAR)
_NAME_EDGE = " \t-_:：·—–/|｜,，、.。"
# `强化学习` + `笔记`, not `强化` + `学习笔记`: suffixes starting with 学习 keep it after these.
_LEARNING_COMPOUNDS: tuple[str, ...] = (
    "强化",
    "机器",
    "深度",
    "迁移",
    "对比",
    "联邦",
    "元",
    "监督",
    "表示",
    "度量",
    "集成",
    "主动",
    "终身",
    "持续",
    "多任务",
    "上下文",
    "模仿",
    "课程",
    "在线",
    "增量",
    "零样本",
    "少样本",
    "小样本",
    "自主",
    "统计",
)

# Section headings that never name a concept (keys, i.e. already normalised).
BOILERPLATE_NAMES: tuple[str, ...] = (
    "目录",
    "前言",
    "序言",
    "引言",
    "导言",
    "参考文献与相关内容",
    "参考文献",
    "参考资料",
    "参考链接",
    "参考",
    "相关内容",
    "相关链接",
    "相关笔记",
    "相关阅读",
    "延伸阅读",
    "扩展阅读",
    "附录",
    "导航",
    "相关MOC",
    "相关",
    "致谢",
    "致谢与贡献指南",
    "贡献指南",
    "贡献者",
    "术语表",
    "更新日志",
    "变更记录",
    "待办",
    "小结",
    "本章小结",
    "总结",
    "来源",
    "出处",
    "备注",
    "说明",
    "阅读建议",
    "阅读建议与知识预备",
    "文档架构说明",
    "关于笔记",
    "后续计划",
    "学习素材",
    "上级",
    "下级",
    "前置",
    "后续",
    "概要",
    "摘要",
    "定义",
    "关键要点",
    "要点",
    "核心要点",
    "背景",
    "动机",
    "问题",
    "方法",
    "实验",
    "结果",
    "结论",
    "讨论",
    "局限",
    "局限性",
    "优点",
    "缺点",
    "优缺点",
    "示例",
    "例子",
    "代码",
    "用法",
    "安装",
    "常见问题",
    "面试题",
    "思考",
    "待补充",
    "TODO",
    "回到开头",
    "返回顶部",
    "返回目录",
    "关于",
    "关于本文",
    "关于笔记",
    "About",
    "推荐资源",
    "学习资源",
    "资源",
    "资料",
    "链接",
    "Back to top",
    "Top",
    "Table of Contents",
    "TOC",
    "Contents",
    "References",
    "Reference",
    "Bibliography",
    "Sources",
    "Source",
    "Appendix",
    "See Also",
    "Related",
    "Related Notes",
    "Related Links",
    "Further Reading",
    "Navigation",
    "Index",
    "README",
    "MOC",
    "Preface",
    "Foreword",
    "Acknowledgements",
    "Acknowledgments",
    "Glossary",
    "Changelog",
    "Change Log",
    "License",
    "Contributing",
    "Contributors",
    "FAQ",
    "Notes",
    "Note",
    "Summary",
    "Abstract",
    "Introduction",
    "Background",
    "Motivation",
    "Method",
    "Methods",
    "Experiments",
    "Results",
    "Conclusion",
    "Conclusions",
    "Discussion",
    "Limitations",
    "Examples",
    "Example",
    "Usage",
    "Installation",
    "Setup",
    "Key Points",
    "Definition",
    "Overview",
    "Links",
    "Resources",
    "TL;DR",
    "Outline",
    "Home",
)
# Notes with these stems are tables of contents: their concept comes from the title or folder.
OUTLINE_STEMS: tuple[str, ...] = (
    "目录",
    "索引",
    "导航",
    "index",
    "_index",
    "readme",
    "summary",
    "moc",
    "_moc",
    "toc",
    "home",
    "contents",
)
OUTLINE_TYPES: frozenset[str] = frozenset(
    {"moc", "toc", "index", "roadmap", "outline", "map", "hub", "navigation", "nav", "contents", "syllabus"}
)


@lru_cache(maxsize=65536)
def concept_key(name: str) -> str:
    """The identity of a spelling: NFKC (width), casefold, no separators/decorations."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = P.DECORATION.sub("", text)
    text = P.KEY_SEPARATORS.sub("", text)
    return text.strip(" .,;:!?。，；：！？、'\"")


_BOILERPLATE_KEYS: frozenset[str] = frozenset(concept_key(n) for n in BOILERPLATE_NAMES)
_OUTLINE_STEM_KEYS: frozenset[str] = frozenset(concept_key(n) for n in OUTLINE_STEMS)


@lru_cache(maxsize=65536)
def is_boilerplate(name: str) -> bool:
    """`目录`, `参考文献与相关内容`, `📖 目录 (Table of Contents)`, `1.5 References`, `附录` …"""
    cleaned = strip_decorations(name)
    key = concept_key(cleaned)
    if not key or key in _BOILERPLATE_KEYS:
        return True
    match = P.TRAILING_PAREN.match(cleaned)
    return bool(match and concept_key(match.group(1)) in _BOILERPLATE_KEYS)


def is_outline_stem(stem: str, *, exact: bool = False) -> bool:
    """`目录`, `README`, `index`, `_MOC` — or, unless `exact`, a name ending in MOC/目录/索引."""
    key = concept_key(stem)
    if key in _OUTLINE_STEM_KEYS:
        return True
    return not exact and key.endswith(("moc", "目录", "索引", "导航"))


def is_id_like(stem: str) -> bool:
    """File names that are ids, not names: hashes, `001_5509ce86…`, dates, arXiv numbers."""
    return bool(P.ID_LIKE_STEM.match(stem.strip()))


def strip_order_prefix(name: str) -> str:
    """`00-LLM 学习路线图` → `LLM 学习路线图`, `01_Basic_Architecture` → `Basic_Architecture`."""
    stripped = P.ORDER_PREFIX.sub("", name, count=1)
    return stripped if stripped and not stripped[0].isdigit() else name


# --- cleaning -------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def strip_decorations(text: str) -> str:
    """Remove emoji, star ratings, emphasis markers, leading section numbers; trim punctuation."""
    text = P.RATING.sub("", text)
    text = P.DECORATION.sub("", text)
    if "*" in text or "_" in text or "~" in text or "=" in text or "<" in text:
        text = P.MARKDOWN_EMPHASIS.sub("", text)
    text = text.replace("`", "").strip()
    text = P.SECTION_NUMBER.sub("", text, count=1).strip()
    text = P.LEADING_PUNCT.sub("", text)
    text = P.TRAILING_PUNCT.sub("", text)
    return text.strip()


@lru_cache(maxsize=65536)
def split_kind(name: str) -> tuple[str, str | None]:
    """`GRPO-手撕实操` → (`GRPO`, "implementation"); `Transformer架构深度解析-2026技术全景` →
    (`Transformer架构`, "overview"); a name that is only a suffix (`概述`) is kept whole."""
    base = name.strip()
    kinds: list[str] = []
    changed = True
    while changed:
        changed = False
        year = P.YEAR_SUFFIX.search(base)
        if year and year.start() > 0:
            candidate = base[: year.start()].rstrip(_NAME_EDGE)
            if len(concept_key(candidate)) >= 2:
                base, changed = candidate, True
        folded = base.casefold()
        for suffix, kind in _SUFFIXES_BY_LAST_CHAR.get(folded[-1:], ()):
            if not folded.endswith(suffix):
                continue
            cut = len(base) - len(suffix)
            if suffix.isascii() and cut > 0 and base[cut - 1].isascii() and base[cut - 1].isalnum():
                continue  # `Footnotes` is not `Foot` + `Notes`
            candidate = P.TRAILING_CONJUNCTION.sub("", base[:cut].rstrip(_NAME_EDGE))
            if suffix.startswith("学习") and candidate.endswith(_LEARNING_COMPOUNDS):
                candidate += "学习"
            if len(concept_key(candidate)) >= 2 or (candidate and not candidate.isascii()):
                base = candidate
                kinds.append(kind)
                changed = True
            break
    if not kinds:
        return name.strip(), None
    kind = IMPLEMENTATION if IMPLEMENTATION in kinds else kinds[0]
    return base, kind


def _initials(text: str) -> str:
    return "".join(word[0] for word in P.WORD_INITIALS.findall(text.replace("-", " "))).casefold()


def _is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


def is_abbreviation(text: str) -> bool:
    """`GRPO`, `MoE`, `RoPE`, `veRL`, `KV`: one short token with at least two capitals."""
    return bool(P.ABBREVIATION.match(text))


def abbreviation_fits(abbr: str, full: str) -> bool:
    """Could `abbr` abbreviate `full`? Capitals in order among the full name's word initials;
    a Chinese full name cannot be checked letter by letter, so it fits if it is all Chinese."""
    if P.CJK_ONLY.match(full):
        return True
    if not full.isascii():
        return False
    capitals = "".join(c for c in abbr if c.isupper() or c.isdigit()).casefold()
    return len(capitals) >= 2 and _is_subsequence(capitals, _initials(full))


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class NameCandidate:
    """A concept named by a piece of text: its display name, other spellings, the note kind."""

    name: str
    aliases: tuple[str, ...] = ()
    kind: str | None = None
    member: bool = False  # an enumerated item after `head：`, part of the line's first name

    @property
    def key(self) -> str:
        return concept_key(self.name)


MAX_NAME_CHARS = 48
MAX_CJK_CHARS = 14
MAX_LATIN_WORDS = 7


def plausible_name(name: str) -> bool:
    """Short enough and not a sentence: what a heading or list item naming a concept looks like."""
    if not name or len(name) > MAX_NAME_CHARS:
        return False
    key = concept_key(name)
    if not key or key in _BOILERPLATE_KEYS or not any(ch.isalpha() for ch in key):
        return False
    if any(ch in name for ch in '。！？!?；;"“”=[]{}') or "http" in key or "//" in name or " et al" in name:
        return False
    if "，" in name and _paren_depth(name, name.index("，")) <= 0:
        return False  # a clause, not a name (a comma inside `（Full Name，ABBR）` is fine)
    cjk = len(P.CJK_CHAR.findall(name))
    if cjk > MAX_CJK_CHARS or (cjk == 1 and len(key) == 1):
        return False
    latin_words = len(name.split()) if cjk == 0 else len(P.WORD_INITIALS.findall(name))
    return latin_words <= MAX_LATIN_WORDS


def candidate_from_part(part: str, *, member: bool = False) -> NameCandidate | None:
    """One name out of a cleaned fragment: paren/abbreviation pairs, kind suffix, plausibility."""
    part = (
        P.ENUMERATION_TAIL.sub("", part) if ("等" in part or "及" in part or "etc" in part or "more" in part) else part
    )
    part = P.TRAILING_PUNCT.sub("", P.LEADING_PUNCT.sub("", part)).strip()
    if not part:
        return None
    aliases: list[str] = []
    tail = P.PAREN_THEN_WORD.match(part)
    if tail:
        part = tail.group(1) + tail.group(2)  # the word after the parenthesis says what kind of thing it is
    name = part
    match = P.TRAILING_PAREN.match(part)
    if match:
        outer, inner = match.group(1).strip(), match.group(2).strip()
        inner_parts = [p.strip() for p in P.ENUMERATION_SEPARATOR.split(inner.replace("，", ",")) if p.strip()]
        last = inner_parts[-1] if inner_parts else ""
        if len(inner_parts) > 1 and is_abbreviation(last) and abbreviation_fits(last, inner_parts[0]):
            name, aliases = last, [outer, *inner_parts[:-1]]  # 监督微调（Supervised Fine-tuning, SFT）
        elif is_abbreviation(inner) and not is_abbreviation(outer) and abbreviation_fits(inner, outer):
            name, aliases = inner, [outer]  # 群体相对策略优化（GRPO）, Full Name (ABBR)
        elif is_abbreviation(outer) and not is_abbreviation(inner) and abbreviation_fits(outer, inner):
            name, aliases = outer, [inner]  # PPO(Proximal Policy Optimization), RoPE（旋转位置编码）
        elif (P.CJK_ONLY.match(outer) and P.ASCII_WORDS.match(inner)) or (
            P.ASCII_WORDS.match(outer) and P.CJK_ONLY.match(inner)
        ):
            name, aliases = outer, [inner]  # 基础概念（Foundations）: a translation
        else:
            name = outer  # Engram（DeepSeek V4 架构）: a remark, not a name
    else:
        pair = P.CJK_THEN_ABBREVIATION.match(part)
        if pair:
            name, aliases = pair.group(2), [pair.group(1)]  # 监督微调 SFT
    base, kind = split_kind(name)
    if base != name:
        aliases.append(name)
    aliases = [a for a in (split_kind(a)[0] for a in aliases) if a and concept_key(a) != concept_key(base)]
    if not plausible_name(base):
        return None
    if aliases:
        aliases = [a for a in aliases if plausible_name(a)]
    return NameCandidate(base, tuple(dict.fromkeys(aliases)), kind, member)


def _paren_depth(text: str, end: int) -> int:
    before = text[:end]
    return before.count("(") + before.count("（") - before.count(")") - before.count("）")


def _split_outside_parens(text: str) -> list[str]:
    """Split on enumeration separators that are not inside （…） or (…)."""
    parts: list[str] = []
    start = 0
    for match in P.ENUMERATION_SEPARATOR.finditer(text):
        if _paren_depth(text, match.start()) <= 0:
            parts.append(text[start : match.start()])
            start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _split_enumeration(text: str) -> list[str]:
    parts = _split_outside_parens(text)
    if len(parts) == 1 and "/" in text:
        slash = P.SLASH_BETWEEN_NAMES.match(text.strip())
        if slash:
            parts = text.split("/")
    if len(parts) == 1:
        halves = [p for p in P.CONJUNCTION.split(text) if p.strip()]
        if len(halves) > 1 and all(is_abbreviation(h.strip()) or P.TRAILING_PAREN.match(h.strip()) for h in halves):
            parts = halves  # DAPO与VAPO, 过程奖励模型（PRM）与蒙特卡洛树搜索（MCTS）
    return [p.strip() for p in parts if p.strip()]


def names_in(text: str) -> list[NameCandidate]:
    """Concept names in a heading or list item (see `_names_in`); cached, a fresh list each call."""
    return list(_names_in(text))


@lru_cache(maxsize=65536)
def _names_in(text: str) -> tuple[NameCandidate, ...]:
    """Concept names in a heading or list item: `5.3 群体相对策略优化（GRPO）` → GRPO (alias
    群体相对策略优化); `GQA / MQA` → GQA, MQA; `模型类型：A、B、C` → 模型类型, then A, B, C as
    members; `什么是大语言模型？` → 大语言模型; sentences and boilerplate → nothing."""
    cleaned = strip_decorations(text)
    if not cleaned or is_boilerplate(cleaned):
        return ()
    if P.QUESTION_MARK.search(cleaned):
        question = P.QUESTION.match(cleaned)
        if not question:
            return ()
        cleaned = P.QUESTION_MARK.sub("", cleaned[question.end() :]).strip()
        cleaned = cleaned.removesuffix("吗").removesuffix("呢").strip()
    for separator in P.NAME_DESCRIPTION_SEPARATOR.finditer(cleaned):
        if separator.start() > 0 and _paren_depth(cleaned, separator.start()) <= 0:
            cleaned = cleaned[: separator.start()].strip()  # `Name — description`, not inside `（A — B）`
            break
    head, sep, tail = (cleaned, "", "")
    colon = next((m for m in P.NAME_HEAD_COLON.finditer(cleaned) if _paren_depth(cleaned, m.start()) <= 0), None)
    if colon:
        head, sep, tail = cleaned[: colon.start()], ":", cleaned[colon.end() :]
    found: list[NameCandidate] = []
    if sep:
        head_candidate = candidate_from_part(head)
        members = [] if P.CLAUSE_SEPARATOR.search(tail) else _split_enumeration(tail)
        if head_candidate is not None:
            found.append(head_candidate)
        single_name = len(members) == 1 and members[0].isascii() and len(members[0].split()) <= 4
        if len(members) > 1 or single_name:
            for member in members:
                candidate = candidate_from_part(member, member=head_candidate is not None)
                if candidate is not None:
                    found.append(candidate)
        return tuple(_dedupe(found))
    for part in _split_enumeration(cleaned):
        candidate = candidate_from_part(part)
        if candidate is not None:
            found.append(candidate)
    return tuple(_dedupe(found))


def _dedupe(candidates: Iterable[NameCandidate]) -> list[NameCandidate]:
    seen: set[str] = set()
    out: list[NameCandidate] = []
    for candidate in candidates:
        if candidate.key not in seen:
            seen.add(candidate.key)
            out.append(candidate)
    return out


def link_target_name(target: str) -> str:
    """The name a link target gives: the last path segment; `目录`/`index` → the folder's name."""
    segments = [s for s in target.replace("\\", "/").split("/") if s and s not in (".", "..")]
    if not segments:
        return ""
    name = segments[-1]
    if is_outline_stem(name) and len(segments) > 1 and concept_key(name) in _OUTLINE_STEM_KEYS:
        name = segments[-2]
    return strip_order_prefix(name)


# --- the vault-wide index -------------------------------------------------------------------------


@dataclass(slots=True)
class _Component:
    """Keys joined by pairs (strong or weak), and those pairs in the order they were recorded."""

    keys: set[str]
    strong: list[tuple[str, str]]
    weak: list[tuple[str, str]]


def _counter_copy(counter: Counter[str]) -> Counter[str]:
    """`Counter(counter)`, 5x faster: `Counter.__init__` goes through `update` and an ABC check, for
    each of an index's ~50k keys at every copy (a kept re-read copies the index twice)."""
    copied: Counter[str] = Counter.__new__(Counter)
    dict.update(copied, counter)
    return copied


class ConceptIndex:
    """Every spelling seen in a vault, and which spellings are one concept.

    `add` records a name (its key becomes a concept); `pair` records that two spellings are the same
    concept (strong: front matter aliases, abbreviation pairs, title/stem; weak: link aliases).
    `freeze` decides the groups; afterwards `resolve` maps any spelling to its concept key.
    """

    def __init__(self) -> None:
        self._spellings: dict[str, Counter[str]] = {}
        self._anchored: set[str] = set()  # keys named on their own: notes, link targets, outline items
        self._strong: list[tuple[str, str]] = []
        self._weak: list[tuple[str, str]] = []  # (alias key, concept key)
        self._note_keys: dict[str, set[str]] = {}  # primary key -> note paths
        self._parent: dict[str, str] = {}
        self._frozen = False
        # (pairs recorded when made, key -> its component of the pairs): see `_pair_components`
        self._components: tuple[tuple[int, int], dict[str, _Component]] | None = None
        # Set by a caller that wants to know which names `ensure` was asked for (in order): what a
        # note's relation rules added, so a later read can replay it instead of running the rules.
        self.ensure_log: list[str] | None = None
        # Set by a caller that wants to know every key a reader asked about (`resolve`, `key_of`,
        # `spellings`, `is_note_key`): what a note's resolution depends on, see `changed_keys`.
        self.looked: set[str] | None = None

    def copy(self) -> ConceptIndex:
        """An independent copy (a frozen index stays frozen): later `ensure` and `count_spelling`
        calls on either leave the other as it was."""
        other = ConceptIndex()
        other._spellings = {key: _counter_copy(counter) for key, counter in self._spellings.items()}
        other._anchored = set(self._anchored)
        other._strong = list(self._strong)
        other._weak = list(self._weak)
        other._note_keys = {key: set(paths) for key, paths in self._note_keys.items()}
        other._parent = dict(self._parent)
        other._frozen = self._frozen
        other._components = self._components  # never changed in place: made anew when pairs are added
        return other

    # recording ---------------------------------------------------------------------------------

    def add(self, name: str, *, anchored: bool = False, weight: int = 1) -> str:
        key = concept_key(name)
        if not key:
            return key
        counter = self._spellings.get(key)
        if counter is None:
            counter = self._spellings[key] = Counter()
            self._parent[key] = key
        counter[name.strip()] += weight
        if anchored:
            self._anchored.add(key)
        return key

    def add_note(self, name: str, path: str) -> str:
        key = self.add(name, anchored=True, weight=3)
        if key:
            self._note_keys.setdefault(key, set()).add(path)
        return key

    def pair(self, name: str, alias: str, *, strong: bool) -> None:
        """Record that `alias` is another spelling of `name` (both are added as spellings)."""
        key = concept_key(name)
        alias_key = concept_key(alias)
        if not key or not alias_key or key == alias_key:
            if key and alias.strip():
                self.add(alias)
            return
        if strong:
            self.add(name, weight=0)
            self.add(alias)
            self._strong.append((key, alias_key))
        else:
            self._weak.append((alias_key, key))
            self.add(name, weight=0)
            self._spellings.setdefault(alias_key, Counter())[alias.strip()] += 0

    def count_spelling(self, name: str, weight: int = 1) -> None:
        """One more use of a known spelling (display names follow usage); unknown keys are ignored."""
        counter = self._spellings.get(concept_key(name))
        if counter is not None:
            counter[name.strip()] += weight

    def add_candidate(self, candidate: NameCandidate, *, anchored: bool = False, weight: int = 1) -> str:
        key = self.add(candidate.name, anchored=anchored, weight=weight)
        for alias in candidate.aliases:
            self.pair(candidate.name, alias, strong=True)
        return key

    # deciding ----------------------------------------------------------------------------------

    def _find(self, key: str) -> str:
        parent = self._parent
        root = key
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(key, key) != root:
            parent[key], key = root, parent[key]
        return root

    def _score(self, key: str) -> tuple[int, int, int, int, str]:
        counter = self._spellings.get(key)
        count = sum(counter.values()) if counter else 0
        return (
            1 if key in self._note_keys else 0,
            1 if key in self._anchored else 0,
            count,
            -len(key),
            key,
        )

    def freeze(self) -> None:
        """Join strongly paired spellings (unless the spelling is claimed by several notes), then
        attach weak aliases that name nothing else, and choose each group's key (a note's own
        name first, then a name written on its own, then the most used)."""
        if self._frozen:
            return
        for key in list(self._spellings):
            self._parent.setdefault(key, key)
        self._decide(self._spellings, self._strong, self._weak)
        self._frozen = True

    def _decide(self, keys: Iterable[str], strong: list[tuple[str, str]], weak: list[tuple[str, str]]) -> None:
        """`freeze`'s decisions for `keys`, each its own group to begin with, and the pairs among them
        (in the order recorded): all keys, or whole components of the pairs (see `refrozen`)."""
        claims: dict[str, set[str]] = {}
        for a, b in strong:
            claims.setdefault(a, set()).add(b)
            claims.setdefault(b, set()).add(a)
        # A spelling that is not a note's own name but is paired with two or more notes' names
        # (`Attention` as an alias in two notes) is ambiguous: it joins none of them.
        ambiguous = {
            key
            for key, partners in claims.items()
            if key not in self._note_keys and sum(1 for p in partners if p in self._note_keys) > 1
        }
        for a, b in strong:
            if a in ambiguous or b in ambiguous:
                continue
            ra, rb = self._find(a), self._find(b)
            if ra == rb:
                continue
            root, child = (ra, rb) if self._score(ra) >= self._score(rb) else (rb, ra)
            self._parent[child] = root
        for alias_key, key in weak:
            if alias_key in self._anchored or alias_key in self._note_keys:
                continue
            root = self._find(alias_key)
            if root != alias_key or any(
                self._find(k) == alias_key and k != alias_key for k in claims.get(alias_key, ())
            ):
                continue
            target = self._find(key)
            if target != alias_key:
                self._parent[alias_key] = target
        # make the best-scored member each group's root
        groups: dict[str, list[str]] = {}
        for key in keys:
            groups.setdefault(self._find(key), []).append(key)
        for root, members in groups.items():
            best = max(members, key=self._score)
            if best != root:
                for member in members:
                    self._parent[member] = best
                self._parent[best] = best
        for key in keys:
            self._find(key)

    def _pair_components(self) -> dict[str, _Component]:
        """Key -> the component of the pairs it is in (its keys, strong and weak pairs in the order
        recorded), for every key in a pair; kept until a pair is recorded."""
        recorded = (len(self._strong), len(self._weak))
        if self._components is not None and self._components[0] == recorded:
            return self._components[1]
        parent: dict[str, str] = {}

        def find(key: str) -> str:
            while parent.get(key, key) != key:
                key = parent[key]
            return key

        for a, b in (*self._strong, *self._weak):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
        components: dict[str, _Component] = {}
        for pairs, weak in ((self._strong, False), (self._weak, True)):
            for pair in pairs:
                root = find(pair[0])
                component = components.get(root)
                if component is None:
                    component = components[root] = _Component(set(), [], [])
                component.keys.update(pair)
                (component.weak if weak else component.strong).append(pair)
        by_key = {key: component for component in components.values() for key in component.keys}
        self._components = (recorded, by_key)
        return by_key

    def refrozen(self, added: Iterable[tuple[str, bool, int]]) -> ConceptIndex:
        """A copy of this frozen index with more uses of spellings it has — `add(name, anchored=,
        weight=)` for each of `added` — decided as recording everything anew and freezing would decide
        it, deciding again only the components of the pairs that hold a changed key. Freezing decides
        a component from its own keys, pairs, notes' names and scores alone, so the others stand
        (at 10k notes the largest has a handful of keys; freezing all ~27k keys took ~0.2 s)."""
        assert self._frozen, "refrozen: decided from a frozen index"
        by_key = self._pair_components()
        other = self.copy()  # with the components: the same pairs
        changed: set[str] = set()
        for name, anchored, weight in added:
            key = concept_key(name)
            if key not in self._spellings:
                raise ValueError(f"refrozen: {name!r} is not a spelling the index has")
            other.add(name, anchored=anchored, weight=weight)
            changed.add(key)
        # a changed key in no pair is a group of its own whatever its score
        components = {id(c): c for c in (by_key.get(key) for key in changed) if c is not None}
        keys = [key for component in components.values() for key in component.keys]
        strong = [pair for component in components.values() for pair in component.strong]
        weak = [pair for component in components.values() for pair in component.weak]
        for key in keys:
            other._parent[key] = key
        other._decide(keys, strong, weak)
        return other

    # reading -----------------------------------------------------------------------------------

    def resolve(self, name: str) -> str | None:
        """The concept key of a spelling, trying it as written, then without a kind suffix."""
        looked = self.looked
        for attempt in (name, split_kind(strip_decorations(name))[0]):
            key = concept_key(attempt)
            if looked is not None:
                looked.add(key)
            if key in self._parent:
                return self._find(key)
        found = names_in(name)  # `群体相对策略优化（GRPO）`, `5.3 GRPO`: the name inside
        if len(found) == 1:
            for attempt in (found[0].name, *found[0].aliases):
                key = concept_key(attempt)
                if looked is not None:
                    looked.add(key)
                if key in self._parent:
                    return self._find(key)
        return None

    def key_of(self, key: str) -> str:
        """The group key for a key recorded earlier (itself when unknown)."""
        if self.looked is not None:
            self.looked.add(key)
        return self._find(key) if key in self._parent else key

    def ensure(self, name: str) -> str:
        """Resolve `name`, or add it as a new concept (for rules that name concepts late)."""
        if self.ensure_log is not None:
            self.ensure_log.append(name)
        found = self.resolve(name)
        if found is not None:
            return found
        key = self.add(name)
        if key:
            self._parent.setdefault(key, key)
        return key

    def groups(self) -> dict[str, list[str]]:
        """Concept key -> all keys (spellings) that resolve to it."""
        out: dict[str, list[str]] = {}
        for key in self._spellings:
            out.setdefault(self._find(key), []).append(key)
        return out

    def spellings(self, key: str) -> Counter[str]:
        if self.looked is not None:
            self.looked.add(key)
        counter = self._spellings.get(key)
        return Counter() if counter is None else counter  # not `get(key, Counter())`: a Counter a call

    def is_note_key(self, key: str) -> bool:
        if self.looked is not None:
            self.looked.add(key)
        return key in self._note_keys

    def spelling_keys(self) -> set[str]:
        """Every key a spelling was recorded under: the members of all `groups()`, without finding
        each one's group."""
        return set(self._spellings)

    def knows(self, key: str) -> bool:
        """Whether any spelling with this key was recorded (for the reader: use `resolve`)."""
        return key in self._parent or key in self._spellings

    def has_spelling(self, name: str) -> bool:
        """Whether this exact spelling (stripped) was recorded."""
        counter = self._spellings.get(concept_key(name))
        return counter is not None and name.strip() in counter

    def is_anchored(self, key: str) -> bool:
        return key in self._anchored

    def add_isolated(self, name: str, *, anchored: bool = False, weight: int = 1) -> None:
        """`add` on a frozen index, for a name whose key it did not know when it was frozen and that
        pairs with nothing: a concept of its own, exactly as freezing again with it would decide."""
        key = concept_key(name)
        if not key:
            return
        self._spellings.setdefault(key, Counter())[name.strip()] += weight
        self._parent[key] = key
        if anchored:
            self._anchored.add(key)

    def changed_keys(self, other: ConceptIndex, *, same_spellings: bool = False) -> set[str]:
        """The keys a reader (`resolve`, `key_of`, `spellings`, `is_note_key`, membership) could see
        differently in `other`: added or gone, another group key, other spellings, a note's or not.
        `same_spellings`: the caller knows both have the same keys and spellings (counts aside)."""
        changed: set[str] = set()
        mine, theirs = self._parent, other._parent
        if mine != theirs:
            changed.update(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        if same_spellings:
            return changed
        spellings, other_spellings = self._spellings, other._spellings
        for key in spellings.keys() | other_spellings.keys():
            a, b = spellings.get(key), other_spellings.get(key)
            if a is None or b is None or a.keys() != b.keys():
                changed.add(key)
        changed.update(self._note_keys.keys() ^ other._note_keys.keys())
        return changed


def clear_caches() -> None:
    """Empty the memos of the name functions above. A one-shot read of a big vault calls this once its
    per-note stages are done: full (65k entries each at 50k notes), they held ~30 MB through the vault
    stage and the sync. They fill again on use."""
    for cached in (concept_key, is_boilerplate, strip_decorations, split_kind, _names_in):
        cached.cache_clear()
