"""Reading the graph: plain records out of Neo4j for the API and `kg path`.

`GraphReader` is handed a driver and a database name (it never reads the environment), runs every
statement in READ access mode with a server-side timeout, counts the statements it sends (the API
reports the count per request, which is how tests prove there is no N+1), and turns driver errors
into `StoreError`s whose messages are safe to show a client: no stack trace, no credentials.
"""

from __future__ import annotations

import gc
import threading
import time
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, LiteralString

from neo4j import READ_ACCESS, Driver, NotificationMinimumSeverity, Query, Record
from neo4j.exceptions import (
    AuthError,
    ClientError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from kg.store import read_cypher as q

# A uid no node has (uids are `vault` U+241F `key`, never empty).
NO_UID = ""

# --- errors -----------------------------------------------------------------------------------------


class StoreError(RuntimeError):
    """A read failed; the message is safe to show to a client."""

    code = "GRAPH_ERROR"

    @property
    def extensions(self) -> dict[str, object]:
        """Picked up by GraphQL errors as `extensions` (a stable code for clients)."""
        return {"code": self.code}


class GraphUnavailableError(StoreError):
    code = "GRAPH_UNAVAILABLE"


class QueryTimeoutError(StoreError):
    code = "QUERY_TIMEOUT"


# --- records ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConceptRecord:
    uid: str
    vault: str
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    kind: str | None = None
    description: str | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ConceptRecord:
        return cls.of_values(
            data["uid"],
            data.get("vault"),
            data.get("key"),
            data.get("name"),
            data.get("aliases"),
            data.get("kind"),
            data.get("description"),
        )

    @classmethod
    def of_values(
        cls,
        uid: str,
        vault: str | None,
        key: str | None,
        name: str | None,
        aliases: Iterable[str] | None,
        kind: str | None,
        description: str | None,
    ) -> ConceptRecord:
        """From the stored properties, missing ones as `of` reads them (a name falls back to the key)."""
        return cls(uid, vault or "", key or "", name or key or "", tuple(aliases or ()), kind, description)


@dataclass(frozen=True, slots=True)
class NoteRecord:
    uid: str
    vault: str
    path: str
    title: str
    kind: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    minutes: int = 1
    cjk_chars: int = 0
    words: int = 0

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> NoteRecord:
        cjk = int(data.get("cjk_chars") or 0)
        words = int(data.get("words") or 0)
        minutes = data.get("minutes")
        return cls(
            uid=data["uid"],
            vault=data.get("vault") or "",
            path=data.get("path") or "",
            title=data.get("title") or data.get("path") or "",
            kind=data.get("kind"),
            description=data.get("description"),
            tags=tuple(data.get("tags") or ()),
            minutes=int(minutes) if minutes is not None else reading_minutes(cjk, words),
            cjk_chars=cjk,
            words=words,
        )


def reading_minutes(cjk_chars: int, words: int) -> int:
    """~300 CJK characters or ~200 English words a minute, at least one (as the ingest stores it)."""
    return max(1, round(cjk_chars / 300 + words / 200))


@dataclass(frozen=True, slots=True)
class Assertion:
    """One note's assertion of a typed relation: where, by which rule, how sure, and the text."""

    rule: str
    confidence: float
    evidence: str
    note: str
    line: int | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Assertion:
        return cls(
            rule=data.get("rule") or "",
            confidence=float(data.get("confidence") or 0.0),
            evidence=data.get("evidence") or "",
            note=data.get("note") or "",
            line=data.get("line"),
        )


@dataclass(frozen=True, slots=True)
class EdgeRecord:
    """One stored typed relationship (source)-[type]->(target) with its assertion."""

    type: str
    source: str  # concept uid
    target: str  # concept uid
    assertion: Assertion


@dataclass(frozen=True, slots=True)
class RelatedRecord:
    """A typed relation seen from one concept: the other end, the direction, one assertion."""

    type: str
    direction: str  # "OUT": (this)-[type]->(other); "IN": (other)-[type]->(this)
    other: ConceptRecord
    assertion: Assertion


@dataclass(frozen=True, slots=True)
class MentionRecord:
    note: NoteRecord
    count: int
    line: int | None


@dataclass(slots=True)
class Closure:
    """Everything the targets require (with `min_confidence`), in one or a few round trips."""

    concepts: dict[str, ConceptRecord] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)  # breadth-first level from the nearest target
    requires: list[tuple[str, str, EdgeRecord]] = field(default_factory=list)  # (dependent, required, edge)
    notes: dict[str, list[NoteRecord]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchHit:
    score: float
    concept: ConceptRecord | None
    note: NoteRecord | None


@dataclass(frozen=True, slots=True)
class ConceptPage:
    total: int
    items: tuple[ConceptRecord, ...]
    has_next: bool


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    concepts: tuple[ConceptRecord, ...]
    edges: tuple[EdgeRecord, ...]


@dataclass(frozen=True, slots=True)
class StatsRecord:
    vaults: int
    notes: int
    concepts: int
    tags: int
    resources: int
    relations: dict[str, int]


@dataclass(frozen=True, slots=True)
class VaultRecord:
    name: str
    root: str | None
    notes: int
    concepts: int
    relations: int
    problems: int
    last_change_at: str | None


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a user's spelling reached: concepts (best rank first), or suggestions when nothing did."""

    text: str
    concepts: tuple[ConceptRecord, ...]
    how: str  # "name" | "alias" | "note" | "typo" | "none"
    suggestions: tuple[str, ...] = ()


# --- spelling ---------------------------------------------------------------------------------------

_SEPARATORS = str.maketrans("", "", " \t\n-_./·・|")


def spelling_key(text: str) -> str:
    """Case-, width- and separator-insensitive form of a spelling (`Flash Attention` = `flashattention`)."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_SEPARATORS).strip()


def typo_budget(key: str) -> int:
    """How many edits still count as a small typo: none for very short names (PPO vs DPO)."""
    return 0 if len(key) <= 3 else 1 if len(key) <= 7 else 2


@dataclass(slots=True)
class SpellingTable:
    """Every concept's spellings by spelling key: what typo matching and suggestions compare with.

    Building it normalises every name and alias, so the API keeps one per graph version and vault.
    The comparisons run in rapidfuzz's C++ over `keys`: a Python edit-distance loop over the ~100k
    spellings of a 50k-note graph took 1.5 s per unknown name."""

    spellings: dict[str, set[str]]  # spelling key -> concept uids
    display: dict[str, str]  # spelling key -> the spelling to suggest
    by_uid: dict[str, ConceptRecord]
    keys: list[str]  # the spelling keys, sorted
    # the same by length: a spelling within `budget` edits is at most `budget` longer or shorter
    by_length: dict[int, list[str]]

    @classmethod
    def of(cls, concepts: Iterable[ConceptRecord]) -> SpellingTable:
        spellings: dict[str, set[str]] = defaultdict(set)
        display: dict[str, str] = {}
        by_uid: dict[str, ConceptRecord] = {}
        for c in concepts:
            by_uid[c.uid] = c
            for s in (c.name, c.key, *c.aliases):
                k = spelling_key(s)
                if k:
                    spellings[k].add(c.uid)
                    display.setdefault(k, c.name if s == c.key else s)
        keys = sorted(spellings)
        by_length: dict[int, list[str]] = defaultdict(list)
        for k in keys:
            by_length[len(k)].append(k)
        return cls(dict(spellings), display, by_uid, keys, dict(by_length))

    def match(self, text: str, suggestions: int = 5) -> Resolution:
        """Typo-tolerant match of `text` against every concept's name and aliases: the concepts at the
        smallest optimal-string-alignment distance within `typo_budget` (a transposition is one edit),
        when they share one name; else suggestions, the closest spellings by similarity ratio."""
        spellings, by_uid = self.spellings, self.by_uid
        key = spelling_key(text)
        exact = spellings.get(key)
        if exact:
            return Resolution(text, tuple(sorted((by_uid[u] for u in exact), key=lambda c: (c.vault, c.name))), "alias")
        budget = typo_budget(key)
        best: dict[str, int] = {}
        if budget:
            near = [k for n in range(len(key) - budget, len(key) + budget + 1) for k in self.by_length.get(n, ())]
            for k, d, _ in process.extract(key, near, scorer=OSA.distance, score_cutoff=budget, limit=None):
                for u in spellings[k]:
                    best[u] = min(best.get(u, d), d)
        if best:
            nearest = min(best.values())
            winners = [by_uid[u] for u, d in best.items() if d == nearest]
            if len({c.name for c in winners}) == 1 or len(winners) == 1:
                return Resolution(text, tuple(sorted(winners, key=lambda c: (c.vault, c.uid))), "typo")
        # Ratio = 2 * common characters / total length (difflib's ratio when its blocks find the
        # longest common subsequence); the closest first, ties by spelling, descending as difflib did.
        scored = process.extract(key, self.keys, scorer=fuzz.ratio, score_cutoff=50, limit=None)
        close = [k for k, _, _ in sorted(scored, key=lambda hit: (hit[1], hit[0]), reverse=True)[: suggestions * 3]]
        names: list[str] = []
        for k in close:
            for u in sorted(spellings[k]):
                name = by_uid[u].name
                if name not in names:
                    names.append(name)
        if len(names) < suggestions:  # short probes: substring matches are good hints too
            for k in self.keys:
                if key and (key in k or k in key) and len(k) > 1:
                    for u in sorted(spellings[k]):
                        name = by_uid[u].name
                        if name not in names:
                            names.append(name)
        return Resolution(text, (), "none", tuple(names[:suggestions]))


def match_spelling(text: str, concepts: Sequence[ConceptRecord], suggestions: int = 5) -> Resolution:
    """Typo-tolerant match of `text` against every concept's name and aliases."""
    return SpellingTable.of(concepts).match(text, suggestions)


class SpellingIndex:
    """Every spelling `RESOLVE_EXACT` compares, in memory: a dictionary lookup per probe instead of a
    scan of every concept and note (Neo4j cannot index `toLower(...)` or an element of `aliases`).

    Built from two statements over the whole graph; the API keeps one per graph version."""

    def __init__(
        self,
        concepts: Iterable[tuple[ConceptRecord, str | None, Iterable[str]]],
        notes: Iterable[tuple[str | None, str | None, Iterable[str]]],
    ) -> None:
        self.concepts: dict[str, ConceptRecord] = {}
        self._names: dict[str, list[str]] = defaultdict(list)  # toLower(name) -> uids
        self._keys: dict[str, list[str]] = defaultdict(list)  # key -> uids
        self._aliases: dict[str, list[str]] = defaultdict(list)  # toLower(alias) -> uids
        self._titles: dict[str, list[str]] = defaultdict(list)  # toLower(note title) -> uids it is about
        self._paths: dict[str, list[str]] = defaultdict(list)  # toLower(note path) -> uids
        for record, name, aliases in concepts:
            self.concepts[record.uid] = record
            if name is not None:
                self._names[name].append(record.uid)
            self._keys[record.key].append(record.uid)
            for alias in dict.fromkeys(aliases):
                self._aliases[alias].append(record.uid)
        for title, path, uids in notes:
            if title is not None:
                self._titles[title].extend(uids)
            if path is not None:
                self._paths[path].extend(uids)
        self._tables: dict[str | None, SpellingTable] = {}
        self._lock = threading.Lock()

    def exact(self, probe: Mapping[str, Any], vault: str | None) -> list[tuple[int, ConceptRecord]]:
        """(rank, concept) pairs as `RESOLVE_EXACT` returns them for one probe."""
        ranks: dict[str, int] = {}

        def hit(uids: Iterable[str], rank: int) -> None:
            for uid in uids:
                if ranks.get(uid, 0) < rank:
                    ranks[uid] = rank

        lower = probe["lower"]
        hit(self._names.get(lower, ()), 3)
        for key in probe["keys"]:
            hit(self._keys.get(key, ()), 2)
        hit(self._aliases.get(lower, ()), 2)
        hit(self._titles.get(lower, ()), 1)
        hit(self._paths.get(probe["path"] + ".md", ()), 1)
        out = [(rank, self.concepts[uid]) for uid, rank in ranks.items() if uid in self.concepts]
        return [(rank, c) for rank, c in out if vault is None or c.vault == vault]

    def table(self, vault: str | None) -> SpellingTable:
        """The typo-matching table of a vault (or of every vault), built on first use."""
        with self._lock:
            table = self._tables.get(vault)
            if table is None:
                table = SpellingTable.of(c for c in self.concepts.values() if vault is None or c.vault == vault)
                self._tables[vault] = table
            return table


class GraphSnapshot:
    """What the API derives from the whole graph, kept while the graph's version stays the same.

    Shared by every request of one app (thread-safe); a reader handed one resolves names in memory.
    Kept values live in named LRU pools (`pools`: name -> (most entries, most total cost), a value's
    cost being whatever its caller says, e.g. an answer's size). A new version (any sync that wrote
    something) drops everything kept for the old one.

    `version_ttl_s` > 0 lets readers reuse the graph version read less than that long ago instead of
    asking Neo4j on every request: a sync then shows in the answers within that time, not at once.
    Those reads are made one at a time, so the last one read is the newest version: a request that
    read an older one (just before an ingest) and finishes after a newer one was seen neither keeps
    its answer nor switches what is kept back to its version (which would drop the new version's
    spelling index, to be built again by the next request). With `version_ttl_s` 0 the reads are
    concurrent and any version a request brings is taken as the current one.
    `freeze_gc` moves every object alive once a spelling index is built (the index, the app) out of
    the garbage collector's sight (`gc.freeze`): for a long-running server, not a library caller."""

    DEFAULT_POOLS: Mapping[str, tuple[int, int]] = {
        # complete GraphQL answers as JSON bytes, ≤ 256 MB per process: on a 50k-note graph a path is
        # 150 KB (LEARNING_PATH_OUTLINE) to 450 KB (LEARNING_PATH), and a pool smaller than what the
        # clients ask in turn keeps nothing (LRU with a cycle longer than the pool always misses)
        "answers": (4096, 256 << 20),
    }

    def __init__(
        self, pools: Mapping[str, tuple[int, int]] | None = None, *, version_ttl_s: float = 0.0, freeze_gc: bool = False
    ) -> None:
        self._lock = threading.Lock()
        self.freeze_gc = freeze_gc
        self._version: str | None = None
        self.version_ttl_s = version_ttl_s
        self._checked: tuple[str, float] | None = None  # (version, time.monotonic() when its read began)
        self._check_lock = threading.Lock()
        self._spellings: SpellingIndex | None = None
        self._limits = dict(pools or self.DEFAULT_POOLS)
        self._pools: dict[str, OrderedDict[Any, tuple[Any, int]]] = {name: OrderedDict() for name in self._limits}
        self._costs: dict[str, int] = dict.fromkeys(self._limits, 0)

    def fresh_version(self) -> str | None:
        """The version read less than `version_ttl_s` ago, or None: no I/O, cheap enough for every request."""
        checked = self._checked
        if checked is not None and time.monotonic() - checked[1] < self.version_ttl_s:
            return checked[0]
        return None

    def current_version(self, read: Callable[[], str]) -> str:
        """The fresh version, else `read()` it (one reader at a time; the others then reuse its answer)."""
        if self.version_ttl_s <= 0:
            return read()
        version = self.fresh_version()
        if version is not None:
            return version
        with self._check_lock:
            version = self.fresh_version()
            if version is None:
                # timed from before the read: a sync committed later is seen within version_ttl_s of it
                started = time.monotonic()
                version = read()
                self._checked = (version, started)
            return version

    @property
    def spellings_version(self) -> str | None:
        """The graph version whose spelling index is built, if one is."""
        with self._lock:
            return self._version if self._spellings is not None else None

    def _newest(self) -> str | None:
        """The last version read through `current_version` (None when reads are not one at a time)."""
        checked = self._checked
        return checked[0] if checked is not None and self.version_ttl_s > 0 else None

    def spellings(self, version: str, build: Callable[[], SpellingIndex]) -> SpellingIndex:
        """The spelling index of `version`, built by `build` unless it is kept. A request of an older
        version than the newest seen gets the newest one's (it reads today's graph anyway)."""
        newest = self._newest()
        with self._lock:  # one build per version, even under concurrent requests
            self._switch(newest if newest is not None else version)
            if self._spellings is None:
                self._spellings = build()
                if self.freeze_gc:
                    self._spellings.table(None)  # typo matching over every vault: built now, frozen too
                    # Hundreds of thousands of objects (a million on a 50k-note graph) that live until the
                    # next version: left to the collector, each full collection walks them all, a pause
                    # of 0.1-1 s every few requests. Frozen, it never looks at them; they are still freed
                    # by reference counting when the next version replaces them (they hold no cycles).
                    gc.collect()
                    gc.freeze()
            return self._spellings

    def get(self, pool: str, version: str, key: Any) -> Any:
        """What `put` kept under `key` for this version, or None."""
        with self._lock:
            kept = self._pools[pool]
            if self._version != version or key not in kept:
                return None
            kept.move_to_end(key)
            return kept[key][0]

    def put(self, pool: str, version: str, key: Any, value: Any, cost: int = 1) -> None:
        """Keep `value`; the least recently used go first when the pool is over its entries or cost."""
        max_entries, max_cost = self._limits[pool]
        newest = self._newest()
        if cost > max_cost or (newest is not None and version != newest):  # an answer of an older version
            return
        with self._lock:
            self._switch(version)
            kept = self._pools[pool]
            if key in kept:
                self._costs[pool] -= kept.pop(key)[1]
            kept[key] = (value, cost)
            self._costs[pool] += cost
            while len(kept) > max_entries or self._costs[pool] > max_cost:
                self._costs[pool] -= kept.popitem(last=False)[1][1]

    def _switch(self, version: str) -> None:
        if version != self._version:
            self._version = version
            self._spellings = None
            for kept in self._pools.values():
                kept.clear()
            self._costs = dict.fromkeys(self._limits, 0)


def _probe(text: str) -> dict[str, Any]:
    """What one spelling is compared with: `[[GRPO]]`, `GRPO.md` and `align/GRPO.md` all name GRPO."""
    raw = text.strip()
    bare = raw.removeprefix("[[").removesuffix("]]").split("|", 1)[0].strip()
    if bare.lower().endswith(".md"):
        bare = bare[:-3]
    stem = bare.rsplit("/", 1)[-1]
    lower = stem.lower()
    return {
        "text": text,
        "lower": lower,
        "path": bare.lower(),
        "keys": sorted({lower, spelling_key(stem)}),
    }


# --- reader -----------------------------------------------------------------------------------------


class GraphReader:
    """Read-only access to kg's graph. Thread-safe; each call opens its own session."""

    def __init__(
        self,
        driver: Driver,
        database: str | None = None,
        *,
        timeout_s: float | None = None,
        closure_levels: int = q.CLOSURE_LEVELS,
        snapshot: GraphSnapshot | None = None,
    ) -> None:
        self.driver = driver
        self.snapshot = snapshot
        self.database = database
        self.timeout_s = timeout_s
        self.closure_levels = closure_levels
        self._count = 0
        self._lock = threading.Lock()
        self._version: str | None = None

    @property
    def queries(self) -> int:
        """How many Cypher statements this reader has sent."""
        return self._count

    def _read(self, statement: LiteralString, /, **params: Any) -> list[Record]:
        with self._lock:
            self._count += 1
        try:
            with self.driver.session(
                database=self.database,
                default_access_mode=READ_ACCESS,
                # "property does not exist" warnings for optional properties are noise here
                notifications_min_severity=NotificationMinimumSeverity.OFF,
            ) as session:
                result = session.run(Query(statement, timeout=self.timeout_s), params)
                return list(result)
        except ClientError as exc:
            code = exc.code or ""
            if "TransactionTimedOut" in code or "Terminated" in code:
                raise QueryTimeoutError(
                    f"the graph query took longer than {self.timeout_s:g} s and was stopped"
                ) from None
            raise StoreError(f"the graph query failed ({code or 'client error'})") from None
        except AuthError:
            raise GraphUnavailableError("the graph database refused kg's credentials") from None
        except (ServiceUnavailable, SessionExpired):
            raise GraphUnavailableError("the graph database is unreachable") from None
        except Neo4jError as exc:
            raise StoreError(f"the graph query failed ({exc.code or 'database error'})") from None
        except (DriverError, OSError):
            raise GraphUnavailableError("the graph database is unreachable") from None

    # -- health -------------------------------------------------------------------------------------

    def ping(self) -> bool:
        rows = self._read(q.PING)
        return bool(rows and rows[0]["ok"] == 1)

    def warm_up(self) -> None:
        """Have Neo4j plan the big read statements now (with the parameter types real calls use), so
        the first user query does not pay for it: a cold plan of the closure can take seconds."""
        self._read(q.LEARNING_PATH_CLOSURE, start=[NO_UID], min=0.0, exclude=[NO_UID], max_levels=self.closure_levels)
        self._read(q.RESOLVE_EXACT, probes=[_probe(NO_UID + "?")], vault=None)
        self._read(q.CONCEPT_RELATIONS, uids=[NO_UID])
        # the exploration statements: 0.3-1 s each the first time on a 50k-note graph, ~10-50 ms after
        page = {"vault": None, "kind": None, "after_name": "", "after_uid": "", "take": 1}
        self._read(q.LIST_ALL_CONCEPTS, **page)
        self._read(q.LIST_CONCEPTS_TAGGED, tag=NO_UID, **page)
        self._read(q.NOTE_BY_PATH, path=NO_UID, vault=None)
        self._read(q.STATS_ALL, vault=None)
        self._read(q.CONNECTION, source=NO_UID, target=NO_UID)

    # -- resolving names ----------------------------------------------------------------------------

    def version(self) -> str:
        """The graph's version (see `GRAPH_VERSION`): what the API's caches are keyed by. Read once per
        reader (a reader serves one request, which then sees one version throughout); with a snapshot
        whose `version_ttl_s` is set, only when the snapshot's last reading is older than that."""
        if self._version is None:
            self._version = self.snapshot.current_version(self._read_version) if self.snapshot else self._read_version()
        return self._version

    def known_version(self) -> str | None:
        """`version()` if it needs no statement (read already, or fresh in the snapshot), else None."""
        if self._version is None and self.snapshot is not None:
            self._version = self.snapshot.fresh_version()
        return self._version

    def _read_version(self) -> str:
        rows = self._read(q.GRAPH_VERSION)
        return "\n".join(rows[0]["version"]) if rows else ""

    def spelling_index(self) -> SpellingIndex:
        """Every spelling in the graph, in memory (two statements over the whole graph)."""
        concepts = [
            (ConceptRecord.of_values(*fields), lower, lowers)
            for *fields, lower, lowers in self._read(q.SPELLINGS_CONCEPTS)[0][0]
        ]
        return SpellingIndex(concepts, self._read(q.SPELLINGS_NOTES)[0][0])

    def resolve(
        self, texts: Sequence[str], vault: str | None = None, *, version: str | None = None
    ) -> dict[str, Resolution]:
        """Each spelling's concepts: exact name/alias/key/note title, else a typo match.

        With a snapshot: in memory, from the spelling index of the graph's `version` (read when not
        given). Without: one statement for the exact spellings, one more for the typo pass."""
        probes = [_probe(t) for t in dict.fromkeys(texts)]
        found: dict[str, list[tuple[int, ConceptRecord]]] = defaultdict(list)
        index: SpellingIndex | None = None
        if self.snapshot is not None:
            index = self.snapshot.spellings(version if version is not None else self.version(), self.spelling_index)
            for p in probes:
                found[p["text"]] = index.exact(p, vault)
        elif probes:
            for row in self._read(q.RESOLVE_EXACT, probes=probes, vault=vault):
                found[row["text"]].append((int(row["rank"]), ConceptRecord.of(row["concept"])))
        out: dict[str, Resolution] = {}
        missing: list[str] = []
        for p in probes:
            text = p["text"]
            hits = found.get(text)
            if not hits:
                missing.append(text)
                continue
            top = max(rank for rank, _ in hits)
            best = sorted((c for rank, c in hits if rank == top), key=lambda c: (c.vault, c.name, c.uid))
            out[text] = Resolution(text, tuple(best), {3: "name", 2: "alias", 1: "note"}[top])
        if missing:
            table = index.table(vault) if index is not None else SpellingTable.of(self.all_concepts(vault))
            for text in missing:
                out[text] = table.match(text)
        return out

    def all_concepts(self, vault: str | None = None) -> list[ConceptRecord]:
        return [ConceptRecord.of(r["concept"]) for r in self._read(q.CONCEPT_SPELLINGS, vault=vault)]

    # -- learning path ------------------------------------------------------------------------------

    def closure(self, start: Iterable[str], min_confidence: float = 0.0) -> Closure:
        """Everything the `start` concepts require, transitively, with edges, depths and notes."""
        out = Closure()
        frontier = list(dict.fromkeys(start))
        offset = 0
        while frontier:
            rows = self._read(
                q.LEARNING_PATH_CLOSURE,
                start=frontier,
                min=float(min_confidence),
                max_levels=self.closure_levels,
                # never an empty list: its parameter type differs and would make Neo4j plan again
                exclude=sorted(out.concepts) or [NO_UID],
            )
            for concept_data, depth, requires, notes in rows[0]["rows"] if rows else ():
                concept = ConceptRecord.of(concept_data)
                if concept.uid in out.concepts:
                    continue
                out.concepts[concept.uid] = concept
                out.depth[concept.uid] = offset + int(depth)
                out.notes[concept.uid] = sorted(
                    (NoteRecord.of(n) for n in notes), key=lambda n: (_note_rank(n.kind), n.path)
                )
                for type_, required, rule, confidence, evidence, note, line in requires:  # q.CLOSURE_EDGE
                    # (required)-[PREREQUISITE_OF]->(concept); (concept)-[VARIANT_OF|IMPLEMENTS]->(required)
                    source, target = (required, concept.uid) if type_ == q.REQUIRES_IN else (concept.uid, required)
                    assertion = Assertion(rule or "", float(confidence or 0.0), evidence or "", note or "", line)
                    out.requires.append((concept.uid, required, EdgeRecord(type_, source, target, assertion)))
            # requirements of the last level not seen yet: the closure is deeper than one round trip
            frontier = sorted({req for _, req, _ in out.requires} - out.concepts.keys())
            offset += self.closure_levels + 1
        out.requires.sort(key=lambda t: (t[0], t[1], t[2].type, t[2].assertion.note, t[2].assertion.line or 0))
        return out

    # -- exploration --------------------------------------------------------------------------------

    def concepts_by_uid(self, uids: Sequence[str]) -> dict[str, ConceptRecord]:
        return {r["uid"]: ConceptRecord.of(r["concept"]) for r in self._read(q.CONCEPTS_BY_UID, uids=list(uids))}

    def relations_of(self, uids: Sequence[str]) -> dict[str, list[RelatedRecord]]:
        out: dict[str, list[RelatedRecord]] = defaultdict(list)
        for r in self._read(q.CONCEPT_RELATIONS, uids=list(uids)):
            out[r["uid"]].append(
                RelatedRecord(
                    type=r["type"],
                    direction=r["direction"],
                    other=ConceptRecord.of(r["other"]),
                    assertion=Assertion.of(r["assertion"]),
                )
            )
        return out

    def notes_about(self, uids: Sequence[str]) -> dict[str, list[NoteRecord]]:
        out: dict[str, list[NoteRecord]] = defaultdict(list)
        for r in self._read(q.NOTES_ABOUT, uids=list(uids)):
            out[r["uid"]].append(NoteRecord.of(r["note"]))
        return out

    def notes_mentioning(self, uids: Sequence[str]) -> dict[str, list[MentionRecord]]:
        out: dict[str, list[MentionRecord]] = defaultdict(list)
        for r in self._read(q.NOTES_MENTIONING, uids=list(uids)):
            out[r["uid"]].append(MentionRecord(NoteRecord.of(r["note"]), int(r["count"] or 0), r["line"]))
        return out

    def concept_tags(self, uids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for r in self._read(q.CONCEPT_TAGS, uids=list(uids)):
            if r["tag"] not in out[r["uid"]]:
                out[r["uid"]].append(r["tag"])
        return out

    def note_by_path(self, path: str, vault: str | None = None) -> list[NoteRecord]:
        return [NoteRecord.of(r["note"]) for r in self._read(q.NOTE_BY_PATH, path=path, vault=vault)]

    def note_concepts(self, uids: Sequence[str]) -> dict[str, list[ConceptRecord]]:
        out: dict[str, list[ConceptRecord]] = defaultdict(list)
        for r in self._read(q.NOTE_CONCEPTS, uids=list(uids)):
            out[r["uid"]].append(ConceptRecord.of(r["concept"]))
        return out

    def note_links(self, uids: Sequence[str]) -> dict[str, list[tuple[str, NoteRecord]]]:
        out: dict[str, list[tuple[str, NoteRecord]]] = defaultdict(list)
        for r in self._read(q.NOTE_LINKS, uids=list(uids)):
            out[r["uid"]].append((r["direction"], NoteRecord.of(r["note"])))
        return out

    def note_resources(self, uids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for r in self._read(q.NOTE_RESOURCES, uids=list(uids)):
            out[r["uid"]].append(r["url"])
        return out

    def search(self, text: str, limit: int = 20, vault: str | None = None) -> list[SearchHit]:
        query = fulltext_query(text)
        if not query:
            return []
        fetch = limit if vault is None else limit * 10  # the index spans vaults: look further, then filter
        return [
            SearchHit(
                score=float(r["score"]),
                concept=ConceptRecord.of(r["concept"]) if r["concept"] else None,
                note=NoteRecord.of(r["note"]) if r["note"] else None,
            )
            for r in self._read(q.SEARCH, query=query, limit=limit, fetch=fetch, vault=vault)
        ]

    def list_concepts(
        self,
        *,
        first: int,
        after: tuple[str, str] | None = None,
        tag: str | None = None,
        kind: str | None = None,
        vault: str | None = None,
    ) -> ConceptPage:
        statement = q.LIST_CONCEPTS
        if tag is not None:
            statement = q.LIST_CONCEPTS_TAGGED
        elif vault is None and kind is None:
            statement = q.LIST_ALL_CONCEPTS
        rows = self._read(
            statement,
            vault=vault,
            kind=kind,
            tag=tag,
            after_name=after[0] if after else "",
            after_uid=after[1] if after else "",
            take=first + 1,
        )
        row = rows[0]
        page = [ConceptRecord.of(c) for c in row["page"]]
        return ConceptPage(total=int(row["total"]), items=tuple(page[:first]), has_next=len(page) > first)

    def connection(self, source: str, target: str) -> ConnectionRecord | None:
        rows = self._read(q.CONNECTION, source=source, target=target)
        if not rows:
            return None
        row = rows[0]
        return ConnectionRecord(
            concepts=tuple(ConceptRecord.of(n) for n in row["nodes"]),
            edges=tuple(
                EdgeRecord(type=e["type"], source=e["source"], target=e["target"], assertion=Assertion.of(e))
                for e in row["relations"]
            ),
        )

    def stats(self, vault: str | None = None) -> StatsRecord:
        row = self._read(q.STATS_ALL if vault is None else q.STATS, vault=vault)[0]
        relations = row["relations"]
        if row["counted"] < row["vaults"]:
            relations = self._read(q.STATS_RELATIONS, vault=vault)[0]["relations"]
        return StatsRecord(
            vaults=int(row["vaults"]),
            notes=int(row["notes"]),
            concepts=int(row["concepts"]),
            tags=int(row["tags"]),
            resources=int(row["resources"]),
            relations={r["type"]: int(r["count"]) for r in relations},
        )

    def vaults(self) -> list[VaultRecord]:
        return [
            VaultRecord(
                name=r["name"],
                root=r["root"],
                notes=int(r["notes"] or 0),
                concepts=int(r["concepts"] or 0),
                relations=int(r["relations"] or 0),
                problems=int(r["problems"] or 0),
                last_change_at=r["last_change_at"],
            )
            for r in self._read(q.VAULTS)
        ]


# Overviews before deep dives before hands-on notes: the order a reader wants them in (note kinds
# as the ingest names them from title suffixes or front matter).
_NOTE_KIND_ORDER: dict[str | None, int] = {
    "overview": 0, "basics": 0,
    None: 1, "guide": 1, "notes": 1, "series": 1, "moc": 1, "roadmap": 1,
    "theory": 2, "analysis": 2, "deep-dive": 2, "paper": 2,
    "practice": 3,
    "implementation": 4,
}  # fmt: skip


def _note_rank(kind: str | None) -> int:
    return _NOTE_KIND_ORDER.get(kind, 2)


_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')


def fulltext_query(text: str) -> str:
    """A Lucene query for the user's words: each word escaped, matched exactly or (4+ chars) fuzzily."""
    terms: list[str] = []
    for word in text.split():
        escaped = "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in word)
        if not escaped:
            continue
        terms.append(f"({escaped} OR {escaped}~1)" if len(word) >= 4 and word.isascii() else escaped)
    return " ".join(terms)
