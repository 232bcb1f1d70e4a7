"""The scheduling helpers behind `kg ingest --every/--watch`, on a real temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.vault import list_vault
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


def test_snapshot_lists_what_the_ingest_listing_lists(tmp_path: Path) -> None:
    """Linked folders are not followed, a linked note is (its target's size), a broken link counts
    as the problem the ingest reports, a folder named like a note is left out, `kg-relations.toml`
    counts only at the top."""
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
    assert sorted(snapshot) == ["\0broken.md", "a.md", "kg-relations.toml", "link.md", "sub/deep/b.md"]
    assert snapshot["link.md"] == snapshot["sub/deep/b.md"] and snapshot["a.md"][0] == 1
    assert "cannot stat" in str(snapshot["\0broken.md"])


def _rule_cases(tmp_path: Path) -> tuple[Path, Path]:
    """A vault (and a folder beside it) of files on which a walk of its own once disagreed with the
    ingest's listing."""
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    vault.mkdir()
    outside.mkdir()
    (vault / "Upper.MD").write_text("an upper-case suffix is a note", encoding="utf-8")
    (vault / ".drafts").mkdir()
    (vault / ".drafts" / "hidden.md").write_text("a hidden folder is not read", encoding="utf-8")
    (vault / ".hidden.md").write_text("nor a hidden file", encoding="utf-8")
    (outside / "elsewhere.md").write_text("out of the vault", encoding="utf-8")
    (vault / "out.md").symlink_to(outside / "elsewhere.md")
    (vault / "big.md").write_text("x" * 100, encoding="utf-8")
    return vault, outside


def test_snapshot_follows_the_listing_rules_the_ingest_reads_by(tmp_path: Path) -> None:
    vault, _ = _rule_cases(tmp_path)
    snapshot = vault_snapshot(vault, max_file_bytes=50)
    listing = list_vault(vault, max_file_bytes=50)
    assert [key for key in snapshot if not key.startswith("\0")] == [file.path for file, _ in listing.files]
    assert sorted(snapshot) == ["\0big.md", "\0out.md", "Upper.MD"]
    assert {f"\0{problem.path}": problem.message for problem in listing.problems} == {
        key: value for key, value in snapshot.items() if key.startswith("\0")
    }


def test_snapshot_changes_only_with_what_a_re_ingest_reads(tmp_path: Path) -> None:
    vault, outside = _rule_cases(tmp_path)
    before = vault_snapshot(vault, max_file_bytes=50)
    # not read by an ingest: no change
    (vault / ".drafts" / "hidden.md").write_text("edited", encoding="utf-8")
    (vault / ".hidden.md").write_text("edited", encoding="utf-8")
    (outside / "elsewhere.md").write_text("edited out of the vault", encoding="utf-8")
    assert vault_snapshot(vault, max_file_bytes=50) == before
    # read: an edit of a note with an upper-case suffix
    (vault / "Upper.MD").write_text("edited, longer than before", encoding="utf-8")
    edited = vault_snapshot(vault, max_file_bytes=50)
    assert edited != before and edited["Upper.MD"] != before["Upper.MD"]
    # reported: a file too large, whose size is in the problem the ingest reports
    (vault / "big.md").write_text("x" * 200, encoding="utf-8")
    grown = vault_snapshot(vault, max_file_bytes=50)
    assert grown["\0big.md"] != edited["\0big.md"] and "200 bytes" in str(grown["\0big.md"])
    # and a file that drops under the limit is read again
    (vault / "big.md").write_text("small", encoding="utf-8")
    assert "big.md" in vault_snapshot(vault, max_file_bytes=50)


def test_snapshot_of_a_vault_folder_gone_is_one_entry_saying_so(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "a.md").write_text("a", encoding="utf-8")
    before = vault_snapshot(vault)
    vault.rename(tmp_path / "away")  # a share unmounted
    gone = vault_snapshot(vault)
    assert list(gone) == ["\0."] and "cannot be listed" in str(gone["\0."])
    (tmp_path / "away").rename(vault)
    assert vault_snapshot(vault) == before


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
