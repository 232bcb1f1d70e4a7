"""The naive way to write kg's graph: one neomodel `save()` per node and one `connect()` per edge.

Benchmark baseline only (bench/run.py compares it with `VaultSync`'s batched UNWIND writes). It
writes the same nodes and edges the sync writes, from the same rows (`kg.store.sync`'s row
builders), through the neomodel classes of `kg.store.nodes`, each call in its own auto-commit
transaction — what an ORM-first first version of the store would do.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from neo4j import Driver

from kg.model import Graph
from kg.store.nodes import ConceptNode, NoteNode, ResourceNode, TagNode, use_driver
from kg.store.sync import _concept_rows, _note_concepts, _note_rows, _relations_by_note

_TYPED_REL_ATTR = {
    "PREREQUISITE_OF": "prerequisite_of",
    "VARIANT_OF": "variant_of",
    "IMPLEMENTS": "implements",
    "PART_OF": "part_of",
    "NEXT": "next",
    "RELATED_TO": "related_to",
}


def write_naive(driver: Driver, vault: str, graph: Graph) -> dict[str, int]:
    """Write `graph` node by node and edge by edge; returns how many of each were written."""
    use_driver(driver)
    relations = _relations_by_note(graph)
    by_path = {
        path: _note_rows(vault, note, graph, relations.get(path, ()), "") for path, note in sorted(graph.notes.items())
    }
    used: set[str] = set()
    for path, note in graph.notes.items():
        used.update(_note_concepts(note, relations.get(path, ())))
    concept_rows = _concept_rows(vault, graph, used)
    counts: dict[str, int] = defaultdict(int)

    concepts: dict[str, Any] = {}  # neomodel's relationship managers are untyped
    for uid, row in concept_rows.items():
        concepts[uid] = ConceptNode(
            uid=uid,
            vault=vault,
            key=row["key"],
            name=row["name"],
            aliases=row["aliases"],
            aliases_text=row["aliases_text"],
            kind=row["kind"],
            description=row["description"],
            digest=row["digest"],
        ).save()
        counts["concepts"] += 1
    notes: dict[str, Any] = {}
    for nr in by_path.values():
        row = nr.note
        notes[row["uid"]] = NoteNode(
            uid=row["uid"],
            vault=vault,
            path=row["path"],
            title=row["title"],
            name=row["title"],
            content_hash=row["content_hash"],
            kind=row["kind"],
            description=row["description"],
            encoding=row["encoding"],
            tags=row["tags"],
            cjk_chars=row["cjk_chars"],
            words=row["words"],
            minutes=row["minutes"],
        ).save()
        counts["notes"] += 1
    tags: dict[str, Any] = {}
    resources: dict[str, Any] = {}
    for nr in by_path.values():
        note: Any = notes[nr.note["uid"]]
        for r in nr.about:
            note.about.connect(concepts[r["concept"]])
            counts["edges"] += 1
        for r in nr.mentions:
            note.mentions.connect(concepts[r["concept"]], {"count": r["count"], "line": r["line"], "lines": r["lines"]})
            counts["edges"] += 1
        for r in nr.tagged:
            tag: Any = tags.get(r["tag"])
            if tag is None:
                tag = tags[r["tag"]] = TagNode(uid=r["tag"], vault=vault, name=r["name"]).save()
                counts["tags"] += 1
            note.tagged.connect(tag)
            counts["edges"] += 1
        for r in nr.links:
            note.links_to.connect(notes[r["target"]])
            counts["edges"] += 1
        for r in nr.cites:
            res: Any = resources.get(r["resource"])
            if res is None:
                res = resources[r["resource"]] = ResourceNode(
                    uid=r["resource"], vault=vault, url=r["url"], name=r["domain"]
                ).save()
                counts["resources"] += 1
            note.cites.connect(res)
            counts["edges"] += 1
        for rel_type, rows in nr.relations.items():
            attr = _TYPED_REL_ATTR.get(rel_type)
            if attr is None:
                continue
            for r in rows:
                source: Any = concepts[r["source"]]
                getattr(source, attr).connect(
                    concepts[r["target"]],
                    {
                        "asserted_by": r["note_uid"],
                        "note": r["note"],
                        "line": r["line"],
                        "rule": r["rule"],
                        "confidence": r["confidence"],
                        "evidence": r["evidence"],
                        "vault": vault,
                    },
                )
                counts["edges"] += 1
    return dict(counts)
