"""RefD — reference distance over the note link graph (Liang, Wu, Huang, Giles; EMNLP 2015).

A weak, vault-wide prerequisite signal: if the concepts that A's notes link to tend to link to B,
while the concepts B's notes link to rarely link back to A, then B is likely a prerequisite of A.

    RefD(A, B) = Σ_c w(c, A)·r(c, B) / Σ_c w(c, A)  −  Σ_c w(c, B)·r(c, A) / Σ_c w(c, B)

with w(c, A) = 1 when a note about A links to concept c, r(c, B) = 1 when a note about c links
to B, and c ranging over the concepts that have notes (other than A and B). RefD(A, B) ≥ θ gives
`(B)-[:PREREQUISITE_OF]->(A)` with the `statistics.refd` confidence. Only linked pairs (A links to
B or B links to A) are scored, so the cost follows the number of links, not concepts squared.

RefD is a gap filler: a pair that the other rules already order (either way, directly or through
other concepts) gets no RefD edge, so the weakest signal never contradicts a stronger one. MOCs and
roadmaps are left out of the link graph (they link to everything).

The relation is attributed to the note of A that links to B (else the note of B that links to A),
at that link's line, so it is retracted with that note.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.concepts import ConceptIndex
from ingest.relation_rules import RefdSettings
from kg.model import Relation, RelationType

if TYPE_CHECKING:
    from ingest.vault import ParsedNote


@dataclass(frozen=True, slots=True)
class LinkGraph:
    """Concept-level links among the concepts that have notes (RefD scores no other concept)."""

    # concept (with notes) -> the concepts (with notes) its notes link to, sorted: a tuple is a sixth
    # of a set's memory (the link graph was the peak of a 50k-note ingest), and of a kept state's load
    out: dict[str, tuple[str, ...]]
    where: dict[tuple[str, str], tuple[str, int]]  # (from, to) -> (note path, line) of the first such link


def _concept_links(parsed_notes: Sequence[ParsedNote], index: ConceptIndex) -> Iterator[tuple[str, str, str, int]]:
    """Each link from a concept's note to another concept that has notes, in note path and link order:
    (from, to, note path, line)."""
    outline_concepts = {index.key_of(p.note.about[0]) for p in parsed_notes if p.outline and p.note.about}
    # MOCs and roadmaps link to everything: they would make every pair look related
    sourced = [
        (parsed.note, index.key_of(parsed.note.about[0]))
        for parsed in sorted(parsed_notes, key=lambda p: p.path)
        if parsed.note.about and not parsed.outline
    ]
    with_notes = {source for _, source in sourced} - outline_concepts
    for note, source in sourced:
        for link in note.links:
            target = link.concept
            if target is not None and target in with_notes and target != source and link.kind != "url":
                yield source, target, note.path, link.line


def link_graph(parsed_notes: Sequence[ParsedNote], index: ConceptIndex, *, locate: bool = True) -> LinkGraph:
    """The link graph; `locate` False leaves `where` empty (`_first_links` finds what is needed)."""
    targets_of: dict[str, list[str]] = {}  # repeats and all: smaller than sets while it is built
    where: dict[tuple[str, str], tuple[str, int]] = {}
    for source, target, path, line in _concept_links(parsed_notes, index):
        targets_of.setdefault(source, []).append(target)
        if locate:
            where.setdefault((source, target), (path, line))
    return LinkGraph({source: tuple(sorted(set(targets))) for source, targets in targets_of.items()}, where)


def _first_links(
    parsed_notes: Sequence[ParsedNote], index: ConceptIndex, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, int]]:
    """`LinkGraph.where` for `pairs` only (a one-shot read need not hold it for every linked pair)."""
    where: dict[tuple[str, str], tuple[str, int]] = {}
    for source, target, path, line in _concept_links(parsed_notes, index):
        if (source, target) in pairs:
            where.setdefault((source, target), (path, line))
    return where


class _Scores:
    """RefD for many pairs of one link graph: the concepts linking to each concept are computed once,
    so a pair costs two set intersections."""

    def __init__(self, graph: LinkGraph) -> None:
        self.neighbours = graph.out
        # lists, not sets: each (c, target) comes once (targets are a set), and a list of ~10 keys is
        # a fifth of a set's memory; the link graph and this were the peak of a 50k-note read
        linked_from: dict[str, list[str]] = defaultdict(list)
        for c, targets in graph.out.items():
            for target in targets:
                linked_from[target].append(c)
        self.linked_from = dict(linked_from)

    def score(self, a: str, b: str) -> tuple[float, tuple[int, int, int, int]]:
        a_neighbours = {c for c in self.neighbours.get(a, ()) if c != b}  # a concept never links to itself
        b_neighbours = {c for c in self.neighbours.get(b, ()) if c != a}
        a_to_b = len(a_neighbours.intersection(self.linked_from.get(b, ())))
        b_to_a = len(b_neighbours.intersection(self.linked_from.get(a, ())))
        first = a_to_b / len(a_neighbours) if a_neighbours else 0.0
        second = b_to_a / len(b_neighbours) if b_neighbours else 0.0
        return first - second, (a_to_b, len(a_neighbours), b_to_a, len(b_neighbours))

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every linked pair (a, b), a < b, in sorted order, without holding them all."""
        for a in sorted(self.neighbours):
            linked = {b for b in self.neighbours[a] if b > a}
            linked.update(b for b in self.linked_from.get(a, ()) if b > a)
            for b in sorted(linked):
                yield a, b


