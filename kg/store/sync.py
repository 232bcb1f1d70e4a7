"""Write an ingested `Graph` into Neo4j: incremental, idempotent, atomic, one vault at a time.

How it stays exactly right as notes change:
- every note gets a *digest* of everything it asserts (its node properties, edges and typed
  relations, after vault-wide concept resolution). Only notes whose digest changed are touched:
  their previous assertions are retracted (found by `asserted_by`) and the new ones created.
  Two more digests per note, of its typed relations and of its other edges but links, let a
  changed note keep those that are as stored (a folder renamed changes the links of every note
  linking into it, and nothing else of theirs).
  Rows for the UNWIND statements are built only for those notes, one transaction's notes at a
  time (a first ingest of 50k notes would otherwise hold every row of the vault at once).
- concepts carry a digest of their own properties and are rewritten only when it changes.
- a change of up to `max_tx_rows` estimated rows is one transaction: a failure midway leaves the
  previous graph intact. A bigger one (a first ingest of a big vault, a change of every note) would
  exhaust Neo4j's transaction memory, so it is written in several transactions of at most
  `SPLIT_TX_ROWS` rows, each holding whole notes (their retraction, their concepts, nodes, edges
  and digests): every note in the database is at all times wholly old or wholly new, and a run
  that dies midway is finished by the next one
  (the digests make it skip the notes already written). Orphan deletion and the vault's stats
  (`last_change_at`, the API's cache version) come last, in the last transaction.
- a graph without notes does not remove a vault that has notes in the database unless asked to
  (`allow_empty`): an unmounted share or an emptied folder would otherwise wipe it.
- a short lease on an `IngestLock` node, renewed while the sync runs, stops two ingests of one
  vault from running at once. A lease whose holder was a process of this host that is gone
  (killed, crashed) counts as free at once; otherwise a dead holder's lease lapses in `lease_s`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from neo4j import Driver, ManagedTransaction, NotificationMinimumSeverity, Query, Record, Transaction

from kg.model import Concept, Graph, Note, Relation, RelationType
from kg.store import cypher
from kg.store.schema import ensure_schema

UID_SEPARATOR = "\u241f"  # SYMBOL FOR UNIT SEPARATOR: never appears in paths or concept keys
DEFAULT_BATCH_SIZE = 2000
# Rows one transaction may write or retract (node upserts + relationships created + relationships
# retracted, estimated from the new rows). Measured with a 2g heap (transaction memory limit
# 1.4 GiB) on a 10k-note vault of 36 rows a note: a first ingest in one transaction (362k rows)
# peaked at 966 MiB, a change of every note (~720k) hit the limit. A row costs ~2.7 KiB, so 150k
# rows is ~400 MiB: a margin of 3.5x (long evidence, concurrent transactions), and a 1,500-note
# vault still goes in one transaction.
DEFAULT_MAX_TX_ROWS = 150_000
# A change bigger than that is written in transactions of at most this many rows: split anyway, it
# gains nothing from big ones, and each transaction's rows are held by this process and by Neo4j
# until it commits. First ingests, peak RSS: 50k notes 994 -> 962 MiB while writing (37 transactions
# of ~50k rows against 13 of ~150k), 10k notes 320 -> 254 MiB, in about the same time.
SPLIT_TX_ROWS = 50_000
# The retraction of a deleted note is estimated at the mean size of the written notes, or this.
DELETED_NOTE_ROWS = 40
# Short, because a holder on another host that died is only noticed when its lease lapses;
# the running sync renews it every third of that.
DEFAULT_LEASE_S = 120
# Every digest starts with this: bump the version when what a digest covers changes, so the next
# sync rewrites all. Digests without a prefix are the previous format (see `_LegacyDigests`).
DIGEST_PREFIX = "2:"

log = logging.getLogger(__name__)

Row = dict[str, Any]
T = TypeVar("T")
ProgressCallback = Callable[[int, int], None]


def scoped_uid(vault: str, key: str) -> str:
    return f"{vault}{UID_SEPARATOR}{key}"


class IngestLockedError(RuntimeError):
    """Another ingest of the same vault holds the lease."""


class VaultRootError(ValueError):
    """The vault was last ingested from another folder, and the sync was asked to write only the
    vault of its own folder (`same_root`); nothing was written."""

    def __init__(self, vault: str, root: str, stored_root: str) -> None:
        super().__init__(
            f"vault {vault!r} in the graph was ingested from {stored_root}, not from {root}; nothing was written"
        )
        self.vault = vault
        self.root = root
        self.stored_root = stored_root


class EmptyVaultError(ValueError):
    """The graph has no notes while the database holds notes of the vault, and the sync was not
    allowed to remove them all (`allow_empty`); nothing was written."""

    def __init__(self, vault: str, root: str, stored_notes: int) -> None:
        super().__init__(
            f"vault {vault!r}: no notes found under {root}, while the graph holds {stored_notes} of its notes; "
            "nothing was written (an unmounted or emptied folder looks the same)"
        )
        self.vault = vault
        self.root = root
        self.stored_notes = stored_notes


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (a zombie counts as gone).

    `os.kill(pid, 0)` sends nothing: ProcessLookupError means no such process, PermissionError
    means it exists but belongs to another user.
    """
    if pid <= 0:
        return True  # not a real process id: never treat it as proof of death
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False  # larger than any pid the kernel can hand out
    try:  # Linux: a killed process its parent has not reaped yet is a zombie, i.e. gone
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def _lock_holder(host: object, pid: object, owner: object) -> tuple[str | None, int | None]:
    """(host, pid) of a lease holder; leases written before host/pid were stored have only `owner`."""
    if isinstance(host, str) and isinstance(pid, int):
        return host, pid
    if isinstance(owner, str) and ":" in owner:
        owner_host, _, owner_pid = owner.rpartition(":")
        if owner_pid.isdigit():
            return owner_host, int(owner_pid)
    return None, None


def holder_gone(host: object, pid: object, owner: object = None) -> bool:
    """True when the lease holder was a process of this very host that no longer exists."""
    holder_host, holder_pid = _lock_holder(host, pid, owner)
    if holder_host != socket.gethostname() or holder_pid is None:
        return False  # another host (or unknown): only its lease expiry can tell
    return not pid_alive(holder_pid)


