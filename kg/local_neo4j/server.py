"""Start, stop and inspect a local Neo4j 5.26 Community process (the Java launcher), bound to 127.0.0.1.

One process per data directory. The data directory is the Neo4j home: it holds Neo4j's `data/`
and `logs/`, plus kg's pid file (`kg-neo4j.pid`, JSON) and the process's output (`kg-neo4j.log`).
Nothing here reads the environment: the caller (the CLI, a test fixture) passes every setting in.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kg.local_neo4j.build import (
    INSTALL_HINT,
    LAUNCHER_MAIN_CLASS,
    Launcher,
    ensure_launcher,
    require_tool,
)
from kg.local_neo4j.errors import LocalNeo4jError

PID_FILE_NAME = "kg-neo4j.pid"
LOG_FILE_NAME = "kg-neo4j.log"
LOCK_FILE_NAME = "kg-neo4j.lock"
LOOPBACK = "127.0.0.1"
# The launcher reads the password from this variable: never on the command line (visible in `ps`).
PASSWORD_ENV = "KG_NEO4J_PASSWORD"
MIN_PASSWORD_LENGTH = 8  # Neo4j's dbms.security.auth_minimum_password_length default
MIN_JAVA = 17  # Neo4j 5.26 runs on Java 17 and 21

# What Neo4j 5's own neo4j.conf passes on Java 17; without the opens Netty/the page cache fail to
# link (e.g. "Cannot link java.nio.DirectByteBuffer").
JVM_FLAGS: tuple[str, ...] = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dfile.encoding=UTF-8",
)

_MEMORY_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_JAVA_VERSION = re.compile(r'version "(?:1\.)?([0-9]+)')
_LOG_TAIL_LINES = 25
# Extra seconds a stop may take when the JVM writes its class-data archive on exit (once per
# launcher build and JDK): ~10 s on an idle 2-core machine, ~50 s measured under load 7.
CDS_DUMP_ALLOWANCE_S = 180.0
# How long `start` waits for Bolt after spawning the JVM (the launcher build, with its Maven
# download, comes before and is not counted). A first JVM start, before any class-data archive,
# took 12-16 s on an idle 2-core machine and 74 s under load 8; later starts 6-12 s. A healthy start
# returns as soon as Bolt answers and a JVM that dies is reported at once, so the margin only
# lengthens the wait for a start that hangs.
DEFAULT_START_TIMEOUT_S = 300.0
READY_LINE = "kg-neo4j: ready in "  # printed by the launcher (KgNeo4j.java) after the password is set


@dataclass(frozen=True)
class Neo4jStatus:
    """What the pid file in a data directory says, checked against the live process table."""

    running: bool
    data_dir: Path
    pid: int | None = None
    bolt_uri: str | None = None
    browser_url: str | None = None


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for tests and ad-hoc instances)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True if something listens on host:port (a lingering TIME_WAIT socket does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def _reap_if_child(pid: int) -> bool:
    """Reap pid if it is our exited child; True if it was (it is gone then)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return reaped == pid


def _process_gone(pid: int) -> bool:
    """True once pid has fully exited: reaped if it is our child, else every thread a zombie.

    A JVM's main thread turns zombie before its other threads finish, so a "Z" in /proc/<pid>/stat
    alone does not mean the process is gone (and waitpid cannot reap it yet).
    """
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        return reaped == pid
    except ChildProcessError:
        pass  # not our child: its parent (or init) reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        states = [
            (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
            for task in Path(f"/proc/{pid}/task").iterdir()
        ]
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        return False
    return all(state in ("Z", "X") for state in states)


