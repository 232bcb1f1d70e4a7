"""Typed relations between concepts, with evidence (SPEC §4): explicit keys, cue phrases, structure.

`RULES` is what `ingest.vault.default_rules()` runs after the concepts are known: functions
`(ParsedNote, ConceptIndex) -> Iterable[Relation]`. Every relation is stamped with the name and the
confidence of the rule that made it (the table in `ingest.relation_rules`), the note and line that
assert it, and the line as evidence. `rules_for(config)` builds the same rules for a user's config
(`kg-relations.toml`); `vault_stage` runs the vault-wide steps after them (RefD link statistics,
exact-duplicate removal, prerequisite cycles reported as problems).

How a cue phrase is read: each line becomes a *view* (code blanked, links replaced by their display
text, each link's concept kept by span). A cue (`支持`, `based on`, `从 … 到 …`) is found in the view;
its objects are the names right after it — a link, else the longest known concept name, else a
Latin name that is clearly one (`GRPO`, `REINFORCE++`, `RadixAttention`) — optionally a list of them
(`A、B 和 C`, `如 A、B`); its subject is the clause's own subject when it is a name (`EasyR1 是基于
veRL …`), a pronoun (`两者`, `we`, `这个库`), the sentence's `X 是 …`, else — in a short line — the
section's concept (the heading above, `### TRL` … `支持GRPO`) or the note's. A clause whose subject
is something else gives nothing. In long lines of running prose (translated papers) only links
and concepts with their own note count, so `实现了SOTA` or `基于GLUE的结果` assert nothing.

Only lines holding a cue word are read closely, and each line is worked on a bounded number of
times, so the rules stay linear on hostile input (10,000-deep lists, million-character lines).
"""

from __future__ import annotations

import bisect
import itertools
import re
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING

from ingest import relation_patterns as RP
from ingest.concepts import (
    KIND_SUFFIX_LAST_CHARS,
    KIND_SUFFIXES,
    ConceptIndex,
    concept_key,
    is_abbreviation,
    is_boilerplate,
    is_outline_stem,
    link_target_name,
    names_in,
    split_kind,
    strip_decorations,
)
from ingest.frontmatter import string_list
from ingest.markdown import heading_parents, plain_text
from ingest.refd import RefdMemo, refd_relations
from ingest.relation_rules import (
    DEFAULT_CONFIG,
    Direction,
    KeyRelation,
    RelationsConfig,
    find_relations_config,
    normalise_key,
)
from kg.model import Link, Problem, ProblemKind, Relation, RelationType

if TYPE_CHECKING:
    from ingest.vault import ParsedNote

RelationRule = Callable[["ParsedNote", ConceptIndex], Iterable[Relation]]

MAX_EVIDENCE_CHARS = 300
# One float object per confidence value for all relations (a few dozen values, ~100k relations per 10k notes).
_CONFIDENCES: dict[float, float] = {}
MAX_CJK_NAME = 16  # longest run of CJK text tried as one concept name
MAX_LATIN_WORDS = 5
LONG_LINE_CHARS = 150  # longer lines are paragraphs of running prose
CLAUSE_WINDOW = 120  # how far back from a cue its subject is looked for
MAX_CUES_PER_LINE = 32  # per cue family: a line with more is not prose a person wrote (generated, pasted)
ORDER_WINDOW = (1.0, 5 / 6, 4 / 6)  # structural prerequisite from the 1st, 2nd, 3rd preceding sibling
# Words that qualify a file name rather than a concept (`intro_vit`, `raw_index`, `SKILL_guid`).
GENERIC_MODIFIERS = frozenset(
    concept_key(word)
    for word in (
        *KIND_SUFFIXES,
        "intro", "index", "guid", "readme", "raw", "draft", "old", "new", "test", "demo", "example", "examples",
        "note", "basic", "log", "todo", "tmp", "copy", "my", "the", "about", "on", "of", "for", "and",
    )
)  # fmt: skip
# Requires-edges (SPEC §5): what a learning path follows, and where cycles matter.
REQUIRES_TYPES = (RelationType.PREREQUISITE_OF, RelationType.VARIANT_OF, RelationType.IMPLEMENTS)


# --- line views ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """A link's display text inside a view, and the concept it names."""

    start: int
    end: int
    key: str | None
    nav: bool  # a link to a heading of this note (or a URL): navigation, not a concept
    toc: bool = False  # a link to a table of contents / MOC: a topic, but never the far end of an arrow


@dataclass(slots=True)
class View:
    line: int
    text: str
    spans: list[Span] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    _ends: dict[int, Span] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._starts = [s.start for s in self.spans]
        self._ends = {s.end: s for s in self.spans}

    def span_at(self, pos: int) -> Span | None:
        i = bisect.bisect_left(self._starts, pos)
        if i < len(self.spans) and self.spans[i].start == pos:
            return self.spans[i]
        return None

    def span_ending_at(self, pos: int) -> Span | None:
        return self._ends.get(pos)

    def spans_between(self, start: int, end: int) -> list[Span]:
        i = bisect.bisect_left(self._starts, start)
        out: list[Span] = []
        while i < len(self.spans) and self.spans[i].end <= end:
            out.append(self.spans[i])
            i += 1
        return out

    def span_over(self, pos: int) -> Span | None:
        """The span with start <= pos < end, if any (spans are sorted and do not overlap)."""
        i = bisect.bisect_right(self._starts, pos) - 1
        if i >= 0 and self.spans[i].start <= pos < self.spans[i].end:
            return self.spans[i]
        return None

    def next_span_start(self, pos: int) -> int:
        """Where the first span starting after `pos` starts (the text's length when none)."""
        i = bisect.bisect_right(self._starts, pos)
        return self.spans[i].start if i < len(self.spans) else len(self.text)

    def previous_span_end(self, pos: int) -> int:
        """Where the last span ending at or before `pos` ends (0 when none)."""
        i = bisect.bisect_right(self._starts, pos) - 1
        while i >= 0 and self.spans[i].end > pos:
            i -= 1
        return self.spans[i].end if i >= 0 else 0


@dataclass(frozen=True, slots=True)
class Name:
    key: str
    start: int
    end: int  # after the name and any parenthetical right after it


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _name_like(token: str) -> bool:
    """An unknown Latin token that is still clearly a name: `GRPO`, `REINFORCE++`, `RadixAttention`."""
    return is_abbreviation(token.rstrip("+")) or bool(RP.CAMEL_CASE_NAME.match(token))


def _link_display(link: Link, raw: str) -> str:
    if link.kind == "url":
        return link.alias or " "  # `[监督微调](https://…)` reads 监督微调; a bare URL reads nothing
    if link.kind == "markdown":
        inner = raw[1 : raw.find("](")] if raw.startswith("[") else raw
        if raw.startswith("!"):
            return " "
        return plain_text(inner) or " "
    if link.alias:
        return link.alias
    if link.target:
        return link_target_name(link.target) or link.target
    return link.heading or " "


def _is_nav_link(link: Link) -> bool:
    """A link to a heading of the same note, or a URL: it names no concept."""
    return link.kind == "url" or not link.target


def _is_toc_link(link: Link) -> bool:
    """A link to a table of contents / MOC (`AI/RL/目录`, `_MOC`, `RL MOC`): it stands for a topic, and
    an arrow to it (`### 强化学习 → [[RL/目录|RL 详细 MOC]]`) is navigation, not order."""
    last = link.target.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    alias = concept_key(link.alias or "")
    return (bool(last) and (is_outline_stem(last) or last.startswith("_"))) or alias.endswith("moc")


_KNOWN_KEYS: weakref.WeakKeyDictionary[ConceptIndex, set[str]] = weakref.WeakKeyDictionary()


def _known_keys(index: ConceptIndex) -> set[str]:
    """Every spelling key the index knows, computed once per index (membership is the hot path of
    name matching; `ConceptIndex.spellings` builds a Counter per miss)."""
    known = _KNOWN_KEYS.get(index)
    if known is None:
        known = index.spelling_keys()
        _KNOWN_KEYS[index] = known
    return known


def _ensure(index: ConceptIndex, known: set[str], name: str) -> str:
    key = index.ensure(name)
    if key:
        known.add(concept_key(name))
        known.add(key)
    return key


def replay_ensures(index: ConceptIndex, names: Iterable[str]) -> None:
    """Do to `index` what a note's rules did when they asked for `names` (`ConceptIndex.ensure_log`),
    as running them again would: later notes' rules see the same names."""
    known = _known_keys(index)
    for name in names:
        _ensure(index, known, name)


# --- the per-note reader --------------------------------------------------------------------------------