def refd(graph: LinkGraph, a: str, b: str) -> tuple[float, tuple[int, int, int, int]]:
    """RefD(a, b) and its four counts (a's neighbours that link to b, a's neighbours; and back)."""
    return _Scores(graph).score(a, b)


def _requires_graph(relations: Sequence[Relation]) -> dict[str, set[str]]:
    """dependent -> concepts it requires, from the other rules' relations."""
    graph: dict[str, set[str]] = defaultdict(set)
    for relation in relations:
        if relation.type is RelationType.PREREQUISITE_OF:
            graph[relation.target].add(relation.source)
        elif relation.type in (RelationType.VARIANT_OF, RelationType.IMPLEMENTS):
            graph[relation.source].add(relation.target)
    return graph


def _requires_transitively(graph: Mapping[str, Iterable[str]], start: str, goal: str) -> bool:
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


# A pair RefD scored past the threshold and min_links: (dependent, required, |score|, counts, note, line)
_Candidate = tuple[str, str, float, tuple[int, int, int, int], str, int]


class RefdMemo:
    """What the last `refd_relations` scored, kept across reads of one vault (by a `ParseCache`).

    The scores depend only on the link graph among concepts that have notes (and on the settings):
    while that stands — a prose edit, a link to a concept without a note — the pairs that pass are
    not scored again; only the check against the other rules' ordering runs, and the relations it
    keeps are the same objects as last time. When it changes, only the pairs touching a concept
    whose links out or in changed are scored again (`_rescored`)."""

    def __init__(self) -> None:
        # What all the scores are a function of: the last link graph's links and the settings. Not
        # where each pair's first link is (`LinkGraph.where`): each read has it, and it was ~120k
        # tuples at 10k notes for a cache to hold (in memory, and in a `--keep-state` file).
        self.out: dict[str, tuple[str, ...]] | None = None
        self.settings: RefdSettings | None = None
        self.scored: list[_Scored] = []  # the pairs that passed
        self.made: dict[_Candidate, Relation] = {}
        self.reused = False  # the last call reused the scores


_Scored = tuple[str, str, float, tuple[int, int, int, int]]  # (dependent, required, |score|, counts)


def _pair_scored(scores: _Scores, first: str, second: str, settings: RefdSettings) -> _Scored | None:
    """The pair (first < second) as RefD orders it, when it passes the threshold and min_links."""
    score, counts = scores.score(first, second)
    if abs(score) < settings.threshold:
        return None
    dependent, required = (first, second) if score > 0 else (second, first)
    if score < 0:
        counts = (counts[2], counts[3], counts[0], counts[1])
    if min(counts[1], counts[3]) < settings.min_links:
        return None
    return (dependent, required, abs(score), counts)


def _scored(graph: LinkGraph, settings: RefdSettings) -> list[_Scored]:
    scores = _Scores(graph)
    found: list[_Scored] = []
    for first, second in scores.pairs():
        scored = _pair_scored(scores, first, second, settings)
        if scored is not None:
            found.append(scored)
    return found


def _pair_of(scored: _Scored) -> tuple[str, str]:
    return (scored[0], scored[1]) if scored[0] < scored[1] else (scored[1], scored[0])


