"""The state a one-shot `kg ingest --keep-state` keeps on disk (`kg.ingest_state`): a read that starts
from it parses only the notes changed since and gives the graph a fresh read gives; a file that is
missing, stale, damaged or writable by others is not used, and says why."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.generate_vault import generate
from ingest.export import to_json
from ingest.vault import read_vault
from kg import ingest_state
from kg.ingest_state import IngestState, load_state, save_state, state_file

OLD_NS = 1_700_000_000_000_000_000  # November 2023: well before any read, so sizes and mtimes are trusted


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(120, tmp_path_factory.mktemp("gen") / "v120", seed=5)


def _vault(source: Path, tmp_path: Path, name: str = "vault") -> Path:
    root = tmp_path / name
    shutil.copytree(source, root)
    for path in root.rglob("*"):
        os.utime(path, ns=(OLD_NS, OLD_NS))
    return root


def _notes(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if not any(part.startswith(".") for part in p.relative_to(root).parts))


def _saved(root: Path, tmp_path: Path) -> tuple[Path, int]:
    """Read `root` with a new state and save it: (the state file, how many notes were read)."""
    state = IngestState.empty()
    notes = len(read_vault(root, cache=state.cache).notes)
    path = state_file(tmp_path / "state", root)
    assert save_state(path, root, state) == path.stat().st_size
    return path, notes


def _loaded(path: Path, root: Path) -> IngestState:
    state, why = load_state(path, root)
    assert state is not None, why
    assert why == ""
    return state


def test_a_kept_state_reads_only_what_changed_and_gives_the_fresh_graph(generated: Path, tmp_path: Path) -> None:
    root = _vault(generated, tmp_path)
    path, total = _saved(root, tmp_path)
    assert total == len(_notes(root))

    state = _loaded(path, root)
    assert len(state.cache) == total
    assert to_json(read_vault(root, cache=state.cache)) == to_json(read_vault(root))
    assert (state.cache.misses, state.cache.notes_resolved) == (0, 0)  # nothing changed: nothing read again

    # one note edited (a link to a new name), one added, one removed, as cron finds them next time
    edited, removed = _notes(root)[len(_notes(root)) // 2], _notes(root)[0]
    with edited.open("a", encoding="utf-8") as handle:
        handle.write("\n\nSee also [[A Topic Only Cron Saw]] and 基于 [[GRPO]]。\n")
    (root / "New Note.md").write_text("# New Note\n\n前置知识：[[A Topic Only Cron Saw]]\n", encoding="utf-8")
    removed.unlink()
    save_state(path, root, state)
    state = _loaded(path, root)
    kept = to_json(read_vault(root, cache=state.cache))
    assert state.cache.misses == 2  # the edited note and the new one
    assert kept == to_json(read_vault(root))


def test_a_state_of_another_folder_or_kg_is_not_used(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _vault(generated, tmp_path)
    path, _ = _saved(root, tmp_path)
    twin = _vault(generated, tmp_path, "twin")  # the same notes in another folder: another file
    assert state_file(tmp_path / "state", twin) != path

    state, why = load_state(path, twin)
    assert state is None and str(path) in why and "another folder" in why
    monkeypatch.setattr(ingest_state, "code_digest", lambda: "another kg")
    state, why = load_state(path, root)
    assert state is None and "another kg" in why


def test_a_missing_or_damaged_state_is_not_used(generated: Path, tmp_path: Path) -> None:
    root = _vault(generated, tmp_path)
    assert load_state(tmp_path / "none.pickle", root) == (None, "")  # a first run: nothing to say
    path, _ = _saved(root, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a torn write
    state, why = load_state(path, root)
    assert state is None and str(path) in why and "unreadable" in why
    path.write_bytes(pickle.dumps(ingest_state._header(root)) + pickle.dumps(["not", "a", "state"]))
    state, why = load_state(path, root)
    assert state is None and "not an ingest state" in why


def test_a_state_others_can_write_is_not_loaded(generated: Path, tmp_path: Path) -> None:
    root = _vault(generated, tmp_path)
    path, _ = _saved(root, tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # written whole, then renamed
    path.chmod(0o666)  # unpickling runs code: a file anyone could have written is not read
    state, why = load_state(path, root)
    assert state is None and "writable by no one else" in why
    path.chmod(0o600)
    assert load_state(path, root)[0] is not None


def test_a_save_that_fails_leaves_the_previous_state(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _vault(generated, tmp_path)
    path, _ = _saved(root, tmp_path)
    before = path.read_bytes()
    state = _loaded(path, root)
    real_fdopen, written = os.fdopen, [0]

    class FillingDisk:
        """The file being written, on a disk that fills up after the header (a few hundred bytes)."""

        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def write(self, data: bytes) -> int:
            if written[0] + len(data) > 4096:
                raise OSError(28, "No space left on device")
            written[0] += len(data)
            return int(self.handle.write(data))

        def tell(self) -> int:
            return int(self.handle.tell())

        def __enter__(self) -> FillingDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FillingDisk(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space"):
        save_state(path, root, state)
    monkeypatch.undo()
    assert 0 < written[0] <= 4096  # the header went out, the state did not
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left


def test_values_pickled_by_their_fields_keep_every_field() -> None:
    """The parse's values pickle as their class called with every field (`kg.model.pickled_by_fields`),
    links, mentions and relations as the named tuples they are: a round trip with no field at its
    default gives them back equal and of their class."""
    from ingest.concepts import NameCandidate
    from ingest.markdown import Heading, ListItem, TableRow
    from ingest.vault import OutlineEntry
    from kg.model import Link, Mention, Relation, RelationType

    name = NameCandidate("GRPO", ("Group Relative PO",), "method", True)
    by_fields = [
        Heading(1, 2, "Title"),
        ListItem(2, 1, "item", 0, 1),
        TableRow(3, 0, ("a", "b")),
        name,
        OutlineEntry(4, "list_item", "text", (name,), 1, 0, 2),
    ]
    for value in by_fields:
        assert len(value.__reduce__()[1]) == len(value.__dataclass_fields__)  # type: ignore[attr-defined]
    named_tuples = [
        Link("GRPO", 3, "wiki", "alias", "heading", "block", "GRPO.md", "grpo", "up"),
        Mention("grpo", "GRPO", 4, "heading", ("A", "B"), 2, 1, "line text"),
        Relation(RelationType.VARIANT_OF, "grpo", "ppo", 0.7, "rule", "GRPO.md", 5, "evidence"),
    ]
    for value in [*by_fields, *named_tuples]:
        again = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        assert again == value and type(again) is type(value)
