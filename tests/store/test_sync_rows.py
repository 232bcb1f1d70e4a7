"""The sync plans its transactions from sizes and concept keys read off the notes, and builds a
batch's rows only when it writes it: those readings must agree with the rows themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate_vault import generate
from ingest.vault import read_vault
from kg.model import Graph
from kg.store.sync import _note_concepts, _note_rows, _note_size, _relations_by_note, scoped_uid

ANTIAI = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "antiai"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    return read_vault(generate(150, tmp_path_factory.mktemp("gen") / "v150", seed=11))


def _check(graph: Graph) -> None:
    relations = _relations_by_note(graph)
    for path, note in graph.notes.items():
        rows = _note_rows("v", note, graph, relations.get(path, ()), "d")
        assert _note_size(note, relations.get(path, ()), graph) == rows.size(), path
        assert {scoped_uid("v", key) for key in _note_concepts(note, relations.get(path, ()))} == set(
            rows.concept_uids()
        ), path
        without_links = _note_rows("v", note, graph, relations.get(path, ()), "d", links=False)
        assert without_links.links == [] and without_links.size() == rows.size() - len(rows.links)


def test_sizes_and_concepts_agree_with_the_rows_on_a_generated_vault(generated: Graph) -> None:
    assert sum(len(n.links) for n in generated.notes.values()) > 500  # links, mentions and relations to check
    assert generated.relations
    _check(generated)


@pytest.mark.skipif(not ANTIAI.is_dir(), reason="../shared/corpora/antiai is not present")
def test_sizes_and_concepts_agree_with_the_rows_on_antiai() -> None:
    _check(read_vault(ANTIAI))


def test_no_relation_rows_for_relations_the_database_holds(generated: Graph) -> None:
    """A note whose typed relations digest to the stored `relations_digest` gets no rows for them (the
    sync keeps the stored ones); any other stored digest, or none, gets every row."""
    relations = _relations_by_note(generated)
    path = max(relations, key=lambda p: len(relations[p]))
    note, own = generated.notes[path], relations[path]
    full = _note_rows("v", note, generated, own, "d")
    assert not full.relations_stored
    assert sum(len(rows) for rows in full.relations.values()) == len(own) > 0
    stored = full.note["relations_digest"]
    kept = _note_rows("v", note, generated, own, "d", stored_relations_digest=stored)
    assert kept.relations_stored and not kept.relations
    assert kept.note == full.note and kept.mentions == full.mentions and kept.links == full.links
    other = _note_rows("v", note, generated, own[1:], "d", stored_relations_digest=stored)
    assert not other.relations_stored
    assert sum(len(rows) for rows in other.relations.values()) == len(own) - 1
