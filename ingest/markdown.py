"""Pure string functions over one note's markdown: masking, links, tags, headings, lists, tables.

Everything works on the whole text with compiled patterns (`ingest.patterns`) and keeps offsets,
so that line numbers are the note file's own lines. `mask_non_markdown` blanks code, math and
comments *in place* (same length, newlines kept), and every finder runs on the masked text, which
is how links inside code never count.
"""

from __future__ import annotations

import bisect
import re
from array import array
from dataclasses import dataclass, field
from itertools import accumulate
from sys import intern
from urllib.parse import unquote

from ingest import patterns as P
from kg.model import Link, pickled_by_fields

NOTE_EXTENSIONS = (".md", ".markdown")


def blank(segment: str) -> str:
    """The segment with every character but newlines replaced by a space (same length)."""
    if "\n" not in segment:
        return " " * len(segment)
    return "\n".join(" " * len(part) for part in segment.split("\n"))


def _blank_match(match: re.Match[str]) -> str:
    return blank(match.group(0))


def mask_fenced_code(text: str) -> str:
    """Blank fenced code blocks (fence lines included); an unclosed fence runs to the end."""
    nl = "\n" + text  # offsets in `nl` are offsets in `text` plus one
    pieces: list[str] = []
    done = 0  # offset in `text` up to which pieces are built
    pos = 0
    while True:
        opening = P.FENCE_OPEN.search(nl, pos)
        if opening is None:
            break
        fence = opening.group(1)
        closer = P.FENCE_CLOSE_BACKTICK if fence[0] == "`" else P.FENCE_CLOSE_TILDE
        end = len(nl)
        search_from = opening.end()
        while True:
            closing = closer.search(nl, search_from)
            if closing is None:
                break
            if len(closing.group(1)) >= len(fence):
                end = closing.end()
                break
            search_from = closing.end()
        start = opening.start()  # the newline before the fence line, i.e. the fence line's start - 1
        pieces.append(text[done:start])
        pieces.append(blank(text[start : end - 1]))
        done = end - 1
        pos = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def mask_non_markdown(text: str) -> str:
    """Blank fenced code, inline code, `$$` math, `%%` and `<!-- -->` comments (same length).

    Order matters: fences first (they may contain `$$` or `%%`), then block math and comments,
    then inline code spans on what remains. Each pass is skipped when its marker is absent.
    """
    if "```" in text or "~~~" in text:
        text = mask_fenced_code(text)
    if "$$" in text:
        text = P.MATH_BLOCK.sub(_blank_match, text)
    if "%%" in text:
        text = P.OBSIDIAN_COMMENT.sub(_blank_match, text)
    if "<!--" in text:
        text = P.HTML_COMMENT.sub(_blank_match, text)
    if "`" in text:
        text = P.INLINE_CODE.sub(_blank_match, text)
    return text


