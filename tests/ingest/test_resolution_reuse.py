"""`resolve_notes` with a `ParseCache`: what the last resolution made of each note is reused when
an edit leaves the concept index as it was, and the graph is always the one a fresh read gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.generate_vault import generate
from ingest.export import to_json
from ingest.relation_rules import DEFAULT_CONFIG, RelationsConfig
from ingest.relations import rules_for
from ingest.vault import ParseCache, outline_relations, read_vault

ANTIAI = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "antiai"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(240, tmp_path_factory.mktemp("gen") / "v240", seed=11)


def _copy(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    shutil.copytree(source, root)
    return root


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _notes(root: Path) -> list[Path]:
    """The vault's note files (hidden folders such as `.obsidian/` are not read)."""
    return sorted(p for p in root.rglob("*.md") if not any(part.startswith(".") for part in p.relative_to(root).parts))


def _middle_note(root: Path) -> Path:
    notes = _notes(root)
    return notes[len(notes) // 2]


def _same_as_fresh(root: Path, cache: ParseCache) -> int:
    """Read with the cache, check the graph equals a fresh read, return how many notes were resolved."""
    kept = to_json(read_vault(root, cache=cache))
    assert kept == to_json(read_vault(root))
    return cache.notes_resolved


def test_a_prose_edit_resolves_only_the_edited_note(generated: Path, tmp_path: Path) -> None:
    root = _copy(generated, tmp_path)
    cache = ParseCache()
    total = len(read_vault(root, cache=cache).notes)
    assert cache.notes_resolved == total
    assert _same_as_fresh(root, cache) == 0  # nothing changed: nothing resolved again
    note = _middle_note(root)
    _append(note, "\n\nMore thoughts written while reading, with no new name in them.\n")
    assert _same_as_fresh(root, cache) == 1
    _append(note, "\n\nThis compares GRPO with PPO on the same data.\n")  # known names, in prose
    assert _same_as_fresh(root, cache) == 1


def test_edits_that_change_the_index_give_the_fresh_graph(generated: Path, tmp_path: Path) -> None:
    root = _copy(generated, tmp_path)
    cache = ParseCache()
    total = len(read_vault(root, cache=cache).notes)
    note = _middle_note(root)
    _append(note, "\n\nSee also [[A Brand New Topic]] and [[GRPO|group relative]].\n")  # new name, new alias
    assert _same_as_fresh(root, cache) == total
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace("\n# ", "\n# Renamed ", 1), encoding="utf-8")  # the title changes
    _same_as_fresh(root, cache)
    (root / "new-note.md").write_text("# Newcomer\n\nNewcomer 基于 [[GRPO]]。\n", encoding="utf-8")
    assert _same_as_fresh(root, cache) == total + 1
    (root / "new-note.md").unlink()
    assert _same_as_fresh(root, cache) == total


def test_an_edit_whose_rules_name_a_new_concept_resolves_the_notes_after_it(generated: Path, tmp_path: Path) -> None:
    root = _copy(generated, tmp_path)
    cache = ParseCache()
    total = len(read_vault(root, cache=cache).notes)
    notes = _notes(root)
    _append(notes[-1], "\n\n本方法基于 ZetaQuux 框架。\n")  # a cue naming an unknown tool: the rules add it
    assert 1 <= _same_as_fresh(root, cache) < total
    _append(notes[0], "\n\n本方法基于 OmegaQuux 框架。\n")
    assert _same_as_fresh(root, cache) >= 1


def test_other_rules_resolve_everything_again(generated: Path, tmp_path: Path) -> None:
    root = _copy(generated, tmp_path)
    cache = ParseCache()
    total = len(read_vault(root, cache=cache).notes)
    quieter = RelationsConfig(keys=DEFAULT_CONFIG.keys, confidence={"cue.based_on": 0.0})
    rules = [outline_relations, *rules_for(quieter)]
    kept = to_json(read_vault(root, cache=cache, rules=rules))
    assert cache.notes_resolved == total and kept == to_json(read_vault(root, rules=rules))
    again = to_json(read_vault(root, cache=cache, rules=[outline_relations, *rules_for(quieter)]))
    assert cache.notes_resolved == 0 and again == kept  # equal rules made afresh: reused


@pytest.mark.skipif(not ANTIAI.is_dir(), reason="../shared/corpora/antiai is not present")
def test_the_real_vault_edited_note_by_note(tmp_path: Path) -> None:
    root = _copy(ANTIAI, tmp_path)
    cache = ParseCache()
    read_vault(root, cache=cache)
    notes = _notes(root)
    for i, note in enumerate(notes[:: len(notes) // 3]):
        _append(note, f"\n\n补充 {i}：这里和 GRPO、PPO 的做法一样。\n")
        assert _same_as_fresh(root, cache) == 1
