"""Library entry points that wire the stages: read a vault (ingest) and sync it (store)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neo4j import Driver

from ingest.vault import read_vault
from kg.model import Graph
from kg.store.sync import ProgressCallback, SyncReport, VaultSync


@dataclass(slots=True)
class IngestResult:
    graph: Graph
    report: SyncReport
    parse_seconds: float


def default_vault_name(root: Path) -> str:
    return root.resolve().name or "vault"


def ingest_vault(
    driver: Driver,
    root: Path,
    *,
    database: str | None = None,
    vault_name: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Parse the vault at `root` and bring its part of the database exactly up to date."""
    import time

    started = time.perf_counter()
    graph = read_vault(root)
    parse_seconds = time.perf_counter() - started
    name = vault_name or default_vault_name(root)
    report = VaultSync(driver, database).sync(name, str(root.resolve()), graph, progress=progress)
    return IngestResult(graph=graph, report=report, parse_seconds=parse_seconds)