class LineIndex:
    """Maps character offsets to 1-based line numbers and back, for one text."""

    __slots__ = ("_lines", "_starts", "_stripped", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[int, str] = {}  # line texts handed out, so that readers share one copy
        self._stripped: dict[int, str] = {}  # the same, stripped: mentions and relations keep them as evidence
        # Line start offsets: running sum of (line length + 1), all in C.
        # An array, not a list: 8 bytes a line instead of a pointer plus an int object (kept per note).
        self._starts = array("q", accumulate(map((1).__add__, map(len, text.split("\n")[:-1])), initial=0))

    @property
    def text(self) -> str:
        return self._text

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def forget_line_texts(self) -> None:
        """Drop the line texts handed out so far (copies of the text's lines; made again when asked)."""
        self._lines, self._stripped = {}, {}

    def evidence(self, line: int) -> str:
        """`line_text(line)` without surrounding whitespace, one copy per line for all its mentions and
        relations (a big graph holds ~100k of them)."""
        known = self._stripped.get(line)
        if known is None:
            known = self._stripped[line] = self.line_text(line).strip()
        return known

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset)

    def start_of(self, line: int) -> int:
        return self._starts[line - 1]

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline (and without a trailing `\\r`)."""
        known = self._lines.get(line)
        if known is not None:
            return known
        if line < 1 or line > len(self._starts):
            return ""
        start = self._starts[line - 1]
        end = self._starts[line] - 1 if line < len(self._starts) else len(self._text)
        text = self._lines[line] = self._text[start:end].rstrip("\r")
        return text


# --- links ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundLink:
    """A link and the character span it occupies (spans keep tags and URLs out of links)."""

    link: Link
    start: int
    end: int


def strip_note_extension(target: str) -> str:
    lowered = target.lower()
    for ext in NOTE_EXTENSIONS:
        if lowered.endswith(ext):
            return target[: -len(ext)]
    return target


def has_attachment_extension(target: str) -> bool:
    """True for `img.png`, `doc.pdf`: a file that is not a note."""
    base = target.rsplit("/", 1)[-1]
    if "." not in base:
        return False
    ext = base.rsplit(".", 1)[-1].lower()
    return 1 <= len(ext) <= 5 and ext.isalnum() and not ext.isdigit() and ext not in ("md", "markdown")


def parse_wiki_link(inner: str, *, embed: bool, line: int) -> Link:
    """`path/Note#Heading|alias`, `Note#^block`, `#Heading`, `Note\\|alias` (table) → a `Link`.

    Its strings are interned: a vault links the same names from many notes, and every `Link` lives
    as long as the graph (10k notes: 154k links to 38k distinct targets)."""
    kind = "embed" if embed else "wiki"
    if "#" not in inner and "\\" not in inner and "." not in inner:  # `[[Note]]`, `[[Note|alias]]`: most links
        target, _, alias_part = inner.partition("|")
        written = alias_part.strip()
        return Link(target=intern(target.strip()), line=line, kind=kind, alias=intern(written) if written else None)
    inner = inner.replace("\\|", "|")
    target, _, alias_part = inner.partition("|")
    target, _, sub = target.partition("#")
    heading: str | None = None
    block: str | None = None
    sub = sub.strip()
    if sub.startswith("^"):
        block = sub[1:].strip() or None
    elif sub:
        heading = intern(sub)
    target = intern(strip_note_extension(target.strip().replace("\\", "/")))
    alias = intern(alias_part.strip()) or None
    return Link(target=target, line=line, kind=kind, alias=alias, heading=heading, block=block)


def toml_table_header_offsets(masked: str) -> set[int]:
    """Start offsets of `[[menu.main]]`-style lines that are TOML, not links (Hugo)."""
    if "=" not in masked:
        return set()
    return {match.start(1) - 1 for match in P.TOML_TABLE_HEADER.finditer("\n" + masked)}


def find_wiki_links(masked: str, lines: LineIndex) -> list[FoundLink]:
    if "[[" not in masked:
        return []
    toml_headers = toml_table_header_offsets(masked)
    found: list[FoundLink] = []
    for match in P.WIKI_LINK_BRACKETS.finditer(masked):
        inner = match.group(1)
        start = match.start()
        if start in toml_headers:
            continue
        bang = start > 0 and masked[start - 1] == "!"
        if bang:
            start -= 1
        if not inner.strip() or inner.strip() in ("|", "#"):
            continue
        link = parse_wiki_link(inner, embed=bang, line=lines.line_of(start))
        if not link.target and link.heading is None and link.block is None:
            continue
        found.append(FoundLink(link, start, match.end()))
    return found


def _inside(spans: list[tuple[int, int]], starts: list[int], offset: int) -> bool:
    i = bisect.bisect_right(starts, offset) - 1
    return i >= 0 and spans[i][0] <= offset < spans[i][1]


def find_markdown_links(
    masked: str, lines: LineIndex, wiki_spans: list[tuple[int, int]]
) -> tuple[list[FoundLink], list[tuple[int, int]]]:
    """Markdown links and images outside wiki links. Returns (links, spans of every match).

    URLs become kind "url"; relative paths kind "markdown" (image/attachment paths "embed");
    `#anchor` links are same-note heading links. Images of URLs (badges) are not links.
    """
    if "](" not in masked:
        return [], []
    starts = [s for s, _ in wiki_spans]
    found: list[FoundLink] = []
    spans: list[tuple[int, int]] = []
    for match in P.MARKDOWN_LINK.finditer(masked):
        start = match.start()
        if wiki_spans and _inside(wiki_spans, starts, start):
            continue
        bang = start > 0 and masked[start - 1] == "!"
        if bang:
            start -= 1
        spans.append((start, match.end()))
        text, raw_target = match.group(1), match.group(2)
        raw_target = raw_target.strip()
        if raw_target.startswith("<") and raw_target.endswith(">"):
            raw_target = raw_target[1:-1].strip()
        if not raw_target:
            continue
        line = lines.line_of(start)
        alias = text.strip() or None
        if P.URL_SCHEME.match(raw_target):
            if bang or not raw_target.lower().startswith(("http://", "https://")):
                continue
            found.append(FoundLink(Link(target=raw_target, line=line, kind="url", alias=alias), start, match.end()))
            continue
        path, _, fragment = raw_target.partition("#")
        path = _percent_decode(path)
        heading = _percent_decode(fragment) or None
        if bang or has_attachment_extension(path):
            kind = "embed"
        else:
            kind = "markdown"
            path = strip_note_extension(path)
        found.append(
            FoundLink(Link(target=path, line=line, kind=kind, alias=alias, heading=heading), start, match.end())
        )
    return found, spans


def _percent_decode(value: str) -> str:
    if "%" not in value:
        return value
    return unquote(value)


def find_bare_urls(masked: str, lines: LineIndex, taken: list[tuple[int, int]]) -> list[FoundLink]:
    """`https://…` in prose, outside links already found; trailing punctuation trimmed."""
    if "://" not in masked:
        return []
    taken = sorted(taken)
    starts = [s for s, _ in taken]
    found: list[FoundLink] = []
    for match in P.BARE_URL.finditer(masked):
        start = match.start()
        if taken and _inside(taken, starts, start):
            continue
        url = P.URL_TRAILING_PUNCT.sub("", match.group(0))
        if len(url) <= len("https://"):
            continue
        found.append(FoundLink(Link(target=url, line=lines.line_of(start), kind="url"), start, start + len(url)))
    return found


# --- tags -----------------------------------------------------------------------------------------


def normalise_tag(raw: str) -> str | None:
    """`#AI/LLM/` → `ai/llm`; None when it is no tag (empty, or digits only like `#1984`)."""
    tag = raw.strip().lstrip("#").strip("/-").casefold()
    if not tag or P.ALL_DIGITS.match(tag):
        return None
    return intern(tag)  # a vault's few tags are on every note, for as long as its graph lives


def find_tags(masked: str, taken: list[tuple[int, int]]) -> list[tuple[str, int]]:
    """Inline tags as (normalised tag, offset), outside links and URLs; never in headings' `#`."""
    if "#" not in masked:
        return []
    taken = sorted(taken)
    starts = [s for s, _ in taken]
    found: list[tuple[str, int]] = []
    openers = P.TAG_OPENERS
    for match in P.INLINE_TAG.finditer(masked):
        start = match.start()
        if start > 0:
            before = masked[start - 1]
            if not (before.isspace() or before in openers):
                continue
        if taken and _inside(taken, starts, start):
            continue
        tag = normalise_tag(match.group(1))
        if tag is not None:
            found.append((tag, start))
    return found