class _NoteReader:
    """Everything the rules need about one note: views, names, subjects, and the relations made."""

    def __init__(self, parsed: ParsedNote, index: ConceptIndex, config: RelationsConfig) -> None:
        self.parsed = parsed
        self.index = index
        self.config = config
        note = parsed.note
        self.own: list[str] = [k for k in note.about if k]
        self.relations: list[Relation] = []
        self._known = _known_keys(index)
        self._seen: set[tuple[RelationType, str, str, str, int | None]] = set()
        self._views: dict[int, View] = {}
        shared = parsed._rule_state
        if shared is None or shared[0] is not note.links:  # built once per note for all rule families
            scan = parsed.scan
            spans = scan.link_spans  # (start, end, line) of the body's links, which end note.links
            offset = len(note.links) - len(spans) // 3
            by_line: dict[int, list[tuple[int, int, Link]]] = defaultdict(list)
            for i in range(max(offset, 0), len(note.links)):
                link = note.links[i]
                start, end, line = spans[3 * (i - offset) : 3 * (i - offset) + 3]
                if link.line == line:  # always, unless a caller replaced the links with others
                    by_line[line].append((start, end, link))
            shared = parsed._rule_state = (note.links, dict(by_line), heading_parents(scan.headings))
        self._links_by_line: dict[int, list[tuple[int, int, Link]]] = shared[1]
        self._heading_lines = parsed._heading_lines
        self._heading_parent = shared[2]
        self._heading_subject: dict[int, str | None] = {}
        self._table_lines: set[int] | None = None

    # emitting ----------------------------------------------------------------------------------------

    def emit(
        self,
        rule: str,
        kind: RelationType,
        source: str | None,
        target: str | None,
        line: int | None,
        *,
        factor: float = 1.0,
        evidence: str | None = None,
    ) -> None:
        if not source or not target or source == target:
            return
        confidence = round(self.config.confidence_of(rule) * factor, 4)
        if confidence <= 0.0:
            return
        confidence = _CONFIDENCES.setdefault(confidence, confidence)
        identity = (kind, source, target, rule, line)
        if identity in self._seen:
            return
        self._seen.add(identity)
        if evidence is None:
            evidence = self.parsed.scan.lines.evidence(line) if line else ""
        self.relations.append(
            Relation(
                type=kind,
                source=source,
                target=target,
                confidence=confidence,
                rule=rule,
                note=self.parsed.path,
                line=line,
                evidence=intern(evidence[:MAX_EVIDENCE_CHARS]),  # a line of many relations, or of many notes
            )
        )

    def emit_key(
        self, rule: str, relation: KeyRelation, values: Iterable[str], subjects: Sequence[str], line: int | None,
        evidence: str | None = None,
    ) -> None:  # fmt: skip
        for value in values:
            for subject in subjects:
                if relation.direction is Direction.VALUE_TO_NOTE:
                    self.emit(rule, relation.type, value, subject, line, evidence=evidence)
                else:
                    self.emit(rule, relation.type, subject, value, line, evidence=evidence)

    # text ----------------------------------------------------------------------------------------------

    def masked_line(self, line: int) -> tuple[int, str]:
        lines = self.parsed.scan.lines
        start = lines.start_of(line)
        length = len(self.parsed.line_text(line))
        return start, self.parsed.scan.masked[start : start + length]

    def view(self, line: int) -> View:
        cached = self._views.get(line)
        if cached is not None:
            return cached
        start, raw = self.masked_line(line)
        pieces: list[str] = []
        spans: list[Span] = []
        size = 0
        pos = 0

        def add_plain(segment: str) -> None:
            nonlocal size
            segment = RP.EMPHASIS.sub("", segment)
            if "http" in segment or "www." in segment:
                segment = RP.BARE_URL.sub(" ", segment)
            pieces.append(segment)
            size += len(segment)

        for link_start, link_end, link in sorted(self._links_by_line.get(line, []), key=lambda t: t[0]):
            s, e = link_start - start, link_end - start
            if s < pos or e > len(raw):
                continue
            add_plain(raw[pos:s])
            display = _link_display(link, raw[s:e])
            if link.kind == "url" and not link.alias:  # a bare URL reads as nothing
                pieces.append(display)
                size += len(display)
                pos = e
                continue
            nav = _is_nav_link(link) and not (link.kind == "url" and link.alias)
            key = None if nav else link.concept
            if link.kind == "url" and link.alias:  # `[监督微调](https://…)`: an entity link, named by its text
                key = self.resolve(link.alias) or self.index.resolve(link.alias)
                if key is None and _name_like(link.alias):
                    key = self.ensure(link.alias)
            if not nav and key is None and link.kind != "url":
                name = link.alias or link_target_name(link.target)
                key = self.index.resolve(name) if name else None
            spans.append(Span(size, size + len(display), key, nav, _is_toc_link(link)))
            pieces.append(display)
            size += len(display)
            pos = e
        add_plain(raw[pos:])
        made = View(line, "".join(pieces), spans)
        self._views[line] = made
        return made

    def joined_view(self, line: int, extra_lines: int) -> View:
        """This line and up to `extra_lines` following non-blank lines, as one view (wrapped lists)."""
        first = self.view(line)
        text = first.text
        spans = list(first.spans)
        for nxt in range(line + 1, min(self.parsed.line_count, line + extra_lines) + 1):
            view = self.view(nxt)
            if not view.text.strip():
                break
            shift = len(text)
            text += view.text
            spans.extend(Span(s.start + shift, s.end + shift, s.key, s.nav, s.toc) for s in view.spans)
        return View(line, text, spans)

    # names -----------------------------------------------------------------------------------------------

    def resolve(self, name: str) -> str | None:
        """A spelling already known to the index, as written or without a note-kind suffix (strict:
        no name is dug out of a longer phrase, so `支持 GRPO 等` is not a name)."""
        name = name.strip()
        if not name:
            return None
        known = self._known
        looked = self.index.looked
        if name[-1] not in KIND_SUFFIX_LAST_CHARS and RP.CJK_IDEOGRAPHS.fullmatch(name):
            # its own key, nothing to split off: the loop below would test `name` twice
            if looked is not None:
                looked.add(name)
            return (None if is_boilerplate(name) else self.index.key_of(name)) if name in known else None
        for attempt in (name, split_kind(name)[0]):
            key = concept_key(attempt)
            if looked is not None:
                looked.add(key)
            if key in known:
                return None if is_boilerplate(name) else self.index.key_of(key)
        return None

    def ensure(self, name: str) -> str:
        """Resolve `name`, or add it to the index as a new concept (names a rule must keep)."""
        return _ensure(self.index, self._known, name)

    def name_at(
        self, view: View, pos: int, *, filler: bool = True, new: bool = True, loose: bool = False
    ) -> Name | None:
        """The concept named right at `pos`: a link, else the longest known name, else an abbreviation."""
        text = view.text
        if filler:
            skipped = RP.OBJECT_FILLER.match(text, pos)
            if skipped:
                pos = skipped.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            return None
        span = view.span_at(pos)
        if span is not None:
            if span.nav:
                return None
            if span.key is None:  # `[邻近策略优化](https://…)（Proximal Policy Optimization, PPO）`
                paren = RP.TRAILING_PARENTHETICAL.match(text, span.end)
                key = self.index.resolve(text[pos : paren.end()].strip()) if paren else None
                return Name(key, pos, paren.end()) if key and paren else None
            return Name(span.key, pos, self._after_paren(text, span.end))
        over = view.span_over(pos)
        if over is not None and over.start < pos:
            return None
        ch = text[pos]
        if ch.isascii() and ch.isalpha():
            if pos > 0 and text[pos - 1].isascii() and text[pos - 1].isalnum():
                return None  # inside a word
            ends: list[int] = []
            cursor = pos
            while len(ends) < MAX_LATIN_WORDS:
                match = RP.LATIN_TOKEN.match(text, cursor)
                if match is None or view.next_span_start(match.start() - 1) < match.end():
                    break
                ends.append(match.end())
                cursor = match.end()
                if cursor < len(text) and text[cursor] == " " and cursor + 1 < len(text) and text[cursor + 1].isalpha():
                    cursor += 1
                    continue
                break
            for end in reversed(ends):
                key = self.resolve(text[pos:end])
                if key:
                    return Name(key, pos, self._after_paren(text, end))
            if ends:
                token = text[pos : ends[0]]
                if new and len(token) >= 2 and (_name_like(token) or (loose and RP.CAPITALISED_NAME.match(token))):
                    key = self.ensure(token)
                    if key:
                        return Name(key, pos, self._after_paren(text, ends[0]))
            return None
        if _is_cjk(ch):
            limit = min(len(text), pos + MAX_CJK_NAME, view.next_span_start(pos))
            for end in range(limit, pos + 1, -1):
                candidate = text[pos:end]
                if candidate[-1] in " \t" or not (_is_cjk(candidate[-1]) or candidate[-1].isalnum()):
                    continue
                if end < len(text) and text[end - 1].isascii() and text[end].isascii() and text[end].isalnum():
                    continue  # would cut a Latin word in two
                key = self.resolve(candidate)
                if key:
                    return Name(key, pos, self._after_paren(text, end))
        return None

    @staticmethod
    def _after_paren(text: str, end: int) -> int:
        match = RP.TRAILING_PARENTHETICAL.match(text, end)
        return match.end() if match else end

    def name_list_at(self, view: View, pos: int, *, filler: bool = True) -> tuple[list[Name], int]:
        first = self.name_at(view, pos, filler=filler)
        if first is None:
            return [], pos
        names = [first]
        end = first.end
        while True:
            separator = RP.NAME_LIST_SEPARATOR.match(view.text, end)
            if separator is None or separator.end() == end:
                break
            following = self.name_at(view, separator.end(), filler=False)
            if following is None:
                break
            names.append(following)
            end = following.end
        return names, end

    def name_ending_at(self, view: View, end: int, *, loose: bool = False) -> Name | None:
        """The concept named by the text that ends at `end` (a parenthetical before `end` is skipped)."""
        text = view.text
        while end > 0 and text[end - 1] in " \t":
            end -= 1
        if end > 0 and text[end - 1] in "）)":
            opener = "（" if text[end - 1] == "）" else "("
            start = text.rfind(opener, 0, end - 1)
            if start > 0:
                end = start
                while end > 0 and text[end - 1] in " \t":
                    end -= 1
        if end <= 0:
            return None
        span = view.span_ending_at(end)
        if span is not None:
            return Name(span.key, span.start, end) if span.key and not span.nav else None
        over = view.span_over(end)
        if over is not None and over.start < end:
            return None
        ch = text[end - 1]
        if ch.isascii() and (ch.isalnum() or ch == "+"):
            start = end
            while start > 0 and text[start - 1].isascii() and (text[start - 1].isalnum() or text[start - 1] in "+-."):
                start -= 1
            while start < end and not text[start].isalpha():
                start += 1
            if start >= end:
                return None
            best: Name | None = None
            cursor = start
            for _ in range(MAX_LATIN_WORDS):
                key = self.resolve(text[cursor:end])
                if key:
                    best = Name(key, cursor, end)
                before = text[cursor - 2] if cursor >= 2 else ""
                if text[cursor - 1 : cursor] != " " or not (before.isascii() and before.isalnum()):
                    break
                back = cursor - 1
                while back > 0 and text[back - 1].isascii() and (text[back - 1].isalnum() or text[back - 1] in "+-."):
                    back -= 1
                cursor = back
            if best is not None:
                return best
            token = text[start:end]
            if _name_like(token) or (loose and RP.CAPITALISED_NAME.match(token)):
                key = self.ensure(token)
                return Name(key, start, end) if key else None
            return None
        if _is_cjk(ch):
            floor = max(0, end - MAX_CJK_NAME, view.previous_span_end(end - 1))
            for start in range(floor, end - 1):
                candidate = text[start:end]
                if not (_is_cjk(candidate[0]) or candidate[0].isalnum()):
                    continue  # a name starts with a letter: `- 词表` is not one
                key = self.resolve(candidate)
                if key:
                    return Name(key, start, end)
        return None

    # subjects --------------------------------------------------------------------------------------------

    def heading_subject(self, i: int) -> str | None:
        if i in self._heading_subject:
            return self._heading_subject[i]
        heading = self.parsed.scan.headings[i]
        subject: str | None = None
        if heading.level == 1 and not any(h.level == 1 for h in self.parsed.scan.headings[:i]):
            subject = self.own[0] if self.own else None
        else:
            view = self.view(heading.line)
            lead = RP.LINE_LEAD.match(view.text)
            content = view.text[lead.end() if lead else 0 :]
            start = len(view.text) - len(content)
            span = view.span_at(start)
            if span is not None and span.key and not span.nav:
                subject = span.key
            else:
                candidates = names_in(plain_text(heading.text))
                if candidates:
                    name = candidates[0].name
                    key = self.resolve(name)
                    if self.parsed.outline:
                        subject = key or self.index.key_of(candidates[0].key)
                    elif key and self.index.is_note_key(key):
                        subject = key
                    elif _name_like(name) and not RP.ALL_CAPS_WORD.match(name):
                        subject = key or self.ensure(name)  # `### veRL`, `#### EasyR1`: a catalogue entry
        self._heading_subject[i] = subject
        return subject

    def section_subject(self, line: int) -> str | None:
        """The concept of the innermost heading above `line` that names one, else the note's."""
        i: int | None = bisect.bisect_right(self._heading_lines, line) - 1
        if i is not None and i >= 0 and self._heading_lines[i] == line:
            i = self._heading_parent[i]
        while i is not None and i >= 0:
            subject = self.heading_subject(i)
            if subject:
                return subject
            i = self._heading_parent[i]
        return self.own[0] if self.own else None

    def clause_start(self, view: View, cue_start: int) -> int:
        lead = RP.LINE_LEAD.match(view.text)
        start = lead.end() if lead else 0
        # A subject sits right before its verb: look back a short way only (long lines stay linear).
        for match in RP.CLAUSE_BREAK.finditer(view.text, max(start, cue_start - CLAUSE_WINDOW), cue_start):
            if view.span_over(match.start()) is None:
                start = match.end()
        return max(start, cue_start - CLAUSE_WINDOW)

    @staticmethod
    def is_long(view: View) -> bool:
        """A line of running prose (a paper's paragraph): cues there need explicit, known names."""
        return len(view.text.strip()) > LONG_LINE_CHARS

    def known(self, view: View, names: Sequence[Name]) -> list[Name]:
        """`names` that are links or concepts with their own note (what strict readings accept)."""
        return [n for n in names if view.span_at(n.start) is not None or self.index.is_note_key(n.key)]

    def objects(self, view: View, names: Sequence[Name]) -> list[Name]:
        return self.known(view, names) if self.is_long(view) else list(names)

    def subjects(self, view: View, cue_start: int) -> list[str]:
        """Who the cue speaks about: the clause's own subject when it is a name (or `两者`, `we`, `它`);
        a clause with no subject takes the section's (in short lines only); a clause whose subject
        is something else (`图2:所提出的架构由…`) gives none — the cue does not define our concept."""
        start = self.clause_start(view, cue_start)
        clause = view.text[start:cue_start]
        tail = RP.SUBJECT_TAIL.search(clause)
        core_end = start + (tail.start() if tail else len(clause))
        core = view.text[start:core_end].strip()
        long = self.is_long(view)
        if core:
            if RP.BOTH_PRONOUN.match(core):
                return list(self.own)
            if RP.SELF_PRONOUN.match(core):
                return self.own[:1]
            if RP.SECTION_PRONOUN.match(core) or RP.THIS_TEXT.search(core):
                subject = self.section_subject(view.line)  # `这个库支持 …` under `### TRL`
                return [subject] if subject else []
            name = self.name_at(view, start, filler=False, new=not long)
            if name is not None and view.text[name.end : core_end].strip() == "":
                return [name.key]
            return []
        inherited = self.sentence_subject(view, start)
        if inherited is not None:
            return inherited
        if long or self.in_table(view.line):
            return []  # a table row speaks about its own first cell, not the section (`| [[XPOS]] | 支持长度外推 |`)
        subject = self.section_subject(view.line)
        return [subject] if subject else []

    def sentence_subject(self, view: View, clause_start: int) -> list[str] | None:
        """`COCO 是一个数据集，支持实例分割`: a subject-less clause takes its sentence's `X 是 …` subject."""
        lead = RP.LINE_LEAD.match(view.text)
        start = max(lead.end() if lead else 0, clause_start - CLAUSE_WINDOW)
        for match in RP.SENTENCE_BREAK.finditer(view.text, start, clause_start):
            start = match.end()
        if start >= clause_start:
            return None
        first = view.text[start:clause_start].lstrip()
        offset = clause_start - len(first)
        for pronoun in (RP.BOTH_PRONOUN, RP.SELF_PRONOUN):
            word = RP.LATIN_TOKEN.match(first) or re.match(r"[\u3400-\u9fff]{1,2}", first)
            if word and pronoun.match(word.group(0)):
                return list(self.own) if pronoun is RP.BOTH_PRONOUN else self.own[:1]
        name = self.name_at(view, offset, filler=False, new=not self.is_long(view))
        if name is not None and RP.SUBJECT_VERB.match(view.text, name.end):
            return [name.key]
        return None

    def in_table(self, line: int) -> bool:
        if self._table_lines is None:
            self._table_lines = {row.line for row in self.parsed.scan.table_rows}
        return line in self._table_lines

    def clause_core(self, view: View, cue_start: int) -> str:
        """The words of the cue's clause before it (its own subject, if any)."""
        start = self.clause_start(view, cue_start)
        clause = view.text[start:cue_start]
        tail = RP.SUBJECT_TAIL.search(clause)
        return clause[: tail.start() if tail else len(clause)].strip()

    def has_own_subject(self, view: View, cue_start: int) -> bool:
        """Whether the clause (or its sentence) names who the cue is about, rather than falling back."""
        if self.clause_core(view, cue_start):
            return True
        return self.sentence_subject(view, self.clause_start(view, cue_start)) is not None

    def cue_inside_name(self, view: View, cue_start: int, cue_end: int) -> bool:
        """`支持向量机`, `基于人类反馈的强化学习（RLHF）`: the cue word is part of a concept's name."""
        name = self.name_at(view, cue_start, filler=False, new=False)
        if name is not None and name.end > cue_end:
            return True
        return view.span_over(cue_start) is not None