def _is_launcher_process(pid: int, data_dir: Path) -> bool:
    """True if pid is alive and is the launcher serving data_dir (guards against pid reuse)."""
    if pid <= 0 or _reap_if_child(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else; the command line check below decides
    cmdline_path = Path(f"/proc/{pid}/cmdline")
    try:
        argv = cmdline_path.read_bytes().split(b"\0")
    except FileNotFoundError:
        return False  # exited between the two checks
    except OSError:
        return True  # no /proc to ask: trust the live pid
    if not argv or argv == [b""]:
        return False  # a zombie has an empty command line
    return LAUNCHER_MAIN_CLASS.encode() in argv and os.fsencode(str(data_dir)) in argv


def _log_tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    if not text.strip():
        return "(nothing logged)"
    return "\n".join(text.splitlines()[-lines:])


def _read_log_from(log_path: Path, offset: int) -> str:
    try:
        with log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _startup_failure_line(text: str) -> str | None:
    """The launcher's one-line reason ("kg-neo4j: startup failed: ..."), if it wrote one."""
    reasons = [line for line in text.splitlines() if line.startswith("kg-neo4j: startup failed: ")]
    return reasons[-1].removeprefix("kg-neo4j: startup failed: ") if reasons else None


def _java_version(java: str) -> str:
    """What `java -version` says (it writes to stderr)."""
    completed = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    return completed.stderr + completed.stdout


def _java_major(version_text: str) -> int | None:
    match = _JAVA_VERSION.search(version_text)
    return int(match.group(1)) if match else None


def _class_data_sharing(launcher: Launcher, java_version: str) -> tuple[list[str], Path, Path | None]:
    """JVM flags for class-data sharing: use the archive if there is one, else dump one at exit.

    Loading Neo4j's ~200 jars dominates a cold start; a dynamic CDS archive of the classes a
    previous run loaded cut the launcher's start-up by 30-70% in our measurements (more on a busy
    machine: 74 s -> 18-21 s under load 8 on 2 cores). The archive is only valid for the
    same JVM build and classpath, hence one per launcher build and per `java -version`. A dump
    goes to a unique file first and becomes the archive in `stop()`, once its JVM has exited.
    """
    cds_dir = launcher.cds_dir()
    cds_dir.mkdir(parents=True, exist_ok=True)
    archive = cds_dir / f"jdk-{hashlib.sha256(java_version.encode()).hexdigest()[:12]}.jsa"
    # CDS logs a warning per class it cannot archive (signed jars, old class versions): >1000 lines.
    quiet = "-Xlog:cds=off"
    if archive.is_file():
        return [quiet, f"-XX:SharedArchiveFile={archive}"], archive, None
    dump = cds_dir / f"dump-{secrets.token_hex(6)}.jsa"
    return [quiet, f"-XX:ArchiveClassesAtExit={dump}"], archive, dump


def _promote_cds_dump(record: dict[str, object]) -> None:
    """After the JVM that dumped an archive has exited: keep its dump as the archive, or drop it."""
    dump, archive = record.get("cds_dump"), record.get("cds_archive")
    if not isinstance(dump, str) or not isinstance(archive, str) or not Path(dump).is_file():
        return
    if Path(archive).exists():
        Path(dump).unlink(missing_ok=True)
    else:
        Path(dump).replace(archive)


class LocalNeo4j:
    """A local Neo4j Community served from `data_dir` on 127.0.0.1.

    `home` is kg's own state directory (the launcher build is cached in `home/launcher/`).
    `http_port=None` leaves the HTTP connector (and Neo4j Browser at /browser/) off.
    The password is set on the `neo4j` user at every start, so changing it takes effect on restart.
    """

    def __init__(
        self,
        *,
        home: Path,
        data_dir: Path,
        bolt_port: int,
        password: str,
        http_port: int | None = None,
        heap: str = "2g",
        pagecache: str = "2g",
        user: str = "neo4j",
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.home = home.expanduser().absolute()
        self.data_dir = data_dir.expanduser().absolute()
        self.bolt_port = bolt_port
        self.http_port = http_port
        self.heap = heap
        self.pagecache = pagecache
        self.user = user
        self._password = password
        self._progress = progress
        self._process: subprocess.Popen[bytes] | None = None
        self._cds_dump: Path | None = None
        self._log_offset = 0  # where this start's output begins in the (appended) log

    def __repr__(self) -> str:  # the password stays out of reprs and tracebacks
        return (
            f"LocalNeo4j(data_dir={str(self.data_dir)!r}, bolt_port={self.bolt_port}, "
            f"http_port={self.http_port}, heap={self.heap!r}, pagecache={self.pagecache!r})"
        )

    @property
    def pid_file(self) -> Path:
        return self.data_dir / PID_FILE_NAME

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{LOOPBACK}:{self.bolt_port}"

    @property
    def browser_url(self) -> str | None:
        return None if self.http_port is None else f"http://{LOOPBACK}:{self.http_port}/browser/"

    # --- status -------------------------------------------------------------------------------

    def _read_pid_file(self) -> dict[str, object] | None:
        try:
            record = json.loads(self.pid_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable/garbled: treated as stale
        return record if isinstance(record, dict) else {}

    def status(self) -> Neo4jStatus:
        """Running or not, from the pid file and the process table; a stale pid file is removed."""
        record = self._read_pid_file()
        if record is None:
            return Neo4jStatus(running=False, data_dir=self.data_dir)
        pid = record.get("pid")
        if not isinstance(pid, int) or not _is_launcher_process(pid, self.data_dir):
            with contextlib.suppress(FileNotFoundError):
                self.pid_file.unlink()
            return Neo4jStatus(running=False, data_dir=self.data_dir)
        bolt_port = record.get("bolt_port")
        http_port = record.get("http_port")
        return Neo4jStatus(
            running=True,
            data_dir=self.data_dir,
            pid=pid,
            bolt_uri=f"bolt://{LOOPBACK}:{bolt_port}" if isinstance(bolt_port, int) else None,
            browser_url=f"http://{LOOPBACK}:{http_port}/browser/" if isinstance(http_port, int) else None,
        )

    # --- start --------------------------------------------------------------------------------

    def _validate(self) -> None:
        if len(self._password) < MIN_PASSWORD_LENGTH:
            raise LocalNeo4jError(
                f"the Neo4j password must be at least {MIN_PASSWORD_LENGTH} characters (set NEO4J_PASSWORD)"
            )
        for name, size in (("heap", self.heap), ("page cache", self.pagecache)):
            if not _MEMORY_SIZE.match(size):
                raise LocalNeo4jError(f"bad {name} size {size!r}: use e.g. 512m or 2g")
        ports = [self.bolt_port] if self.http_port is None else [self.bolt_port, self.http_port]
        for port in ports:
            if not 1 <= port <= 65535:
                raise LocalNeo4jError(f"bad port {port}: must be 1-65535")
        if self.http_port == self.bolt_port:
            raise LocalNeo4jError(f"the Bolt and HTTP ports must differ (both {self.bolt_port})")

    def start(self, timeout: float = DEFAULT_START_TIMEOUT_S) -> str:
        """Start Neo4j in the background and return its Bolt URI once `RETURN 1` answers over Bolt."""
        self._validate()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _NonBlockingLock(self.data_dir / LOCK_FILE_NAME, self.data_dir):
            current = self.status()
            if current.running:
                raise LocalNeo4jError(
                    f"Neo4j is already running for data dir {self.data_dir} "
                    f"(pid {current.pid}, {current.bolt_uri}); stop it first with `kg neo4j stop`"
                )
            java = require_tool("java")
            java_version = _java_version(java)
            major = _java_major(java_version)
            if major is not None and major < MIN_JAVA:
                raise LocalNeo4jError(f"Neo4j 5.26 needs Java {MIN_JAVA}+, found Java {major}: {INSTALL_HINT}")
            ports = [("Bolt", self.bolt_port)]
            if self.http_port is not None:
                ports.append(("HTTP", self.http_port))
            for name, port in ports:
                if port_in_use(port):
                    raise LocalNeo4jError(
                        f"{name} port {port} on {LOOPBACK} is already in use; choose another with "
                        + ("--port" if name == "Bolt" else "--http-port, or use --no-browser")
                    )
            launcher = ensure_launcher(self.home, progress=self._progress)
            self._spawn(java, launcher, java_version)
            try:
                self._wait_until_ready(timeout)
            except KeyboardInterrupt:
                # Ctrl-C while waiting: do not leave a half-started server behind.
                self._abandon_start()
                raise
        return self.bolt_uri

    def _command(self, java: str, launcher: Launcher, extra_jvm_flags: list[str]) -> list[str]:
        command = [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *JVM_FLAGS,
            *extra_jvm_flags,
            "-cp",
            launcher.classpath,
            LAUNCHER_MAIN_CLASS,
            "--home",
            str(self.data_dir),
            "--bolt-port",
            str(self.bolt_port),
            "--pagecache",
            self.pagecache,
        ]
        if self.http_port is not None:
            command += ["--http-port", str(self.http_port)]
        return command

    def _spawn(self, java: str, launcher: Launcher, java_version: str) -> None:
        env = {**os.environ, PASSWORD_ENV: self._password}
        cds_flags, cds_archive, self._cds_dump = _class_data_sharing(launcher, java_version)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- kg neo4j start {time.strftime('%Y-%m-%d %H:%M:%S%z')}: {self!r} ---\n".encode())
            log.flush()
            self._log_offset = log.tell()
            # A new session: the server outlives the CLI and ignores its terminal's Ctrl-C.
            self._process = subprocess.Popen(
                self._command(java, launcher, cds_flags),
                cwd=self.data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        record = {
            "pid": self._process.pid,
            "bolt_port": self.bolt_port,
            "http_port": self.http_port,
            "cds_archive": str(cds_archive),
            "cds_dump": None if self._cds_dump is None else str(self._cds_dump),
        }
        tmp = self.pid_file.with_suffix(".pid.tmp")
        tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
        tmp.replace(self.pid_file)

    def _bolt_answers(self) -> bool:
        # Imported here: the driver is only needed to probe a starting server.
        import neo4j
        from neo4j.exceptions import DriverError, Neo4jError

        try:
            driver = neo4j.GraphDatabase.driver(self.bolt_uri, auth=(self.user, self._password), connection_timeout=2.0)
            # One attempt per probe: session.run does not retry (execute_query backs off for 30 s).
            with driver, driver.session(database="neo4j") as session:
                record = session.run("RETURN 1 AS one").single()
                return record is not None and record["one"] == 1
        except (DriverError, Neo4jError, OSError):
            # Not listening yet, or the password is not set yet on a first start.
            return False

    def _wait_until_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        launcher_ready = False
        while True:
            exit_code = self._process.poll()
            if exit_code is not None:
                self._forget_start()
                reason = _startup_failure_line(_read_log_from(self.log_file, self._log_offset))
                raise LocalNeo4jError(
                    f"Neo4j exited during startup (exit code {exit_code})"
                    + (f": {reason}" if reason else "")
                    + f"; log: {self.log_file}",
                    details=_log_tail(_read_log_from(self.log_file, self._log_offset)),
                )
            # The launcher says "ready" once the password is set; probing Bolt before that would
            # only collect auth failures (and Neo4j locks the user after three of them).
            launcher_ready = launcher_ready or READY_LINE in _read_log_from(self.log_file, self._log_offset)
            if launcher_ready and self._bolt_answers():
                return
            if time.monotonic() >= deadline:
                self._abandon_start()
                raise LocalNeo4jError(
                    f"Neo4j did not answer on {self.bolt_uri} within {timeout:.0f} s (stopped it); "
                    f"log: {self.log_file}",
                    details=_log_tail(_read_log_from(self.log_file, self._log_offset)),
                )
            time.sleep(0.5)

    def _abandon_start(self) -> None:
        if self._process is not None and not self._terminate(self._process.pid, timeout=30.0):
            self._process.kill()
            self._process.wait()
        self._forget_start()

    def _forget_start(self) -> None:
        """After a failed start: no pid file, and no class-data dump of a half-started JVM."""
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        if self._cds_dump is not None:
            self._cds_dump.unlink(missing_ok=True)

    # --- stop ---------------------------------------------------------------------------------

    def _terminate(self, pid: int, timeout: float) -> bool:
        """SIGTERM (the launcher's shutdown hook stops the DBMS cleanly) and wait; True if it exited."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=0.2)
                if self._process.returncode is not None:
                    return True
            elif _process_gone(pid):
                return True
            else:
                time.sleep(0.2)
        return False

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the Neo4j serving this data dir; False if none was running. Data stays on disk."""
        current = self.status()
        record = self._read_pid_file() or {}
        if not current.running or current.pid is None:
            return False
        if isinstance(record.get("cds_dump"), str):
            timeout += CDS_DUMP_ALLOWANCE_S
            if self._progress is not None:
                self._progress("first stop of this launcher build: the JVM also writes a class-data archive ...")
        if not self._terminate(current.pid, timeout):
            raise LocalNeo4jError(
                f"Neo4j (pid {current.pid}) did not stop within {timeout:.0f} s; "
                f"see {self.log_file}, or kill it with `kill -9 {current.pid}`"
            )
        _promote_cds_dump(record)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        self._process = None
        return True


class _NonBlockingLock(contextlib.AbstractContextManager[None]):
    """An flock held while one `start` runs, so two concurrent starts on one data dir cannot race."""

    def __init__(self, path: Path, data_dir: Path) -> None:
        self._path = path
        self._data_dir = data_dir
        self._handle: IO[str] | None = None

    def __enter__(self) -> None:
        self._handle = self._path.open("a")
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            raise LocalNeo4jError(f"another `kg neo4j start` is in progress for data dir {self._data_dir}") from None

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
