"""The scheduling helpers behind `kg ingest --every/--watch`, on a real temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.schedule import backoff_delays, parse_duration, vault_snapshot, wait_for_change


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900.0), ("30s", 30.0), ("1h", 3600.0), ("2", 2.0), ("1.5m", 90.0)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "fast", "0m", "-5s", "15 minutes"])
def test_parse_duration_rejects_bad_text_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_backoff_grows_and_is_capped() -> None:
    delays = backoff_delays(first=2, cap=10)
    assert [delays() for _ in range(5)] == [2, 4, 8, 10, 10]


def test_snapshot_sees_markdown_only_and_skips_obsidian(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("a", encoding="utf-8")
    (tmp_path / "img.png").write_bytes(b"\x89PNG")
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "workspace.md").write_text("x", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.markdown").write_text("bb", encoding="utf-8")
    assert sorted(vault_snapshot(tmp_path)) == ["a.md", "sub/b.markdown"]


def test_snapshot_lists_what_a_walk_of_the_vault_lists(tmp_path: Path) -> None:
    """Linked folders are not followed, a linked note is (its target's size), a broken link and a
    folder named like a note are left out, `kg-relations.toml` counts only at the top."""
    (tmp_path / "a.md").write_text("a", encoding="utf-8")
    (tmp_path / "kg-relations.toml").write_text("[keys]\n", encoding="utf-8")
    sub = tmp_path / "sub" / "deep"
    sub.mkdir(parents=True)
    (sub / "b.md").write_text("bb", encoding="utf-8")
    (sub / "kg-relations.toml").write_text("", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.md").write_text("c", encoding="utf-8")
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "sub")
    (tmp_path / "link.md").symlink_to(sub / "b.md")
    (tmp_path / "broken.md").symlink_to(tmp_path / "nowhere.md")
    snapshot = vault_snapshot(tmp_path)
    assert sorted(snapshot) == ["a.md", "kg-relations.toml", "link.md", "sub/deep/b.md"]
    assert snapshot["link.md"] == snapshot["sub/deep/b.md"] and snapshot["a.md"][0] == 1


def test_wait_for_change_returns_after_an_edit_has_settled(tmp_path: Path) -> None:
    note = tmp_path / "a.md"
    note.write_text("one", encoding="utf-8")
    before = vault_snapshot(tmp_path)
    writes = iter(["two", "three"])  # an editor saving twice in a row: debounce waits for the last

    def fake_sleep(_: float) -> None:
        text = next(writes, None)
        if text is not None:
            note.write_text(text, encoding="utf-8")

    after = wait_for_change(tmp_path, before, sleep=fake_sleep, max_polls=10)
    assert after != before
    assert after == vault_snapshot(tmp_path)
    assert note.read_text(encoding="utf-8") == "three"


def test_wait_for_change_keeps_polling_while_nothing_changes(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("one", encoding="utf-8")
    before = vault_snapshot(tmp_path)
    sleeps: list[float] = []
    assert wait_for_change(tmp_path, before, poll_s=1.0, sleep=sleeps.append, max_polls=3) == before
    assert sleeps == [1.0, 1.0]