# --- explicit rules ------------------------------------------------------------------------------------


def _plain_values(reader: _NoteReader, text: str) -> list[str]:
    """Concept keys named by a plain (link-free) value: `PPO, TRPO`, `PPO、TRPO`."""
    keys: list[str] = []
    for part in text.replace("、", ",").replace("；", ",").replace(";", ",").split(","):
        part = strip_decorations(part.strip().strip("\"'"))
        if not part or len(part) > 48:
            continue
        key = reader.resolve(part) or reader.ensure(split_kind(part)[0])
        if key:
            keys.append(key)
    return keys


def _front_matter(reader: _NoteReader) -> None:
    parsed = reader.parsed
    if not reader.own:
        return
    links_by_key: dict[str, list[Link]] = defaultdict(list)
    for link in parsed.note.links:
        if link.front_matter_key is not None:
            links_by_key[link.front_matter_key].append(link)
    for key, value in parsed.front_matter_data.items():
        relation = reader.config.key(key)
        if relation is None:
            continue
        line = parsed.front_matter.key_lines.get(key, 1)
        values: list[str] = []
        for link in links_by_key.get(key, []):
            concept = link.concept or reader.resolve(link_target_name(link.target))
            if concept:
                values.append(concept)
        if not isinstance(value, dict):
            for text in string_list(value):
                if "[[" not in text:
                    values.extend(_plain_values(reader, text))
        shown = value if isinstance(value, str) else ", ".join(string_list(value))
        reader.emit_key("explicit.front_matter", relation, values, reader.own, line, f"{key}: {shown}")


