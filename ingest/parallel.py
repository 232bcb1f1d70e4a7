"""Reading and parsing note files in worker processes (`read_vault(jobs=N)`).

Parsing a note depends on that note alone, so a big read hands chunks of files to worker processes
while the reading process parses chunks itself; everything after the parse (links across notes,
concepts, relation rules) stays in the reading process.

A worker is a new interpreter (`python -I -c …`) with the reader's `sys.path`, which imports the
parser and nothing else: not the caller's `__main__` (as `multiprocessing`'s spawn does: `kg` itself
imports typer, the neo4j driver and the API, ~1.7 s before a worker could start), and no copy of the
caller's threads (as a fork would make: the neo4j driver's, a server's). Tasks and results cross
stdin/stdout as length-prefixed pickles between processes of the same code. A worker that cannot
start, fails or dies leaves its chunks to the reading process: the read is the same, only slower.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.vault import NoteFile, NoteFileRead

CHUNK_NOTES = 100  # notes per task: big enough that a task's overhead is small, small enough to even out
AHEAD = 2  # chunks handed to a worker before it returns one: it never waits for the next
_LENGTH = struct.Struct("<Q")
# The worker's whole program: the reader's import path, then serve tasks until stdin closes.
_WORKER_CODE = "import sys; sys.path[:] = sys.argv[1:]; from ingest.parallel import serve; serve()"


def _write_message(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_message(stream: IO[bytes]) -> Any:
    """The next message, or None at the end of the stream."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)


def serve() -> None:
    """A worker: read (chunk number, files, pack) tasks from stdin, answer (chunk number, reads) on
    stdout, or (chunk number, None) when reading them raised (the reader reads them again itself and
    meets the error there)."""
    from ingest.vault import read_note_files

    gc.disable()  # a task's objects all live until it returns them (see `ingest.vault.cyclic_gc_paused`)
    tasks, answers = sys.stdin.buffer, sys.stdout.buffer
    while (task := _read_message(tasks)) is not None:
        number, files, pack = task
        try:
            reads = read_note_files(files, pack)
        except Exception:
            reads = None
        _write_message(answers, (number, reads))
        del reads


class _Worker:
    def __init__(self, inbox: queue.SimpleQueue[tuple[_Worker, Any]]) -> None:
        # "": the current folder, as the reader sees it; anything but a path (possible in sys.path) is left out
        path = [os.fspath(entry) or os.getcwd() for entry in sys.path if isinstance(entry, str | os.PathLike)]
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _WORKER_CODE, *path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.handed: list[int] = []  # chunk numbers sent and not answered yet
        self.alive = True
        self._receiver = threading.Thread(target=self._receive, args=(inbox,), daemon=True)
        self._receiver.start()

    def _receive(self, inbox: queue.SimpleQueue[tuple[_Worker, Any]]) -> None:
        assert self.process.stdout is not None
        with contextlib.suppress(Exception):  # a torn answer is a worker gone: None below
            while (answer := _read_message(self.process.stdout)) is not None:
                inbox.put((self, answer))
        inbox.put((self, None))

    def send(self, task: tuple[int, Sequence[NoteFile], bool]) -> bool:
        assert self.process.stdin is not None
        try:
            _write_message(self.process.stdin, task)
        except OSError:  # the worker is gone
            self.alive = False
        return self.alive

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()  # end of tasks: the worker returns
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._receiver.join(timeout=10)


def read_in_parallel(
    files: Sequence[NoteFile],
    *,
    pack: bool,
    processes: int,
    read_here: Callable[[Sequence[NoteFile], bool], list[NoteFileRead]] | None = None,
) -> list[NoteFileRead]:
    """Read and parse `files` in `processes` processes: `processes - 1` workers are handed chunks from
    the front (`AHEAD` each at a time) while this process takes chunks from the back, until they meet.
    The reads come back in the files' order and are what reading them one by one gives."""
    if read_here is None:
        from ingest.vault import read_note_files

        read_here = read_note_files
    chunks = [files[i : i + CHUNK_NOTES] for i in range(0, len(files), CHUNK_NOTES)]
    if processes < 2 or len(chunks) < 2:
        return read_here(files, pack)
    done: list[list[NoteFileRead] | None] = [None] * len(chunks)
    inbox: queue.SimpleQueue[tuple[_Worker, Any]] = queue.SimpleQueue()
    workers: list[_Worker] = []
    for _ in range(min(processes - 1, len(chunks) - 1)):
        try:
            workers.append(_Worker(inbox))
        except (OSError, ValueError):  # no interpreter to start (an embedded Python), no processes left
            break
    front, back = 0, len(chunks)

    def hand_out(worker: _Worker) -> None:
        nonlocal front
        while worker.alive and front < back and len(worker.handed) < AHEAD:
            if not worker.send((front, chunks[front], pack)):
                return
            worker.handed.append(front)
            front += 1

    def take(worker: _Worker, answer: Any) -> None:
        if answer is None:  # the worker is gone: what it was handed is read here below
            worker.alive = False
            return
        number, reads = answer
        worker.handed.remove(number)
        done[number] = reads  # None: it failed there; read here below, where the error is raised
        hand_out(worker)

    try:
        for worker in workers:
            hand_out(worker)
        while front < back:
            back -= 1
            done[back] = read_here(chunks[back], pack)
            with contextlib.suppress(queue.Empty):
                while True:
                    take(*inbox.get_nowait())
        while any(worker.alive and worker.handed for worker in workers):
            take(*inbox.get())
    finally:
        for worker in workers:
            worker.stop()
    reads: list[NoteFileRead] = []
    for number, chunk in enumerate(done):
        reads.extend(chunk if chunk is not None else read_here(chunks[number], pack))
    return reads