# --- structure ------------------------------------------------------------------------------------


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Heading:
    line: int
    level: int
    text: str  # as written, without the `#` markers


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ListItem:
    line: int
    depth: int  # 1 = top-level item
    text: str  # the item text without its marker
    parent: int | None  # index of the parent item in the note's item list
    heading_index: int | None  # index of the heading the item sits under


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class TableRow:
    line: int
    row: int | None  # 0-based data row; None for the header and separator rows
    cells: tuple[str, ...]


def find_headings(masked: str, lines: LineIndex) -> list[Heading]:
    """ATX headings (`## Title`) and setext headings (`Title` underlined with `===` / `---`)."""
    nl = "\n" + masked
    headings = (
        [
            Heading(lines.line_of(m.start()), len(m.group(1)), m.group(2).strip())
            for m in P.HEADING.finditer(nl)
            if m.group(2).strip()
        ]
        if "#" in masked
        else []
    )
    if ("\n=" in masked or "\n-" in masked or "\n " in masked) and P.SETEXT_UNDERLINE.search(nl):
        setext = [
            Heading(lines.line_of(m.start()), 1 if m.group(2)[0] == "=" else 2, m.group(1).strip())
            for m in P.SETEXT_HEADING.finditer(nl)
            if not P.NOT_SETEXT_TEXT.match(m.group(1))
        ]
        if setext:
            headings = sorted(headings + setext, key=lambda h: h.line)
    return headings


