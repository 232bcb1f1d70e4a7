"""Helpers for tests that edit the note files of a generated vault."""

from __future__ import annotations

from pathlib import Path


def is_utf8(path: Path) -> bool:
    """Whether the file reads as UTF-8 (the generated vaults also hold GB18030 notes, which tests that
    append or rewrite text as UTF-8 leave alone)."""
    try:
        path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False
    return True