def _links_in(reader: _NoteReader, line: int, start: int, end: int) -> list[str]:
    """Concepts of the links whose text lies in [start, end) of the masked line."""
    base = reader.parsed.scan.lines.start_of(line)
    keys: list[str] = []
    for link_start, link_end, link in reader._links_by_line.get(line, []):
        if link_start - base >= start and link_end - base <= end and not _is_nav_link(link):
            concept = link.concept or reader.resolve(link_target_name(link.target))
            if concept:
                keys.append(concept)
    return keys


def _values(reader: _NoteReader, line: int, start: int, end: int, raw: str) -> list[str]:
    keys = _links_in(reader, line, start, end)
    if keys:
        return keys
    text = raw[start:end].strip()
    return _plain_values(reader, text) if text and "[[" not in text and "](" not in text else []


def _dataview_and_typed_lists(reader: _NoteReader) -> None:
    parsed = reader.parsed
    if not reader.own:
        return
    masked = parsed.scan.masked
    if "::" not in masked and not parsed.scan.list_items:
        return
    list_lines = {item.line for item in parsed.scan.list_items if "[[" in item.text}
    candidates = set(list_lines)
    lines = parsed.scan.lines
    at = masked.find("::")
    while at != -1:  # only lines holding `::` can hold a Dataview field
        line = lines.line_of(at)
        candidates.add(line)
        at = masked.find("::", lines.start_of(line + 1)) if line < lines.line_count else -1
    for line in sorted(candidates):
        _, raw = reader.masked_line(line)
        if "::" in raw:
            whole = RP.DATAVIEW_LINE_FIELD.match(raw)
            if whole and "[" not in whole.group(1):
                relation = reader.config.key(whole.group(1))
                if relation is not None:
                    values = _values(reader, line, whole.start(2), whole.end(2), raw)
                    reader.emit_key("explicit.dataview", relation, values, reader.own, line)
            for match in RP.DATAVIEW_BRACKET_FIELD.finditer(raw):
                key_group, value_group = (1, 2) if match.group(1) is not None else (3, 4)
                relation = reader.config.key(match.group(key_group))
                if relation is not None:
                    values = _values(reader, line, match.start(value_group), match.end(value_group), raw)
                    reader.emit_key("explicit.dataview", relation, values, reader.own, line)
        if line in list_lines and "[[" in raw:
            typed = RP.TYPED_LIST_ITEM.match(raw)
            if typed:
                relation = reader.config.key(typed.group(1))
                if relation is not None:
                    values = _links_in(reader, line, typed.end(), len(raw))
                    reader.emit_key("explicit.typed_list", relation, values, reader.own, line)


# --- cue phrases -------------------------------------------------------------------------------------------


def _label(reader: _NoteReader, view: View) -> None:
    lead = RP.LINE_LEAD.match(view.text)
    start = lead.end() if lead else 0
    match = RP.LINE_LABEL.match(view.text, start)
    if match is None:
        return
    relation = reader.config.key(match.group(1))
    if relation is None:
        return
    linked = any(s.key for s in view.spans_between(match.end(), len(view.text)))
    if normalise_key(match.group(1)) in ("up", "down", "next", "prev", "same") and not linked:
        return  # `Next: …` or `Up: …` in prose is too often a sentence, not a Breadcrumbs field
    values = [s.key for s in view.spans_between(match.end(), len(view.text)) if s.key and not s.nav]
    if not values:
        names, end = reader.name_list_at(view, match.end())
        rest = view.text[end:].strip()
        if rest and not RP.LIST_REST.match(rest):
            return  # `实现：全卷积网络可接受任意尺寸`: a sentence after the label, not a list of concepts
        values = [n.key for n in names]
    if not values:
        return
    subject = reader.section_subject(view.line) if reader.parsed.outline else (reader.own[0] if reader.own else None)
    if subject:
        reader.emit_key("cue.label", relation, values, [subject], view.line)


def _followed_by_de(text: str, end: int) -> bool:
    """`支持多模态模型的 RL 训练`, `SSD 中使用的 OHEM`: the names only qualify the real object."""
    return RP.FOLLOWED_BY_DE.match(text, end) is not None


def _qualified_by_next_word(text: str, end: int) -> bool:
    """`supports zero-shot data editing`, `based on the RPN proposals`: a Latin name followed by a
    lower-case word that makes it a modifier of the real object."""
    if end <= 0 or not (text[end - 1].isascii() and (text[end - 1].isalnum() or text[end - 1] in "+)")):
        return False
    word = RP.NEXT_LOWER_WORD.match(text, end)
    return word is not None and word.group(1) not in RP.NOT_QUALIFYING_WORDS


def _surface(view: View, name: Name) -> str:
    """The text a name was read from, without the parenthetical after it."""
    text = view.text[name.start : name.end]
    for opener in ("（", "("):
        at = text.find(opener)
        if at > 0:
            text = text[:at]
    return text.strip()


def _is_platform(view: View, name: Name) -> bool:
    return RP.PLATFORM_NAME.match(_surface(view, name)) is not None


def _is_platform_or_task(reader: _NoteReader, view: View, name: Name) -> bool:
    """What a tool runs on, or a task / an ability (by the text read or any spelling of the concept:
    `语义分割` is also `Semantic Segmentation`): neither is implemented by what supports it."""
    if _is_platform(view, name) or RP.TASK_NAME.search(_surface(view, name)):
        return True
    return any(RP.TASK_NAME.search(spelling) for spelling in reader.index.spellings(name.key))


def _negated(text: str, start: int) -> bool:
    return RP.NEGATION_BEFORE.search(text[max(0, start - 6) : start]) is not None


def _supports(reader: _NoteReader, view: View) -> None:
    text = view.text
    for cue in itertools.islice(RP.SUPPORTS_CUE.finditer(text), MAX_CUES_PER_LINE):
        if _negated(text, cue.start()) or reader.cue_inside_name(view, cue.start(), cue.end()):
            continue
        pos = cue.end()
        skipped = RP.OBJECT_FILLER.match(text, pos)
        at = skipped.end() if skipped else pos
        better = RP.BETTER_THAN_ZH.match(text, at)
        objects: list[Name] = []
        if better:
            base = reader.name_at(view, better.end(), filler=False)
            middle = RP.BETTER_THAN_MIDDLE.match(text, base.end) if base else None
            if middle:
                objects, _ = reader.name_list_at(view, middle.end(), filler=False)
        else:
            objects, end = reader.name_list_at(view, pos)
            if objects and (_followed_by_de(text, end) or _qualified_by_next_word(text, end)):
                continue  # `支持多模态模型的 RL 训练`, `supports zero-shot data editing`: a qualifier only
            if not objects:
                such_as = RP.SUCH_AS.match(text, pos)
                if such_as is not None:
                    objects, _ = reader.name_list_at(view, such_as.end())
        # `支持 ONNX、TensorRT` (runs on a platform), `支持实例分割` (a task): nothing implemented
        objects = [o for o in reader.objects(view, objects) if not _is_platform_or_task(reader, view, o)]
        if not objects:
            continue
        for subject in reader.subjects(view, cue.start()):
            for obj in objects:
                reader.emit("cue.supports", RelationType.IMPLEMENTS, subject, obj.key, view.line)