def heading_paths(headings: list[Heading]) -> list[tuple[str, ...]]:
    """For each heading, the path of heading texts from the outermost down to it (inclusive)."""
    paths: list[tuple[str, ...]] = []
    stack: list[Heading] = []
    for heading in headings:
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        stack.append(heading)
        paths.append(tuple(h.text for h in stack))
    return paths


def heading_parents(headings: list[Heading]) -> list[int | None]:
    """For each heading, the index of the closest enclosing (lower-level) heading."""
    parents: list[int | None] = []
    stack: list[int] = []
    for i, heading in enumerate(headings):
        while stack and headings[stack[-1]].level >= heading.level:
            stack.pop()
        parents.append(stack[-1] if stack else None)
        stack.append(i)
    return parents


def _indent_width(indent: str) -> int:
    return len(indent.replace("\t", "    "))


def find_list_items(masked: str, lines: LineIndex, headings: list[Heading]) -> list[ListItem]:
    """List items with nesting depth and parent, reset at headings and at unindented prose."""
    if not ("- " in masked or "* " in masked or "+ " in masked or ". " in masked or ") " in masked):
        return []
    heading_lines = [h.line for h in headings]
    items: list[ListItem] = []
    indents: list[int] = []  # indent column per open level
    open_items: list[int] = []  # item index per open level
    prev_end = -1
    prev_heading: int | None = None
    for match in P.LIST_ITEM.finditer("\n" + masked):
        text = match.group(2).strip()
        line = lines.line_of(match.start())
        h = bisect.bisect_right(heading_lines, line) - 1
        heading_index = h if h >= 0 else None
        if heading_index != prev_heading or (
            prev_end >= 0 and P.UNINDENTED_LINE.search(masked, prev_end - 1, match.start()) is not None
        ):
            indents.clear()
            open_items.clear()
        prev_heading = heading_index
        prev_end = match.end()
        indent = _indent_width(match.group(1))
        while indents and indents[-1] > indent:
            indents.pop()
            open_items.pop()
        if indents and indents[-1] == indent:
            open_items[-1] = len(items)
        else:
            indents.append(indent)
            open_items.append(len(items))
        depth = len(indents)
        parent = open_items[-2] if depth >= 2 else None
        items.append(ListItem(line, depth, text, parent, heading_index))
    return items


def split_table_cells(row: str) -> tuple[str, ...]:
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return tuple(cell.strip() for cell in P.TABLE_CELL_SPLIT.split(row))