def _rescored(
    last: list[_Scored], last_out: dict[str, tuple[str, ...]], graph: LinkGraph, settings: RefdSettings
) -> list[_Scored]:
    """`_scored(graph, settings)` from the last link graph's result: a pair's score reads only the
    links out of and into its two concepts, so only the pairs touching a concept whose links out or
    in changed are scored again (an edit linking two concepts: a few hundred pairs, not all)."""
    out = graph.out
    changed = {c for c in last_out.keys() | out.keys() if last_out.get(c) != out.get(c)}
    for source in list(changed):  # their targets gained or lost a concept linking to them
        changed.update(set(last_out.get(source, ())).symmetric_difference(out.get(source, ())))
    if not changed:
        return last
    scores = _Scores(graph)
    pairs: set[tuple[str, str]] = set()
    for c in changed:
        for other in set(out.get(c, ())).union(scores.linked_from.get(c, ())):
            first, second = (c, other) if c < other else (other, c)
            # a pair `_Scores.pairs` yields: its first concept links out, and one links to the other
            if first != second and first in out and (second in out[first] or first in out.get(second, ())):
                pairs.add((first, second))
    kept = [scored for scored in last if scored[0] not in changed and scored[1] not in changed]
    for first, second in pairs:
        scored = _pair_scored(scores, first, second, settings)
        if scored is not None:
            kept.append(scored)
    kept.sort(key=_pair_of)  # `_scored`'s order: by pair
    return kept


def _candidates(scored: list[_Scored], where: dict[tuple[str, str], tuple[str, int]]) -> list[_Candidate]:
    """Each scored pair with the note and line of its first link (a linked pair always has one)."""
    found: list[_Candidate] = []
    for dependent, required, score, counts in scored:
        located = where.get((dependent, required)) or where.get((required, dependent))
        if located is not None:
            found.append((dependent, required, score, counts, *located))
    return found


def refd_relations(
    parsed_notes: Sequence[ParsedNote],
    index: ConceptIndex,
    confidence: float,
    settings: RefdSettings,
    existing: Sequence[Relation] = (),
    *,
    memo: RefdMemo | None = None,
    requires: Mapping[str, Iterable[str]] | None = None,
) -> list[Relation]:
    """RefD edges for linked concept pairs; a weak signal, so only where the other rules' relations
    (`existing`) do not already order the pair either way — RefD fills gaps, it never argues.
    `requires`: dependent -> the concepts `existing` says it requires, when the caller has it already
    (`ingest.relations.requires_edges`)."""
    made: dict[_Candidate, Relation] = {}
    if memo is None:
        graph = link_graph(parsed_notes, index, locate=False)
        scored = _scored(graph, settings)
        del graph  # the link sets are the biggest thing a one-shot read holds here
        pairs = {(d, r) for d, r, _, _ in scored} | {(r, d) for d, r, _, _ in scored}
        candidates = _candidates(scored, _first_links(parsed_notes, index, pairs))
    else:
        graph = link_graph(parsed_notes, index)
        last = memo.out if memo.settings == settings else None
        memo.reused = last == graph.out
        if not memo.reused:
            if last is None:
                memo.scored = _scored(graph, settings)
            else:
                memo.scored = _rescored(memo.scored, last, graph, settings)
            memo.out, memo.settings = graph.out, settings
        # the same candidates make the same relations (`made`), as objects too
        candidates, made = _candidates(memo.scored, graph.where), memo.made
    if requires is None:
        requires = _requires_graph(existing)
    relations: list[Relation] = []
    for candidate in candidates:
        dependent, required, score, counts, note, line = candidate
        if _requires_transitively(requires, dependent, required) or _requires_transitively(
            requires, required, dependent
        ):
            continue  # already ordered (either way) by stronger evidence
        relation = made.get(candidate)
        if relation is None or relation.confidence != confidence:
            relation = made[candidate] = Relation(
                type=RelationType.PREREQUISITE_OF,
                source=required,
                target=dependent,
                confidence=confidence,
                rule="statistics.refd",
                note=note,
                line=line,
                evidence=(
                    f"RefD({dependent}, {required}) = {score:.2f}: {counts[0]}/{counts[1]} of the concepts "
                    f"{dependent} links to link to {required}; {counts[2]}/{counts[3]} of those {required} "
                    f"links to link to {dependent}"
                ),
            )
        relations.append(relation)
    if memo is not None:
        memo.made = {candidate: made[candidate] for candidate in candidates if candidate in made}
    return relations


__all__ = ["LinkGraph", "RefdMemo", "link_graph", "refd", "refd_relations"]
