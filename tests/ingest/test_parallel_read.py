"""Reading a vault in several processes (`jobs`) gives exactly the graph one process gives."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

import ingest.vault as vault_module
from ingest import parallel
from ingest.export import to_json
from ingest.vault import ParseCache, iter_note_files, parse_vault, read_vault
from kg.model import Graph, ProblemKind

BASIC = Path(__file__).resolve().parents[1] / "vaults" / "basic"


def problem_list(graph: Graph) -> list[tuple[str, ProblemKind, int | None, str]]:
    return [(p.path, p.kind, p.line, p.message) for p in graph.problems]  # in the order they were found


@pytest.fixture
def hostile_vault(tmp_path: Path) -> Path:
    """The basic vault (binary note, legacy encodings, broken front matter) plus a note over the size
    cap and symlinks out of the vault, so that problems of listing and of reading interleave."""
    root = tmp_path / "vault"
    shutil.copytree(BASIC, root, symlinks=True)
    (root / "big.md").write_text("# big\n" + "x" * 5000, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# secret\n[[Leaked]]\n", encoding="utf-8")
    (root / "RL" / "linked.md").symlink_to(outside / "secret.md")
    (root / "zz-linked-dir").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_NOTES", 3)  # chunking is the reader's: many chunks, even here


@pytest.mark.usefixtures("small_chunks")
def test_a_read_in_three_processes_gives_the_graph_and_problem_order_of_one(hostile_vault: Path) -> None:
    one = read_vault(hostile_vault, max_file_bytes=4000, jobs=1)
    three = read_vault(hostile_vault, max_file_bytes=4000, jobs=3)
    kinds = {p.kind for p in one.problems}
    assert {ProblemKind.BINARY, ProblemKind.TOO_LARGE, ProblemKind.OUTSIDE_VAULT} <= kinds
    assert problem_list(three) == problem_list(one)
    assert to_json(three) == to_json(one)
    assert three == one


def test_a_generated_vault_read_in_two_processes_equals_one(tmp_path: Path) -> None:
    from bench.generate_vault import generate

    root = generate(450, tmp_path / "v450", seed=11)
    one = read_vault(root, jobs=1)
    assert read_vault(root, jobs=2) == one
    assert read_vault(root, jobs=2, mention_context=False).relations == one.relations
    assert len(one.relations) > 300


def test_equal_strings_from_different_chunks_are_one_string(tmp_path: Path) -> None:
    """Each worker sends its chunk's strings on their own; the graph holds one string for equal targets
    and aliases of links to concepts, titles, kinds, front matter values and relation evidence,
    whichever chunk or note they came from (a 50k-note graph held ~45 MB of such copies)."""
    from bench.generate_vault import generate

    graph = read_vault(generate(450, tmp_path / "v450", seed=11), jobs=2, mention_context=False)
    strings: dict[str, list[str]] = {"link": [], "note": [], "front matter": [], "evidence": []}
    for note in graph.notes.values():
        named = [link for link in note.links if link.concept]  # resolution makes them (images, URLs are as parsed)
        strings["link"] += [s for link in named for s in (link.target, link.alias) if s]
        strings["note"] += [s for s in (note.title, note.kind) if s]
        for value in note.front_matter.values():
            strings["front matter"] += [v for v in (value if isinstance(value, list) else [value]) if type(v) is str]
    strings["evidence"] = [relation.evidence for relation in graph.relations]
    for kind, found in strings.items():
        copies = {}
        for text in found:
            copies.setdefault(text, set()).add(id(text))
        assert len(found) > len(copies) + 100 > 200, (kind, len(found), len(copies))  # values repeated
        assert all(len(ids) == 1 for ids in copies.values()), kind


@pytest.mark.usefixtures("small_chunks")
def test_a_parse_cache_filled_by_workers_serves_the_next_read(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    shutil.copytree(BASIC, root, symlinks=True)
    cache = ParseCache()
    first = read_vault(root, cache=cache, jobs=2)
    assert cache.misses == len(cache) > 6 and cache.hits == 0
    note = root / "RL" / "PPO.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nPPO builds on [[Trust Regions]].\n", encoding="utf-8")
    edited = read_vault(root, cache=cache, jobs=2)
    assert to_json(edited) == to_json(read_vault(root, jobs=1))
    assert to_json(edited) != to_json(first)
    assert (cache.hits, cache.misses) == (len(cache) - 1, 1)  # only the edited note is parsed again


@pytest.mark.usefixtures("small_chunks")
def test_notes_too_recent_for_their_mtime_are_parsed_again_only_if_their_bytes_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notes read within `RACY_MTIME_NS` of their last write are checked by their bytes; a read in
    several processes hashes them before handing anything to the parse, as a one-process read does."""
    root = tmp_path / "vault"
    shutil.copytree(BASIC, root, symlinks=True)
    cache = ParseCache()
    first = read_vault(root, cache=cache, jobs=2)
    for entry in cache._entries.values():
        entry.read_at_ns = entry.mtime_ns  # as if each file had been written just before the read
    handed: list[list[str]] = []
    real_read = parallel.read_in_parallel

    def recording_read(files: list[Any], **kwargs: Any) -> Any:
        handed.append([file.path for file in files])
        return real_read(files, **kwargs)

    monkeypatch.setattr(parallel, "read_in_parallel", recording_read)
    assert to_json(read_vault(root, cache=cache, jobs=2)) == to_json(first)
    assert handed == [["Architecture/binary.md"]]  # skipped as binary: nothing cached to check against
    assert cache.hits == len(cache) > 6
    note = root / "RL" / "PPO.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nPPO builds on [[Trust Regions]].\n", encoding="utf-8")
    for entry in cache._entries.values():
        entry.read_at_ns = entry.mtime_ns
    edited = read_vault(root, cache=cache, jobs=2)
    assert handed[-1] == ["Architecture/binary.md", "RL/PPO.md"]
    assert to_json(edited) == to_json(read_vault(root, jobs=1))