def find_table_rows(masked: str, lines: LineIndex) -> list[TableRow]:
    """Rows of pipe tables (`| a | b |`): header and separator get row None, data rows count from 0."""
    if "|" not in masked:
        return []
    rows: list[TableRow] = []
    prev_line = -2
    data_row = -1
    in_data = False
    for match in P.TABLE_ROW.finditer("\n" + masked):
        text = match.group(1)
        line = lines.line_of(match.start())
        if line != prev_line + 1:
            data_row = -1
            in_data = False
        prev_line = line
        if P.TABLE_SEPARATOR.match(text):
            in_data = True
            data_row = -1
            rows.append(TableRow(line, None, ()))
            continue
        if in_data:
            data_row += 1
            rows.append(TableRow(line, data_row, split_table_cells(text)))
        else:
            rows.append(TableRow(line, None, split_table_cells(text)))
    return rows


def blockquote_lines(masked: str, lines: LineIndex) -> set[int]:
    if ">" not in masked:
        return set()
    return {lines.line_of(m.start()) for m in P.BLOCKQUOTE.finditer("\n" + masked)}


@dataclass(slots=True)
class MarkdownScan:
    """Everything found in one note's body; offsets and lines refer to the whole file."""

    # The masked text (`mask_non_markdown` of `lines.text`), or None once forgotten: a one-shot read
    # forgets it between the stages that read it, so that every note's copy is not alive at once
    # (a tenth of a big read's peak memory, for ~3% more time); `masked` makes it again.
    _masked: str | None
    lines: LineIndex
    links: list[FoundLink] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    list_items: list[ListItem] = field(default_factory=list)
    table_rows: list[TableRow] = field(default_factory=list)
    blockquotes: set[int] = field(default_factory=set)
    # (start, end, line) of each link of `links`, flat, once `keep_link_spans` has run
    link_spans: array[int] = field(default_factory=lambda: array("q"))

    @property
    def masked(self) -> str:
        if self._masked is None:
            self._masked = mask_non_markdown(self.lines.text)
        return self._masked

    def forget_masked(self) -> None:
        self._masked = None

    def keep_link_spans(self) -> None:
        """Keep only where each link is (`link_spans`) and drop `links`: once the note has its own
        links, the parse's `Link` objects would otherwise live as long as the scan, beside every
        resolved copy (~7% of a big read's peak memory)."""
        self.link_spans = array("q", [n for found in self.links for n in (found.start, found.end, found.link.line)])
        self.links = []


def scan_markdown(text: str) -> MarkdownScan:
    """Run every finder over one text (front matter already blanked by the caller)."""
    masked = mask_non_markdown(text)
    lines = LineIndex(text)
    wiki = find_wiki_links(masked, lines)
    wiki_spans = [(f.start, f.end) for f in wiki]
    markdown, md_spans = find_markdown_links(masked, lines, wiki_spans)
    taken = wiki_spans + md_spans
    urls = find_bare_urls(masked, lines, taken)
    taken += [(f.start, f.end) for f in urls]
    links = sorted(wiki + markdown + urls, key=lambda f: f.start)
    headings = find_headings(masked, lines)
    return MarkdownScan(
        _masked=masked,
        lines=lines,
        links=links,
        tags=find_tags(masked, taken),
        headings=headings,
        list_items=find_list_items(masked, lines, headings),
        table_rows=find_table_rows(masked, lines),
        blockquotes=blockquote_lines(masked, lines),
    )


def _wiki_display(match: re.Match[str]) -> str:
    inner = match.group(2)
    link = parse_wiki_link(inner, embed=False, line=0)
    if link.alias:
        return link.alias
    name = link.target.rsplit("/", 1)[-1]
    return name or (link.heading or "")


def plain_text(text: str) -> str:
    """Link syntax replaced by what a reader sees: `[[a/B|x]]` → x, `[[a/B]]` → B, `[t](u)` → t."""
    if "[[" in text:
        text = P.WIKI_LINK.sub(_wiki_display, text)
    if "](" in text:
        text = P.MARKDOWN_LINK.sub(lambda m: m.group(1), text)
    return text
