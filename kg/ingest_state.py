"""What a one-shot `kg ingest --keep-state` keeps on disk between runs of one vault.

A long-running ingest (`--every`, `--watch`) keeps every note's parse and resolution in memory
(`ingest.vault.ParseCache`) and its digests (`kg.store.sync.NoteDigests`), so that a run after an
edit parses and resolves only what the edit touched. A one-shot run (cron, systemd timers) starts
empty and reads the whole vault again. With `--keep-state` it starts from what the last one kept:
the same two objects, pickled into one file per vault folder under `$KG_HOME/ingest-state/`.

Nothing in the file is trusted beyond what the in-memory cache trusts: each note is taken from it
only when its file's size and mtime (else its SHA-256) are those cached, and a kept resolution only
under the same rules (`ingest.vault.resolve_notes`). The file is used only when a header says the
same kg code (`kg.pipeline.code_digest`), the same Python and the same vault folder wrote it; it is
read only when owned by this user and writable by no one else (unpickling runs code: the folder is
made private). A file that is missing, stale or damaged is reported and the run reads the whole
vault, as without the option.
"""

from __future__ import annotations

import copyreg
import hashlib
import os
import pickle
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.vault import ParseCache, cyclic_gc_paused
from kg.pipeline import code_digest
from kg.store.sync import NoteDigests

# Bumped when what the file holds changes shape beyond what the code digest tells.
STATE_FORMAT = 1
STATE_DIR_NAME = "ingest-state"


@dataclass(slots=True)
class IngestState:
    """What one run kept for the next: pickled as one object, so that the digests' references to the
    notes the cache hands out stay shared (`NoteDigests` reuses a digest at once for the very same objects)."""

    cache: ParseCache
    digests: NoteDigests

    @classmethod
    def empty(cls) -> IngestState:
        return cls(ParseCache(), NoteDigests())


def state_file(state_dir: Path, root: Path) -> Path:
    """The file that keeps the state of the vault folder `root`: its name, for people listing the
    folder, and a digest of its absolute path, so that two folders of the same name differ."""
    folder = root.resolve()
    digest = hashlib.blake2b(str(folder).encode(), digest_size=8).hexdigest()
    name = re.sub(r"[^\w.-]", "_", folder.name)[:40] or "vault"
    return state_dir / f"{name}-{digest}.pickle"


def _header(root: Path) -> dict[str, object]:
    return {
        "format": STATE_FORMAT,
        "kg": code_digest(),
        "python": sys.version,
        "vault": str(root.resolve()),
    }


def load_state(path: Path, root: Path) -> tuple[IngestState | None, str]:
    """The state kept at `path` for the vault at `root`, or None and why it was not used (an empty
    reason when there is no file: nothing to report on a first run)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"{path}: cannot be opened ({exc.strerror or exc})"
    with handle:
        st = os.fstat(handle.fileno())
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None, f"{path}: it must belong to this user and be writable by no one else"
        try:
            header = pickle.load(handle)
            if header != _header(root):
                return None, f"{path}: written by another kg, Python or for another folder"
            with cyclic_gc_paused():  # millions of long-lived objects, as a read makes (see there)
                state = pickle.load(handle)
        except Exception as exc:  # a torn or damaged file: any unpickling error; the run reads it all
            return None, f"{path}: unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(state, IngestState):
        return None, f"{path}: holds a {type(state).__name__}, not an ingest state"
    return state, ""


def _counter_reduced(
    counter: Counter[str],
) -> tuple[Callable[..., object], tuple[type], None, None, Iterator[tuple[str, int]]]:
    """A Counter made as an empty one and filled item by item, all in C when loaded (its own pickling
    calls `Counter.__init__`, Python, once for each of a concept index's ~27k counters at 10k notes:
    40 -> 15 ms)."""
    return (Counter.__new__, (Counter,), None, None, iter(counter.items()))


def save_state(path: Path, root: Path, state: IngestState) -> int:
    """Write `state` for the vault at `root` to `path` (a private folder and file; replaced whole, so
    that a run that dies while writing leaves the previous file). Returns the bytes written; an
    OSError (disk full, read-only folder) is the caller's to report: the graph is written already."""
    state.cache.pack()  # the notes' bodies compressed: a smaller file, read and written faster
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle, cyclic_gc_paused():  # no collection walks it mid-write
            pickle.dump(_header(root), handle, protocol=pickle.HIGHEST_PROTOCOL)
            pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
            reducers: dict[type, Callable[[Any], Any]] = {**copyreg.dispatch_table, Counter: _counter_reduced}
            pickler.dispatch_table = reducers  # copyreg's as they are now, and the Counters' own
            pickler.dump(state)
            size = handle.tell()
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return size


__all__ = ["STATE_DIR_NAME", "STATE_FORMAT", "IngestState", "load_state", "save_state", "state_file"]
