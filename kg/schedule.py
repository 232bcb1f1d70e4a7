"""Running a job on a schedule or when a vault changes — no extra dependency, works on any mount.

`--watch` polls file metadata (size, mtime) rather than using inotify: it behaves the same on
Docker bind mounts, network shares and macOS, and a vault of 10k notes stats in well under a second.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from ingest.relation_rules import CONFIG_FILE_NAME

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SKIP_DIRS = {".obsidian", ".git", ".trash"}

Snapshot = dict[str, tuple[int, int]]


def parse_duration(text: str) -> float:
    """`15m` → 900.0; plain numbers are seconds. Raises ValueError naming the bad text."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h)")
    return float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]


def vault_snapshot(root: Path) -> Snapshot:
    """Size and mtime of every markdown file and of the vault's `kg-relations.toml`: two snapshots
    differ iff something a re-ingest reads changed. Keys are vault-relative paths."""
    snap: Snapshot = {}
    _snapshot_folder(str(root), "", snap)
    return snap


def _snapshot_folder(folder: str, prefix: str, snap: Snapshot) -> None:
    """`vault_snapshot` of one folder, as `os.walk` would list it (a link to a folder is a folder, not
    followed; a folder that cannot be listed is left out), with `os.scandir`'s entries and the
    relative path built as it goes: a walk and `os.path.relpath` per file took 0.10 s at 10k notes,
    this 0.04 s, in every second of `--watch`."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            if name not in _SKIP_DIRS and not entry.is_symlink():
                _snapshot_folder(entry.path, f"{prefix}{name}{os.sep}", snap)
        elif name.endswith((".md", ".markdown")) or (name == CONFIG_FILE_NAME and not prefix):
            try:
                st = entry.stat()
            except OSError:
                continue
            snap[prefix + name] = (st.st_size, st.st_mtime_ns)


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
) -> Snapshot:
    """Block until the vault differs from `previous` and then stays quiet for `debounce_s` seconds."""
    polls = 0
    while True:
        current = vault_snapshot(root)
        if current != previous:
            # debounce: an editor saving many files, or a git pull, settles before we ingest
            while True:
                sleep(debounce_s)
                settled = vault_snapshot(root)
                if settled == current:
                    return settled
                current = settled
        polls += 1
        if max_polls is not None and polls >= max_polls:
            return current
        sleep(poll_s)
