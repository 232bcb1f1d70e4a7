"""Reading a vault: files → `ParsedNote`s (pure, per note) → one concept resolution → a `Graph`.

- `read_vault(root)` walks the vault (skipping hidden folders such as `.obsidian/`, `.git/`,
  `.trash/`, and every non-note file), reads each note once, decodes it (`ingest.encoding`),
  parses it (`parse_note`) and resolves links and concepts across all notes (`resolve_notes`).
  `jobs` spreads the reading and parsing over processes (`ingest.parallel`); the rest is one process.
  Nothing outside the vault is read: symlinks that point out are reported, not followed.
- `parse_note(path, text)` is pure: it returns the `Note` plus the per-line context relation rules
  read (`ParsedNote.context(line)`: heading path, list depth, table row, blockquote, links).
- Relation rules are functions `(ParsedNote, ConceptIndex) -> Iterable[Relation]` run after the
  concepts are known; the outline rule (`PART_OF` from MOC/TOC headings and items) lives here.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import os
import pickle
import posixpath
import stat
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from sys import intern
from typing import Protocol

import lz4.block

from ingest import parallel
from ingest import patterns as P
from ingest.concepts import (
    IMPLEMENTATION,
    OUTLINE_TYPES,
    ConceptIndex,
    NameCandidate,
    concept_key,
    is_boilerplate,
    is_id_like,
    is_outline_stem,
    link_target_name,
    names_in,
    split_kind,
    strip_decorations,
    strip_order_prefix,
)
from ingest.concepts import clear_caches as clear_name_caches
from ingest.encoding import decode_note, looks_binary
from ingest.frontmatter import FrontMatter, get_first, split_front_matter, string_list, tag_list
from ingest.frontmatter import clear_caches as clear_scalar_caches
from ingest.markdown import (
    LineIndex,
    MarkdownScan,
    blank,
    has_attachment_extension,
    heading_paths,
    normalise_tag,
    parse_wiki_link,
    plain_text,
    scan_markdown,
)
from ingest.refd import RefdMemo
from ingest.relations import RULES as TYPED_RULES
from ingest.relations import TypedRule, config_of, replay_ensures, vault_stage
from kg.model import (
    Concept,
    Graph,
    Link,
    Mention,
    Note,
    Problem,
    ProblemKind,
    Relation,
    RelationType,
    pickled_by_fields,
)

NOTE_SUFFIXES = (".md", ".markdown")
DEFAULT_MAX_FILE_BYTES = 10_000_000
# Tables-of-contents headings: transparent (their items belong to the note), unlike other boilerplate.
TOC_HEADING_KEYS = frozenset(concept_key(n) for n in ("目录", "Table of Contents", "Contents", "TOC", "索引"))

# Characters that do not occur in the relative paths users link to (but do in prose in parentheses).
_NOT_IN_PATHS = frozenset("，。；：、（）！？ \t")
# README/home pages name a folder's concept but are outlines only when their structure says so.
_NOT_OUTLINE_STEMS = frozenset({"readme", "home"})

OUTLINE_HEADING_CONFIDENCE = 0.6
OUTLINE_LIST_CONFIDENCE = 0.5
OUTLINE_MEMBER_CONFIDENCE = 0.4


# --- per-note parse result ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineContext:
    """What a relation rule needs to know about one line of a note."""

    line: int  # 1-based line in the file
    text: str  # the line as written
    heading_path: tuple[str, ...]  # headings above the line, outermost first (a heading excludes itself)
    heading_level: int  # 1-6 when the line is a heading, else 0
    list_depth: int  # 0 = not a list item, 1 = top-level item, ...
    table_row: int | None  # 0-based data row when the line is a table row
    blockquote: bool
    links: tuple[Link, ...]  # links written on the line (resolved once the vault is resolved)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class OutlineEntry:
    """A heading, list item or table row of an outline note that names concepts."""

    line: int
    source: str  # "heading" | "list_item" | "table_cell"
    text: str  # the line text as written
    names: tuple[NameCandidate, ...]  # names written as text (empty when the entry is a link)
    link: int | None  # index into note.links when the entry names a concept by a link
    parent: int | None  # index of the parent entry; None = the note's own concept
    depth: int  # heading level, or list depth


_NO_LINKS_OUTSIDE: frozenset[tuple[int, str]] = frozenset()


@dataclass(slots=True)
class NoteBody:
    """A note body's scan and the per-line context derived from it (what the per-note stages read)."""

    scan: MarkdownScan
    heading_lines: list[int]
    heading_paths: list[tuple[str, ...]]
    list_depth: dict[int, int]
    table_row: dict[int, int | None]

    @classmethod
    def of(cls, scan: MarkdownScan) -> NoteBody:
        return cls(
            scan=scan,
            heading_lines=[h.line for h in scan.headings],
            heading_paths=heading_paths(scan.headings),
            list_depth={item.line: item.depth for item in scan.list_items},
            table_row={row.line: row.row for row in scan.table_rows},
        )

    def heading_path_at(self, line: int) -> tuple[str, ...]:
        """The headings above `line`, outermost first (a heading's own line: those above it)."""
        i = bisect.bisect_right(self.heading_lines, line) - 1
        if i < 0:
            return ()
        path = self.heading_paths[i]
        return path[:-1] if self.heading_lines[i] == line else path