@dataclass(slots=True)
class SyncReport:
    vault: str
    notes_total: int = 0
    notes_added: int = 0
    notes_changed: int = 0
    notes_deleted: int = 0
    notes_unchanged: int = 0
    concepts_written: int = 0
    orphans_deleted: int = 0
    relations_written: int = 0
    seconds: float = 0.0
    # Summed Neo4j counters of the content writes (not the lock bookkeeping): zero on a no-op run.
    counters: dict[str, int] = field(default_factory=dict)
    # Seconds per phase: schema, lock, read (in the background when prepared ahead, see `VaultSync.prepare`),
    # wait (for them), digest, rows, plan, write (all its transactions), release.
    phases: dict[str, float] = field(default_factory=dict)
    # "host:pid" of a dead local process whose lease this run took over, if any.
    took_over_from: str | None = None
    # Transactions the change was written in: 0 (nothing to write), 1 (atomic), or more (a big
    # change split into whole-note batches).
    transactions: int = 0
    # This run finished a sync that had died midway (it swept the vault for orphans).
    finished_incomplete: bool = False

    @property
    def changed(self) -> bool:
        return (
            bool(self.notes_added or self.notes_changed or self.notes_deleted or self.concepts_written)
            or self.finished_incomplete
        )

    def summary(self) -> str:
        return (
            f"vault={self.vault} notes={self.notes_total} added={self.notes_added} "
            f"changed={self.notes_changed} deleted={self.notes_deleted} unchanged={self.notes_unchanged} "
            f"concepts_written={self.concepts_written} relations_written={self.relations_written} "
            f"orphans_deleted={self.orphans_deleted} transactions={self.transactions} time={self.seconds:.2f}s"
        )


@dataclass(slots=True)
class _NoteRows:
    """Everything one note asserts, as rows ready for the UNWIND statements."""

    note: Row
    about: list[Row] = field(default_factory=list)
    mentions: list[Row] = field(default_factory=list)
    tagged: list[Row] = field(default_factory=list)
    links: list[Row] = field(default_factory=list)
    cites: list[Row] = field(default_factory=list)
    relations: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    relations_stored: bool = False  # its typed relations are those stored: no rows made for them

    @property
    def uid(self) -> str:
        return str(self.note["uid"])

    def size(self) -> int:
        """Rows: the note node and every edge it asserts."""
        edges = len(self.about) + len(self.mentions) + len(self.tagged) + len(self.links) + len(self.cites)
        return 1 + edges + sum(len(rows) for rows in self.relations.values())

    def concept_uids(self) -> Iterator[str]:
        for row in self.about:
            yield row["concept"]
        for row in self.mentions:
            yield row["concept"]
        for rows in self.relations.values():
            for row in rows:
                yield row["source"]
                yield row["target"]


@dataclass(slots=True)
class _Batch:
    """What one transaction writes: whole notes, with the concepts and links they need. The notes'
    rows are built when the transaction is written, not when it is planned."""

    deleted: list[str] = field(default_factory=list)  # uids of deleted notes
    retract: list[str] = field(default_factory=list)  # uids of changed notes (their old assertions go)
    notes: list[str] = field(default_factory=list)  # paths of the notes it writes
    concepts: list[Row] = field(default_factory=list)
    # Notes written by this or an earlier batch with a LINKS_TO row placed in this one: a link to a
    # note added by this run goes in that note's batch (it cannot exist before).
    link_sources: list[str] = field(default_factory=list)
    incoming: list[Row] = field(default_factory=list)  # LINKS_TO rows from notes this run does not write
    rows: int = 0

    @property
    def steps(self) -> int:
        return len(self.deleted) + len(self.notes) + len(self.concepts)


