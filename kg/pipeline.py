"""Library entry points that wire the stages: read a vault (ingest) and sync it (store)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from neo4j import Driver

from ingest.relations import vault_rules
from ingest.vault import DEFAULT_MAX_FILE_BYTES, ParseCache, RelationRule, read_vault
from kg.model import Graph
from kg.store.sync import NoteDigests, ProgressCallback, SyncReport, VaultSync


@dataclass(slots=True)
class IngestResult:
    graph: Graph
    report: SyncReport
    parse_seconds: float


class RelationsConfigError(ValueError):
    """The relations config file cannot be read or is wrong; the message names the file and the key."""


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
) -> Graph:
    """Read the vault under its relations config: `relations_config` if given, else the vault's own
    `kg-relations.toml`, else the built-in table. A bad config file raises `RelationsConfigError` naming it,
    before any note is read."""
    rules = read_relations_rules(root, relations_config)
    return read_vault(root, rules=rules, cache=cache, max_file_bytes=max_file_bytes)


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
) -> IngestResult:
    """Parse the vault at `root` and bring its part of the database exactly up to date.

    `cache` and `digests` (kept by long-running callers across runs of one vault) skip re-reading,
    re-parsing and re-resolving the notes an edit did not touch, and digesting them again for the
    sync; a bad relations config raises `RelationsConfigError` before anything is written."""
    started = time.perf_counter()
    graph = read_vault_with_config(root, relations_config=relations_config, cache=cache)
    parse_seconds = time.perf_counter() - started
    name = vault_name or default_vault_name(root)
    report = VaultSync(driver, database).sync(name, str(root.resolve()), graph, progress=progress, digests=digests)
    return IngestResult(graph=graph, report=report, parse_seconds=parse_seconds)
