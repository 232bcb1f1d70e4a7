"""GraphQL types. Kept apart from the store's records: each type wraps a record, and every
relationship field goes through the request's DataLoaders (never one query per object)."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar, cast

import strawberry
from strawberry.types import Info

from kg.api.context import Context
from kg.store.read import Assertion, ConceptRecord, NoteRecord, RelatedRecord

ContextInfo = Info[Context, None]
F = TypeVar("F", bound=Callable[..., Any])


def described(description: str, *, name: str | None = None) -> Callable[[F], F]:
    """`@described(...)` that keeps the resolver's type (strawberry's overload is `Any`)."""

    def wrap(resolver: F) -> F:
        return cast(F, strawberry.field(resolver, description=description, name=name))

    return wrap


@strawberry.enum(description="Typed concept relations, named by their stored direction (SPEC §4).")
class Relation(Enum):
    PREREQUISITE_OF = "PREREQUISITE_OF"
    VARIANT_OF = "VARIANT_OF"
    IMPLEMENTS = "IMPLEMENTS"
    PART_OF = "PART_OF"
    NEXT = "NEXT"
    RELATED_TO = "RELATED_TO"


@strawberry.enum(description="Seen from a concept: OUTGOING = (this)-[r]->(other), INCOMING = (other)-[r]->(this).")
class Direction(Enum):
    OUTGOING = "OUT"
    INCOMING = "IN"


@strawberry.type(description="One note's assertion of a relation: the rule that found it, how sure, the text, where.")
class Evidence:
    rule: str
    confidence: float
    text: str = strawberry.field(description="The evidence text as written in the note.")
    note: str = strawberry.field(description="Vault-relative path of the asserting note.")
    line: int | None

    @classmethod
    def of(cls, a: Assertion) -> Evidence:
        return cls(rule=a.rule, confidence=a.confidence, text=a.evidence, note=a.note, line=a.line)


def evidence_order(a: Assertion) -> tuple[float, str, int, str, str]:
    """Strongest first, then by note and line: deterministic."""
    return (-a.confidence, a.note, a.line or 0, a.rule, a.evidence)


def evidence_list(assertions: list[Assertion]) -> list[Evidence]:
    """Every piece of evidence, in `evidence_order`."""
    return [Evidence.of(a) for a in sorted(set(assertions), key=evidence_order)]


@strawberry.type(description="A relation of a concept, its parallel assertions merged (every piece of evidence kept).")
class ConceptRelation:
    relation: Relation
    direction: Direction
    concept: Concept = strawberry.field(description="The concept at the other end.")
    confidence: float = strawberry.field(description="The strongest assertion's confidence.")
    evidence: list[Evidence]


def merge_related(records: list[RelatedRecord], type_: str, direction: str | None) -> list[ConceptRelation]:
    groups: dict[tuple[str, str], list[RelatedRecord]] = defaultdict(list)
    for r in records:
        if r.type == type_ and (direction is None or r.direction == direction):
            groups[(r.direction, r.other.uid)].append(r)
    out: list[ConceptRelation] = []
    for (dir_, _), rs in groups.items():
        assertions = [r.assertion for r in rs]
        out.append(
            ConceptRelation(
                relation=Relation(type_),
                direction=Direction(dir_),
                concept=Concept.of(rs[0].other),
                confidence=max(a.confidence for a in assertions),
                evidence=evidence_list(assertions),
            )
        )
    out.sort(key=lambda c: (-c.confidence, c.concept.record.name.casefold(), c.concept.record.uid))
    return out


@strawberry.type(description="An idea (GRPO, KV Cache, vLLM). Notes are about concepts.")
class Concept:
    # Scalar fields are plain attributes, not resolvers: a learning path answer holds thousands of
    # them, and graphql-core reads an attribute far faster than it calls a strawberry resolver.
    record: strawberry.Private[ConceptRecord]
    id: strawberry.ID = strawberry.field(description="Vault-scoped identity.")
    vault: str
    key: str = strawberry.field(description="Normalised key: case-, width- and separator-insensitive.")
    name: str
    aliases: list[str]
    kind: str | None
    description: str | None

    @classmethod
    def of(cls, record: ConceptRecord) -> Concept:
        return cls(
            record=record,
            id=strawberry.ID(record.uid),
            vault=record.vault,
            key=record.key,
            name=record.name,
            aliases=list(record.aliases),
            kind=record.kind,
            description=record.description,
        )

    @described("Tags of the notes about this concept.")
    async def tags(self, info: ContextInfo) -> list[str]:
        return await info.context.loaders.tags.load(self.record.uid)

    @described("Notes about this concept (overviews first).")
    async def notes(self, info: ContextInfo) -> list[Note]:
        return [Note.of(n) for n in await info.context.loaders.notes_about.load(self.record.uid)]

    @described("Notes that mention this concept, most mentions first.")
    async def mentioned_in(self, info: ContextInfo, first: int = 20) -> list[Mention]:
        found = await info.context.loaders.mentions.load(self.record.uid)
        return [Mention(note=Note.of(m.note), count=m.count, line=m.line) for m in found[: max(0, first)]]

    async def _related(self, info: ContextInfo, type_: str, direction: str | None) -> list[ConceptRelation]:
        return merge_related(await info.context.loaders.relations.load(self.record.uid), type_, direction)

    @described("Concepts to learn first: (other)-[:PREREQUISITE_OF]->(this).")
    async def prerequisites(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "PREREQUISITE_OF", "IN")

    @described("Concepts this one is a prerequisite of.")
    async def dependents(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "PREREQUISITE_OF", "OUT")

    @described("Variants of this concept: (other)-[:VARIANT_OF]->(this).")
    async def variants(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "VARIANT_OF", "IN")

    @described("The base(s) this concept is a variant of.")
    async def variant_of(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "VARIANT_OF", "OUT")

    @described("What this concept (a tool, an implementation) implements.")
    async def implements(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "IMPLEMENTS", "OUT")

    @described("Tools and implementations of this concept.")
    async def implemented_by(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "IMPLEMENTS", "IN")

    @described("RELATED_TO, either direction.")
    async def related(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "RELATED_TO", None)

    @described("Wholes this concept is part of (outline hierarchy).")
    async def part_of(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "PART_OF", "OUT")

    @described("Parts of this concept (outline hierarchy).")
    async def parts(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "PART_OF", "IN")

    @described("What comes next in a roadmap or table of contents.")
    async def next(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "NEXT", "OUT")

    @described("What comes before in a roadmap or table of contents.")
    async def previous(self, info: ContextInfo) -> list[ConceptRelation]:
        return await self._related(info, "NEXT", "IN")


@strawberry.type(description="A markdown file of the vault.")
class Note:
    record: strawberry.Private[NoteRecord]
    id: strawberry.ID
    vault: str
    path: str = strawberry.field(description="Vault-relative POSIX path.")
    title: str
    kind: str | None = strawberry.field(
        description="Note kind from its title suffix or front matter: overview, implementation, …"
    )
    description: str | None
    tags: list[str]
    minutes: int = strawberry.field(description="Estimated reading time: ~300 CJK characters or ~200 words a minute.")
    cjk_chars: int
    words: int

    @classmethod
    def of(cls, record: NoteRecord) -> Note:
        return cls(
            record=record,
            id=strawberry.ID(record.uid),
            vault=record.vault,
            path=record.path,
            title=record.title,
            kind=record.kind,
            description=record.description,
            tags=list(record.tags),
            minutes=record.minutes,
            cjk_chars=record.cjk_chars,
            words=record.words,
        )

    @described("Concepts this note is about.")
    async def about(self, info: ContextInfo) -> list[Concept]:
        return [Concept.of(c) for c in await info.context.loaders.note_concepts.load(self.record.uid)]

    @described("Notes this note links to.")
    async def links_to(self, info: ContextInfo) -> list[Note]:
        links = await info.context.loaders.note_links.load(self.record.uid)
        return [Note.of(n) for d, n in links if d == "OUT"]

    @described("Notes linking to this note (backlinks).")
    async def linked_from(self, info: ContextInfo) -> list[Note]:
        links = await info.context.loaders.note_links.load(self.record.uid)
        return [Note.of(n) for d, n in links if d == "IN"]

    @described("External URLs the note cites.")
    async def resources(self, info: ContextInfo) -> list[str]:
        return await info.context.loaders.note_resources.load(self.record.uid)


@strawberry.type
class Mention:
    note: Note
    count: int
    line: int | None


# --- learning path ----------------------------------------------------------------------------------


@strawberry.type(description="Why a step is on the path: one relation (parallel assertions merged).")
class Reason:
    relation: Relation
    from_: Concept = strawberry.field(name="from", description="Source of the stored relation.")
    to: Concept = strawberry.field(description="Target of the stored relation.")
    required_by: Concept = strawberry.field(description="The step that needs this one.")
    confidence: float = strawberry.field(description="The strongest assertion's confidence.")
    rule: str = strawberry.field(description="Rule of the strongest assertion.")
    evidence: str = strawberry.field(description="Evidence text of the strongest assertion.")
    note: str = strawberry.field(description="Note of the strongest assertion.")
    line: int | None
    text: str = strawberry.field(description="The reason as a sentence, e.g. 'PPO is a prerequisite of GRPO'.")
    implied: bool = strawberry.field(
        description="Also implied by a longer chain through other steps (a transitive edge: a view may hide it)."
    )
    assertions: list[Evidence] = strawberry.field(description="Every assertion of this relation, strongest first.")


@strawberry.type(description="One step of a learning path.")
class LearningStep:
    position: int = strawberry.field(description="1-based place in the order.")
    concept: Concept
    depth: int = strawberry.field(description="Fewest requires-hops from the nearest target (targets: 0).")
    stage: int = strawberry.field(
        description="Level in the longest prerequisite chain below it (1 = needs nothing on the path). "
        "Steps of one stage can be studied in parallel."
    )
    is_target: bool
    in_cycle: bool = strawberry.field(description="Part of a reported cycle: its order among the cycle is a tie-break.")
    requires: list[Concept] = strawberry.field(description="Steps this one directly needs (all earlier).")
    reasons: list[Reason] = strawberry.field(description="Why it is here: the relations from later steps.")
    notes: list[Note] = strawberry.field(description="Notes to read, overviews first.")
    minutes: int = strawberry.field(description="Reading time of its notes.")


@strawberry.type
class PathCycle:
    concepts: list[Concept]


@strawberry.type
class PathTotals:
    steps: int
    minutes: int = strawberry.field(description="Reading time of every note on the path, each note counted once.")
    notes: int
    longest_chain: int = strawberry.field(
        description="Length of the longest prerequisite chain (the number of stages)."
    )


@strawberry.type(description="What to learn before the targets, in order, with the notes to read and why.")
class LearningPath:
    targets: list[Concept]
    steps: list[LearningStep]
    totals: PathTotals
    cycles: list[PathCycle] = strawberry.field(description="Cycles among the steps (reported, never looped on).")
    known: list[Concept] = strawberry.field(description="Known concepts the path would otherwise have needed.")
    implicitly_known: list[Concept] = strawberry.field(description="Needed only through known concepts: skipped.")
    omitted_steps: int = strawberry.field(description="Steps left out by maxSteps (the farthest from the targets).")
    min_confidence: float
    warnings: list[str]


# --- exploration ------------------------------------------------------------------------------------


@strawberry.type
class SearchHit:
    score: float
    concept: Concept | None
    note: Note | None


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ConceptEdge:
    cursor: str
    node: Concept


@strawberry.type(description="A page of concepts (cursor pagination).")
class ConceptConnection:
    total_count: int
    edges: list[ConceptEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Concept]:
        return [e.node for e in self.edges]


def encode_cursor(record: ConceptRecord) -> str:
    raw = json.dumps([record.name, record.uid], ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, str] | None:
    try:
        name, uid = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, TypeError):
        return None
    if isinstance(name, str) and isinstance(uid, str):
        return name, uid
    return None


@strawberry.type(description="One hop of a chain: a stored relation (from)-[relation]->(to).")
class ChainLink:
    relation: Relation
    from_: Concept = strawberry.field(name="from")
    to: Concept
    evidence: Evidence


@strawberry.type(description="The shortest chain of typed relations between two concepts, either direction.")
class Chain:
    length: int
    concepts: list[Concept]
    links: list[ChainLink]


@strawberry.type
class RelationCount:
    relation: Relation
    count: int


@strawberry.type
class Stats:
    vaults: int
    notes: int
    concepts: int
    tags: int
    resources: int
    relations: list[RelationCount]


@strawberry.type
class Vault:
    name: str
    root: str | None
    notes: int
    concepts: int
    relations: int
    problems: int
    last_change_at: str | None