def _implements(reader: _NoteReader, view: View) -> None:
    text = view.text
    english = RP.IMPLEMENT_WORD.search(text) is not None
    implements = RP.IMPLEMENTS_CUE.finditer(text) if english or "实现了" in text else iter(())
    for cue in itertools.islice(implements, MAX_CUES_PER_LINE):
        if _negated(text, cue.start()):
            continue
        objects, end = reader.name_list_at(view, cue.end())
        if not objects or _followed_by_de(text, end):
            continue
        if cue.group(0).startswith("实现"):
            objects = reader.known(view, objects)  # `实现了` is also "achieved" (实现了SOTA): known concepts only
        objects = reader.objects(view, objects)
        for subject in reader.subjects(view, cue.start()) if objects else []:
            for obj in objects:
                reader.emit("cue.implements", RelationType.IMPLEMENTS, subject, obj.key, view.line)
    implemented_in = RP.IMPLEMENTED_IN_CUE.finditer(text) if english or RP.IMPLEMENTED_IN_ZH.search(text) else iter(())
    for cue in itertools.islice(implemented_in, MAX_CUES_PER_LINE):
        tools, _ = reader.name_list_at(view, cue.end())
        tools = [t for t in reader.known(view, tools) if not _is_platform(view, t)]  # `implemented in PyTorch`
        if not tools:
            continue
        for subject in reader.subjects(view, cue.start()):
            for tool in tools:
                reader.emit("cue.implements", RelationType.IMPLEMENTS, tool.key, subject, view.line)


def _based_on(reader: _NoteReader, view: View) -> None:
    text = view.text
    for cue in itertools.islice(RP.BASED_ON_CUE.finditer(text), MAX_CUES_PER_LINE):
        if _negated(text, cue.start()) or reader.cue_inside_name(view, cue.start(), cue.end()):
            continue
        bases, end = reader.name_list_at(view, cue.end())
        if not bases or len(reader.objects(view, bases)) < len(bases):
            continue
        if cue.group(0) == "基于" and not RP.BASED_ON_FOLLOW.match(text, end):
            continue  # `基于 LLM 自动生成`, `基于自动驾驶需求制定`: X is used, or qualifies the real base
        if cue.group(0) != "基于" and _qualified_by_next_word(text, end):
            continue  # `based on the RPN proposals`
        subjects = reader.subjects(view, cue.start())
        if not reader.has_own_subject(view, cue.start()) and not _defines_kind(text, end):
            continue  # `基于 GLUE 的结果`: something else is based on X, not the section's concept
        if len(bases) == 1:
            for subject in subjects:
                reader.emit("cue.based_on", RelationType.VARIANT_OF, subject, bases[0].key, view.line)
        else:
            for subject in subjects:
                for base in bases:
                    reader.emit("cue.built_with", RelationType.RELATED_TO, subject, base.key, view.line)


def _defines_kind(text: str, end: int) -> bool:
    """`基于 X 的<框架/模型…>` standing alone (a title, a one-line definition: the note's concept). When the
    phrase goes on as a sentence's subject (`基于经验回放的深度RL算法在 Atari 上取得了…`, `基于MAML的模型
    被证明…`), it speaks of other works built on X, not of the note's concept."""
    kind = RP.BASED_ON_KIND.match(text, end)
    return kind is not None and RP.KIND_PHRASE_END.match(text, kind.end()) is not None


def _names_filling(reader: _NoteReader, view: View, start: int, end: int) -> list[Name]:
    """Names that make up exactly the text in [start, end) (a name list, nothing else)."""
    names, stop = reader.name_list_at(view, start, filler=False)
    if names and view.text[stop:end].strip() == "":
        return names
    return []


def _variants(reader: _NoteReader, view: View) -> None:
    text = view.text
    for cue in itertools.islice(RP.VARIANT_OF_ZH.finditer(text), MAX_CUES_PER_LINE):
        bases = reader.objects(view, _names_filling(reader, view, cue.start("base"), cue.end("base")))
        if not bases:
            continue
        for subject in reader.subjects(view, cue.start()):
            for base in bases:
                reader.emit("cue.variant_of", RelationType.VARIANT_OF, subject, base.key, view.line)
    for cue in itertools.islice(RP.VARIANT_OF_EN.finditer(text), MAX_CUES_PER_LINE):
        bases, _ = reader.name_list_at(view, cue.end())
        bases = reader.objects(view, bases)
        for subject in reader.subjects(view, cue.start()) if bases else []:
            for base in bases:
                reader.emit("cue.variant_of", RelationType.VARIANT_OF, subject, base.key, view.line)
    # `X 的变体：A、B` / `variants of X: A, B`
    label = RP.VARIANTS_LABEL_ZH.search(text)
    base_key: str | None = None
    members_at: int | None = None
    if label is not None:
        members_at = label.end()
        before = text[: label.start()].rstrip(" \t")
        if before.endswith("的"):  # `X 的变体：`
            named = reader.name_ending_at(view, len(before) - 1)
            base_key = named.key if named else None
    else:
        english = RP.VARIANTS_LABEL_EN.search(text)
        if english is not None:
            members_at = english.end()
            group = "base" if english.group("base") is not None else "base2"
            named_list = _names_filling(reader, view, english.start(group), english.end(group))
            base_key = named_list[0].key if len(named_list) == 1 else None
            if base_key is None:
                members_at = None
    if members_at is not None:
        variant_base = base_key or (None if reader.is_long(view) else reader.section_subject(view.line))
        members, _ = reader.name_list_at(view, members_at)
        members = reader.objects(view, members)
        for member in members:
            reader.emit("cue.variants_list", RelationType.VARIANT_OF, member.key, variant_base, view.line)
    # `A、B 等变体`
    tail = RP.VARIANTS_TAIL.search(text)
    if tail is not None:
        start = reader.clause_start(view, tail.start())
        stop = len(text[: tail.start()].rstrip(" \t,，"))
        members = reader.objects(view, _names_filling(reader, view, start, stop))
        section = None if reader.is_long(view) else reader.section_subject(view.line)
        for member in members:
            reader.emit("cue.variants_list", RelationType.VARIANT_OF, member.key, section, view.line)


def _better_than(reader: _NoteReader, view: View) -> None:
    text = view.text
    for cue in itertools.islice(RP.BETTER_THAN_ZH.finditer(text), MAX_CUES_PER_LINE):
        if cue.start() > 0 and text[cue.start() - 1] in "对类相无好":
            continue  # 对比, 类比, 相比, 无比, 好比
        base = reader.name_at(view, cue.end(), filler=False)
        if base is None:
            continue
        middle = RP.BETTER_THAN_MIDDLE.match(text, base.end)
        if middle is None:
            continue
        better = reader.name_at(view, middle.end(), filler=False)
        if better is not None and len(reader.objects(view, [base, better])) == 2:
            reader.emit("cue.better_than", RelationType.VARIANT_OF, better.key, base.key, view.line)
    for cue in itertools.islice(RP.IMPROVES_ON_CUE.finditer(text), MAX_CUES_PER_LINE):
        bases, _ = reader.name_list_at(view, cue.end())
        bases = reader.objects(view, bases)
        for subject in reader.subjects(view, cue.start()) if bases else []:
            for base in bases:
                reader.emit("cue.better_than", RelationType.VARIANT_OF, subject, base.key, view.line)


def _builds_on(reader: _NoteReader, view: View) -> None:
    text = view.text
    for cue in itertools.islice(RP.BUILDS_ON_OBJECT_AFTER.finditer(text), MAX_CUES_PER_LINE):
        if _negated(text, cue.start()):
            continue
        bases, end = reader.name_list_at(view, cue.end())
        bases = reader.objects(view, bases)
        if not bases:
            continue
        subjects: list[str]
        if RP.BUILDS_ON_PARTICIPLE.match(cue.group(0)) and not reader.clause_core(view, cue.start()):
            # `Building on CoT's framework, numerous techniques …`: the subject follows the comma
            # (`Building on S4, Mamba adds …` reads as one list: its last name after a comma is the subject)
            if len(bases) >= 2 and any(c in text[bases[-2].end : bases[-1].start] for c in ",，"):
                subjects, bases = [bases[-1].key], bases[:-1]
            else:
                comma = RP.UP_TO_COMMA.match(text, end)
                after = reader.name_at(view, comma.end(), new=False) if comma else None
                subjects = [after.key] if after is not None else []
        else:
            subjects = reader.subjects(view, cue.start())
        for subject in subjects:
            for base in bases:
                reader.emit("cue.builds_on", RelationType.PREREQUISITE_OF, base.key, subject, view.line)
    basis_of = RP.BASIS_OF.finditer(text) if RP.BASIS_OF_WORD.search(text) else iter(())
    for cue in itertools.islice(basis_of, MAX_CUES_PER_LINE):
        dependents = reader.objects(view, _names_filling(reader, view, cue.start("rest"), cue.end("rest")))
        for subject in reader.subjects(view, cue.start()) if dependents else []:
            for dependent in dependents:
                reader.emit("cue.builds_on", RelationType.PREREQUISITE_OF, subject, dependent.key, view.line)