@dataclass(slots=True)
class ParsedNote:
    note: Note
    front_matter: FrontMatter
    _body: NoteBody | None  # None while packed (see `pack`)
    names: list[NameCandidate]  # what the note is about, primary first
    title_names: list[NameCandidate]  # names from the title, when it differs from the file name
    outline: bool
    outline_entries: list[OutlineEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _packed: bytes | None = None  # the body, pickled and compressed, once `pack` has run
    # The Latin-script name tokens of its prose (`PROSE_NAME_TOKEN`: GRPO, LoRA, …), interned: the
    # prose mentions stage unpacks a packed body only for a note whose tokens name a concept.
    prose_tokens: tuple[str, ...] = ()
    _links_by_line: dict[int, list[Link]] | None = None
    # (line, target) of links out of the vault; one shared empty set until there is one (most notes)
    outside_links: AbstractSet[tuple[int, str]] = _NO_LINKS_OUTSIDE
    # What the relation rules derive from the final links and headings, shared by the rule families:
    # (the links it was built from, line -> [(start, end, link)], heading parents).
    _rule_state: tuple[list[Link], dict[int, list[tuple[int, int, Link]]], list[int | None]] | None = None

    @property
    def path(self) -> str:
        return self.note.path

    @property
    def body(self) -> NoteBody:
        return self._body or self._unpack()  # the accessors below repeat this: ~50 calls a note, no hop

    def _unpack(self) -> NoteBody:
        assert self._packed is not None
        body: NoteBody = pickle.loads(lz4.block.decompress(self._packed))
        self._body = body
        return body

    def pack(self) -> None:
        """Hold the body only as compressed bytes until a stage reads it again (`body` unpacks it).

        A one-shot read of a big vault would otherwise hold every note's scan from the parse to the
        rules: the text, its headings, list items and table cells, ~9 KB a note against ~2.6 KB packed
        (pickled, then lz4; zlib packs to ~2 KB but took ~1.1 s of a 10k-note read, lz4 ~0.1 s).
        Packing is ~0.04 ms a note and unpacking ~0.03; the first pack's bytes serve every
        later one, since what the stages add to a body afterwards (line texts, masked text) are
        caches they make again."""
        if self._packed is None:
            body = self.body
            body.scan.forget_masked()
            body.scan.lines.forget_line_texts()
            self._packed = lz4.block.compress(pickle.dumps(body, pickle.HIGHEST_PROTOCOL))
        self._body = None

    @property
    def scan(self) -> MarkdownScan:
        return (self._body or self._unpack()).scan

    @property
    def _heading_lines(self) -> list[int]:
        return (self._body or self._unpack()).heading_lines

    @property
    def _heading_paths(self) -> list[tuple[str, ...]]:
        return (self._body or self._unpack()).heading_paths

    @property
    def _list_depth(self) -> dict[int, int]:
        return (self._body or self._unpack()).list_depth

    @property
    def _table_row(self) -> dict[int, int | None]:
        return (self._body or self._unpack()).table_row

    @property
    def front_matter_data(self) -> dict[str, object]:
        return self.front_matter.data

    @property
    def line_count(self) -> int:
        return self.scan.lines.line_count

    def line_text(self, line: int) -> str:
        return (self._body or self._unpack()).scan.lines.line_text(line)

    def heading_path_at(self, line: int) -> tuple[str, ...]:
        return (self._body or self._unpack()).heading_path_at(line)

    def links_on(self, line: int) -> tuple[Link, ...]:
        if self._links_by_line is None:
            by_line: dict[int, list[Link]] = {}
            for link in self.note.links:
                by_line.setdefault(link.line, []).append(link)
            self._links_by_line = by_line
        return tuple(self._links_by_line.get(line, ()))

    def context(self, line: int) -> LineContext:
        i = bisect.bisect_right(self._heading_lines, line) - 1
        level = 0
        if i >= 0 and self._heading_lines[i] == line:
            level = self.scan.headings[i].level
        return LineContext(
            line=line,
            text=self.line_text(line),
            heading_path=self.heading_path_at(line),
            heading_level=level,
            list_depth=self._list_depth.get(line, 0),
            table_row=self._table_row.get(line),
            blockquote=line in self.scan.blockquotes,
            links=self.links_on(line),
        )

    def lines_with_links(self) -> Iterator[LineContext]:
        for line in sorted({link.line for link in self.note.links}):
            yield self.context(line)

    def replace_links(self, links: list[Link]) -> None:
        self.note.links = links
        self._links_by_line = None
        self._rule_state = None


# --- parse_note -----------------------------------------------------------------------------------


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    lowered = name.lower()
    for suffix in NOTE_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _folder_name(path: str) -> str:
    parts = path.split("/")
    return strip_order_prefix(parts[-2]) if len(parts) > 1 else ""


def _front_matter_links(fm: FrontMatter) -> list[Link]:
    """`up: "[[X]]"`, `prerequisites: ["[[A]]", "[[B]|b]]"]`: links written in front matter values."""
    links: list[Link] = []
    if "[[" not in fm.raw:
        return links
    for key, value in fm.data.items():
        line = fm.key_lines.get(key, 1)
        for text in string_list(value) if not isinstance(value, dict) else []:
            if "[[" not in text:
                continue
            for match in P.WIKI_LINK.finditer(text):
                link = parse_wiki_link(match.group(2), embed=False, line=line)
                if link.target:
                    links.append(
                        Link(link.target, link.line, link.kind, link.alias, link.heading, link.block, None, None, key)
                    )
    return links


def _first_heading(scan: MarkdownScan, level: int) -> str | None:
    for heading in scan.headings:
        if heading.level == level:
            return heading.text
    return None


def _note_names(path: str, fm_title: str | None, h1: str | None) -> tuple[list[NameCandidate], str]:
    """What the note is about: its front matter `title`, else its file name — or, when the file name
    is an id or a table of contents (`目录`, `README`, `001_5509ce86…`), its H1 or folder name.
    A note whose only name is boilerplate (`目录` at the vault root) is about nothing."""
    stem = _stem(path)
    stem_is_name = not is_id_like(stem) and not is_outline_stem(stem, exact=True)
    sources: list[str] = []
    if fm_title:
        sources.append(fm_title)
    if stem_is_name:
        name = strip_order_prefix(stem)
        heading = strip_decorations(plain_text(h1)) if h1 else ""
        # `knowledge_distillation.md` titled `# Knowledge Distillation`: same concept, the readable spelling
        sources.append(heading if heading and concept_key(heading) == concept_key(name) else name)
    else:
        if h1:
            sources.append(strip_decorations(plain_text(h1)))
        sources.append(_folder_name(path))
    for source in sources:
        if not source or is_boilerplate(source):
            continue
        names = names_in(source)
        if names:
            return names, source
        base, kind = split_kind(strip_decorations(source) or source)
        if concept_key(base) and not is_boilerplate(base):
            return [NameCandidate(base, (), kind)], source
    return [], stem


def _description(fm: FrontMatter, scan: MarkdownScan) -> str | None:
    value = get_first(fm.data, "description", "summary", "brief", "abstract", "excerpt")
    if isinstance(value, str) and value.strip():
        return value.strip()[:500]
    match = P.FIRST_PROSE_LINE.search(scan.masked, 0, 8192)
    if match is None:
        return None
    text = scan.lines.line_text(scan.lines.line_of(match.start())).strip()
    return plain_text(text)[:500] or None


def _detect_outline(note: Note, fm: FrontMatter, scan: MarkdownScan, stem: str) -> bool:
    """MOCs, tables of contents, roadmaps: by front matter type/tags, by name, or by structure."""
    kind = get_first(fm.data, "type", "category", "kind", "layout")
    if isinstance(kind, str) and kind.strip().casefold() in OUTLINE_TYPES:
        return True
    for tag in note.tags:
        last = tag.rsplit("/", 1)[-1]
        if last in OUTLINE_TYPES:
            return True
    if note.kind in ("roadmap", "moc") or (is_outline_stem(stem) and concept_key(stem) not in _NOT_OUTLINE_STEMS):
        return True
    if not scan.list_items:
        return False
    structural = len(scan.headings) + len(scan.list_items)
    prose = len(P.NON_BLANK_LINE.findall("\n" + scan.masked)) - structural - len(scan.table_rows)
    if prose > 0.5 * structural:
        return False  # an article with lists in it, not an outline
    # A table of contents heading (`## 目录`, `Table of Contents`) over a mostly structural note …
    if any(concept_key(strip_decorations(h.text)).startswith(tuple(TOC_HEADING_KEYS)) for h in scan.headings):
        return True
    # … or an index page: most list items (outside `参考文献`/`相关` sections) lead with a link.
    content = [
        item
        for item in scan.list_items
        if item.heading_index is None or not is_boilerplate(scan.headings[item.heading_index].text)
    ]
    linked = sum(1 for item in content if strip_decorations(item.text).startswith("["))
    return len(content) >= 8 and linked >= 0.6 * len(content)


def _entry_link(note: Note, line: int, text: str) -> int | None:
    """The index of the link an outline line starts with (`- [[X]] — …`, `1. [t](u)`), if any."""
    stripped = strip_decorations(text)
    if not (stripped.startswith("[") or stripped.startswith("![[")):
        return None
    for i, link in enumerate(note.links):
        if link.line == line and link.kind in ("wiki", "markdown", "url") and link.front_matter_key is None:
            return i
    return None


def _outline_entries(note: Note, scan: MarkdownScan) -> list[OutlineEntry]:
    entries: list[OutlineEntry] = []
    heading_entry: list[int | None] = []  # per heading: the entry standing for it (or its nearest ancestor)
    heading_skip: list[bool] = []  # per heading: items under it are navigation, not content
    stack: list[tuple[int, int | None, bool]] = []  # (level, entry index, skip)
    title_skipped = False
    for heading in scan.headings:
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        parent = stack[-1][1] if stack else None
        inherited_skip = stack[-1][2] if stack else False
        entry_index: int | None = parent
        skip = inherited_skip
        if heading.level == 1 and not title_skipped:
            title_skipped = True  # the first H1 is the note's title: its concept is the note's
        elif not inherited_skip:
            plain = plain_text(heading.text)
            key = concept_key(strip_decorations(plain))
            if is_boilerplate(plain):
                skip = not any(key.startswith(k) for k in TOC_HEADING_KEYS)
            else:
                heading_link = _entry_link(note, heading.line, heading.text)
                heading_names = () if heading_link is not None else tuple(names_in(plain))
                if heading_link is not None or heading_names:
                    entries.append(
                        OutlineEntry(
                            heading.line,
                            "heading",
                            scan.lines.line_text(heading.line),
                            heading_names,
                            heading_link,
                            parent,
                            heading.level,
                        )
                    )
                    entry_index = len(entries) - 1
        stack.append((heading.level, entry_index, skip))
        heading_entry.append(entry_index)
        heading_skip.append(skip)
    item_entry: list[int | None] = []
    for item in scan.list_items:
        under = item.heading_index
        if under is not None and heading_skip[under]:
            item_entry.append(None)
            continue
        parent = item_entry[item.parent] if item.parent is not None else None
        if parent is None and item.parent is None and under is not None:
            parent = heading_entry[under]
        item_link = _entry_link(note, item.line, item.text)
        item_names: tuple[NameCandidate, ...] = ()
        if item_link is None:
            item_names = tuple(names_in(plain_text(item.text)))
        if item_link is None and not item_names:
            item_entry.append(parent)
            continue
        entries.append(
            OutlineEntry(
                item.line, "list_item", scan.lines.line_text(item.line), item_names, item_link, parent, item.depth
            )
        )
        item_entry.append(len(entries) - 1)
    heading_lines = [h.line for h in scan.headings]
    for row in scan.table_rows:
        if row.row is None:
            continue
        h = bisect.bisect_right(heading_lines, row.line) - 1
        if h >= 0 and heading_skip[h]:
            continue
        for i, link in enumerate(note.links):
            if link.line == row.line and link.kind == "wiki":
                parent = heading_entry[h] if h >= 0 else None
                entries.append(OutlineEntry(row.line, "table_cell", scan.lines.line_text(row.line), (), i, parent, 0))
                break
    return entries


def parse_note(
    path: str,
    text: str,
    *,
    content_hash: str = "",
    encoding: str = "utf-8",
    utf8_length: int | None = None,
    mentions: bool = True,
) -> ParsedNote:
    """Parse one note's text (pure; never raises on any string). `path` is vault-relative POSIX;
    `utf8_length`, when the caller knows it, is the length of `text` encoded as UTF-8; `mentions`
    False leaves `note.mentions` empty (the vault resolution computes them with final keys)."""
    if text.startswith("\ufeff"):
        text = text[1:]
        utf8_length = None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        utf8_length = None
    fm = split_front_matter(text)
    body = blank(text[: fm.end]) + text[fm.end :] if fm.end else text
    scan = scan_markdown(body)
    problems = [Problem(path, ProblemKind.FRONT_MATTER, problem.message, problem.line) for problem in fm.problems]

    tags: list[str] = []
    for raw in tag_list(get_first(fm.data, "tags", "tag")):
        tag = normalise_tag(raw)
        if tag is not None:
            tags.append(tag)
    tags.extend(tag for tag, _ in scan.tags)
    tags = list(dict.fromkeys(tags))

    links = _front_matter_links(fm) + [found.link for found in scan.links]
    scan.keep_link_spans()
    resources = list(dict.fromkeys(link.target for link in links if link.kind == "url"))

    fm_title_value = get_first(fm.data, "title")
    fm_title = str(fm_title_value).strip() if isinstance(fm_title_value, str | int | float) else None
    h1 = _first_heading(scan, 1)
    stem = _stem(path)
    title = fm_title or (strip_decorations(plain_text(h1)) if h1 else "") or stem
    names, source = _note_names(path, fm_title, h1)
    stem_kind = split_kind(strip_order_prefix(stem))[1]
    fm_kind = get_first(fm.data, "type", "kind", "category")
    kind = stem_kind or (names[0].kind if names else None) or (split_kind(title)[1] if title else None)
    if kind is None and isinstance(fm_kind, str) and fm_kind.strip():
        kind = fm_kind.strip().casefold()
    title_names: list[NameCandidate] = []
    if names and title and concept_key(title) != concept_key(source):
        title_names = [c for c in names_in(title) if c.key != names[0].key][:1]

    # Cheap estimates for reading time: characters of 3 UTF-8 bytes (CJK) from the UTF-8 length
    # (given by the reader when it has the bytes), and words from the spaces between them.
    cjk = 0 if text.isascii() else ((utf8_length or len(text.encode("utf-8", "surrogatepass"))) - len(text)) // 2
    rest = text[fm.end :]
    words = max(0, rest.count(" ") + rest.count("\n") - rest.count("  ") - rest.count("\n\n"))
    note = Note(
        path=path,
        title=title,
        content_hash=content_hash,
        encoding=encoding,
        tags=tags,
        links=links,
        about=[n.key for n in names],
        resources=resources,
        kind=kind,
        description=None,
        front_matter=fm.data,
        cjk_chars=cjk,
        words=words,
    )
    note.description = _description(fm, scan)
    outline = _detect_outline(note, fm, scan, stem)
    parsed = ParsedNote(
        note=note,
        front_matter=fm,
        _body=NoteBody.of(scan),
        prose_tokens=tuple(map(intern, sorted(set(P.PROSE_NAME_TOKEN.findall(scan.masked))))),
        names=names,
        title_names=title_names,
        outline=outline,
        problems=problems,
    )
    if outline:
        parsed.outline_entries = _outline_entries(note, scan)
    if mentions:
        note.mentions = _local_mentions(parsed)
    return parsed


# --- mentions ---------------------------------------------------------------------------------------


def _link_name(link: Link) -> str | None:
    """The concept name a link gives before the vault is known (dangling links still name one)."""
    if link.kind == "url":
        return None
    if has_attachment_extension(link.target):
        return None
    if not link.target:
        text = link.alias or link.heading or ""
        names = names_in(plain_text(text)) if text else []
        return names[0].name if names else None
    if link.kind == "markdown":
        if any(ch in link.target for ch in _NOT_IN_PATHS) or ("/" not in link.target and not link.target.isascii()):
            return None  # `[12、28](例如，ResNet-101…)`: a citation followed by a remark, not a link
        if link.alias:
            names = names_in(link.alias)
            if len(names) == 1:
                return names[0].name
    name = link_target_name(link.target)
    base = split_kind(name)[0]
    return base if concept_key(base) and not is_boilerplate(base) else None


def _mention(parsed: ParsedNote, concept: str, text: str, line: int, source: str, context: bool = True) -> Mention:
    # the text interned: the same few names are mentioned all over a vault, for as long as its graph lives
    if not context:
        return Mention(concept=concept, text=intern(text), line=line, source=source)
    body = parsed.body  # once: ~15 mentions a note
    return Mention(
        concept=concept,
        text=intern(text),
        line=line,
        source=source,
        heading_path=body.heading_path_at(line),
        list_depth=body.list_depth.get(line, 0),
        table_row=body.table_row.get(line),
        line_text=body.scan.lines.evidence(line),
    )


_LINK_SOURCES = {"wiki": "wikilink", "embed": "wikilink", "markdown": "mdlink"}


class MentionSites:
    """Where a note mentions concepts: (concept key, text as written, line, source) each, what a
    `Mention` says before the body gives it context. Kept in columns, ~30 bytes a site instead of a
    tuple's ~80: a big read holds every note's sites until its rules have run."""

    __slots__ = ("concepts", "lines", "sources", "texts")

    def __init__(self) -> None:
        self.concepts: list[str] = []
        self.texts: list[str] = []
        self.lines = array("i")
        self.sources: list[str] = []

    def add(self, concept: str, text: str, line: int, source: str) -> None:
        self.concepts.append(concept)
        self.texts.append(text)
        self.lines.append(line)
        self.sources.append(source)

    def __iter__(self) -> Iterator[tuple[str, str, int, str]]:
        return zip(self.concepts, self.texts, self.lines, self.sources, strict=True)


def _local_mentions(parsed: ParsedNote) -> list[Mention]:
    """Mentions from links, outline entries, the title and front matter, before the vault resolution."""
    return [_mention(parsed, *site) for site in _mention_sites(parsed)]


def _mention_sites(parsed: ParsedNote, key_of: Callable[[str], str] | None = None) -> MentionSites:
    """Where a note mentions concepts (links, outline entries, the title, front matter), keyed by
    `key_of`; reads the note's names, links and outline entries, not its body."""
    keyer: Callable[[str], str] = key_of or (lambda k: k)
    note = parsed.note
    sites = MentionSites()
    seen: set[tuple[str, int, str]] = set()

    def add(key: str, text: str, line: int, source: str) -> None:
        if not key:
            return
        final = keyer(key)
        if (final, line, source) in seen:
            return
        seen.add((final, line, source))
        sites.add(final, text, line, source)

    for name in parsed.names:
        add(name.key, name.name, 1, "title")
    for link in note.links:
        if key_of is None:  # before resolution: the name the link gives
            key = link.concept if link.concept is not None else concept_key(_link_name(link) or "")
        else:  # after: exactly the concept resolution chose (None for links out of the vault)
            key = link.concept or ""
        source = "front_matter" if link.front_matter_key else _LINK_SOURCES.get(link.kind)
        if key and source:
            add(key, link.alias or link.target, link.line, source)
    for entry in parsed.outline_entries:
        for name in entry.names:
            add(name.key, name.name, entry.line, entry.source)
    return sites


# --- reading files --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteFile:
    path: str  # vault-relative POSIX
    absolute: str
    size: int
    mtime_ns: int = 0  # 0: unknown


class VaultFolderError(NotADirectoryError):
    """The vault's own folder cannot be read (gone, not a folder, not listable): there is no vault to
    read, which is not the same as a vault without notes."""


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def iter_note_files(root: Path, problems: list[Problem], *, max_file_bytes: int) -> Iterator[NoteFile]:
    """Note files under `root`, sorted; hidden folders skipped; symlinks out of the vault and folders
    that cannot be listed reported. Raises `VaultFolderError` when `root` itself cannot be listed."""
    real_root = os.path.realpath(root)
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if not rel:
                raise VaultFolderError(f"vault {str(root)!r} cannot be listed ({exc.strerror or exc})") from None
            problems.append(Problem(rel, ProblemKind.UNREADABLE, f"cannot list folder: {exc.strerror or exc}"))
            continue
        subfolders: list[tuple[str, str]] = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue  # .obsidian, .git, .trash, .DS_Store: not notes
            rel_path = f"{rel}/{name}" if rel else name
            try:
                is_link = entry.is_symlink()
                if is_link:
                    target = os.path.realpath(entry.path)
                    if not _is_within(target, real_root):
                        if os.path.isdir(target) or name.lower().endswith(NOTE_SUFFIXES):
                            problems.append(
                                Problem(
                                    rel_path,
                                    ProblemKind.OUTSIDE_VAULT,
                                    "symlink points outside the vault; not followed",
                                )
                            )
                        continue
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append((entry.path, rel_path))
                    continue
                if is_link and os.path.isdir(entry.path):
                    continue  # a folder symlink inside the vault: already read through its real path
                if not name.lower().endswith(NOTE_SUFFIXES):
                    continue  # attachments (images, PDFs, canvases) are not read
                info = entry.stat(follow_symlinks=True)
                if not stat.S_ISREG(info.st_mode):
                    problems.append(
                        Problem(rel_path, ProblemKind.UNREADABLE, "not a regular file (a pipe or device); skipped")
                    )
                    continue  # reading a FIFO would block the whole run
                size = info.st_size
            except OSError as exc:
                problems.append(Problem(rel_path, ProblemKind.UNREADABLE, f"cannot stat: {exc.strerror or exc}"))
                continue
            if size > max_file_bytes:
                problems.append(
                    Problem(
                        rel_path,
                        ProblemKind.TOO_LARGE,
                        f"{size} bytes is over the {max_file_bytes}-byte limit; skipped",
                    )
                )
                continue
            yield NoteFile(rel_path, entry.path, size, info.st_mtime_ns)
        stack.extend(reversed(subfolders))


@dataclass(slots=True)
class VaultListing:
    """The note files one listing of a vault found (`iter_note_files`), each with how many listing
    problems came before it, and those problems (folders that cannot be listed, symlinks out of the
    vault, files too large). Taken once, it is what a run reads (`parse_vault`) and what it judges
    the vault's files by (`kg.pipeline.vault_fingerprint`): a one-shot ingest lists 10k notes once,
    not twice (~0.07 s a listing)."""

    root: Path
    max_file_bytes: int
    files: list[tuple[NoteFile, int]]
    problems: list[Problem]
    read: bool = False  # a read took its files over (`parse_vault`): a listing is read once


def list_vault(root: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> VaultListing:
    problems: list[Problem] = []
    files = [(file, len(problems)) for file in iter_note_files(root, problems, max_file_bytes=max_file_bytes)]
    return VaultListing(Path(root), max_file_bytes, files, problems)


# A file whose size and mtime are those it had when it was read is taken as unchanged (as make,
# rsync and git do, and as `kg ingest --watch` notices changes), unless it was modified less than
# this long before it was read: a second write within the same timestamp tick (2 s on FAT) would go
# unseen. `kg.pipeline.vault_fingerprint` judges files the same way.
RACY_MTIME_NS = 2_000_000_000


@dataclass(slots=True)
class _CachedParse:
    content_hash: str
    parsed: ParsedNote  # as parse_note left it, before any vault resolution; never handed out
    problems: list[Problem]  # the problems reading this file reported (encoding, front matter)
    size: int = -1
    mtime_ns: int = 0
    read_at_ns: int = 0  # the clock just before the file was read


class ParseCache:
    """What reading one vault made of each note, kept in memory between reads: pass the same cache to
    successive `read_vault` calls and only the notes whose bytes changed (by size and mtime, else
    SHA-256) are decoded and parsed again, and only those and the notes an edit can affect are
    resolved again (see `resolve_notes`). For long-running ingests (`--every`, `--watch`) and
    `kg ingest --keep-state`. It holds every note's parse (its body packed when `read_vault` filled
    it, unpacked on demand for a note resolved again) and resolution; notes gone from the vault are
    dropped at each read. `hits` and `misses` count the notes of the last read taken from the cache
    or parsed; `notes_resolved` the notes its resolution did not reuse."""

    def __init__(self) -> None:
        self._entries: dict[str, _CachedParse] = {}
        self._resolution: _Resolution | None = None  # what the last `resolve_notes` made of each note
        self._refd = RefdMemo()  # and its RefD relations
        self.hits = 0
        self.misses = 0
        self.hits_by_bytes = 0  # of the hits, the files whose size or mtime had changed (or were too recent)
        # of those, the files old enough now that their new size and mtime, kept, will tell next time
        self.hits_restated = 0
        self.notes_resolved = 0  # notes the last resolution did not reuse as they were
        self.notes_relinked = 0  # of those, the notes whose links alone it made again (`resolve_notes`)
        self.index_rebuilt = True  # the last resolution built its concept index anew (not kept or extended)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._resolution = None
        self._refd = RefdMemo()

    def pack(self) -> None:
        """Hold every kept note's body packed (`ParsedNote.pack`: ~9 KB a note down to ~2.6 KB), to be
        unpacked again only for the notes a later read resolves again. A cache `read_vault` filled holds
        them packed already, one `read_vault_parsed` filled does not; before a cache is written to disk
        (`kg ingest --keep-state`; at 10k notes unpacked bodies made its file 128 MB instead of 82)."""
        for entry in self._entries.values():
            entry.parsed.pack()

    def _start(self) -> None:
        self.hits = self.misses = self.hits_by_bytes = self.hits_restated = 0

    def _get_unchanged(self, file: NoteFile, problems: list[Problem]) -> ParsedNote | None:
        """The cached parse when the file's size and mtime say it is the file read before."""
        entry = self._entries.get(file.path)
        if (
            entry is None
            or not file.mtime_ns
            or (entry.size, entry.mtime_ns) != (file.size, file.mtime_ns)
            or entry.read_at_ns - file.mtime_ns < RACY_MTIME_NS
        ):
            return None
        return self._hit(entry, problems)

    def _get(self, file: NoteFile, content_hash: str, problems: list[Problem], read_at_ns: int) -> ParsedNote | None:
        entry = self._entries.get(file.path)
        if entry is None or entry.content_hash != content_hash:
            return None
        entry.size, entry.mtime_ns, entry.read_at_ns = file.size, file.mtime_ns, read_at_ns  # same bytes, new stat
        self.hits_by_bytes += 1
        if read_at_ns - file.mtime_ns >= RACY_MTIME_NS:  # not a file written in the future (clock skew)
            self.hits_restated += 1
        return self._hit(entry, problems)

    def _hit(self, entry: _CachedParse, problems: list[Problem]) -> ParsedNote:
        self.hits += 1
        problems.extend(entry.problems)
        return _fresh_copy(entry.parsed)

    def _put(
        self, file: NoteFile, content_hash: str, parsed: ParsedNote, problems: list[Problem], read_at_ns: int
    ) -> None:
        self.misses += 1
        self._entries[file.path] = _CachedParse(
            content_hash, _fresh_copy(parsed), list(problems), file.size, file.mtime_ns, read_at_ns
        )

    def _keep_only(self, paths: set[str]) -> None:
        for path in [p for p in self._entries if p not in paths]:
            del self._entries[path]


_new_object = object.__new__  # an instance with no field set yet (the copies below set every one)


def _fresh_copy(parsed: ParsedNote) -> ParsedNote:
    """A ParsedNote sharing the parse (scan, front matter, names, outline entries) but owning what the
    vault resolution replaces or fills: the Note (links, about, mentions) and the per-read link state.
    Field by field, as `_note_copy`: a kept re-read copies every note of the vault."""
    copy: ParsedNote = _new_object(ParsedNote)
    copy.note = _note_copy(parsed.note)
    copy.front_matter = parsed.front_matter
    copy._body = parsed._body
    copy.names = parsed.names
    copy.title_names = parsed.title_names
    copy.outline = parsed.outline
    copy.outline_entries = parsed.outline_entries
    copy.problems = parsed.problems
    copy._packed = parsed._packed
    copy.prose_tokens = parsed.prose_tokens
    copy._links_by_line = None
    copy.outside_links = _NO_LINKS_OUTSIDE
    copy._rule_state = None
    return copy


def _note_copy(note: Note) -> Note:
    """A Note owning the lists the vault resolution replaces or fills (links, about, mentions).

    Field by field (a test checks it copies them all): `dataclasses.replace` reads the fields and
    calls `__init__`, which made a copy of a real note twice as slow (the three list copies are the
    rest), and a kept re-read copies every note of the vault twice (70 -> 34 ms a pass at 10k)."""
    copy: Note = _new_object(Note)
    copy.path = note.path
    copy.title = note.title
    copy.content_hash = note.content_hash
    copy.encoding = note.encoding
    copy.tags = note.tags
    copy.links = list(note.links)
    copy.about = list(note.about)
    copy.mentions = list(note.mentions)
    copy.resources = note.resources
    copy.kind = note.kind
    copy.description = note.description
    copy.front_matter = note.front_matter
    copy.cjk_chars = note.cjk_chars
    copy.words = note.words
    return copy


def _read_note_bytes(file: NoteFile, problems: list[Problem]) -> tuple[bytes, str, int] | None:
    """The file's bytes, their SHA-256 and the clock just before the read; None (a problem) if unreadable."""
    read_at_ns = time.time_ns()
    try:
        with open(file.absolute, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        problems.append(Problem(file.path, ProblemKind.UNREADABLE, f"cannot read: {exc.strerror or exc}"))
        return None
    return raw, hashlib.sha256(raw).hexdigest(), read_at_ns


def _parse_note_bytes(path: str, raw: bytes, content_hash: str, problems: list[Problem]) -> ParsedNote | None:
    if looks_binary(raw):
        problems.append(Problem(path, ProblemKind.BINARY, "binary content in a note file; skipped"))
        return None
    decoded = decode_note(raw)
    if decoded.repaired:
        problems.append(
            Problem(path, ProblemKind.ENCODING_REPAIRED, decoded.message or f"repaired as {decoded.encoding}")
        )
    if decoded.unrepaired:
        problems.append(
            Problem(
                path,
                ProblemKind.ENCODING_UNREPAIRABLE,
                decoded.message or f"{decoded.unrepaired} characters could not be recovered",
            )
        )
    elif not decoded.repaired and decoded.message:
        problems.append(Problem(path, ProblemKind.OTHER, decoded.message))
    parsed = parse_note(
        path,
        decoded.text,
        content_hash=content_hash,
        encoding=decoded.encoding,
        utf8_length=len(raw) if decoded.encoding == "utf-8" and not decoded.repaired else None,
        mentions=False,
    )
    problems.extend(parsed.problems)
    return parsed


# --- resolution -----------------------------------------------------------------------------------


RelationRule = Callable[[ParsedNote, ConceptIndex], Iterable[Relation]]


# The stems of the note a markdown link to a folder resolves to, the first found (None: the folder's
# own name, `ml/ml.md`).
FOLDER_INDEX_NAMES = ("readme", "index", "_index", None, "目录", "_moc")


class NoteResolver:
    """Obsidian's link resolution over the vault's note paths: exact path, then same folder, then the
    shortest path among same-named notes; markdown links relative to the linking note."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.by_path: dict[str, str] = {}  # path without extension, casefolded -> path
        self.by_stem: dict[str, list[str]] = {}  # stem -> paths, shortest path first
        self.by_folder_stem: dict[tuple[str, str], str] = {}  # (folder, stem) -> path
        self.folders: dict[str, list[str]] = {}
        for path in sorted(paths):
            no_ext = path[: -len(path.rsplit(".", 1)[-1]) - 1] if "." in path.rsplit("/", 1)[-1] else path
            folded = no_ext.casefold()
            folder, _, stem = folded.rpartition("/")
            self.by_path.setdefault(folded, path)
            self.by_stem.setdefault(stem, []).append(path)
            self.by_folder_stem.setdefault((folder, stem), path)
            parts = path.split("/")
            for i in range(1, len(parts)):
                self.folders.setdefault("/".join(parts[:i]).casefold(), []).append(path)
        for candidates in self.by_stem.values():
            candidates.sort(key=lambda p: (p.count("/"), len(p), p))

    def wiki(self, target: str, source: str) -> str | None:
        if not target:
            return source
        target = target.strip().lstrip("/")
        if target.startswith(("./", "../")):
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
            return None if joined.startswith("..") else self.by_path.get(joined.casefold())
        folded = target.casefold()
        exact = self.by_path.get(folded)
        if exact is not None:
            return exact
        stem = folded.rsplit("/", 1)[-1]
        candidates = self.by_stem.get(stem)
        if not candidates:
            return None
        source_folder = source.rpartition("/")[0].casefold()
        if "/" not in folded:
            same_folder = self.by_folder_stem.get((source_folder, stem))
            return same_folder if same_folder is not None else candidates[0]
        suffix = "/" + folded
        matching = [c for c in candidates if c.casefold().rsplit(".", 1)[0].endswith(suffix)]
        for candidate in matching:
            if candidate.rpartition("/")[0].casefold() == source_folder:
                return candidate
        return matching[0] if matching else None

    def markdown(self, target: str, source: str) -> tuple[str | None, bool]:
        """(resolved note path, escapes the vault)."""
        if not target:
            return source, False
        base = "" if target.startswith("/") else posixpath.dirname(source)
        joined = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
        if joined == ".." or joined.startswith("../"):
            return None, True
        if joined == ".":
            joined = ""
        folded = joined.casefold()
        found = self.by_path.get(folded)
        if found is not None:
            return found, False
        members = self.folders.get(folded)
        if members:
            folder_name = folded.rsplit("/", 1)[-1]
            for index_name in (folder_name if name is None else name for name in FOLDER_INDEX_NAMES):
                hit = self.by_path.get(f"{folded}/{index_name}" if folded else index_name)
                if hit is not None:
                    return hit, False
        return None, False

    def is_folder(self, target: str, source: str) -> bool:
        base = "" if target.startswith("/") else posixpath.dirname(source)
        joined = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
        return joined.casefold() in self.folders


def _intern_note_strings(note: Note) -> None:
    """Intern the note's title, kind and front matter string values, in place (equal strings, so the
    note reads the same). Each note's YAML is parsed on its own, in a worker process for most notes:
    the same `type: concept` or `prerequisites: [[X]]` in 10k notes came as that many strings."""
    note.title = intern(note.title)
    if note.kind:
        note.kind = intern(note.kind)
    data = note.front_matter
    for key, value in data.items():
        if type(value) is str:
            data[key] = intern(value)
        elif type(value) is list:
            for i, item in enumerate(value):
                if type(item) is str:
                    value[i] = intern(item)


def _link_with(link: Link, resolved_note: str | None, concept: str | None) -> Link:
    """`link._replace` for the two fields resolution fills, with its target and alias interned: the
    parse workers send each chunk's strings on their own, so that the same target in two chunks came
    as two strings (~1.5 MB at 10k notes, for as long as the graph lives)."""
    alias = link.alias
    return Link(
        intern(link.target),
        link.line,
        link.kind,
        intern(alias) if alias else alias,
        link.heading,
        link.block,
        resolved_note,
        concept,
        link.front_matter_key,
    )


def _resolve_links(parsed: ParsedNote, resolver: NoteResolver, problems: list[Problem]) -> None:
    resolved: list[Link] = []
    for link in parsed.note.links:
        if link.kind == "url":
            resolved.append(link)
            continue
        if link.kind == "markdown" or (link.kind == "embed" and "/" in link.target and "[[" not in link.target):
            path, escapes = resolver.markdown(link.target, parsed.path)
            if escapes:
                problems.append(
                    Problem(
                        parsed.path,
                        ProblemKind.OUTSIDE_VAULT,
                        f"link {link.target!r} points outside the vault; not followed",
                        link.line,
                    )
                )
                parsed.outside_links = parsed.outside_links | {(link.line, link.target)}
                resolved.append(link)
                continue
            if path is None and link.kind == "embed":
                path = resolver.wiki(link.target, parsed.path)
        else:
            if has_attachment_extension(link.target):
                resolved.append(link)
                continue
            target = link.target
            if target.startswith("../") and posixpath.normpath(
                posixpath.join(posixpath.dirname(parsed.path), target)
            ).startswith(".."):
                problems.append(
                    Problem(
                        parsed.path,
                        ProblemKind.OUTSIDE_VAULT,
                        f"link {link.target!r} points outside the vault; not followed",
                        link.line,
                    )
                )
                parsed.outside_links = parsed.outside_links | {(link.line, link.target)}
                resolved.append(link)
                continue
            path = resolver.wiki(target, parsed.path)
        resolved.append(_link_with(link, path, link.concept) if path is not None else link)
    parsed.replace_links(resolved)


class _IndexWriter(Protocol):
    """What `_register` asks of the concept index: a `ConceptIndex`, or an `_IndexOps` recording it."""

    def add(self, name: str, *, anchored: bool = False, weight: int = 1) -> str: ...
    def add_note(self, name: str, path: str) -> str: ...
    def pair(self, name: str, alias: str, *, strong: bool) -> None: ...
    def add_candidate(self, candidate: NameCandidate, *, anchored: bool = False, weight: int = 1) -> str: ...


IndexOp = tuple[object, ...]


class _IndexOps:
    """The calls one note's `_register` made, in order: replayed into the index, and compared with
    the next read's to know whether an edit changed what the note contributes to the index.

    Equal calls share one tuple through `pool` (one per resolution): notes register the same
    folder names, tags and links again and again (10k notes: 240k calls, 54k distinct), and a cache
    keeps them all, in memory and in a `--keep-state` file."""

    __slots__ = ("_pool", "ops")

    def __init__(self, pool: dict[IndexOp, IndexOp]) -> None:
        self.ops: list[IndexOp] = []
        self._pool = pool

    def _record(self, op: IndexOp) -> None:
        self.ops.append(self._pool.setdefault(op, op))

    def add(self, name: str, *, anchored: bool = False, weight: int = 1) -> str:
        self._record(("add", name, anchored, weight))
        return ""

    def add_note(self, name: str, path: str) -> str:
        self._record(("add_note", name, path))
        return ""

    def pair(self, name: str, alias: str, *, strong: bool) -> None:
        self._record(("pair", name, alias, strong))

    def add_candidate(self, candidate: NameCandidate, *, anchored: bool = False, weight: int = 1) -> str:
        self._record(("add_candidate", candidate, anchored, weight))
        return ""


def _added_plain_names(
    registered: Sequence[tuple[list[IndexOp], list[IndexOp]]],
) -> list[tuple[str, bool, int]] | None:
    """When the edited notes registered all they did before plus only plain names (no pairing, no
    note's own name), those names (name, anchored, weight), in order; else None."""
    added: list[tuple[str, bool, int]] = []
    for before, now in registered:
        extra = Counter(now)
        extra.subtract(before)
        if any(n < 0 for n in extra.values()):
            return None  # something it registered before is gone
        for op in now:
            if extra[op] <= 0:
                continue
            extra[op] -= 1
            kind, subject = op[0], op[1]
            if kind == "add_candidate" and isinstance(subject, NameCandidate) and not subject.aliases:
                subject = subject.name  # a candidate without aliases is a plain name
            elif kind != "add":
                return None  # a pairing, or a note's own name
            anchored, weight = op[2], op[3]
            if not (isinstance(subject, str) and isinstance(anchored, bool) and isinstance(weight, int)):
                return None
            added.append((subject, anchored, weight))
    return added


def _all_new(added: Sequence[tuple[str, bool, int]], index: ConceptIndex) -> bool:
    """Names whose keys the (frozen) index does not know — links to new names. Such a name pairs with
    nothing, so it is a concept of its own and every other key decides as before."""
    return not any(index.knows(concept_key(name)) for name, _, _ in added)


def _all_known_spellings(added: Sequence[tuple[str, bool, int]], index: ConceptIndex) -> bool:
    """Names spelled exactly as the index has them, anchored only where it is (links to known
    concepts: more uses of a spelling). Added to the kept index (`ConceptIndex.refrozen`), they give the
    spellings, anchors and pairs a replay of every note would, in the same order."""
    return all(
        index.has_spelling(name) and (not anchored or index.is_anchored(concept_key(name)))
        for name, anchored, _ in added
    )


def _replay(ops: Iterable[IndexOp], index: ConceptIndex) -> None:
    for op in ops:
        kind = op[0]
        if kind == "add":
            index.add(op[1], anchored=op[2], weight=op[3])  # type: ignore[arg-type]
        elif kind == "add_note":
            index.add_note(op[1], op[2])  # type: ignore[arg-type]
        elif kind == "pair":
            index.pair(op[1], op[2], strong=op[3])  # type: ignore[arg-type]
        else:
            index.add_candidate(op[1], anchored=op[2], weight=op[3])  # type: ignore[arg-type]


def _register(
    parsed: ParsedNote, index: _IndexWriter, primary_of: dict[str, NameCandidate], resolver: NoteResolver
) -> None:
    """Record every spelling this note contributes to the index."""
    note = parsed.note
    primary = parsed.names[0] if parsed.names else None
    for i, candidate in enumerate(parsed.names):
        if i == 0:
            index.add_note(candidate.name, note.path)
            for alias in candidate.aliases:
                index.pair(candidate.name, alias, strong=True)
        else:
            index.add_candidate(candidate, anchored=True)
    if primary is not None:
        for alias in string_list(get_first(note.front_matter, "aliases", "alias")):
            index.pair(primary.name, alias, strong=True)
            alias_names = names_in(alias)
            if len(alias_names) == 1:  # `GQA / MQA` names two concepts, neither is the note's alias
                index.pair(primary.name, alias_names[0].name, strong=True)
                for inner in alias_names[0].aliases:
                    index.pair(primary.name, inner, strong=True)
        for candidate in parsed.title_names:
            index.pair(primary.name, candidate.name, strong=False)
        stem = _stem(note.path)
        if concept_key(stem) != primary.key and not is_id_like(stem) and not is_outline_stem(stem, exact=True):
            index.pair(primary.name, stem, strong=False)  # the file name, as links write it
    for link in note.links:
        if link.concept is not None or (link.line, link.target) in parsed.outside_links:
            continue
        if link.resolved_note is not None and link.resolved_note in primary_of:
            target = primary_of[link.resolved_note]
        else:
            name = _link_name(link)
            if name is None:
                continue
            index.add(name, anchored=link.kind != "markdown")
            target = NameCandidate(name)
            if link.kind == "markdown" and link.target and resolver.is_folder(link.target, note.path):
                folder = link_target_name(posixpath.normpath(posixpath.join(posixpath.dirname(note.path), link.target)))
                index.pair(name, folder, strong=False)  # `[基础架构 (Basic Architecture)](./01_Basic_Architecture/)`
        index.add(target.name, weight=1)
        if link.alias and link.kind in ("wiki", "embed") and link.target and not (link.heading or link.block):
            alias_names = names_in(link.alias)
            if len(alias_names) == 1:
                index.pair(target.name, alias_names[0].name, strong=False)
                for inner in alias_names[0].aliases:
                    index.pair(alias_names[0].name, inner, strong=True)
            else:
                for candidate in alias_names:
                    index.add_candidate(candidate)
    for entry in parsed.outline_entries:
        for candidate in entry.names:
            # a name written on its own is a concept of its own: a link alias elsewhere (`[[Post-Training
            # 数据准备|数据准备]]`) must not swallow it
            index.add_candidate(candidate, anchored=True)


def _final_links(parsed: ParsedNote, index: ConceptIndex, primary_key: dict[str, str]) -> None:
    links: list[Link] = []
    for link in parsed.note.links:
        concept: str | None = None
        if (link.line, link.target) in parsed.outside_links:
            pass
        elif link.resolved_note is not None and link.resolved_note in primary_key and link.target:
            concept = index.key_of(primary_key[link.resolved_note])
        else:
            name = _link_name(link)
            if name is not None:
                concept = index.resolve(name) or index.key_of(concept_key(name)) or None
        links.append(_link_with(link, link.resolved_note, concept) if concept != link.concept else link)
    parsed.replace_links(links)


def outline_relations(parsed: ParsedNote, index: ConceptIndex) -> Iterator[Relation]:
    """`PART_OF` from an outline note's headings, list items and table rows to their parents."""
    if not parsed.outline or not parsed.outline_entries:
        return
    note = parsed.note
    own = [index.key_of(key) for key in note.about]
    entry_keys: list[list[str]] = []
    for entry in parsed.outline_entries:
        keys: list[str] = []
        if entry.link is not None:
            concept = note.links[entry.link].concept
            if concept:
                keys.append(concept)
        keys.extend(index.key_of(name.key) for name in entry.names if name.key)
        entry_keys.append(keys)
    rules = {"heading": "outline.heading", "list_item": "outline.list", "table_cell": "outline.table"}
    confidences = {
        "heading": OUTLINE_HEADING_CONFIDENCE,
        "list_item": OUTLINE_LIST_CONFIDENCE,
        "table_cell": OUTLINE_LIST_CONFIDENCE,
    }
    seen: set[tuple[str, str]] = set()
    for entry, keys in zip(parsed.outline_entries, entry_keys, strict=True):
        if not keys:
            continue
        parents = entry_keys[entry.parent][:1] if entry.parent is not None else own[:1]
        first = keys[0]
        for i, key in enumerate(keys):
            member = entry.link is None and i > 0 and entry.names[i].member if i < len(entry.names) else False
            targets = [first] if member and key != first else parents
            for parent in targets:
                if not parent or parent == key or key in own or (key, parent) in seen:
                    continue  # the note's own subject is part of nothing inside it (`1.1 什么是 X？`)
                seen.add((key, parent))
                yield Relation(
                    type=RelationType.PART_OF,
                    source=key,
                    target=parent,
                    confidence=OUTLINE_MEMBER_CONFIDENCE if member else confidences[entry.source],
                    rule="outline.enumeration" if member else rules[entry.source],
                    note=note.path,
                    line=entry.line,
                    evidence=intern(entry.text.strip()),  # as the typed rules intern theirs (`_NoteReader.emit`)
                )


def default_rules() -> list[RelationRule]:
    """The outline rule, then the typed relation rules (`ingest.relations.RULES`)."""
    return [outline_relations, *TYPED_RULES]


_PATH_CHARS = frozenset("-_./\\")


def _first_standalone(text: str, token: str) -> int:
    """Offset of the first use of `token` as a word of its own (not inside a path, URL or longer name)."""
    pos = text.find(token)
    while pos != -1:
        before = text[pos - 1] if pos else " "
        end = pos + len(token)
        after = text[end] if end < len(text) else " "
        standalone_before = not (before.isascii() and before.isalnum()) and before not in _PATH_CHARS
        if standalone_before and not (after.isascii() and after.isalnum()):
            return pos
        pos = text.find(token, pos + 1)
    return -1


@dataclass(slots=True)
class _ProseVocabulary:
    """Latin-script concept keys (ASCII, 2-24 characters) -> concept, and lower-case-head spellings
    (`veRL`, `vLLM`) by their capital tail (`RL`, `LLM`)."""

    concepts: dict[str, str]
    heads_by_tail: dict[str, list[str]]


def _in_prose_vocabulary(key: str) -> bool:
    """A Latin-script concept key prose can name: ASCII, 2-24 characters, a letter among them."""
    return key.isascii() and 2 <= len(key) <= 24 and any(c.isalpha() for c in key)


def _head_tail(spelling: str) -> str | None:
    """The capital tail of a lower-case-head spelling (`veRL` -> `RL`), else None."""
    head = P.LOWER_HEAD_NAME.fullmatch(spelling)
    return head.group(1) if head else None


def _prose_vocabulary(index: ConceptIndex) -> _ProseVocabulary:
    vocabulary: dict[str, str] = {}
    heads_by_tail: dict[str, list[str]] = {}  # `RL` -> [`veRL`]
    for root, members in index.groups().items():
        for key in members:
            if _in_prose_vocabulary(key):
                vocabulary[key] = root
                for spelling in index.spellings(key):
                    tail = _head_tail(spelling)
                    if tail is not None:
                        heads_by_tail.setdefault(tail, []).append(spelling)
    return _ProseVocabulary(vocabulary, heads_by_tail)


def _prose_mentions(
    parsed: ParsedNote, vocabulary: _ProseVocabulary, index: ConceptIndex, sites: MentionSites
) -> list[str]:
    """Latin-script concept names (GRPO, veRL, PPO …) written in plain prose: first use per note,
    added to the note's mention `sites`; returns the spellings it counted in the index, in order.

    The candidate tokens (names with two capitals) come from the parse (`ParsedNote.prose_tokens`);
    a spelling with a lower-case head (`veRL`, `vLLM`) is tried when its capital tail (`RL`, `LLM`)
    was found. Only tokens that are concept names are then located in the text, so the body is read
    (unpacked) only for a note that has one."""
    if not vocabulary.concepts or not parsed.prose_tokens:
        return []
    tokens = set(parsed.prose_tokens)
    heads_by_tail = vocabulary.heads_by_tail
    tails = tokens & heads_by_tail.keys()
    if tails:
        masked = parsed.scan.masked
        for tail in tails:
            tokens.update(spelling for spelling in heads_by_tail[tail] if spelling in masked)
    seen = set(sites.concepts)
    named: list[tuple[str, str]] = []  # (token, concept) to locate
    for token in tokens:
        key = concept_key(token)
        if index.looked is not None:
            index.looked.add(key)
        found = vocabulary.concepts.get(key)
        if found is not None and found not in seen:
            named.append((token, found))
    if not named:
        return []
    masked = parsed.scan.masked
    hits: list[tuple[int, str, str]] = []
    for token, found in named:
        start = _first_standalone(masked, token)
        if start >= 0:
            hits.append((start, token, found))
    counted: list[str] = []
    for start, token, found in sorted(hits):
        if found in seen:
            continue  # two spellings of one concept: the first use wins
        seen.add(found)
        index.count_spelling(token)
        counted.append(token)
        sites.add(found, token, parsed.scan.lines.line_of(start), "text")
    return counted


def _rules_signature(rules: Sequence[RelationRule], prose_mentions: bool, mention_context: bool) -> tuple[object, ...]:
    """What decides a resolution besides the notes. A `TypedRule` is made afresh from its config for
    each run, so it counts by its name and config; other rules (functions) by identity."""
    return (
        prose_mentions,
        mention_context,
        *((r.__name__, r.config) if isinstance(r, TypedRule) else r for r in rules),
    )


def _links_can_reach(parsed: ParsedNote, keys: AbstractSet[str]) -> bool:
    """Whether a link of this note can resolve, by `NoteResolver`, to a note whose `_resolver_keys`
    are `keys`: whether the casefolded last segment of a link's target (of the folder it names, for
    `./` or `../`), with or without its extension, is one of them. Loosely: a link that can resolve
    to a note (through a folder, to its index note) ends in the note's stem or a folder's name."""
    for link in parsed.note.links:
        if link.kind == "url" or not link.target:
            continue
        target = link.target.strip()
        last = target.rstrip("/").rsplit("/", 1)[-1]
        if last in ("", ".", ".."):  # this folder or one above: its name is in the note's path
            base = "" if link.target.startswith("/") else posixpath.dirname(parsed.path)
            last = posixpath.normpath(posixpath.join(base, target.lstrip("/"))).rsplit("/", 1)[-1]
        last = last.casefold()
        if last in keys or last.rsplit(".", 1)[0] in keys:
            return True
    return False


def _resolver_keys(paths: Iterable[str], before: NoteResolver, after: NoteResolver) -> set[str]:
    """The keys (`_links_can_reach`) of links that can resolve to these notes, or differently now that
    they came or went (from `before` to `after`): their stems and file names; the names of the
    folders that came or went with them (a markdown link to a folder is a link to a folder only while
    it holds a note); and a folder's name, for its index note (`FOLDER_INDEX_NAMES`)."""
    keys: set[str] = set()
    for path in paths:
        *folders, name = path.casefold().split("/")
        stem = name.rsplit(".", 1)[0]
        keys.update((name, stem))
        for i, folder in enumerate(folders):
            folder_path = "/".join(folders[: i + 1])
            if (folder_path in before.folders) != (folder_path in after.folders):
                keys.add(folder)
        if folders and (stem in FOLDER_INDEX_NAMES or stem == folders[-1]):
            keys.add(folders[-1])
    return keys


def _primary(parsed: ParsedNote) -> tuple[str, str] | None:
    return (parsed.names[0].name, parsed.names[0].key) if parsed.names else None


def _extended_vocabulary(vocabulary: _ProseVocabulary, names: Sequence[str]) -> _ProseVocabulary:
    """`_prose_vocabulary` of an index that is `vocabulary`'s plus `names` added isolated (each name's
    key new, its own concept). The head lists are shared, unless a name brings a head spelling."""
    concepts = dict(vocabulary.concepts)
    heads_by_tail = vocabulary.heads_by_tail
    for spelling in dict.fromkeys(name.strip() for name in names):  # a key's spellings, each once
        key = concept_key(spelling)
        if _in_prose_vocabulary(key):
            concepts[key] = key
            tail = _head_tail(spelling)
            if tail is not None:
                if heads_by_tail is vocabulary.heads_by_tail:
                    heads_by_tail = {t: list(heads) for t, heads in heads_by_tail.items()}
                heads_by_tail.setdefault(tail, []).append(spelling)
    return _ProseVocabulary(concepts, heads_by_tail)


def _heads(vocabulary: _ProseVocabulary) -> dict[str, list[str]]:
    return {tail: sorted(heads) for tail, heads in vocabulary.heads_by_tail.items()}


@dataclass(slots=True)
class _ResolvedNote:
    """One note's share of a resolution, kept (by a `ParseCache`) for the next read of the vault."""

    content_hash: str
    primary: tuple[str, str] | None  # its primary name and key (other notes' links register it)
    link_problems: list[Problem]  # its links out of the vault
    ops: list[IndexOp]  # what it registered in the concept index
    note: Note  # as the resolution left it (final links, about, mentions); never handed out
    counted: list[str]  # the prose spellings it counted in the index
    ensured: list[str]  # the names its rules added to the index (`ConceptIndex.ensure_log`)
    relations: list[Relation]  # what the per-note rules made of it
    looked: set[str]  # every key its resolution and rules asked the index about


def _same_but_where(links: Sequence[Link], before: Sequence[Link]) -> bool:
    """The same links, naming the same concepts, but for which notes they resolve to."""
    return len(links) == len(before) and all(
        a == b or a._replace(resolved_note=None) == b._replace(resolved_note=None)
        for a, b in zip(links, before, strict=True)
    )


def _relinked(
    last: _ResolvedNote, parsed: ParsedNote, link_problems: list[Problem], looked: dict[str, set[str]]
) -> _ResolvedNote:
    """`last` with the final links `parsed` has now. The rest of a note's resolution reads its links'
    concepts and lines, never the notes they resolve to (those only give a link its concept), so
    what its mentions, rules and counts made of it stands."""
    note = _note_copy(last.note)
    note.links = list(parsed.note.links)
    return replace(
        last,
        link_problems=link_problems,
        note=note,
        looked=last.looked | looked.get(parsed.path, set()),
    )


@dataclass(slots=True)
class _Resolution:
    signature: tuple[object, ...]
    paths: list[str]  # in resolution order
    resolver: NoteResolver
    index: ConceptIndex  # frozen, before prose mentions and rules added to it; never handed out
    vocabulary: _ProseVocabulary | None  # the prose vocabulary of `index` (None: no prose mentions)
    notes: dict[str, _ResolvedNote]


_RELEASED_BODY = NoteBody.of(MarkdownScan(_masked="", lines=LineIndex("")))


def _release_scan(parsed: ParsedNote) -> None:
    """Drop what only the per-note stages read (the body, the front matter's text and key lines,
    links by line, outline entries): nothing after the rules reads it (RefD reads the note and
    `outline`; the front matter's data is the note's)."""
    parsed._body, parsed._packed = _RELEASED_BODY, None
    parsed.front_matter = replace(parsed.front_matter, raw="", problems=[], _key_lines=None)
    parsed.outline_entries = []
    parsed._links_by_line = None


def resolve_notes(
    parsed_notes: Sequence[ParsedNote],
    *,
    problems: list[Problem] | None = None,
    rules: Sequence[RelationRule] | None = None,
    prose_mentions: bool = True,
    cache: ParseCache | None = None,
    release_scans: bool = False,
    mention_context: bool = True,
) -> tuple[Graph, ConceptIndex]:
    """The vault-wide stage: resolve links to notes, decide concepts, run relation rules.

    With `cache` (the `ParseCache` the notes were read with), what this resolution made of each note
    is kept for the next one: what it registered in the concept index, its resolved note, its
    relations, and every index key it read. Next time, when the edited notes register what they did
    before (the usual prose edit), the kept index is used and only the edited notes are resolved and
    run through the per-note rules again; when they register something else (a new link, alias,
    name), the index is rebuilt from the recorded registrations and the notes that read a key which
    now reads differently are resolved again too. A note added or removed (a rename is both), or
    edited to another primary name, also resolves again the notes whose links can resolve to it
    (`_links_can_reach`); of those, a note that registers what it did and whose final links name the
    concepts they did (the notes they point at moved: a renamed folder) keeps the rest of its last
    resolution, its mentions and relations (`_relinked`). The other notes' results are reused and
    their effects on the index replayed.
    Other rules, or the same notes listed in another order: everything is resolved again. The graph
    is the same either way (tests compare with fresh reads).
    The per-note rules run note by note, so that what a note's rules see depends only on the notes
    before it. `release_scans` (a caller that drops the parsed notes afterwards; a cache keeps its
    own copies of the bodies, packed) packs each note's body between the stages that read it
    (`ParsedNote.pack`; the parse packs it first) and frees it once its rules have run (with the
    rest of the memory work of 2026-12-02, a 10k-note read's peak of Python objects went 382 -> 150
    MB; BENCHMARKS.md).
    `mention_context` False leaves each `Mention`'s context (heading path, list depth, table row,
    line text) at its defaults, for a caller that keeps only which concept is mentioned where."""
    problems = list(problems or [])
    rule_list = default_rules() if rules is None else list(rules)
    signature = _rules_signature(rule_list, prose_mentions, mention_context)
    paths = [p.path for p in parsed_notes]
    kept = cache._resolution if cache is not None else None
    if kept is not None and kept.signature != signature:
        kept = None
    # Notes added or removed since the kept resolution (a rename is both): links to them resolve anew.
    moved: set[str] = set()
    removed: list[_ResolvedNote] = []  # what the kept resolution made of the notes gone
    if kept is not None and kept.paths != paths:
        present = set(paths)
        moved = {path for path in paths if path not in kept.notes}
        removed = [kept.notes[path] for path in kept.paths if path not in present]
        moved.update(path for path in kept.paths if path not in present)
        if not moved:  # the same notes listed in another order: the rules would run in another order
            kept = None
    resolver = kept.resolver if kept is not None and not moved else NoteResolver(paths)
    primary_of = {p.path: p.names[0] for p in parsed_notes if p.names}
    recording = cache is not None
    link_problems: dict[str, list[Problem]] = {}
    ops: dict[str, list[IndexOp]] = {}

    def resolve_links(parsed: ParsedNote) -> None:
        own: list[Problem] = []
        _resolve_links(parsed, resolver, own)
        link_problems[parsed.path] = own
        _intern_note_strings(parsed.note)

    op_pool: dict[IndexOp, IndexOp] = {}

    def record(parsed: ParsedNote) -> list[IndexOp]:
        recorder = _IndexOps(op_pool)
        _register(parsed, recorder, primary_of, resolver)
        ops[parsed.path] = recorder.ops
        return recorder.ops

    reused: dict[str, _ResolvedNote] = {}  # notes whose last resolution stands
    # Unedited notes resolved again because a note their links can reach came, went or was renamed:
    # when they register what they did and their final links name the same concepts (only the notes
    # they point at moved: a renamed folder), the rest of their last resolution stands (`_relinked`).
    relinking: dict[str, _ResolvedNote] = {}
    relinked: set[str] = set()
    index_changed = False
    registered: list[tuple[list[IndexOp], list[IndexOp]]] = []  # (before, now) of each edited note

    def resolve_again(parsed: ParsedNote, before_ops: list[IndexOp]) -> None:
        """Resolve its links again; what it registers now, if not what it did, changes the index."""
        nonlocal index_changed
        resolve_links(parsed)
        if record(parsed) != before_ops:
            index_changed = True
            registered.append((before_ops, ops[parsed.path]))

    if kept is not None:
        renamed: set[str] = set()  # edited notes with another primary name
        for parsed in parsed_notes:
            last = kept.notes.get(parsed.path)  # None: an added note
            if last is not None and last.content_hash == parsed.note.content_hash:
                reused[parsed.path] = last
                continue
            if last is not None and _primary(parsed) != last.primary:
                renamed.add(parsed.path)
            resolve_again(parsed, last.ops if last is not None else [])
        for gone in removed:
            if gone.ops:  # what it registered goes
                index_changed = True
                registered.append((gone.ops, []))
        # The notes whose links can resolve to a note that came or went, or register a linked note's
        # primary name that changed, resolve again (their links, and so what they register).
        keys = _resolver_keys(moved | renamed, kept.resolver, resolver)
        for parsed in parsed_notes:
            last = reused.get(parsed.path)
            if last is None or not keys or not _links_can_reach(parsed, keys):
                continue
            del reused[parsed.path]
            resolve_again(parsed, last.ops)
            if ops[parsed.path] == last.ops:
                relinking[parsed.path] = last

    # 1. links to notes; 2. the concept index
    vocabulary: _ProseVocabulary | None = None
    if kept is not None and index_changed:
        # The edits change the index: build it again from what each note registered (or, when they
        # only add names no note had, add those to the kept one; when they only add uses of spellings
        # it has, add those to it and decide their groups again), and reuse only the notes whose
        # last resolution read no key that now reads differently.
        added = _added_plain_names(registered)
        new_names = added if added is not None and _all_new(added, kept.index) else None
        assert cache is not None  # what is kept comes from it
        cache.index_rebuilt = new_names is None
        delta: set[str] | None = None
        if new_names is not None:
            index = kept.index.copy()
            for name, anchored, weight in new_names:
                index.add_isolated(name, anchored=anchored, weight=weight)
            # Each a concept of its own: the keys that read differently are theirs, and the prose
            # vocabulary is the kept one plus them (what `changed_keys` and `_prose_vocabulary` would
            # find, without walking the whole index: ~0.2 s of a 10k-note re-read).
            delta = {key for key in (concept_key(name) for name, _, _ in new_names) if key}
            if prose_mentions and kept.vocabulary is not None:
                vocabulary = _extended_vocabulary(kept.vocabulary, [name for name, _, _ in new_names])
        else:
            known = added if added is not None and _all_known_spellings(added, kept.index) else None
            if known is not None:  # more uses of known spellings: decide their groups again, not replay all
                index = kept.index.refrozen(known)
                # the same spellings: what changed is which group a key is in, if anything; when
                # nothing, the kept prose vocabulary (keys -> groups, head spellings) stands
                delta = kept.index.changed_keys(index, same_spellings=True)
                if not delta:
                    vocabulary = kept.vocabulary
            else:
                index = ConceptIndex()
                for parsed in parsed_notes:
                    _replay(ops[parsed.path] if parsed.path in ops else reused[parsed.path].ops, index)
                index.freeze()
        if vocabulary is None and prose_mentions:
            vocabulary = _prose_vocabulary(index)
        if (
            vocabulary is not None
            and vocabulary is not kept.vocabulary
            and (kept.vocabulary is None or _heads(vocabulary) != _heads(kept.vocabulary))
        ):
            kept, reused, relinking = None, {}, {}  # a new `veRL`-like spelling can make any note's `RL` a mention
        else:
            if delta is None:
                delta = kept.index.changed_keys(index)
            for path, last in list(reused.items()):
                if not last.looked.isdisjoint(delta):
                    del reused[path]
                    ops[path] = last.ops
            relinking = {path: last for path, last in relinking.items() if last.looked.isdisjoint(delta)}
            snapshot = index.copy()
    for parsed in parsed_notes:
        if parsed.path in reused:
            link_problems[parsed.path] = reused[parsed.path].link_problems
        elif parsed.path not in link_problems:
            resolve_links(parsed)
        # what only a kept resolution reads goes as it is used (per-note lists: MBs of a big read)
        problems.extend(link_problems[parsed.path] if recording else link_problems.pop(parsed.path))
    if kept is None:
        if cache is not None:
            cache.index_rebuilt = True
        index = ConceptIndex()
        for parsed in parsed_notes:
            if recording:
                _replay(ops.get(parsed.path) or record(parsed), index)
            else:
                _register(parsed, index, primary_of, resolver)
        index.freeze()
        snapshot = index.copy() if recording else index
        vocabulary = None
    elif not index_changed:
        snapshot = kept.index
        index = snapshot.copy()
        assert cache is not None
        cache.index_rebuilt = False
        vocabulary = kept.vocabulary  # read only, like the snapshot

    # 3. final links, what each note is about, mentions; what each note reads of the index is
    # recorded (`looked`) when the resolution is kept
    looked: dict[str, set[str]] = {}

    def reading(parsed: ParsedNote) -> None:
        index.looked = looked.setdefault(parsed.path, set()) if recording else None

    # A note's mentions are made after its rules, from the same unpacked body (their keys are decided
    # here): until then they are `MentionSites`, so that a big read's peak, when the rules start,
    # does not hold every mention with its line text and heading path.
    primary_key = {path: candidate.key for path, candidate in primary_of.items()}
    sites: dict[str, MentionSites] = {}
    for parsed in parsed_notes:
        before = reused.get(parsed.path)
        if before is not None:
            parsed.note = _note_copy(before.note)
            continue
        reading(parsed)
        _final_links(parsed, index, primary_key)
        last = relinking.get(parsed.path)
        if last is not None and _same_but_where(parsed.note.links, last.note.links):
            reused[parsed.path] = _relinked(last, parsed, link_problems[parsed.path], looked)
            parsed.note = _note_copy(reused[parsed.path].note)
            relinked.add(parsed.path)
            continue
        parsed.note.about = list(dict.fromkeys(index.key_of(k) for k in parsed.note.about if k))
        sites[parsed.path] = _mention_sites(parsed, index.key_of)
    index.looked = None
    counted: dict[str, list[str]] = {}
    if prose_mentions:
        if vocabulary is None:
            vocabulary = _prose_vocabulary(index)
        for parsed in parsed_notes:
            before = reused.get(parsed.path)
            if before is not None:
                for spelling in before.counted:
                    index.count_spelling(spelling)
                counted[parsed.path] = before.counted
            else:
                reading(parsed)
                spellings = _prose_mentions(parsed, vocabulary, index, sites[parsed.path])
                if recording:
                    counted[parsed.path] = spellings
                if release_scans:
                    parsed.pack()  # the rules unpack it again, one note at a time
        index.looked = None

    # 4. the per-note rules, note by note; a reused note's additions to the index are replayed
    relations: list[Relation] = []
    by_note: dict[str, list[Relation]] = {}
    ensured: dict[str, list[str]] = {}
    # The keys of the names that notes' rules added this time and not last time, or the other way
    # round: a later note that read one of them runs again.
    ensure_delta: set[str] = set()
    if kept is not None:  # and the names that removed notes' rules added
        ensure_delta.update(concept_key(name) for gone in removed for name in gone.ensured)
    for parsed in parsed_notes:
        before = reused.get(parsed.path)
        if before is not None and before.looked.isdisjoint(ensure_delta):
            replay_ensures(index, before.ensured)
            made, ensured[parsed.path] = before.relations, before.ensured
        else:
            if before is not None:  # run again after all: what it read before, and now
                looked[parsed.path] = set(before.looked)
                del reused[parsed.path]
                ops[parsed.path] = before.ops
            reading(parsed)
            index.ensure_log = [] if recording else None
            made = [relation for rule in rule_list for relation in rule(parsed, index)]
            if recording:
                ensured[parsed.path] = index.ensure_log or []
            index.ensure_log = None
            parsed._rule_state = None  # only the rules read it
            if parsed.path in sites:  # else: its mentions are those of its last resolution
                parsed.note.mentions = [_mention(parsed, *site, mention_context) for site in sites.pop(parsed.path)]
            if release_scans:
                _release_scan(parsed)
            if kept is not None:
                last = kept.notes.get(parsed.path)  # None: an added note, which ensured nothing before
                last_ensured = last.ensured if last is not None else []
                if ensured[parsed.path] != last_ensured:
                    ensure_delta.update(concept_key(name) for name in set(ensured[parsed.path]) ^ set(last_ensured))
        if recording:
            by_note[parsed.path] = made
        relations.extend(made)
    index.looked = None
    if release_scans and cache is None:  # a one-shot read: its name and scalar memos, ~30 MB at 50k notes, go
        clear_name_caches()
        clear_scalar_caches()
    relations_config = config_of(rule_list)
    if relations_config is not None:  # vault-wide: RefD, exact duplicates, prerequisite cycles reported
        refd_memo = cache._refd if cache is not None else None
        relations, cycle_problems = vault_stage(parsed_notes, index, relations, relations_config, refd_memo=refd_memo)
        problems.extend(cycle_problems)
    graph = Graph(problems=problems, relations=relations)
    for parsed in sorted(parsed_notes, key=lambda p: p.path):
        graph.notes[parsed.path] = parsed.note
    graph.concepts = _build_concepts(graph, index)
    if cache is not None:
        cache._resolution = _Resolution(
            signature=signature,
            paths=paths,
            resolver=resolver,
            index=snapshot,
            vocabulary=vocabulary,
            notes={
                p.path: reused[p.path]
                if p.path in reused
                else _ResolvedNote(
                    content_hash=p.note.content_hash,
                    primary=_primary(p),
                    link_problems=link_problems[p.path],
                    ops=ops[p.path],
                    note=_note_copy(p.note),
                    counted=counted.get(p.path, []),
                    ensured=ensured[p.path],
                    relations=by_note[p.path],
                    looked=looked.get(p.path, set()),
                )
                for p in parsed_notes
            },
        )
        # a relinked note counts: its kept resolution changed (its links), for the state to be saved
        cache.notes_relinked = len(relinked & reused.keys())
        cache.notes_resolved = len(parsed_notes) - len(reused) + cache.notes_relinked
    return graph, index


# Front matter `type` values that say what kind of *note* it is, not what kind of concept.
_NOT_CONCEPT_KINDS = OUTLINE_TYPES | {
    "concept", "note", "notes", "page", "post", "doc", "reference", "index", "log", "daily", "journal", "synthesis",
    "article", "blog", "draft", "",
}  # fmt: skip


def _display_rank(spelling_count: tuple[str, int]) -> tuple[bool, int, bool, int, str]:
    """Most used spelling first; then `ResNet` over `resnet`, `Layer Norm` over `layer_norm`."""
    spelling, count = spelling_count
    lower_identifier = spelling.isascii() and spelling == spelling.lower()
    return (not lower_identifier, count, "_" not in spelling, -len(spelling), spelling)


def _build_concepts(graph: Graph, index: ConceptIndex) -> dict[str, Concept]:
    used: set[str] = set()
    about: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    descriptions: dict[str, tuple[int, str]] = {}  # key -> (preference, text); lower is better
    for note in graph.notes.values():
        note_type = note.front_matter.get("type")
        for key in note.about:
            about.setdefault(key, []).append(note.path)
            if isinstance(note_type, str) and note_type.strip().casefold() not in _NOT_CONCEPT_KINDS:
                kinds.setdefault(key, note_type.strip().casefold())  # `type: entity`, `type: tool`
            if note.description:
                # The concept's own note describes it best; implementation/outline notes least.
                preference = (len(note.about) > 1) + 2 * (note.kind in (IMPLEMENTATION, "moc", "roadmap"))
                if key not in descriptions or preference < descriptions[key][0]:
                    descriptions[key] = (preference, note.description)
        used.update(note.about)
        used.update(m.concept for m in note.mentions)
        used.update(link.concept for link in note.links if link.concept)
    for relation in graph.relations:
        used.add(relation.source)
        used.add(relation.target)
    groups = index.groups()
    concepts: dict[str, Concept] = {}
    for key in sorted(k for k in used if k):
        own_counts = index.spellings(key)
        members = groups.get(key)
        if members is None or members == [key]:
            spellings: Mapping[str, int] = own_counts  # most concepts: one key, read as it is
        else:
            merged: dict[str, int] = {}
            for member in members:
                for spelling, count in index.spellings(member).items():
                    merged[spelling] = merged.get(spelling, 0) + count
            spellings = merged
        own = {s: c for s, c in own_counts.items() if s}
        pool = own or spellings
        name = max(pool.items(), key=_display_rank)[0] if pool else key
        if "_" in name and " " not in name:
            name = name.replace("_", " ")  # `whole_word_masking` (a file name) reads as words
        aliases = {s for s in spellings if s and s != name}
        described = descriptions.get(key)
        concepts[key] = Concept(
            key=key,
            name=name,
            aliases=aliases,
            kind=kinds.get(key),
            notes=sorted(about.get(key, [])),
            description=described[1] if described else None,
        )
    return concepts


# --- entry points ---------------------------------------------------------------------------------


def parse_vault(
    root: Path,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    cache: ParseCache | None = None,
    pack: bool = False,
    jobs: int | None = None,
    listing: VaultListing | None = None,
) -> tuple[list[ParsedNote], list[Problem]]:
    """Read and parse every note file (no cross-note work); unchanged notes come from `cache`.
    `pack` packs each note's body as it is parsed (`ParsedNote.pack`; a cache then keeps them packed).
    `jobs`: processes that read and parse, this one included (`ingest.parallel`); None: one per CPU
    when at least `PARALLEL_MIN_NOTES` notes need parsing, else 1. The result is the same either way.
    `listing`: the files to read, as `list_vault` found them earlier (default: listed now); the read
    takes its files over, so that a listing is read once."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs: {jobs} is not a number of processes (1 or more)")
    if cache is not None:
        cache._start()
    # Problems keep the order of a one-by-one read: a folder's listing problems come before the files
    # listed after them (`mark`: how many listing problems there were when the file was listed).
    if listing is None:
        listing = list_vault(root, max_file_bytes=max_file_bytes)
    elif (listing.root, listing.max_file_bytes) != (Path(root), max_file_bytes):
        raise ValueError(
            f"listing: of {str(listing.root)!r} under a {listing.max_file_bytes}-byte limit, "
            f"not of {str(root)!r} under {max_file_bytes}"
        )
    elif listing.read:
        raise ValueError(f"listing: of {str(listing.root)!r} was read already; list the vault again")
    # Taken over: the caller's listing (~15 MB at 50k notes) is not held through the rest of its run.
    files, listing.files, listing.read = listing.files, [], True
    reads: list[NoteFileRead | None] = [None] * len(files)
    to_parse: list[int] = []  # the files no cache entry answers by size and mtime
    for i, (file, _) in enumerate(files):
        if cache is not None:
            own: list[Problem] = []
            cached = cache._get_unchanged(file, own)
            if cached is not None:
                reads[i] = NoteFileRead(cached, own)
                continue
            # Its size or mtime changed, or it changed too recently for them to tell: its bytes do,
            # hashed here before any parse (a file copied or synced just before the last read stays
            # too recent in a kept state that is not saved again: ~2,000 such notes were parsed
            # again by every one-shot run, 1.7 s, to find the very bytes cached).
            known = _read_if_cached(cache, file)
            if known is not None:
                reads[i] = known
                continue
        to_parse.append(i)
    processes = processes_for(jobs, len(to_parse))
    to_read = [files[i][0] for i in to_parse]
    fresh = parallel.read_in_parallel(to_read, pack=pack, processes=processes)  # one process: in this one
    if cache is not None:
        fresh = [_through_cache(cache, file, read) for file, read in zip(to_read, fresh, strict=True)]
    for i, fresh_read in zip(to_parse, fresh, strict=True):
        reads[i] = fresh_read
    problems: list[Problem] = []
    parsed: list[ParsedNote] = []
    shown = 0
    for (_, mark), file_read in zip(files, reads, strict=True):
        assert file_read is not None
        problems.extend(listing.problems[shown:mark])
        shown = mark
        problems.extend(file_read.problems)
        if file_read.parsed is not None:
            parsed.append(file_read.parsed)
    problems.extend(listing.problems[shown:])
    if cache is not None:
        cache._keep_only({file.path for file, _ in files})
    return parsed, problems


# --- reading in several processes -----------------------------------------------------------------

# Below this many notes to parse a read stays in one process: a worker starts as a new interpreter
# importing the parser (~0.4 s on a 2-core EPYC), which a read of fewer notes would wait for
# (parse of 400 notes: 0.35 s in one process, 0.58 s in two; 800: 0.7 s either way; 2,000: 1.65 -> 1.25 s).
PARALLEL_MIN_NOTES = 1000


@dataclass(slots=True)
class NoteFileRead:
    """What reading one note file gave: its parse (None: unreadable or binary) and its problems."""

    parsed: ParsedNote | None
    problems: list[Problem]
    content_hash: str | None = None  # of the bytes read; None when served from a cache or unreadable
    read_at_ns: int = 0


def processes_for(jobs: int | None, notes: int) -> int:
    """How many processes `parse_vault(jobs=jobs)` reads `notes` notes with."""
    if jobs is None:
        if notes < PARALLEL_MIN_NOTES:
            return 1
        try:
            jobs = len(os.sched_getaffinity(0))  # the CPUs this process may run on (cgroups, taskset)
        except AttributeError:  # not on Linux
            jobs = os.cpu_count() or 1
    return max(1, min(jobs, -(-notes // parallel.CHUNK_NOTES)))


def read_note_files(files: Sequence[NoteFile], pack: bool) -> list[NoteFileRead]:
    """Read, decode and parse `files` (a worker's task, or this process's share)."""
    reads: list[NoteFileRead] = []
    for file in files:
        own: list[Problem] = []
        read = _read_note_bytes(file, own)
        if read is None:
            reads.append(NoteFileRead(None, own))
            continue
        raw, content_hash, read_at_ns = read
        parsed = _parse_note_bytes(file.path, raw, content_hash, own)
        if parsed is not None and pack:
            parsed.pack()  # also what crosses back from a worker: ~2.6 KB a note instead of ~9
        reads.append(NoteFileRead(parsed, own, content_hash, read_at_ns))
    return reads


def _read_if_cached(cache: ParseCache, file: NoteFile) -> NoteFileRead | None:
    """The cached parse of a file whose bytes are those cached (or its read problem, if unreadable);
    None when it needs parsing: its bytes changed, or the cache holds no parse of it to compare with
    (then it is read once, by the parse)."""
    if file.path not in cache._entries:
        return None
    problems: list[Problem] = []
    read = _read_note_bytes(file, problems)
    if read is None:
        return NoteFileRead(None, problems)
    _, content_hash, read_at_ns = read
    cached = cache._get(file, content_hash, problems, read_at_ns)
    return None if cached is None else NoteFileRead(cached, problems)


def _through_cache(cache: ParseCache, file: NoteFile, read: NoteFileRead) -> NoteFileRead:
    """A read parsed before the cache was asked (by `read_note_files`, here or in a worker): the cached
    parse when the bytes are those cached after all (they changed back since `_read_if_cached`), else
    the new parse, now cached."""
    if read.content_hash is None:
        return read
    problems: list[Problem] = []
    cached = cache._get(file, read.content_hash, problems, read.read_at_ns)
    if cached is not None:
        return NoteFileRead(cached, problems)
    if read.parsed is not None:
        cache._put(file, read.content_hash, read.parsed, read.problems, read.read_at_ns)
    return read


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Reading a vault allocates millions of small objects that all live to the end. CPython's cyclic
    collector re-scans every live object at each full collection, which took a quarter of a 10k-note
    read and grows faster than the vault (the superlinear part). The reader makes next to no cycles
    and reference counting frees everything else (a read leaves no cyclic garbage on antiai or the
    bench vaults), so the collector is paused for the read, then restored. What the read made is
    long-lived: it is moved to the oldest generation (freeze + unfreeze, two list splices) rather
    than left young, where the next young and middle collections would each walk all of it (~0.7 s
    for 10k notes). The first full collection after the read still walks it once (~1 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:  # never unfreeze what the application froze itself
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def read_vault_parsed(
    root: Path,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    rules: Sequence[RelationRule] | None = None,
    cache: ParseCache | None = None,
    jobs: int | None = None,
) -> tuple[Graph, list[ParsedNote], ConceptIndex]:
    """`read_vault`, also returning the per-note parse results and the concept index."""
    return _read(root, max_file_bytes=max_file_bytes, rules=rules, cache=cache, release_scans=False, jobs=jobs)


def _read(
    root: Path,
    *,
    max_file_bytes: int,
    rules: Sequence[RelationRule] | None,
    cache: ParseCache | None,
    release_scans: bool,
    mention_context: bool = True,
    jobs: int | None = None,
    listing: VaultListing | None = None,
) -> tuple[Graph, list[ParsedNote], ConceptIndex]:
    if not root.is_dir():
        raise VaultFolderError(f"vault {str(root)!r} is not a directory")
    with cyclic_gc_paused():
        parsed, problems = parse_vault(
            root, max_file_bytes=max_file_bytes, cache=cache, pack=release_scans, jobs=jobs, listing=listing
        )
        graph, index = resolve_notes(
            parsed,
            problems=problems,
            rules=rules,
            cache=cache,
            release_scans=release_scans,
            mention_context=mention_context,
        )
    return graph, parsed, index


def read_vault(
    root: Path,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    rules: Sequence[RelationRule] | None = None,
    cache: ParseCache | None = None,
    mention_context: bool = True,
    jobs: int | None = None,
    listing: VaultListing | None = None,
) -> Graph:
    """A vault directory in, a `Graph` out: notes, concepts, relations, problems.
    `rules` defaults to `default_rules()` (the outline rule plus `ingest.relations.RULES`).
    `cache`, a `ParseCache` the caller keeps across reads of the same vault, skips decoding and
    parsing the notes whose bytes did not change; the result is the same as without it.
    `mention_context` False leaves out what a mention's context is (heading path, list depth, table
    row, line text): ~30 MB per 10k notes a caller that does not read it need not hold.
    `jobs`: processes that read and parse the notes (see `parse_vault`); None: one per CPU for a read
    of at least `PARALLEL_MIN_NOTES` notes, else 1. `listing`: see `parse_vault`."""
    return _read(
        Path(root),
        max_file_bytes=max_file_bytes,
        rules=rules,
        cache=cache,
        release_scans=True,  # nobody reads the parsed notes afterwards: their scans go as the rules finish
        mention_context=mention_context,
        jobs=jobs,
        listing=listing,
    )[0]


__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "IMPLEMENTATION",
    "PARALLEL_MIN_NOTES",
    "RACY_MTIME_NS",
    "LineContext",
    "NoteResolver",
    "OutlineEntry",
    "ParseCache",
    "ParsedNote",
    "RelationRule",
    "VaultListing",
    "cyclic_gc_paused",
    "default_rules",
    "list_vault",
    "outline_relations",
    "parse_note",
    "parse_vault",
    "processes_for",
    "read_vault",
    "read_vault_parsed",
    "resolve_notes",
]
