"""Hostile notes: read_vault handles each without crash, hang or memory blow-up, and reports it.

Every case runs `read_vault` in a child process with an address-space limit and a timeout, so a
regression shows up as a clear failure (killed, timed out, MemoryError) instead of taking the test
run down with it. The child prints the notes it read and the problems it reported as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Generous bounds for a busy 2-core CI box; a hang or a blow-up is far beyond either.
TIME_LIMIT_S = 120.0
MEMORY_LIMIT_BYTES = 3 * 1024**3  # address space of the child (the 100 MB note alone is never read)

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import ingest.parallel
    from ingest.vault import read_vault
    jobs = int(sys.argv[3]) if len(sys.argv) > 3 else None
    if len(sys.argv) > 4:
        ingest.parallel.CHUNK_NOTES = int(sys.argv[4])  # many chunks of a few notes: workers take part
    started = time.perf_counter()
    graph = read_vault(Path(sys.argv[1]), jobs=jobs)
    print(json.dumps({
        "seconds": time.perf_counter() - started,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "notes": sorted(graph.notes),
        "titles": {p: n.title for p, n in graph.notes.items()},
        "links": {p: [[l.target, l.resolved_note] for l in n.links] for p, n in graph.notes.items()},
        "problems": [[p.path, p.kind.value, p.message] for p in graph.problems],
    }))
    """
)


def read_in_child(vault: Path, time_limit_s: float = TIME_LIMIT_S, *parallel: int) -> dict[str, Any]:
    """`parallel`: (jobs, notes per chunk) to read with worker processes, which share the child's limits."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(vault), str(MEMORY_LIMIT_BYTES), *map(str, parallel)],
        capture_output=True,
        text=True,
        timeout=time_limit_s,
        check=False,
    )
    assert proc.returncode == 0, (
        f"read_vault crashed after {time.perf_counter() - started:.1f}s:\n{proc.stderr[-4000:]}"
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def problems_of(result: dict[str, Any], path: str) -> list[tuple[str, str]]:
    return [(kind, message) for p, kind, message in result["problems"] if p == path]


def write(vault: Path, rel: str, data: str | bytes) -> Path:
    file = vault / rel
    file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        file.write_text(data, encoding="utf-8")
    else:
        file.write_bytes(data)
    return file


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    write(root, "ok.md", "# Fine note\n\nLinks to [[Other]] and #tag.\n")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the vault with a secret note that must never be read."""
    folder = tmp_path / "outside"
    write(folder, "secret.md", "# SECRET-OUTSIDE-THE-VAULT\n\n[[Leak]]\n")
    return folder


def assert_nothing_from_outside(result: dict[str, Any]) -> None:
    for path in result["notes"]:
        assert not path.startswith(".."), path
        assert not os.path.isabs(path), path
    assert "SECRET-OUTSIDE-THE-VAULT" not in json.dumps(result["titles"], ensure_ascii=False)
    for links in result["links"].values():
        for _, resolved in links:
            assert resolved is None or not (resolved.startswith("..") or os.path.isabs(resolved)), resolved


def test_links_with_dotdot_and_absolute_paths_never_leave_the_vault(vault: Path, outside: Path) -> None:
    absolute = outside / "secret.md"
    write(
        vault,
        "sub/escape.md",
        "# Escape\n\n"
        "- [[../../outside/secret]]\n"
        "- [[../../../../../../etc/passwd]]\n"
        "- [secret](../../outside/secret.md)\n"
        f"- [abs]({absolute})\n"
        f"- [[{absolute}]]\n"
        "- ![[../../outside/secret.md]]\n"
        "- [passwd](/etc/passwd)\n",
    )
    result = read_in_child(vault)
    assert "sub/escape.md" in result["notes"]
    assert_nothing_from_outside(result)
    reported = problems_of(result, "sub/escape.md")
    outside_targets = [m for kind, m in reported if kind == "outside_vault"]
    # The `../` links that climb out of the vault are reported with their targets.
    assert any("../../../../../../etc/passwd" in m for m in outside_targets), reported
    assert sum("../../outside/secret" in m for m in outside_targets) >= 2, reported


def test_symlinks_out_of_the_vault_are_reported_not_followed(vault: Path, outside: Path) -> None:
    (vault / "linked-secret.md").symlink_to(outside / "secret.md")
    (vault / "linked-folder").symlink_to(outside, target_is_directory=True)
    result = read_in_child(vault)
    assert_nothing_from_outside(result)
    assert "linked-secret.md" not in result["notes"]
    assert not any(p.startswith("linked-folder") for p in result["notes"])
    assert "outside_vault" in {k for k, _ in problems_of(result, "linked-secret.md")}, result["problems"]
    assert "outside_vault" in {k for k, _ in problems_of(result, "linked-folder")}, result["problems"]
    assert "ok.md" in result["notes"]