def _from_to(reader: _NoteReader, view: View) -> None:
    text = view.text
    for cue in itertools.islice(RP.FROM_CUE.finditer(text), MAX_CUES_PER_LINE):
        if cue.end() < len(text) and text[cue.start()] != "从" and not text[cue.end()].isspace():
            continue
        # English `from A to B` is mostly a range (`from ViT-B to ViT-L`, `from CPU to GPU`): links or
        # concepts with notes only; Chinese `从 A 到 B` is read like the other cues.
        english = text[cue.start()] != "从"
        if english and reader.is_long(view):
            continue
        accept = reader.known if english else reader.objects
        sources, end = reader.name_list_at(view, cue.end(), filler=False)
        if not sources or len(accept(view, sources)) < len(sources):
            continue
        to = RP.TO_CUE.match(text, end)
        if to is None or to.end() == end:
            continue
        targets, end = reader.name_list_at(view, to.end(), filler=False)
        if len(accept(view, targets)) < len(targets):
            continue
        if RP.FROM_TO_FLOW.match(text, end) or RP.FROM_TO_RANGE.match(text, end):
            continue  # `从 FFN 到 LN 的输入` (a flow), `从 CNN 到 Transformer 均…` (a range): no order
        while targets:
            for source in sources:
                for target in targets:
                    reader.emit("cue.from_to", RelationType.PREREQUISITE_OF, source.key, target.key, view.line)
            then = RP.THEN_TO_CUE.match(text, end)
            if then is None or then.end() == end:
                break
            sources = targets
            targets, end = reader.name_list_at(view, then.end(), filler=False)
            targets = accept(view, targets)


def _arrows(reader: _NoteReader, view: View, *, heading: bool) -> None:
    text = view.text
    if not any(a in text for a in ("→", "⟶", "⇒", "➔", "➡", "->", "=>")):
        return
    lead = RP.LINE_LEAD.match(text)
    start = lead.end() if lead else 0
    end = len(text)
    if not heading:  # a list item: only its name part, not the description after `—` or `：`
        for separator in (" — ", " – ", " - ", "：", ": ", " | ", "——"):
            at = text.find(separator, start)
            if at != -1 and view.span_over(at) is None:
                end = min(end, at)
    previous: Name | None = None
    for arrow in itertools.islice(RP.ARROW.finditer(text, start, end), MAX_CUES_PER_LINE):
        if RP.ARROW_NAVIGATION.match(text, arrow.end()):
            previous = None
            continue
        left = previous or reader.name_ending_at(view, arrow.start(), loose=heading)
        right = reader.name_at(view, arrow.end(), filler=False, loose=heading)
        previous = None
        if left is None or right is None:
            continue
        right_span = view.span_at(right.start)
        if right_span is not None and right_span.toc:
            continue
        if not heading and not all(_link_or_latin(view, name) for name in (left, right)):
            continue  # `- 词表太大 → [[BPE]]`: a remark leading to a concept, not an order of two
        if left.start > start and text[left.start - 1] not in RP.NAME_BOUNDARY:
            continue
        after = right.end
        if after < end and text[after] not in RP.NAME_BOUNDARY + "）)。." and not RP.ARROW.match(text, after):
            continue
        reader.emit("cue.arrow", RelationType.PREREQUISITE_OF, left.key, right.key, view.line)
        previous = right


def _link_or_latin(view: View, name: Name) -> bool:
    return view.span_at(name.start) is not None or view.text[name.start].isascii()


def _in_order(reader: _NoteReader, view: View) -> None:
    cue = RP.IN_ORDER_CUE.search(view.text)
    if cue is None:
        return
    joined = reader.joined_view(view.line, 3)
    names, _ = reader.name_list_at(joined, cue.end())
    for before, after in itertools.pairwise(names):
        reader.emit("cue.in_order", RelationType.PREREQUISITE_OF, before.key, after.key, view.line)


def _cue_lines(reader: _NoteReader) -> list[int]:
    """Lines worth a closer look: those holding a cue word, and those opening with a known label.
    (Most lines of a note hold none; building a view for each would dominate the ingest.)"""
    parsed = reader.parsed
    masked = parsed.scan.masked
    lines = parsed.scan.lines
    found = {lines.line_of(m.start()) for m in RP.CUE_TRIGGER.finditer(masked)}
    lowered = masked.lower()  # English cue words: substring search, one hit per line
    for word in RP.CUE_WORDS:
        at = lowered.find(word)
        while at != -1:
            line = lines.line_of(at)
            found.add(line)
            at = lowered.find(word, lines.start_of(line + 1)) if line < lines.line_count else -1
    if reader.config.enabled("cue.label"):
        # A label sits on one line before a colon: try LABEL_CANDIDATE (anchored at the line's start
        # in "\n" + masked) only on lines holding a colon, not at every line of the note.
        nl = "\n" + masked
        colon = RP.LABEL_COLON.search(masked)
        while colon is not None:
            line = lines.line_of(colon.start())
            start = lines.start_of(line)
            match = RP.LABEL_CANDIDATE.match(nl, start)
            if match is not None and reader.config.key(match.group(1)) is not None:
                found.add(line)
            colon = RP.LABEL_COLON.search(masked, lines.start_of(line + 1)) if line < lines.line_count else None
    return sorted(found)


def _cues(reader: _NoteReader) -> None:
    parsed = reader.parsed
    heading_lines = set(reader._heading_lines)
    list_lines = {item.line for item in parsed.scan.list_items}
    config = reader.config
    for line in _cue_lines(reader):
        view = reader.view(line)
        if not view.text.strip():
            continue
        is_heading = line in heading_lines
        # A heading arrow orders chapters of an outline; in a paper's heading (`#### SA → MLP.`, an ablation)
        # or a how-to's (`# PDF Ingest — Download → Convert`) it is a replacement or a pipeline.
        if ((is_heading and parsed.outline) or line in list_lines) and config.enabled("cue.arrow"):
            _arrows(reader, view, heading=is_heading)
        text = view.text
        low = text.lower()
        if config.enabled("cue.from_to") and ("从" in text or "from" in low):
            _from_to(reader, view)
        if is_heading:
            continue
        if config.enabled("cue.label"):
            _label(reader, view)
        if config.enabled("cue.in_order") and ("顺序" in text or "依次" in text or "order" in low):
            _in_order(reader, view)
        if "支持" in text or "support" in low:
            _supports(reader, view)
        if "实现" in text or "implement" in low:
            _implements(reader, view)
        # Which families the line may hold: chains of `in` (the fastest substring tests in CPython).
        if "基于" in text or "based" in low or "fork" in low or "extends" in low or "derived" in low or "built" in low:
            _based_on(reader, view)
        if (
            "变体" in text or "变种" in text or "改进" in text or "分支" in text
            or "variant" in low or "variation" in low or "extension" in low or "improved" in low or "fork" in low
        ):  # fmt: skip
            _variants(reader, view)
        if "比" in text or "improve" in low:
            _better_than(reader, view)
        if (
            "建立在" in text or "基础" in text or "前置" in text or "前提" in text or "先" in text
            or "build" in low or "built" in low or "requires" in low or "assumes" in low or "needs" in low
        ):  # fmt: skip
            _builds_on(reader, view)


# --- structure ---------------------------------------------------------------------------------------------


MIN_TOC_LINKS = 3  # links to the note's own headings that make a table of contents
TOC_NOTE_TYPES = ("toc", "outline", "book", "contents", "index", "moc")


def _has_table_of_contents(parsed: ParsedNote) -> bool:
    """A note typed as an outline/TOC, or one that lists its own sections as heading links."""
    kind = parsed.front_matter_data.get("type")
    if parsed.note.kind in TOC_NOTE_TYPES or (isinstance(kind, str) and kind.strip().casefold() in TOC_NOTE_TYPES):
        return True
    own_heading_links = 0
    for link in parsed.note.links:
        if not link.target and link.heading and link.front_matter_key is None:
            own_heading_links += 1
            if own_heading_links >= MIN_TOC_LINKS:
                return True
    return False