def _digest(value: object) -> str:
    """A short stable digest of plain values (str, int, float, None, tuples and lists of them).

    `repr` of such values is deterministic across runs (sets must be sorted first), and far
    cheaper than a sorted-keys JSON dump; BLAKE2b is cheaper than SHA-256.
    """
    return DIGEST_PREFIX + hashlib.blake2b(repr(value).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


RelationKey = tuple[str, str, str, str, "int | None"]

# `RelationType.X.value` goes through the enum's descriptor, slow on every relation of every digest
_TYPE_NAME: dict[RelationType, str] = {t: t.value for t in RelationType}


def _relation_identity(rel: Relation) -> RelationKey:
    """One assertion: a note asserting the same identity twice asserts it once."""
    return (_TYPE_NAME[rel.type], rel.source, rel.target, rel.rule, rel.line)


def _relation_order(rel: Relation) -> tuple[str, str, str, str, int]:
    """The stable order of a note's relations (its digest depends on it)."""
    return (_TYPE_NAME[rel.type], rel.source, rel.target, rel.rule, rel.line or 0)


def _relations_by_note(graph: Graph, kept: NoteDigests | None = None) -> dict[str, list[Relation]]:
    """The typed relations each note of the graph asserts, each assertion once, in a stable order
    (lists to read, not to change: with `kept`, a note's list may be last sync's).

    The same assertion (type, ends, rule, line) made by two notes is kept for both: each note
    retracts only its own, so the other's must exist as its own edge. With `kept` (a long-running
    ingest's memory of the last sync), a note whose relations, as the graph lists them, equal last
    time's gets last time's list: after an edit, all but a few notes (~0.07 s of a 10k-note sync).
    """
    listed: dict[str, list[Relation]] = defaultdict(list)
    notes = graph.notes
    for rel in graph.relations:
        if rel.note in notes:  # a relation must be asserted by a note of this vault to be retractable
            listed[rel.note].append(rel)
    last = kept._relations if kept is not None else {}
    memo: dict[str, tuple[list[Relation], list[Relation]]] = {}
    by_note: dict[str, list[Relation]] = {}
    for path, rels in listed.items():
        before = last.get(path)
        # list == list compares the very same (immutable) relations without calling __eq__
        if before is not None and before[0] == rels:
            by_note[path] = before[1]
        else:
            own: dict[RelationKey, Relation] = {}
            for rel in rels:
                own.setdefault(_relation_identity(rel), rel)
            by_note[path] = sorted(own.values(), key=_relation_order)
        if kept is not None:
            memo[path] = (rels, by_note[path])
    if kept is not None:
        kept._relations = memo
    return by_note


def _relation_row(vault: str, rel: Relation) -> Row:
    return {
        "source": scoped_uid(vault, rel.source),
        "target": scoped_uid(vault, rel.target),
        "note_uid": scoped_uid(vault, rel.note),
        "note": rel.note,
        "line": rel.line,
        "rule": rel.rule,
        "confidence": round(float(rel.confidence), 4),
        "evidence": rel.evidence[:500],
        "vault": vault,
    }


def _relation_parts(relations: Sequence[Relation]) -> list[tuple[object, ...]]:
    """What a note's typed relation rows are made of (beside the note, which its uid names)."""
    return [
        (_TYPE_NAME[r.type], r.source, r.target, r.rule, r.line, round(float(r.confidence), 4), r.evidence[:500])
        for r in relations
    ]


def _note_digest(note: Note, relations: Sequence[Relation], notes: Mapping[str, Note], used: set[str]) -> str:
    """Digest of exactly what `_note_rows` and the relation rows derive from; adds the concept keys
    the note points at to `used` on the way (one pass over the mentions for both)."""
    mentions = [(m.concept, m.line) for m in note.mentions]
    used.update(note.about)
    used.update(concept for concept, _ in mentions)
    links = [
        (link.resolved_note, link.line)
        for link in note.links
        if link.resolved_note and link.resolved_note != note.path and link.resolved_note in notes
    ]
    rels = _relation_parts(relations)
    for r in relations:
        used.add(r.source)
        used.add(r.target)
    return _digest(
        (
            note.path, note.title, note.content_hash, note.kind, note.description, note.encoding,
            note.tags, note.cjk_chars, note.words, note.about, mentions, links, note.resources, rels,
        )
    )  # fmt: skip


class NoteDigests:
    """Note digests remembered between syncs of one vault by a long-running ingest (`kg ingest
    --every/--watch`), so that a sync after a small edit does not digest every note again.

    A digest is reused only when it is certainly the same: the note's fields, links, mentions and
    relations (all immutable values) are equal to last time's — cheap when they are the very same
    objects, as a `ParseCache` hands out for notes it did not resolve again — and the vault has the
    same notes."""

    def __init__(self) -> None:
        self._paths: frozenset[str] = frozenset()
        # path -> (plain fields, list fields, relations, digest, concept keys used)
        self._entries: dict[
            str, tuple[tuple[object, ...], tuple[list[Any], ...], Sequence[Relation], str, frozenset[str]]
        ] = {}
        self.reused = 0  # digests reused by the last sync
        # path -> (its relations as the graph listed them, as `_relations_by_note` gave them)
        self._relations: dict[str, tuple[list[Relation], list[Relation]]] = {}
        # concept key -> (what its row is made of, the row) as `_concept_rows` last made it
        self._concept_rows: dict[str, tuple[tuple[object, ...], Row]] = {}

    @staticmethod
    def _plain(note: Note) -> tuple[object, ...]:
        return (
            note.title, note.content_hash, note.kind, note.description, note.encoding, note.cjk_chars, note.words,
        )  # fmt: skip

    @staticmethod
    def _lists(note: Note) -> tuple[list[Any], ...]:
        return (note.tags, note.about, note.mentions, note.links, note.resources)

    def _start(self, notes: Mapping[str, Note]) -> None:
        self.reused = 0
        if notes.keys() != self._paths:
            # A digest counts a note's links to notes that exist (`_note_digest`): the digests of the
            # notes gone and of those with a link to one go. A kept digest's links resolved to notes
            # that existed then, so a note that came changes none (a link to it is another link).
            gone = self._paths - notes.keys()
            for path, (_, lists, _, _, _) in list(self._entries.items()):
                if path in gone or any(link.resolved_note in gone for link in lists[3]):
                    del self._entries[path]
            self._paths = frozenset(notes)

    def digest(self, note: Note, relations: Sequence[Relation], notes: Mapping[str, Note], used: set[str]) -> str:
        entry = self._entries.get(note.path)
        if entry is not None:
            plain, lists, rels, digest, keys = entry
            # list == list compares in C, taking the very same object as equal without calling __eq__
            if plain == self._plain(note) and lists == self._lists(note) and rels == list(relations):
                self.reused += 1
                used.update(keys)
                return digest
        pointed_at: set[str] = set()  # the concept keys its rows point at, kept for the next reuse
        digest = _note_digest(note, relations, notes, pointed_at)
        used.update(pointed_at)
        lists = tuple(list(items) for items in self._lists(note))
        self._entries[note.path] = (self._plain(note), lists, list(relations), digest, frozenset(pointed_at))
        return digest


def reading_minutes(cjk_chars: int, words: int) -> int:
    """Reading time: ~300 CJK characters or ~200 English words a minute, at least one minute."""
    return max(1, round(cjk_chars / 300 + words / 200))


def _note_rows(
    vault: str,
    note: Note,
    graph: Graph,
    relations: Sequence[Relation],
    digest: str,
    *,
    links: bool = True,
    stored_relations_digest: str | None = None,
) -> _NoteRows:
    """The rows of one note; `links` False leaves its LINKS_TO rows out (the sync places those itself).
    When its typed relations digest to `stored_relations_digest` (the database holds them as they
    are), no rows are made for them (`relations_stored`): a renamed folder rewrites every note that
    links into it, ~65k relations at 10k notes whose rows were made only to be dropped."""
    note_uid = scoped_uid(vault, note.path)
    relations_digest = _digest(_relation_parts(relations))
    rows = _NoteRows(
        note={
            "uid": note_uid,
            "digest": digest,
            # its typed relations alone: a note rewritten with the same ones keeps them (`VaultSync.sync`)
            "relations_digest": relations_digest,
            "vault": vault,
            "path": note.path,
            "title": note.title,
            "content_hash": note.content_hash,
            "kind": note.kind,
            "description": note.description,
            "encoding": note.encoding,
            "tags": sorted(set(note.tags)),
            "cjk_chars": note.cjk_chars,
            "words": note.words,
            "minutes": reading_minutes(note.cjk_chars, note.words),
        }
    )
    for key in sorted(set(note.about)):
        rows.about.append({"note": note_uid, "concept": scoped_uid(vault, key)})
    mention_lines: dict[str, list[int]] = defaultdict(list)
    for m in note.mentions:
        mention_lines[m.concept].append(m.line)
    for key in sorted(mention_lines):
        lines = sorted(set(mention_lines[key]))
        rows.mentions.append(
            {
                "note": note_uid,
                "concept": scoped_uid(vault, key),
                "count": len(mention_lines[key]),
                "lines": lines,
                "line": lines[0],
            }
        )
    for tag in sorted(set(note.tags)):
        rows.tagged.append({"note": note_uid, "tag": scoped_uid(vault, tag), "vault": vault, "name": tag})
    if links:
        rows.links = _link_rows(vault, note, graph)
    for url in sorted(set(note.resources)):
        rows.cites.append(
            {
                "note": note_uid,
                "resource": scoped_uid(vault, url),
                "vault": vault,
                "url": url,
                "domain": urlsplit(url).netloc or url,
            }
        )
    rows.relations_stored = relations_digest == stored_relations_digest
    for rel in () if rows.relations_stored else relations:
        rows.relations[_TYPE_NAME[rel.type]].append(_relation_row(vault, rel))
    # what it asserts besides its links and typed relations: a note rewritten with the same keeps them
    rows.note["edges_digest"] = _digest([rows.about, rows.mentions, rows.tagged, rows.cites])
    return rows


def _linked_notes(note: Note, graph: Graph) -> dict[str, list[int]]:
    """The other notes of the vault a note links to, each with the lines of its links to it."""
    link_lines: dict[str, list[int]] = defaultdict(list)
    for link in note.links:
        if link.resolved_note and link.resolved_note != note.path and link.resolved_note in graph.notes:
            link_lines[link.resolved_note].append(link.line)
    return link_lines


def _link_rows(vault: str, note: Note, graph: Graph, targets: Callable[[str], bool] | None = None) -> list[Row]:
    """LINKS_TO rows of a note: one per other note of the vault it links to (those `targets` keeps)."""
    note_uid = scoped_uid(vault, note.path)
    link_lines = _linked_notes(note, graph)
    return [
        {
            "note": note_uid,
            "target": scoped_uid(vault, target),
            "count": len(link_lines[target]),
            "line": min(link_lines[target]),
        }
        for target in sorted(link_lines)
        if targets is None or targets(target)
    ]


def _note_size(note: Note, relations: Sequence[Relation], graph: Graph) -> int:
    """`_note_rows(...).size()` without building the rows."""
    edges = len(set(note.about)) + len({m.concept for m in note.mentions}) + len(set(note.tags))
    edges += len(_linked_notes(note, graph)) + len(set(note.resources))
    return 1 + edges + len(relations)


def _note_concepts(note: Note, relations: Sequence[Relation]) -> Iterator[str]:
    """The keys of the concepts a note's rows point at (`_NoteRows.concept_uids`, unscoped)."""
    yield from note.about
    for mention in note.mentions:
        yield mention.concept
    for rel in relations:
        yield rel.source
        yield rel.target


def _concept_made_of(vault: str, concept: Concept | None, *, copy: bool = False) -> tuple[object, ...]:
    """What a concept's row is made of; `copy` takes the aliases as a frozenset (equal to the set),
    for a memo that a caller changing the graph's concept must not change."""
    if concept is None:
        return (vault, None)
    aliases = frozenset(concept.aliases) if copy else concept.aliases
    return (vault, concept.name, aliases, concept.kind, concept.description)


def _concept_rows(vault: str, graph: Graph, used: set[str], kept: NoteDigests | None = None) -> dict[str, Row]:
    """Rows for the concepts the notes point at (keys in `used`), each with its digest. With `kept`
    (see `_relations_by_note`), a concept whose name, aliases, kind and description are last time's
    gets last time's row (to read, not to change)."""
    rows: dict[str, Row] = {}
    last = kept._concept_rows if kept is not None else None
    memo: dict[str, tuple[tuple[object, ...], Row]] = {}
    for key in used:
        concept = graph.concepts.get(key)
        if last is not None:
            before = last.get(key)
            if before is not None and before[0] == _concept_made_of(vault, concept):
                memo[key] = before
                rows[before[1]["uid"]] = before[1]
                continue
        if concept is None:  # every concept an edge points at must exist, even if the ingest forgot it
            name, aliases, kind, description = key, [], None, None
        else:
            name, kind, description = concept.name, concept.kind, concept.description
            aliases = sorted(a for a in concept.aliases if a != concept.name)
        uid = scoped_uid(vault, key)
        rows[uid] = {
            "uid": uid,
            "vault": vault,
            "key": key,
            "name": name,
            "aliases": aliases,
            "aliases_text": " ".join(aliases),
            "kind": kind,
            "description": description,
            "digest": _digest((key, name, aliases, kind, description)),
        }
        if kept is not None:
            memo[key] = (_concept_made_of(vault, concept, copy=True), rows[uid])
    if kept is not None:
        kept._concept_rows = memo
    return rows


class _LegacyDigests:
    """The digests kg wrote before DIGEST_PREFIX: SHA-256 of a sorted-keys JSON dump of the rows.

    A database written by that version is not rewritten wholesale on the first sync after an
    upgrade (a full retract-and-recreate of a 10k-note vault needs more transaction memory than a
    2g heap gives): a note or concept whose old digest still matches only gets its new digest.
    The old sync dropped a relation another note had already asserted (same type, ends, rule
    and line); that is reproduced here, so such notes count as changed and are rewritten.
    """

    def __init__(self, vault: str, graph: Graph) -> None:
        self.vault = vault
        self.graph = graph
        seen: set[tuple[object, ...]] = set()
        self.relations: dict[str, list[Relation]] = defaultdict(list)
        for rel in graph.relations:
            if rel.note not in graph.notes:
                continue
            identity = _relation_identity(rel)
            if identity not in seen:
                seen.add(identity)
                self.relations[rel.note].append(rel)

    @staticmethod
    def _sha(value: object) -> str:
        data = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
        return hashlib.sha256(data).hexdigest()[:32]

    def note(self, path: str) -> str:
        rels = sorted(self.relations.get(path, ()), key=_relation_order)
        rows = _note_rows(self.vault, self.graph.notes[path], self.graph, rels, "")
        del rows.note["digest"], rows.note["relations_digest"], rows.note["edges_digest"]  # none was in its rows
        parts = [rows.note, rows.about, rows.mentions, rows.tagged, rows.links, rows.cites]
        return self._sha([*parts, sorted(rows.relations.items())])

    def concept(self, row: Row) -> str:
        return self._sha({k: v for k, v in row.items() if k != "digest"})


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """`items` in runs of at most `size`: the rows or uids of one UNWIND statement."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _LeaseKeeper:
    """Extends this run's lease every `lease_s / 3` seconds, in its own session, until stopped.

    A renewal that fails (Neo4j busy or gone) is retried at the next tick; if the token is no
    longer on the lock (`--break-lock`, or a takeover after the lease lapsed) it stops, and the
    sync's own check before commit refuses to write.
    """

    def __init__(self, driver: Driver, database: str | None, vault: str, token: str, lease_s: float) -> None:
        self._driver = driver
        self._database = database
        self._params = {"vault": vault, "token": token, "lease_s": lease_s}
        self._interval = max(lease_s / 3, 0.05)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kg-ingest-lease-{vault}", daemon=True)
        self.renewals = 0
        self.lost = False

    def start(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        # Not long: a renewal stuck on a dead server must not hold up the run's exit. A renewal
        # that lands after the release matches no token and changes nothing.
        self._thread.join(timeout=2)

    def _run(self) -> None:
        # A timeout per renewal so that a hung server cannot keep the thread past its stop.
        renew = Query(cypher.RENEW_LOCK, timeout=max(self._interval, 1.0))
        while not self._stopped.wait(self._interval):
            try:
                with self._driver.session(database=self._database) as session:
                    renewed = session.run(renew, self._params).single()
            except Exception as error:  # the sync itself reports a lost Neo4j; keep trying
                log.warning("could not renew the ingest lease of %r: %s", self._params["vault"], error)
                continue
            if renewed is None:
                self.lost = True
                log.warning("the ingest lease of %r was taken from this run", self._params["vault"])
                return
            self.renewals += 1


@dataclass(slots=True)
class _Held:
    """What a sync's preparation left: its lease (and the thread renewing it) and what the database
    held of the vault once it was taken."""

    token: str
    dead_holder: str | None
    keeper: _LeaseKeeper
    stored: Record  # VAULT_DIGESTS
    phases: dict[str, float]


class PreparedSync:
    """A sync of one vault whose lease and stored digests are being taken in a background thread
    (`VaultSync.prepare`); `sync` waits for them and writes the graph, once."""

    def __init__(self, owner: VaultSync, vault: str, root: str, lease_s: float, same_root: bool = False) -> None:
        self._owner = owner
        self._vault = vault
        self._root = root
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"kg-ingest-prepare-{vault}")
        self._taking: Future[_Held] = executor.submit(owner._take, vault, root, lease_s, same_root)
        executor.shutdown(wait=False)  # the thread ends with its one task
        self._released = False

    def sync(
        self,
        graph: Graph,
        *,
        progress: ProgressCallback | None = None,
        digests: NoteDigests | None = None,
        fingerprint: str | None = None,
        allow_empty: bool = False,
    ) -> SyncReport:
        """`VaultSync.sync` of `graph`, its lease taken ahead. Raises what taking it raised
        (`IngestLockedError`, a Neo4j error). `SyncReport.seconds` counts the time spent here,
        the wait for the preparation included, not the preparation hidden behind the caller's work."""
        if self._released:
            raise RuntimeError(f"vault {self._vault!r}: this prepared sync has run already")
        started = time.perf_counter()
        held = self._taking.result()
        phases = dict(held.phases)
        _phase(phases, "wait", started)
        try:
            report = self._owner._sync_locked(
                self._vault,
                self._root,
                graph,
                progress,
                held.token,
                held.stored,
                phases,
                digests,
                fingerprint,
                allow_empty,
            )
            mark = time.perf_counter()
        finally:
            self._release(held)
        _phase(phases, "release", mark)
        report.took_over_from = held.dead_holder
        report.phases = phases
        report.seconds = time.perf_counter() - started
        return report

    def close(self) -> None:
        """Release the lease unless `sync` did (a taking that failed has nothing to release)."""
        if self._released:
            return
        try:
            held = self._taking.result()
        except Exception:  # nothing taken; the caller's error, if any, is the one to tell
            self._released = True
            return
        self._release(held)

    def _release(self, held: _Held) -> None:
        self._released = True
        held.keeper.stop()
        self._owner._release(self._vault, held.token)


class VaultSync:
    """Writes one vault's `Graph` into Neo4j. Handed its driver; reads no environment."""

    def __init__(
        self,
        driver: Driver,
        database: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_tx_rows: int = DEFAULT_MAX_TX_ROWS,
    ):
        """`batch_size`: rows per UNWIND statement. `max_tx_rows`: the biggest change (estimated rows
        written and retracted) written in one transaction; a bigger one is split (see module doc)."""
        if max_tx_rows < 1:
            raise ValueError(f"max_tx_rows must be at least 1, not {max_tx_rows}")
        self.driver = driver
        self.database = database
        self.batch_size = batch_size
        self.max_tx_rows = max_tx_rows

    # -- lock ---------------------------------------------------------------------------------------

    def _acquire(self, vault: str, root: str, token: str, lease_s: float, same_root: bool = False) -> str | None:
        """Take the lease or raise IngestLockedError (or VaultRootError: `same_root` and the vault is
        another folder's); returns the dead holder taken over from, if any."""
        host, pid = socket.gethostname(), os.getpid()
        owner = f"{host}:{pid}"

        def work(tx: ManagedTransaction) -> tuple[bool, str | None, str, str]:
            stored = tx.run(cypher.MERGE_VAULT, vault=vault, root=root).single()
            if same_root and stored is not None and stored["root"] is not None and stored["root"] != root:
                raise VaultRootError(vault, root, str(stored["root"]))  # not retried; nothing was written
            tx.run(cypher.LOCK_TOUCH, vault=vault).consume()
            state = tx.run(cypher.LOCK_STATE, vault=vault).single()
            assert state is not None
            held = state["token"] is not None and not state["expired"]
            dead = held and holder_gone(state["host"], state["pid"], state["owner"])
            if held and not dead:
                return False, None, str(state["owner"]), str(state["expires"])
            taken = tx.run(
                cypher.TAKE_LOCK, vault=vault, token=token, owner=owner, host=host, pid=pid, lease_s=lease_s
            ).single()
            assert taken is not None
            return True, (str(state["owner"]) if dead else None), owner, str(taken["expires"])

        # "property does not exist" warnings (expires, host, pid) are noise on a fresh database
        with self.driver.session(
            database=self.database, notifications_min_severity=NotificationMinimumSeverity.OFF
        ) as session:
            free, dead_holder, holder, expires = session.execute_write(work)
        if not free:
            raise IngestLockedError(
                f"vault {vault!r} is being ingested by {holder} (lease until {expires}); "
                "wait for it, or run `kg ingest --break-lock` if that process is gone"
            )
        if dead_holder:
            log.info("took over the ingest lease of %r from %s, a process that is gone", vault, dead_holder)
        return dead_holder

    def _release(self, vault: str, token: str) -> None:
        with self.driver.session(database=self.database) as session:
            session.execute_write(lambda tx: tx.run(cypher.RELEASE_LOCK, vault=vault, token=token).consume())

    def stored_fingerprint(self, vault: str) -> tuple[str | None, bool, str | None]:
        """The fingerprint the vault's last sync stored (None: none), whether a sync is unfinished, and
        the folder it was ingested from (None: no such vault)."""
        with self.driver.session(
            database=self.database, notifications_min_severity=NotificationMinimumSeverity.OFF
        ) as session:
            rec = session.run(cypher.VAULT_FINGERPRINT, vault=vault).single()
        if rec is None:
            return None, False, None
        return rec["fingerprint"], bool(rec["incomplete"]), rec["root"]

    def break_lock(self, vault: str) -> None:
        with self.driver.session(database=self.database) as session:
            session.execute_write(lambda tx: tx.run(cypher.BREAK_LOCK, vault=vault).consume())

    # -- sync ---------------------------------------------------------------------------------------

    def sync(
        self,
        vault: str,
        root: str,
        graph: Graph,
        *,
        progress: ProgressCallback | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        digests: NoteDigests | None = None,
        fingerprint: str | None = None,
        allow_empty: bool = False,
        same_root: bool = False,
    ) -> SyncReport:
        """Bring the vault's part of the database exactly to `graph`. `digests`, kept by the caller
        across syncs of this vault, saves digesting the notes that did not change. `fingerprint`
        (what the files looked like, see `kg.pipeline.vault_fingerprint`) is stored with the vault;
        None clears it. A graph without notes removes the vault's notes only with `allow_empty`;
        else, when the database holds some, it raises `EmptyVaultError` and writes nothing.
        `root` is stored as the folder the vault was ingested from; with `same_root`, a vault last
        ingested from another folder raises `VaultRootError` and nothing is written (two folders of
        the same name, when the name comes from the folder's)."""
        with self.prepare(vault, root, lease_s=lease_s, same_root=same_root) as prepared:
            return prepared.sync(
                graph, progress=progress, digests=digests, fingerprint=fingerprint, allow_empty=allow_empty
            )

    @contextmanager
    def prepare(
        self, vault: str, root: str, *, lease_s: float = DEFAULT_LEASE_S, same_root: bool = False
    ) -> Iterator[PreparedSync]:
        """Start a sync of `vault` before its graph is built: in a background thread, the schema is
        ensured, the lease taken and what the database holds of the vault read, while the caller
        builds the graph and hands it to `PreparedSync.sync`. Those are round trips Neo4j answers
        while the caller computes: in a one-shot `kg ingest --keep-state` after an edit at 10k notes,
        hidden behind loading its kept state, the sync's own time went from 0.24-0.37 to 0.16-0.26 s.
        On leaving, the lease is released (when the sync did not run, or raised, too); a preparation
        that failed raises from `sync`, not over the caller's own error. `same_root`: see `sync`."""
        prepared = PreparedSync(self, vault, root, lease_s, same_root)
        try:
            yield prepared
        finally:
            prepared.close()

    def _take(self, vault: str, root: str, lease_s: float, same_root: bool = False) -> _Held:
        """Ensure the schema, take the lease (kept renewed until released) and read what the
        database holds of the vault under it."""
        phases: dict[str, float] = {}
        started = time.perf_counter()
        ensure_schema(self.driver, self.database)
        mark = _phase(phases, "schema", started)
        token = uuid.uuid4().hex
        dead_holder = self._acquire(vault, root, token, lease_s, same_root)
        mark = _phase(phases, "lock", mark)
        keeper = _LeaseKeeper(self.driver, self.database, vault, token, lease_s).start()
        try:
            # "property does not exist" warnings (digest, sync_incomplete) are noise on a fresh database
            with self.driver.session(
                database=self.database, notifications_min_severity=NotificationMinimumSeverity.OFF
            ) as session:
                stored = session.run(cypher.VAULT_DIGESTS, vault=vault).single()
            assert stored is not None
        except BaseException:
            keeper.stop()
            with suppress(Exception):  # Neo4j may be what failed: the lease then lapses on its own
                self._release(vault, token)
            raise
        _phase(phases, "read", mark)
        return _Held(token, dead_holder, keeper, stored, phases)

    @staticmethod
    def _restamp_legacy(
        vault: str,
        graph: Graph,
        paths: Mapping[str, str],
        digests: Mapping[str, str],
        existing_notes: dict[str, str | None],
        concept_rows: Mapping[str, Row],
        existing_concepts: dict[str, str | None],
    ) -> tuple[list[Row], list[Row]]:
        """Notes and concepts whose stored digest is the previous format and still matches: they
        count as unchanged (`existing_*` updated in place) and get only their new digest."""

        def legacy(digest: str | None) -> bool:
            return digest is not None and not digest.startswith(DIGEST_PREFIX)

        notes = [uid for uid in digests if legacy(existing_notes.get(uid))]
        concepts = [uid for uid in concept_rows if legacy(existing_concepts.get(uid))]
        if not (notes or concepts):
            return [], []
        old = _LegacyDigests(vault, graph)
        restamp_notes: list[Row] = []
        for uid in notes:
            if old.note(paths[uid]) == existing_notes[uid]:
                existing_notes[uid] = digests[uid]
                restamp_notes.append({"uid": uid, "digest": digests[uid]})
        restamp_concepts: list[Row] = []
        for uid in concepts:
            row = concept_rows[uid]
            if old.concept(row) == existing_concepts[uid]:
                existing_concepts[uid] = row["digest"]
                restamp_concepts.append({"uid": uid, "digest": row["digest"]})
        return restamp_notes, restamp_concepts

    def _sync_locked(
        self,
        vault: str,
        root: str,
        graph: Graph,
        progress: ProgressCallback | None,
        token: str,
        rec: Record,
        phases: dict[str, float],
        memo: NoteDigests | None = None,
        fingerprint: str | None = None,
        allow_empty: bool = False,
    ) -> SyncReport:
        mark = time.perf_counter()
        report = SyncReport(vault=vault, notes_total=len(graph.notes))
        # 1. a digest per note and concept, without building any rows yet
        relations = _relations_by_note(graph, memo)
        used: set[str] = set()
        digests: dict[str, str] = {}  # note uid -> digest
        paths: dict[str, str] = {}  # note uid -> path
        if memo is not None:
            memo._start(graph.notes)
        digest_of = memo.digest if memo is not None else _note_digest
        for path, note in graph.notes.items():
            uid = scoped_uid(vault, path)
            paths[uid] = path
            digests[uid] = digest_of(note, relations.get(path, ()), graph.notes, used)
        concept_rows = _concept_rows(vault, graph, used, memo)
        mark = _phase(phases, "digest", mark)

        # 2. what the database holds now (read under the lease, see `_take`)
        existing_notes: dict[str, str | None] = {uid: digest for uid, digest, _, _ in rec["notes"]}
        existing_relations: dict[str, str | None] = {uid: relations for uid, _, relations, _ in rec["notes"]}
        existing_edges: dict[str, str | None] = {uid: edges for uid, _, _, edges in rec["notes"]}
        existing_concepts: dict[str, str | None] = {uid: digest for uid, digest in rec["concepts"]}
        if not graph.notes and existing_notes and not allow_empty:
            raise EmptyVaultError(vault, root, len(existing_notes))
        mark = time.perf_counter()
        restamp_notes, restamp_concepts = self._restamp_legacy(
            vault, graph, paths, digests, existing_notes, concept_rows, existing_concepts
        )

        # 3. what changed (its rows are built one transaction at a time, below)
        write_paths = sorted(paths[uid] for uid, digest in digests.items() if existing_notes.get(uid) != digest)
        changed = sum(1 for path in write_paths if scoped_uid(vault, path) in existing_notes)
        deleted = sorted(set(existing_notes) - set(digests))
        concepts = sorted(
            (row for uid, row in concept_rows.items() if existing_concepts.get(uid) != row["digest"]),
            key=lambda row: str(row["uid"]),
        )
        report.notes_changed = changed
        report.notes_added = len(write_paths) - changed
        report.notes_deleted = len(deleted)
        report.notes_unchanged = len(digests) - len(write_paths)
        report.concepts_written = len(concepts)
        mark = _phase(phases, "rows", mark)
        incomplete = bool(rec["incomplete"])  # a multi-transaction sync died midway: finish it
        if not (write_paths or deleted or concepts or restamp_notes or restamp_concepts or incomplete):
            # the files' new look, or an unknown one, or the same files in a folder moved
            if rec["fingerprint"] != fingerprint or rec["root"] != root:
                with self.driver.session(database=self.database) as session:
                    session.run(cypher.SET_VAULT_FINGERPRINT, vault=vault, fingerprint=fingerprint, root=root).consume()
            return report  # nothing changed: write nothing else

        existing_concepts_unused = sorted(set(existing_concepts) - set(concept_rows))
        incoming = _incoming_links(vault, graph, paths, write_paths, existing_notes)
        plan = _Plan(
            vault, graph, relations, write_paths, existing_notes, deleted, concepts, incoming, self.max_tx_rows
        )
        batches = plan.batches
        report.transactions = len(batches)
        report.finished_incomplete = incomplete
        if len(batches) > 1:
            log.info(
                "vault %r: a change of ~%d rows, written in %d transactions of whole notes",
                vault,
                sum(b.rows for b in batches),
                len(batches),
            )
        mark = _phase(phases, "plan", mark)

        total_steps = sum(b.steps for b in batches)
        done = 0
        counters: dict[str, int] = defaultdict(int)

        def run(tx: Transaction, query: str, **params: Any) -> list[Any]:
            # The driver's Result keeps its parameters and sits in a reference cycle: each batch's rows
            # would live until a full collection, which a big graph makes rare (a 10k sync left 75 MB
            # of them). It gets lists of its own, emptied once the query has run.
            sent: dict[str, Any] = {name: list(v) if isinstance(v, list) else v for name, v in params.items()}
            result = tx.run(query, sent)
            records = list(result)
            summary = result.consume()
            for value in sent.values():
                if isinstance(value, list):
                    value.clear()
            for name, value in vars(summary.counters).items():
                if isinstance(value, int) and not isinstance(value, bool) and value:
                    counters[name.lstrip("_")] += value
            return records

        # What a retraction detached: the only nodes that can be orphans afterwards (and concepts
        # no note of the vault uses any more, left by an earlier run).
        candidates: dict[str, set[str]] = {"concepts": set(existing_concepts_unused), "tags": set(), "resources": set()}

        def retracted(records: list[Any]) -> None:
            for record in records:
                for name, uids in record.items():
                    candidates[name].update(uids)

        for index, batch in enumerate(batches):
            last = index == len(batches) - 1
            note_rows = [
                _note_rows(
                    vault,
                    graph.notes[path],
                    graph,
                    relations.get(path, ()),
                    digests[scoped_uid(vault, path)],
                    links=False,
                    stored_relations_digest=existing_relations.get(scoped_uid(vault, path)),
                )
                for path in batch.notes
            ]
            with self.driver.session(database=self.database) as session, session.begin_transaction() as tx:
                if index == 0 and not last:
                    run(tx, cypher.MARK_SYNC_INCOMPLETE, vault=vault)
                # 1. retract what this batch's changed and deleted notes asserted before: the typed
                # relations first, found by their `asserted_by` index, whose seeks slow down with every
                # relationship the transaction deleted before them (see RETRACT_TYPED_RELATIONS); in one
                # statement for all the batch's notes, not one per `batch_size` uids, whose second one's
                # seeks came after the first one's deletes (1,000 notes deleted and 1,038 changed: 0.11 +
                # 1.57 s, now 0.08 s). What it holds until it deletes is what the transaction deletes.
                retracting = batch.retract + batch.deleted
                # A changed note whose typed relations are those stored keeps them: a folder renamed
                # rewrites every note linking into it, whose relations are the same (~65k of them at 10k)
                same_relations = {nr.uid for nr in note_rows if nr.relations_stored}
                retracting_relations = [uid for uid in retracting if uid not in same_relations]
                if retracting_relations:
                    retracted(run(tx, cypher.RETRACT_TYPED_RELATIONS, uids=retracting_relations))
                # and one whose other edges (about, mentions, tags, citations) are those stored keeps
                # them: only its links go
                same_edges = {nr.uid for nr in note_rows if existing_edges.get(nr.uid) == nr.note["edges_digest"]}
                for uids in _chunks([uid for uid in retracting if uid not in same_edges], self.batch_size):
                    retracted(run(tx, cypher.RETRACT_NOTE_EDGES, uids=uids))
                for uids in _chunks([uid for uid in retracting if uid in same_edges], self.batch_size):
                    run(tx, cypher.RETRACT_NOTE_LINKS, uids=uids)
                for uids in _chunks(batch.deleted, self.batch_size):
                    run(tx, cypher.DELETE_NOTES, uids=uids)
                # 2. concepts and notes (nodes first, so edges can match both ends)
                for rows in _chunks(batch.concepts, self.batch_size):
                    run(tx, cypher.UPSERT_CONCEPTS, rows=rows)
                for rows in _chunks([nr.note for nr in note_rows], self.batch_size):
                    run(tx, cypher.UPSERT_NOTES, rows=rows)
                if last:
                    for query, restamps in (
                        (cypher.RESTAMP_NOTE_DIGESTS, restamp_notes),
                        (cypher.RESTAMP_CONCEPT_DIGESTS, restamp_concepts),
                    ):
                        for rows in _chunks(restamps, self.batch_size):
                            run(tx, query, rows=rows)
                # 3. the new assertions
                edge_sets: list[tuple[str, list[Row]]] = [
                    (cypher.CREATE_ABOUT, _flatten(nr.about for nr in note_rows if nr.uid not in same_edges)),
                    (cypher.CREATE_MENTIONS, _flatten(nr.mentions for nr in note_rows if nr.uid not in same_edges)),
                    (cypher.CREATE_TAGGED, _flatten(nr.tagged for nr in note_rows if nr.uid not in same_edges)),
                    (cypher.CREATE_LINKS, plan.link_rows(index)),
                    (cypher.CREATE_CITES, _flatten(nr.cites for nr in note_rows if nr.uid not in same_edges)),
                ]
                for rel_type, query in cypher.CREATE_TYPED_RELATION.items():
                    rel_rows = _flatten(nr.relations.get(rel_type, []) for nr in note_rows)  # none when stored
                    report.relations_written += len(rel_rows)
                    edge_sets.append((query, rel_rows))
                for query, rows_all in edge_sets:
                    for rows in _chunks(rows_all, self.batch_size):
                        run(tx, query, rows=rows)
                if last:
                    # 4. what no note asserts any more, then the vault's stats (the API's cache version)
                    for name, query in (
                        ("concepts", cypher.DELETE_ORPHAN_CONCEPTS),
                        ("tags", cypher.DELETE_ORPHAN_TAGS),
                        ("resources", cypher.DELETE_ORPHAN_RESOURCES),
                    ):
                        for uids in _chunks(sorted(candidates[name]), self.batch_size):
                            for record in run(tx, query, uids=uids):
                                report.orphans_deleted += int(record["deleted"])
                    if report.finished_incomplete:
                        for query in cypher.SWEEP_ORPHANS.values():
                            for record in run(tx, query, vault=vault):
                                report.orphans_deleted += int(record["deleted"])
                    by_type = Counter(_TYPE_NAME[rel.type] for rels in relations.values() for rel in rels)
                    run(
                        tx,
                        cypher.UPDATE_VAULT_STATS,
                        vault=vault,
                        root=root,
                        notes=len(digests),
                        concepts=len(concept_rows),
                        relations=by_type.total(),
                        relation_types=sorted(by_type),
                        relation_type_counts=[by_type[t] for t in sorted(by_type)],
                        problems=len(graph.problems),
                        fingerprint=fingerprint,
                    )
                done += batch.steps
                if progress is not None:
                    progress(done, total_steps)
                # 5. commit only while the lease is still this run's (a lapsed, retaken lease must not
                # let two ingests write); read only, so the lock node stays out of this transaction.
                holder = tx.run(cypher.LOCK_HOLDER, vault=vault).single()
                if holder is None or holder["token"] != token:
                    owner = holder["owner"] if holder is not None else None
                    written = (
                        "nothing was written"
                        if index == 0
                        else f"{index} of its {len(batches)} transactions were written (each note is wholly "
                        "old or wholly new)"
                    )
                    raise IngestLockedError(
                        f"vault {vault!r}: this ingest's lease was taken over by {owner or 'a --break-lock'} "
                        f"while it ran; {written}, run the ingest again"
                    )
                tx.commit()
            del note_rows, edge_sets  # before the next batch's rows are built
        report.counters = dict(counters)
        _phase(phases, "write", mark)
        return report


def _incoming_links(
    vault: str, graph: Graph, paths: Mapping[str, str], write_paths: Sequence[str], existing: Mapping[str, object]
) -> list[Row]:
    """LINKS_TO rows from notes this run does not write to notes it adds.

    Normally there are none (a note that links to another was written when that one was), but a
    multi-transaction sync that died midway can have written a note whose link target it had not
    added yet: the link is created when the target is.
    """
    written = set(write_paths)
    added = {path for path in write_paths if scoped_uid(vault, path) not in existing}
    if not added or len(written) == len(paths):
        return []
    rows: list[Row] = []
    for path in paths.values():
        note = graph.notes[path]
        if path not in written and any(link.resolved_note in added for link in note.links):
            rows.extend(_link_rows(vault, note, graph, targets=added.__contains__))
    return rows


class _Plan:
    """A change split into transactions of whole notes, each of at most `SPLIT_TX_ROWS` (or `max_rows`,
    when lower) estimated rows (a note bigger than that alone). One batch when the whole change fits
    in `max_rows`.

    A changed note counts twice its new rows (its old assertions, retracted, are about as many);
    a deleted note, the mean size of the written notes. A LINKS_TO row goes in the later of its
    source's batch and, for a target this run adds, the target's.
    """

    def __init__(
        self,
        vault: str,
        graph: Graph,
        relations: Mapping[str, Sequence[Relation]],
        write_paths: Sequence[str],
        existing: Mapping[str, object],
        deleted: Sequence[str],
        concepts: Sequence[Row],
        incoming: Sequence[Row],
        max_rows: int,
    ) -> None:
        self.vault = vault
        self.graph = graph
        sizes = {path: _note_size(graph.notes[path], relations.get(path, ()), graph) for path in write_paths}
        incoming_by_target: dict[str, list[Row]] = defaultdict(list)
        for row in incoming:
            incoming_by_target[row["target"]].append(row)
        per_deleted = round(sum(sizes.values()) / len(sizes)) if sizes else DELETED_NOTE_ROWS
        costs: dict[str, int] = {}  # a changed note counts its retraction too
        for path in write_paths:
            uid = scoped_uid(vault, path)
            costs[path] = sizes[path] * (2 if uid in existing else 1) + len(incoming_by_target.get(uid, ()))
        if per_deleted * len(deleted) + sum(costs.values()) > max_rows:
            max_rows = min(max_rows, SPLIT_TX_ROWS)
        self.batches = batches = [_Batch()]

        def place(cost: int) -> _Batch:
            if batches[-1].rows and batches[-1].rows + cost > max_rows:
                batches.append(_Batch())
            batches[-1].rows += cost
            return batches[-1]

        for uid in deleted:
            place(per_deleted).deleted.append(uid)
        self.batch_of: dict[str, int] = {}  # path of a note this run writes -> index of its batch
        self.added_in: dict[str, int] = {}  # path of a note this run adds -> index of its batch
        for path in write_paths:
            uid = scoped_uid(vault, path)
            changed = uid in existing
            batch = place(costs[path])
            batch.notes.append(path)
            self.batch_of[path] = len(batches) - 1
            if changed:
                batch.retract.append(uid)
            else:
                self.added_in[path] = len(batches) - 1
        pending = {str(row["key"]): row for row in concepts}
        for batch in batches:
            for path in batch.notes:
                for target_index in sorted(
                    {self._link_batch(path, target) for target in _linked_notes(graph.notes[path], graph)}
                ):
                    batches[target_index].link_sources.append(path)
                for key in _note_concepts(graph.notes[path], relations.get(path, ())):
                    concept = pending.pop(key, None)
                    if concept is not None:
                        batch.concepts.append(concept)
        for row in incoming:
            target = row["target"].partition(UID_SEPARATOR)[2]
            batches[self.added_in[target]].incoming.append(row)
        batches[0].concepts.extend(pending.values())  # changed concepts no written note points at
        for batch in batches:
            batch.concepts.sort(key=lambda row: str(row["uid"]))

    def _link_batch(self, source: str, target: str) -> int:
        home = self.batch_of[source]
        return max(home, self.added_in.get(target, home))

    def link_rows(self, index: int) -> list[Row]:
        """The LINKS_TO rows batch `index` writes, built now."""
        rows: list[Row] = []
        for source in self.batches[index].link_sources:
            here = partial(self._link_in, source, index)
            rows.extend(_link_rows(self.vault, self.graph.notes[source], self.graph, targets=here))
        rows.extend(self.batches[index].incoming)
        return rows

    def _link_in(self, source: str, index: int, target: str) -> bool:
        return self._link_batch(source, target) == index


def _phase(phases: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    phases[name] = now - since
    return now


def _flatten(groups: Iterable[list[Row]]) -> list[Row]:
    return [row for group in groups for row in group]
