"""Running a job on a schedule or when a vault changes — no extra dependency, works on any mount.

`--watch` polls file metadata (size, mtime) rather than using inotify: it behaves the same on
Docker bind mounts, network shares and macOS, and a vault of 10k notes stats in well under a second.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from ingest.relation_rules import CONFIG_FILE_NAME
from ingest.vault import DEFAULT_MAX_FILE_BYTES, VaultFolderError, iter_note_files
from kg.model import Problem

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# path -> (size, mtime) of a file; NUL + path -> the message of what the listing reported there
Snapshot = dict[str, tuple[int, int] | str]


def parse_duration(text: str) -> float:
    """`15m` → 900.0; plain numbers are seconds. Raises ValueError naming the bad text."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h)")
    return float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]


def vault_snapshot(root: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Snapshot:
    """Size and mtime of every note file a re-ingest would read, and of the vault's `kg-relations.toml`:
    two snapshots differ iff something a re-ingest reads changed. Keys are vault-relative paths.

    The files are those of `ingest.vault.iter_note_files`, the listing `kg ingest` reads, so that
    `--watch` follows its rules: `Note.MD` is a note, hidden files and folders are not, a symlink out
    of the vault is not followed. What that listing reports (a symlink out, a file too large, a folder
    that cannot be listed) counts by its message, under its path behind a NUL (no file name has one):
    a re-ingest reports it too. 0.07 s a poll at 10k notes, against 0.06 s for a walk of its own."""
    problems: list[Problem] = []
    try:
        files = list(iter_note_files(root, problems, max_file_bytes=max_file_bytes))
    except VaultFolderError as exc:  # the folder gone or unreadable: a state of its own, which a run reports
        return {"\0.": str(exc)}
    snap: Snapshot = {file.path: (file.size, file.mtime_ns) for file in files}
    for problem in problems:
        snap[f"\0{problem.path}"] = problem.message
    try:
        config = (root / CONFIG_FILE_NAME).stat()
    except OSError:
        pass
    else:
        snap[CONFIG_FILE_NAME] = (config.st_size, config.st_mtime_ns)
    return snap


def backoff_delays(first: float = 2.0, cap: float = 60.0) -> Callable[[], float]:
    """A generator of growing retry delays (2, 4, 8 … capped), reset by calling with a new instance."""
    state = {"next": first}

    def next_delay() -> float:
        delay = state["next"]
        state["next"] = min(cap, delay * 2)
        return delay

    return next_delay


def wait_for_change(
    root: Path,
    previous: Snapshot,
    *,
    poll_s: float = 1.0,
    debounce_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Snapshot:
    """Block until the vault differs from `previous` and then stays quiet for `debounce_s` seconds."""
    polls = 0
    while True:
        current = vault_snapshot(root, max_file_bytes=max_file_bytes)
        if current != previous:
            # debounce: an editor saving many files, or a git pull, settles before we ingest
            while True:
                sleep(debounce_s)
                settled = vault_snapshot(root, max_file_bytes=max_file_bytes)
                if settled == current:
                    return settled
                current = settled
        polls += 1
        if max_polls is not None and polls >= max_polls:
            return current
        sleep(poll_s)