def _is_ordered_note(parsed: ParsedNote) -> bool:
    """A roadmap (by type, tag, title or its opening lines) or a table of contents with numbered sections.
    Numbered headings alone do not make an order: a team guide (`## 2. 环境与工具`) or a spec numbers its
    sections too, and its sections are not things to learn one after another."""
    note = parsed.note
    if note.kind == "roadmap":
        return True
    kind = parsed.front_matter_data.get("type")
    if isinstance(kind, str) and kind.strip().casefold() in ("roadmap", "syllabus", "curriculum", "learning-path"):
        return True
    if any(tag.rsplit("/", 1)[-1] in ("roadmap", "learning-path", "syllabus") for tag in note.tags):
        return True
    if RP.ROADMAP_CUE.search(note.title):
        return True
    head_end = parsed.scan.lines.start_of(min(parsed.line_count, 25))
    if RP.ROADMAP_CUE.search(parsed.scan.masked[:head_end]):
        return True
    numbered = sum(
        1
        for h in parsed.scan.headings
        if h.level >= 2 and RP.NUMBERED_HEADING.match(strip_decorations_keep_numbers(h.text))
    )
    return numbered >= 3 and _has_table_of_contents(parsed)


def strip_decorations_keep_numbers(text: str) -> str:
    return RP.EMPHASIS.sub("", text).strip().lstrip("🔥⭐📂📖 ")


def _entry_keys(reader: _NoteReader, entry_index: int) -> list[str]:
    parsed = reader.parsed
    entry = parsed.outline_entries[entry_index]
    keys: list[str] = []
    if entry.link is not None:
        link = parsed.note.links[entry.link]
        if link.concept and not _is_nav_link(link):
            keys.append(link.concept)
    keys.extend(reader.index.key_of(name.key) for name in entry.names if name.key and not name.member)
    return [k for k in dict.fromkeys(keys) if k]


def _in_appendix(reader: _NoteReader, line: int) -> bool:
    path = reader.parsed.heading_path_at(line)
    return any(RP.APPENDIX_HEADING.match(strip_decorations_keep_numbers(h)) for h in path)


def _order(reader: _NoteReader) -> None:
    parsed = reader.parsed
    if not parsed.outline or not parsed.outline_entries or not _is_ordered_note(parsed):
        return
    groups: dict[tuple[int | None, str, int], list[int]] = defaultdict(list)
    for i, entry in enumerate(parsed.outline_entries):
        if entry.source == "heading":
            groups[(entry.parent, "heading", entry.depth)].append(i)
        elif entry.source == "list_item" and RP.ORDERED_LIST_MARKER.match(entry.text):
            groups[(entry.parent, "list_item", entry.depth)].append(i)
    for members in groups.values():
        chain: list[tuple[int, list[str]]] = []  # (line, keys) of the run since the last break
        for i in members:
            entry = parsed.outline_entries[i]
            heading_text = entry.text.lstrip("# \t")
            if RP.APPENDIX_HEADING.match(strip_decorations_keep_numbers(heading_text)) or _in_appendix(
                reader, entry.line
            ):
                chain = []
                continue
            keys = _entry_keys(reader, i)
            if not keys:
                continue
            for distance, (_, earlier_keys) in enumerate(reversed(chain[-len(ORDER_WINDOW) :])):
                for earlier in earlier_keys:
                    for key in keys:
                        if distance == 0:
                            reader.emit("structure.order", RelationType.NEXT, earlier, key, entry.line)
                        reader.emit(
                            "structure.order_prerequisite",
                            RelationType.PREREQUISITE_OF,
                            earlier,
                            key,
                            entry.line,
                            factor=ORDER_WINDOW[distance],
                        )
            chain.append((entry.line, keys))


def _variants_headings(reader: _NoteReader) -> None:
    parsed = reader.parsed
    scan = parsed.scan
    for h, heading in enumerate(scan.headings):
        lowered = heading.text.lower()
        if not any(word in lowered for word in ("变体", "变种", "variant", "variation", "family")):
            continue
        match = RP.VARIANTS_HEADING.match(strip_decorations(plain_text(heading.text)))
        if match is None:
            continue
        base_text = match.group("base") or match.group("base2") or match.group("base3") or ""
        base_text = RP.VARIANTS_WORD.split(base_text)[0]  # `Architecture Variants 架构变体` → `Architecture`
        numbered = RP.NUMBERED_HEADING.match(base_text.strip())
        base_text = base_text.strip()[numbered.end() if numbered else 0 :].strip()
        view = reader.view(heading.line)
        base: str | None = None
        span_keys = [s.key for s in view.spans if s.key and not s.nav]
        if span_keys:
            base = span_keys[0]
        elif RP.GENERIC_VARIANT_BASE.match(base_text):
            base = reader.section_subject(heading.line)  # `## 关键变体` in the BatchNorm note: its variants
        else:
            candidates = names_in(base_text)
            if candidates:
                base = reader.resolve(candidates[0].name) or reader.ensure(candidates[0].name)
        if not base:
            continue
        items = [item for item in scan.list_items if item.heading_index == h]
        if not items:
            continue
        top = min(item.depth for item in items)
        for item in items:
            if item.depth != top:
                continue
            if RP.BOLD_LABEL_ITEM.match(parsed.line_text(item.line)):
                continue  # `- **文档**: …`, `- **视觉版**: [[ViT]]`: an aspect of the section, not a variant
            item_view = reader.view(item.line)
            lead = RP.LINE_LEAD.match(item_view.text)
            name = reader.name_at(item_view, lead.end() if lead else 0, filler=False)
            key = name.key if name else None
            if key is None:
                candidates = names_in(plain_text(item.text))
                if candidates:
                    key = reader.resolve(candidates[0].name) or reader.ensure(candidates[0].name)
            reader.emit("structure.variants_heading", RelationType.VARIANT_OF, key, base, item.line)


def _tool_tables(reader: _NoteReader) -> None:
    rows = reader.parsed.scan.table_rows
    tool_table = False
    for row in rows:
        if row.row is None:
            if row.cells and not set(row.cells[0].strip()) <= set("-: "):
                tool_table = bool(RP.TOOL_COLUMN.match(strip_decorations(row.cells[0]).strip()))
            continue
        if not tool_table or len(row.cells) < 2:
            continue
        view = reader.view(row.line)
        first_cell_end = view.text.find("|", view.text.find("|") + 1)
        if first_cell_end == -1:
            continue
        tool_spans = [s for s in view.spans if s.end <= first_cell_end and s.key and not s.nav]
        if not tool_spans:
            continue
        tool = tool_spans[0].key
        rest = view.text[first_cell_end:]
        concepts = [s.key for s in view.spans if s.start > first_cell_end and s.key and not s.nav]
        for match in RP.LATIN_TOKEN.finditer(rest):
            start = first_cell_end + match.start()
            name = reader.name_at(view, start, filler=False, new=False)
            if name is not None:
                concepts.append(name.key)
            elif RP.CAMEL_CASE_NAME.match(match.group(0)):  # `PagedAttention 高性能推理`: a technique's name
                concepts.append(reader.ensure(match.group(0)))
        for concept in dict.fromkeys(concepts):
            reader.emit("structure.tool_table", RelationType.IMPLEMENTS, tool, concept, row.line)


def _name_extensions(reader: _NoteReader) -> None:
    """`Dr-GRPO` → GRPO, `Flash Attention` → Attention: concepts this note names by link or by being about."""
    parsed = reader.parsed
    named: dict[str, int] = {}
    for key in reader.own:
        named.setdefault(key, 1)
    for link in parsed.note.links:
        if link.concept and link.front_matter_key is None and link.kind in ("wiki", "embed", "markdown"):
            named.setdefault(link.concept, link.line)
    own = set(reader.own)
    for key, line in named.items():
        if key not in own and reader.index.is_note_key(key):
            continue  # said once, by the concept's own note, not by every note that links to it
        found = extended_base(reader.index, key)
        if found:
            base, spelling = found
            evidence = f"the name {spelling!r} extends {base!r}"
            reader.emit("structure.name_extension", RelationType.VARIANT_OF, key, base, line, evidence=evidence)


def extended_base(index: ConceptIndex, key: str) -> tuple[str, str] | None:
    """The concept whose name this concept's name extends by one short modifier (and the spelling)."""
    for spelling in sorted(index.spellings(key), key=len):
        base, kind = split_kind(spelling)
        if kind is not None or concept_key(base) != concept_key(spelling):
            continue
        parts = [p for p in RP.NAME_PART_SEPARATOR.split(spelling.strip()) if p]
        if len(parts) < 2:
            continue
        splits: list[tuple[str, str, bool]] = []  # (base, modifier, the base is the last word)
        if " " in spelling.strip():
            head, _, last = spelling.strip().rpartition(" ")
            splits.append((last, head, True))  # `Flash Attention`: base Attention, modifier Flash
            first, _, rest = spelling.strip().partition(" ")
            splits.append((first, rest, False))
        elif len(parts) == 2:
            splits.extend(((parts[1], parts[0], True), (parts[0], parts[1], False)))
        for base_text, modifier, head_noun in splits:
            compact = modifier.replace("-", "")
            if not RP.ASCII_MODIFIER.match(compact) or RP.ID_MODIFIER.match(compact) or len(concept_key(base_text)) < 2:
                continue  # `lc2-Transformer`: a lesson number, not a modifier
            if concept_key(modifier) in GENERIC_MODIFIERS:
                continue  # `intro_vit`, `raw_index`, `SKILL_guid`: a file-name word, not a variant
            base_key = concept_key(base_text)
            if not (_name_like(base_text) or any(c.isdigit() for c in base_text)) and not (
                head_noun and index.is_note_key(base_key)
            ):
                continue  # a plain word (`Meta-Learning`, `World Model`) only as the head noun of a noted concept
            if base_key == key or index.key_of(base_key) != base_key or not index.spellings(base_key):
                continue  # the base must be a concept under its own name (`LLM` as an alias of 大语言模型 is not)
            if index.resolve(modifier) is not None:
                continue  # `GQA-MQA`, `SFT-TRL`: two concepts, not one extended
            return base_key, spelling
    return None


