"""Plain typed values passed between the pipeline stages (ingest -> store -> api).

Nothing here talks to Neo4j or knows about GraphQL: the ingest produces a `Graph`, the
store writes and reads these values, the API turns them into GraphQL types.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

_Frozen = TypeVar("_Frozen", bound=type)


def pickled_by_fields(cls: _Frozen) -> _Frozen:
    """Pickle instances as the class called with the field values, all of them (a field added later
    is not forgotten). A frozen slots dataclass otherwise pickles through dataclasses' own state
    functions (Python, a `fields()` call and a setattr per field for each object): unpickling 300k
    links, when they were such dataclasses, took 1.27 s against 0.66 s. A packed note body holds its
    headings, list items and table rows (the parse workers send them back pickled, `kg ingest
    --keep-state` keeps them on disk)."""
    values = attrgetter(*(f.name for f in fields(cls)))  # two or more fields: a tuple

    def __reduce__(self: Any) -> tuple[type, tuple[object, ...]]:
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


class RelationType(StrEnum):
    """Typed concept-to-concept relations (SPEC §4), with their stored direction."""

    PREREQUISITE_OF = "PREREQUISITE_OF"  # (PPO)-[:PREREQUISITE_OF]->(GRPO)
    VARIANT_OF = "VARIANT_OF"  # (GRPO)-[:VARIANT_OF]->(PPO)
    IMPLEMENTS = "IMPLEMENTS"  # (TRL)-[:IMPLEMENTS]->(GRPO)
    PART_OF = "PART_OF"  # (KV Cache)-[:PART_OF]->(Inference)
    NEXT = "NEXT"  # (Chapter 1)-[:NEXT]->(Chapter 2)
    RELATED_TO = "RELATED_TO"


class ProblemKind(StrEnum):
    """Why a file was repaired, skipped or only partly read."""

    ENCODING_REPAIRED = "encoding_repaired"
    ENCODING_UNREPAIRABLE = "encoding_unrepairable"
    BINARY = "binary"
    TOO_LARGE = "too_large"
    FRONT_MATTER = "front_matter"
    OUTSIDE_VAULT = "outside_vault"
    UNREADABLE = "unreadable"
    RELATION_CYCLE = "relation_cycle"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    kind: ProblemKind
    message: str
    line: int | None = None


# The three values a vault holds by the hundred thousand (10k notes: ~300k links, 150k mentions, 100k
# relations) are named tuples: immutable and hashable as frozen dataclasses are, but made in C (a
# frozen dataclass's __init__ sets each field through object.__setattr__): built ~5x and unpickled
# ~2.5x as fast, which a read makes and `kg ingest --keep-state` loads every run. Tuple semantics
# come with them (equal to a tuple of the same values); nothing compares them with other tuples.
class Mention(NamedTuple):
    """A concept named somewhere in a note, with the context the relation rules read."""

    concept: str  # concept key
    text: str  # the surface text as written
    line: int  # 1-based line in the note body's file
    source: str  # "wikilink" | "mdlink" | "heading" | "list_item" | "table_cell" | "title" | "front_matter"
    heading_path: tuple[str, ...] = ()  # headings above the mention, outermost first
    list_depth: int = 0  # 0 = not in a list, 1 = top-level item, ...
    table_row: int | None = None  # 0-based data row index when inside a table
    line_text: str = ""  # the whole source line (without surrounding whitespace), for evidence


class Link(NamedTuple):
    """A wiki link or markdown link as written, and what it resolved to."""

    target: str  # the raw target before `#`/`|`, without `.md`
    line: int
    kind: str  # "wiki" | "embed" | "markdown" | "url"
    alias: str | None = None
    heading: str | None = None
    block: str | None = None
    resolved_note: str | None = None  # vault-relative path of the note it points to, if it exists
    concept: str | None = None  # concept key it names (dangling links still name one)
    front_matter_key: str | None = None  # set when written in front matter (`up: "[[X]]"`), e.g. "up"


@dataclass(slots=True)
class Note:
    path: str  # vault-relative POSIX path, the note's identity
    title: str
    content_hash: str  # sha256 of the raw bytes
    encoding: str  # "utf-8", "utf-8-sig", "gb18030", "mojibake-repaired(cp1254)", ...
    tags: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    about: list[str] = field(default_factory=list)  # concept keys the note is about
    mentions: list[Mention] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # external URLs
    kind: str | None = None  # note kind from its title suffix or front matter: "overview", "implementation", ...
    description: str | None = None  # front matter brief/description or first paragraph
    front_matter: dict[str, object] = field(default_factory=dict)
    cjk_chars: int = 0  # for reading-time estimates
    words: int = 0


@dataclass(slots=True)
class Concept:
    key: str  # normalised identity: case-, width- and separator-insensitive
    name: str  # display name
    aliases: set[str] = field(default_factory=set)
    kind: str | None = None  # "tool", "algorithm", ... when known
    notes: list[str] = field(default_factory=list)  # paths of notes about it
    description: str | None = None


class Relation(NamedTuple):
    """One assertion of a typed edge, by one rule, in one note.

    Two rules or two notes asserting the same edge give two `Relation`s; readers merge them
    (every piece of evidence kept, the strongest confidence wins), and retracting a note
    removes exactly its own assertions.
    """

    type: RelationType
    source: str  # concept key
    target: str  # concept key
    confidence: float
    rule: str
    note: str  # path of the asserting note
    line: int | None
    evidence: str


@dataclass(slots=True)
class Graph:
    notes: dict[str, Note] = field(default_factory=dict)
    concepts: dict[str, Concept] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def relations_of(self, note_path: str) -> list[Relation]:
        return [r for r in self.relations if r.note == note_path]