def _kill_workers() -> int:
    """SIGKILL this process's parse workers (Linux /proc), as the OOM killer would; how many."""
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"ingest.parallel" in command:
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
    return killed


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers in /proc")
@pytest.mark.usefixtures("small_chunks")
def test_workers_killed_mid_read_leave_their_chunks_to_the_reader(hostile_vault: Path) -> None:
    files = list(iter_note_files(hostile_vault, [], max_file_bytes=4000))
    killed: list[int] = []

    def read_here(chunk: Any, pack: bool) -> Any:
        if not killed:
            time.sleep(1.0)  # the workers have started and been handed their first chunks
            killed.append(_kill_workers())
        return vault_module.read_note_files(chunk, pack)

    reads = parallel.read_in_parallel(files, pack=True, processes=3, read_here=read_here)
    assert killed == [2]
    alone = vault_module.read_note_files(files, True)
    assert [(r.parsed and r.parsed.note, r.problems) for r in reads] == [
        (r.parsed and r.parsed.note, r.problems) for r in alone
    ]


@pytest.mark.usefixtures("small_chunks")
def test_a_read_where_no_worker_can_start_is_made_in_one_process(
    hostile_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = read_vault(hostile_vault, max_file_bytes=4000, jobs=1)
    monkeypatch.setattr(parallel.sys, "executable", str(hostile_vault / "no-such-python"))
    assert read_vault(hostile_vault, max_file_bytes=4000, jobs=4) == one


def test_one_process_per_cpu_only_for_reads_worth_a_worker_start() -> None:
    cpus = len(os.sched_getaffinity(0))
    assert vault_module.processes_for(None, vault_module.PARALLEL_MIN_NOTES - 1) == 1
    assert vault_module.processes_for(None, 100_000) == cpus
    assert vault_module.processes_for(4, 250) == 3  # never more processes than chunks of notes
    assert vault_module.processes_for(1, 100_000) == 1


def test_jobs_below_one_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="jobs: 0"):
        parse_vault(BASIC, jobs=0)