# --- rule sets --------------------------------------------------------------------------------------------


class TypedRule:
    """One family of per-note rules under a config; `vault_stage` reads the config back from it."""

    def __init__(
        self, name: str, config: RelationsConfig, steps: Sequence[tuple[str, Callable[[_NoteReader], None]]]
    ) -> None:
        self.__name__ = name
        self.config = config
        self._steps = steps

    def __call__(self, parsed: ParsedNote, index: ConceptIndex) -> list[Relation]:
        reader = _NoteReader(parsed, index, self.config)
        for rule_name, step in self._steps:
            if rule_name == "*" or self.config.enabled(rule_name):
                step(reader)
        return reader.relations

    def __repr__(self) -> str:
        return f"TypedRule({self.__name__!r})"


def _order_rules(reader: _NoteReader) -> None:
    if reader.config.enabled("structure.order") or reader.config.enabled("structure.order_prerequisite"):
        _order(reader)


def rules_for(config: RelationsConfig = DEFAULT_CONFIG) -> list[RelationRule]:
    """The per-note relation rules under `config` (one callable per evidence family)."""
    return [
        TypedRule("explicit_relations", config, [("*", _front_matter), ("*", _dataview_and_typed_lists)]),
        TypedRule("cue_relations", config, [("*", _cues)]),
        TypedRule(
            "structure_relations",
            config,
            [
                ("*", _order_rules),
                ("structure.variants_heading", _variants_headings),
                ("structure.tool_table", _tool_tables),
                ("structure.name_extension", _name_extensions),
            ],
        ),
    ]


def config_of(rules: Iterable[object]) -> RelationsConfig | None:
    """The config of the typed rules among `rules` (None when there are none: no vault stage)."""
    for rule in rules:
        if isinstance(rule, TypedRule):
            return rule.config
    return None


def rules_for_vault(vault_root: Path, config_path: Path | None = None) -> list[RelationRule]:
    """Rules under the vault's `kg-relations.toml` (or `config_path`); raises `ValueError` on a bad file."""
    return rules_for(find_relations_config(vault_root, config_path))


def vault_rules(vault_root: Path, config_path: Path | None = None) -> list[RelationRule]:
    """Everything `read_vault(root, rules=…)` should run for this vault: the outline rule and the typed
    rules under the vault's relations config. The composition root passes `settings.relations_config`:
    `read_vault(root, rules=vault_rules(root, settings.relations_config))`."""
    from ingest.vault import outline_relations  # here, not at the top: ingest.vault imports this module

    return [outline_relations, *rules_for_vault(vault_root, config_path)]


RULES: list[RelationRule] = rules_for(DEFAULT_CONFIG)


# --- the vault-wide stage ---------------------------------------------------------------------------------


# A relation's identity for `dedupe`: the edge, the rule, the note and the line (a C-level getter).
_IDENTITY = attrgetter("type", "source", "target", "rule", "note", "line")


def dedupe(relations: Iterable[Relation], seen: set[tuple[object, ...]] | None = None) -> list[Relation]:
    """Drop exact repeats (same edge, rule, note and line): the first is kept, whatever its evidence.
    `seen` (identities met before, updated) lets a later batch be deduplicated against an earlier one."""
    seen = set() if seen is None else seen
    out: list[Relation] = []
    for relation in relations:
        identity = _IDENTITY(relation)
        if identity not in seen:
            seen.add(identity)
            out.append(relation)
    return out


def _dedupe_by_note(relations: Sequence[Relation]) -> list[Relation]:
    """`dedupe`, holding one note's identities at a time when each note's relations come together (as
    the per-note rules give them): a repeat is always of the same note. 10k notes' identities at once
    were ~14 MB of a big read's peak. Falls back to `dedupe` when a note's relations are split."""
    out: list[Relation] = []
    done: set[str] = set()  # notes whose run has ended
    note: str | None = None
    seen: set[tuple[object, ...]] = set()
    for relation in relations:
        if relation.note != note:
            if note is not None:
                done.add(note)
            if relation.note in done:
                return dedupe(relations)
            note, seen = relation.note, set()
        identity = _IDENTITY(relation)
        if identity not in seen:
            seen.add(identity)
            out.append(relation)
    return out


RequiresEdges = dict[str, dict[str, list[Relation]]]


def requires_edges(relations: Iterable[Relation]) -> RequiresEdges:
    """dependent -> required -> the assertions (X requires A: A prerequisite of X, X variant of / implements A)."""
    graph: RequiresEdges = defaultdict(lambda: defaultdict(list))
    _add_requires_edges(graph, relations)
    return graph


def _add_requires_edges(graph: RequiresEdges, relations: Iterable[Relation]) -> None:
    for relation in relations:
        if relation.type is RelationType.PREREQUISITE_OF:
            graph[relation.target][relation.source].append(relation)
        elif relation.type in (RelationType.VARIANT_OF, RelationType.IMPLEMENTS):
            graph[relation.source][relation.target].append(relation)


def _strongly_connected(graph: dict[str, dict[str, list[Relation]]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of two or more concepts, each sorted."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    nodes = sorted(set(graph) | {t for targets in graph.values() for t in targets})
    for root in nodes:
        if root in index_of:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.get(root, {}))))]
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def cycle_problems(
    relations: Sequence[Relation], names: dict[str, str] | None = None, *, requires: RequiresEdges | None = None
) -> list[Problem]:
    """One problem per cycle among requires-edges; the edges are kept (a learning path reports them).
    `requires`: `requires_edges(relations)` when the caller has it already."""
    graph = requires_edges(relations) if requires is None else requires
    problems: list[Problem] = []
    shown = names or {}
    for component in _strongly_connected(graph):
        members = set(component)
        edges = [
            assertion
            for dependent in component
            for required, assertions in sorted(graph.get(dependent, {}).items())
            if required in members
            for assertion in assertions
        ]
        edges.sort(key=lambda r: (-r.confidence, r.note, r.line or 0))
        weakest = min(edges, key=lambda r: (r.confidence, r.note, r.line or 0))
        described = "; ".join(
            f"{shown.get(r.source, r.source)} -[{r.type.value}]-> {shown.get(r.target, r.target)} "
            f"({r.rule} {r.confidence:g}, {r.note}:{r.line})"
            for r in edges[:12]
        )
        more = f" … and {len(edges) - 12} more" if len(edges) > 12 else ""
        problems.append(
            Problem(
                weakest.note,
                ProblemKind.RELATION_CYCLE,
                f"requires-cycle among {', '.join(shown.get(c, c) for c in component)} (kept, not dropped): "
                f"{described}{more}",
                weakest.line,
            )
        )
    return problems


def vault_stage(
    parsed_notes: Sequence[ParsedNote],
    index: ConceptIndex,
    relations: Sequence[Relation],
    config: RelationsConfig = DEFAULT_CONFIG,
    *,
    refd_memo: RefdMemo | None = None,
) -> tuple[list[Relation], list[Problem]]:
    """After the per-note rules: RefD link statistics, exact duplicates dropped, cycles reported."""
    merged = _dedupe_by_note(relations)
    # A kept read (`refd_memo`) builds one requires graph for RefD's check and for the cycles (~0.05 s
    # at 10k notes). A one-shot read lets RefD build its own after scoring, once the link graph is
    # gone, and builds the cycles' one after RefD: held with the link graph, it made a 50k read's peak.
    requires = requires_edges(merged) if refd_memo is not None else None
    if config.enabled("statistics.refd"):
        confidence = config.confidence_of("statistics.refd")
        refd = refd_relations(parsed_notes, index, confidence, config.refd, merged, memo=refd_memo, requires=requires)
        # a RefD relation can repeat only one of the same rule
        rules = {relation.rule for relation in refd}
        added = dedupe(refd, {_IDENTITY(r) for r in merged if r.rule in rules})
        merged.extend(added)
        if requires is not None:
            _add_requires_edges(requires, added)
    return merged, cycle_problems(merged, requires=requires)


__all__ = [
    "REQUIRES_TYPES",
    "RULES",
    "RelationRule",
    "TypedRule",
    "config_of",
    "cycle_problems",
    "dedupe",
    "extended_base",
    "replay_ensures",
    "requires_edges",
    "rules_for",
    "rules_for_vault",
    "vault_rules",
    "vault_stage",
]
