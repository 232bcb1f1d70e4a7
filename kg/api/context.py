"""Per-request context: a reader with its own query counter, and one DataLoader per relationship.

Loaders batch every `Concept.prerequisites`, `Concept.notes`, … asked in one request into one
Cypher statement per field kind, so a list of N concepts costs a constant number of round trips.
The reader is synchronous (the neo4j driver is), so its calls run in worker threads with a
timeout: async resolvers never block the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from kg.store.read import (
    ConceptRecord,
    GraphReader,
    MentionRecord,
    NoteRecord,
    QueryTimeoutError,
    RelatedRecord,
)

T = TypeVar("T")
V = TypeVar("V")


async def run_read(reader: GraphReader, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run a blocking reader call in a worker thread; give up a little after the server-side timeout."""
    limit = reader.timeout_s + 5.0 if reader.timeout_s else None
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), timeout=limit)
    except TimeoutError:
        raise QueryTimeoutError(f"the graph query took longer than {reader.timeout_s:g} s") from None


def _batched(reader: GraphReader, fetch: Callable[[Sequence[str]], Mapping[str, list[V]]]) -> DataLoader[str, list[V]]:
    async def load(keys: list[str]) -> list[list[V]]:
        found = await run_read(reader, fetch, keys)
        return [list(found.get(k, [])) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    relations: DataLoader[str, list[RelatedRecord]]
    notes_about: DataLoader[str, list[NoteRecord]]
    mentions: DataLoader[str, list[MentionRecord]]
    tags: DataLoader[str, list[str]]
    note_concepts: DataLoader[str, list[ConceptRecord]]
    note_links: DataLoader[str, list[tuple[str, NoteRecord]]]
    note_resources: DataLoader[str, list[str]]

    @classmethod
    def for_reader(cls, reader: GraphReader) -> Loaders:
        return cls(
            relations=_batched(reader, reader.relations_of),
            notes_about=_batched(reader, reader.notes_about),
            mentions=_batched(reader, reader.notes_mentioning),
            tags=_batched(reader, reader.concept_tags),
            note_concepts=_batched(reader, reader.note_concepts),
            note_links=_batched(reader, reader.note_links),
            note_resources=_batched(reader, reader.note_resources),
        )


@dataclass
class Context(BaseContext):
    reader: GraphReader
    # Where a complete answer to this request is kept (`kg.api.responses`); None: not kept.
    answer_key: tuple[str, ...] | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        super().__init__()
        self.loaders = Loaders.for_reader(self.reader)

    async def read(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await run_read(self.reader, fn, *args, **kwargs)
