"""Library entry points that wire the stages: read a vault (ingest) and sync it (store)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from neo4j import Driver

from ingest.relation_rules import CONFIG_FILE_NAME
from ingest.relations import vault_rules
from ingest.vault import (
    DEFAULT_MAX_FILE_BYTES,
    RACY_MTIME_NS,
    ParseCache,
    RelationRule,
    VaultListing,
    cyclic_gc_paused,
    list_vault,
    read_vault,
)
from kg.model import Graph
from kg.store.sync import DEFAULT_MAX_TX_ROWS, NoteDigests, ProgressCallback, SyncReport, VaultRootError, VaultSync


@dataclass(slots=True)
class IngestResult:
    graph: Graph
    report: SyncReport
    parse_seconds: float


class RelationsConfigError(ValueError):
    """The relations config file cannot be read or is wrong; the message names the file and the key."""


# Third-party code whose answers shape the graph: front matter (YAML, TOML) and packed bodies.
PARSING_DISTRIBUTIONS = ("PyYAML", "python-frontmatter", "lz4")


@cache
def code_digest() -> str:
    """The source of the code that turns a vault into a graph, and the data it reads (the Chinese word
    frequencies that judge a note's encoding): another kg may make another graph."""
    digest = hashlib.blake2b(digest_size=16)
    for package in ("ingest", "kg"):
        folder = Path(__file__).resolve().parents[1] / package
        data = (folder / "data").glob("*") if package == "ingest" else ()
        for source in sorted([*folder.rglob("*.py"), *data]):
            digest.update(str(source.relative_to(folder.parent)).encode())
            digest.update(source.read_bytes())
    for distribution in PARSING_DISTRIBUTIONS:  # the libraries the parser leans on
        digest.update(f"{distribution}=={metadata.version(distribution)}".encode())
    return digest.hexdigest()


def vault_fingerprint(
    root: Path, relations_config: Path | None = None, listing: VaultListing | None = None
) -> str | None:
    """What a run's graph depends on, cheaply: every note file a read lists (its name, size and
    mtime; `listing`, else the vault listed now) and what the listing reported, the vault's
    `kg-relations.toml`, the relations config file given, and kg's own code. Equal fingerprints mean
    the same files, as make judges them (size + mtime); None when a file was modified too recently
    for its mtime to tell (`ingest.vault.RACY_MTIME_NS`)."""
    if listing is None:
        listing = list_vault(root)
    files = [(file.path, file.size, file.mtime_ns) for file, _ in listing.files]
    configs: list[tuple[str, int, int]] = []  # a missing one counts as (-1, 0)
    for config in (root / CONFIG_FILE_NAME, *([relations_config] if relations_config is not None else [])):
        try:
            st = os.stat(config)
            configs.append((str(config.resolve()), st.st_size, st.st_mtime_ns))
        except OSError:
            configs.append((str(config), -1, 0))
    recent = time.time_ns() - RACY_MTIME_NS
    if any(mtime > recent for _, _, mtime in files) or any(mtime > recent for _, _, mtime in configs):
        return None
    reported = [(p.path, p.kind.value, p.message) for p in listing.problems]
    seen = (code_digest(), listing.max_file_bytes, files, reported, configs)
    return hashlib.blake2b(repr(seen).encode(), digest_size=16).hexdigest()


def default_vault_name(root: Path) -> str:
    return root.resolve().name or "vault"


def read_relations_rules(root: Path, relations_config: Path | None = None) -> list[RelationRule]:
    """The rules `read_vault` runs for this vault under its relations config (see below)."""
    try:
        return vault_rules(root, relations_config)
    except ValueError as exc:
        raise RelationsConfigError(str(exc)) from None


def read_vault_with_config(
    root: Path,
    *,
    relations_config: Path | None = None,
    cache: ParseCache | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    mention_context: bool = True,
    jobs: int | None = None,
    listing: VaultListing | None = None,
) -> Graph:
    """Read the vault under its relations config: `relations_config` if given, else the vault's own
    `kg-relations.toml`, else the built-in table. A bad config file raises `RelationsConfigError` naming it,
    before any note is read. `mention_context`, `jobs`, `listing`: see `read_vault`."""
    rules = read_relations_rules(root, relations_config)
    return read_vault(
        root,
        rules=rules,
        cache=cache,
        max_file_bytes=max_file_bytes,
        mention_context=mention_context,
        jobs=jobs,
        listing=listing,
    )


def ingest_vault(
    driver: Driver,
    root: Path,
    *,
    database: str | None = None,
    vault_name: str | None = None,
    progress: ProgressCallback | None = None,
    relations_config: Path | None = None,
    cache: ParseCache | None = None,
    digests: NoteDigests | None = None,
    fingerprint: str | None = None,
    jobs: int | None = None,
    kept: Callable[[], tuple[ParseCache, NoteDigests]] | None = None,
    listing: VaultListing | None = None,
    max_tx_rows: int = DEFAULT_MAX_TX_ROWS,
    allow_empty: bool = False,
    same_root: bool = False,
) -> IngestResult:
    """Parse the vault at `root` and bring its part of the database exactly up to date.

    `cache` and `digests` (kept by long-running callers across runs of one vault) skip re-reading,
    re-parsing and re-resolving the notes an edit did not touch, and digesting them again for the
    sync; a bad relations config raises `RelationsConfigError` before anything is written.
    `fingerprint` (`vault_fingerprint`, taken before reading) is stored with the vault, so that a
    later run can tell nothing changed since without reading the vault (`unchanged_since_last_ingest`);
    `listing` (`ingest.vault.list_vault`), the one it was taken from, is what the run reads.
    `kept`: loads the `cache` and `digests` a last run kept on disk (`kg ingest --keep-state`), called
    while the sync takes its lease in the background. `jobs`: processes that read and parse the notes
    (`ingest.vault.read_vault`). `max_tx_rows`: the biggest change written in one transaction
    (`VaultSync`). `allow_empty`: a vault without notes removes the notes the database holds of it
    (else `EmptyVaultError`: a folder unmounted or emptied reads the same). `same_root`: refuse
    (`VaultRootError`) a vault last ingested from another folder. A caller that keeps
    `cache` across many runs should `gc.collect()` now and then while idle (see below;
    `kg ingest --watch/--every` does after 20 small runs)."""
    name = vault_name or default_vault_name(root)
    # Neo4j's part before the writes (schema, lease, the stored digests) runs in the background
    # meanwhile: round trips hidden behind loading the kept state and reading the vault.
    sync = VaultSync(driver, database, max_tx_rows=max_tx_rows)
    # The cyclic collector stays paused for the whole run, the background preparation included: the
    # read and the sync pause it anyway (below, and `ingest.vault.read_vault`), and a young collection
    # that the preparing thread's allocations set off in a gap between them (a small vault read while
    # the lease is taken) walked what was young of the run so far.
    with cyclic_gc_paused(), sync.prepare(name, str(root.resolve()), same_root=same_root) as prepared:
        if kept is not None:
            cache, digests = kept()
        started = time.perf_counter()
        # The store keeps which concepts a note mentions and on which lines, not each mention's context.
        graph = read_vault_with_config(
            root, relations_config=relations_config, cache=cache, mention_context=False, jobs=jobs, listing=listing
        )
        parse_seconds = time.perf_counter() - started
        # The sync makes temporaries (rows, digests) that the young collections promote and count toward
        # the next full collection, which walks the whole graph and, in a kept run, the kept heap (~1.5 s
        # at 10k notes): it landed in one small kept run of every ~6, in every big one (a renamed folder's
        # 2,853 notes rewritten: ~1.2 s of its rows) and in a fresh 10k ingest's sync (22-25 s -> 19-20 s
        # paused, peak RSS 386 -> 389 MB). Paused, they die by reference count; the few reference cycles
        # the driver leaves wait for the caller's next full collection (`kg ingest --watch` takes one when
        # idle, after every big run) or the process's end.
        report = prepared.sync(
            graph, progress=progress, digests=digests, fingerprint=fingerprint, allow_empty=allow_empty
        )
    return IngestResult(graph=graph, report=report, parse_seconds=parse_seconds)


def small_kept_run(cache: ParseCache) -> bool:
    """The last read with `cache` parsed and resolved again at most a tenth of the vault (an edit)."""
    return cache.misses + cache.notes_resolved <= len(cache) // 10


def unchanged_since_last_ingest(
    driver: Driver,
    vault_name: str,
    fingerprint: str | None,
    database: str | None = None,
    root: Path | None = None,
    *,
    same_root: bool = False,
) -> bool:
    """True when the vault's last ingest stored this fingerprint and finished (and, given `root`, read
    this folder): its graph is this one. With `same_root`, a vault last ingested from another folder
    raises `VaultRootError` at once, before any note is read (the sync checks it again, under its lease)."""
    stored, incomplete, stored_root = VaultSync(driver, database).stored_fingerprint(vault_name)
    if root is not None and stored_root is not None and stored_root != str(root.resolve()):
        if same_root:
            raise VaultRootError(vault_name, str(root.resolve()), stored_root)
        return False
    return fingerprint is not None and stored == fingerprint and not incomplete