def test_a_100_mb_note_is_skipped_and_reported(vault: Path) -> None:
    chunk = ("大模型 LLM [[GRPO]] #tag " * 4000 + "\n").encode("utf-8")
    with (vault / "huge.md").open("wb") as handle:
        handle.write(b"---\ntitle: huge\n---\n")
        while handle.tell() < 100 * 1024 * 1024:
            handle.write(chunk)
    result = read_in_child(vault)
    assert "huge.md" not in result["notes"]
    assert [k for k, _ in problems_of(result, "huge.md")] == ["too_large"]
    assert "ok.md" in result["notes"]
    assert result["maxrss_mb"] < 500, result["maxrss_mb"]  # the big file was never read into memory


def _deep_list() -> str:
    # 10,000 levels in one line (`- - - … item`: each `- ` opens a nested list), then a ladder of
    # 2,000 indented levels (a ladder of 10,000 would be a 100 MB file, which is the size case).
    return (
        "# Deep\n\n"
        + "- " * 10_000
        + "deepest [[N0]]\n\n"
        + "".join("  " * depth + f"- item {depth} [[N{depth % 50}]]\n" for depth in range(2_000))
    )


HOSTILE_TEXT: dict[str, Callable[[], str | bytes]] = {
    "nested-list-10000.md": _deep_list,
    "nested-quote-10000.md": lambda: "# Quotes\n\n" + ">" * 10_000 + " deepest\n" + "> - " * 5_000 + "x\n",
    "one-million-char-line-plain.md": lambda: "# Long\n\n" + ("token 大模型 " * 100_000)[:1_000_000] + "\n",
    "one-million-char-line-links.md": lambda: "# Long\n\n" + ("GRPO 基于 PPO [[PPO]] #t " * 50_000)[:1_000_000] + "\n",
    "brackets-1m.md": lambda: "# Brackets\n\n" + "[[" * 250_000 + "]]" * 250_000 + "\n",
    "unclosed-fence.md": lambda: "# Fence\n\n```\n" + "[[not a link]] #x\n" * 100_000,
}
# A once-known bug's child gets a short time limit, so a regression fails fast instead of hanging CI.
KNOWN_BUG_TIME_LIMIT_S = 30.0


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXT))
def test_pathological_structure_is_read_in_bounded_time(vault: Path, name: str) -> None:
    write(vault, name, HOSTILE_TEXT[name]())
    result = read_in_child(vault)
    assert name in result["notes"], result["problems"]
    assert "ok.md" in result["notes"]
    assert result["seconds"] < 60, f"{name}: read_vault took {result['seconds']:.1f}s"


def test_binary_data_named_md_is_skipped_and_reported(vault: Path) -> None:
    payload = bytes(range(256)) * 4096 + os.urandom(64 * 1024)
    write(vault, "image-really.md", b"\x89PNG\r\n\x1a\n" + payload)
    write(vault, "zeros.md", b"\x00" * 10_000)
    result = read_in_child(vault)
    for name in ("image-really.md", "zeros.md"):
        assert name not in result["notes"]
        assert "binary" in {k for k, _ in problems_of(result, name)}, result["problems"]
    assert "ok.md" in result["notes"]


def test_yaml_alias_bomb_is_reported_without_blowing_up(vault: Path) -> None:
    bomb = "\n".join(
        ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
        + ["tags: *i"]
    )
    write(vault, "bomb.md", f"---\ntitle: Bomb\n{bomb}\n---\n\n# Bomb\n\nBody with [[Link]].\n")
    result = read_in_child(vault, KNOWN_BUG_TIME_LIMIT_S)
    assert result["seconds"] < 60
    assert result["maxrss_mb"] < 1024, result["maxrss_mb"]
    reported = problems_of(result, "bomb.md")
    assert any(k == "front_matter" and "'tags'" in m and "alias" in m for k, m in reported), result["problems"]
    # The note itself is still read, as far as it can be: its title and its body's link.
    assert "bomb.md" in result["notes"]
    assert result["titles"]["bomb.md"] == "Bomb"
    assert ["Link", None] in result["links"]["bomb.md"]


def test_all_hostile_notes_together_do_not_stop_the_good_ones(vault: Path, outside: Path) -> None:
    for name, make in HOSTILE_TEXT.items():
        write(vault, f"hostile/{name}", make())
    write(vault, "hostile/bin.md", os.urandom(100_000))
    (vault / "hostile/link.md").symlink_to(outside / "secret.md")
    write(vault, "good/GRPO.md", "---\ntitle: GRPO\nprerequisites: ['[[PPO]]']\n---\n# GRPO\n")
    result = read_in_child(vault)
    assert {"ok.md", "good/GRPO.md"} <= set(result["notes"])
    assert_nothing_from_outside(result)
    # Read by three processes, two notes per chunk: the hostile notes cross from workers, same read.
    in_workers = read_in_child(vault, TIME_LIMIT_S, 3, 2)
    assert {key: in_workers[key] for key in ("notes", "titles", "links", "problems")} == {
        key: result[key] for key in ("notes", "titles", "links", "problems")
    }
