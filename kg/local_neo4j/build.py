"""Build the Java launcher on first use and cache it under kg's home, keyed by a hash of its source.

The build is `mvn dependency:copy-dependencies` (Neo4j's jars from Maven Central or ~/.m2 into
`<home>/launcher/<key>/lib`) plus `javac` and `jar` of the one launcher class; no Maven
compiler/jar plugins. A changed pom.xml or Java source gives a new key, hence a fresh build beside
the old one. `<key>/cds/` later holds the JVM class-data-sharing archive (see server.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kg.local_neo4j.errors import LocalNeo4jError

LAUNCHER_SOURCE_DIR = Path(__file__).parent / "launcher"
LAUNCHER_MAIN_CLASS = "kg.launcher.KgNeo4j"
JAVA_RELEASE = 17
INSTALL_HINT = "install a JDK 17 and Maven, e.g. `apt-get install openjdk-17-jdk-headless maven`"

# Marks a complete build; written last, so a half-finished directory never counts as built.
_BUILT_MARKER = "BUILT"
# Bumped when the build's output layout changes, so old cache entries are not reused.
_LAYOUT_VERSION = 2
LAUNCHER_JAR = "kg-neo4j-launcher.jar"


@dataclass(frozen=True)
class Launcher:
    """A built launcher: the directory holding the launcher jar and `lib/*.jar`."""

    directory: Path

    @property
    def classpath(self) -> str:
        # Jars only (class-data sharing refuses class directories); the JVM expands `lib/*`.
        return f"{self.directory / LAUNCHER_JAR}:{self.directory / 'lib' / '*'}"

    def cds_dir(self) -> Path:
        return self.directory / "cds"


def require_tool(name: str) -> str:
    """The path of an executable on PATH, or a one-line error saying what to install."""
    found = shutil.which(name)
    if found is None:
        raise LocalNeo4jError(f"`{name}` not found on PATH: {INSTALL_HINT}")
    return found


def launcher_sources(source_dir: Path = LAUNCHER_SOURCE_DIR) -> list[Path]:
    """pom.xml and the Java sources, in a stable order."""
    pom = source_dir / "pom.xml"
    if not pom.is_file():
        raise LocalNeo4jError(f"launcher pom.xml missing at {pom} (broken kg installation)")
    return [pom, *sorted((source_dir / "src").rglob("*.java"))]


def launcher_key(source_dir: Path = LAUNCHER_SOURCE_DIR) -> str:
    """A short hash of the launcher's pom and source (paths and contents) and the javac release."""
    digest = hashlib.sha256(f"release={JAVA_RELEASE};layout={_LAYOUT_VERSION}\n".encode())
    for path in launcher_sources(source_dir):
        digest.update(path.relative_to(source_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_build_step(command: list[str], cwd: Path, log_path: Path, what: str) -> None:
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        completed = subprocess.run(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if completed.returncode != 0:
        raise LocalNeo4jError(
            f"building the Neo4j launcher failed at {what} (exit code {completed.returncode}); see {log_path}"
        )


def ensure_launcher(
    home: Path,
    *,
    source_dir: Path = LAUNCHER_SOURCE_DIR,
    progress: Callable[[str], None] | None = None,
) -> Launcher:
    """The cached launcher for the current source, building it first if needed (safe across processes)."""
    root = home / "launcher"
    target = root / launcher_key(source_dir)
    if (target / _BUILT_MARKER).is_file():
        return Launcher(target)

    with _exclusive_lock(root / ".lock"):
        if (target / _BUILT_MARKER).is_file():  # built by another process while we waited
            return Launcher(target)
        mvn = require_tool("mvn")
        javac = require_tool("javac")
        jar = require_tool("jar")
        if progress is not None:
            progress(f"building the Neo4j launcher into {target} (first use; jars via Maven) ...")
        started = time.monotonic()
        log_path = root / "build.log"
        log_path.write_text("", encoding="utf-8")
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            shutil.copy2(source_dir / "pom.xml", work / "pom.xml")
            shutil.copytree(source_dir / "src", work / "src")
            _run_build_step(
                [
                    mvn,
                    "--batch-mode",
                    "--quiet",
                    "-Dstyle.color=never",
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={work / 'lib'}",
                ],
                work,
                log_path,
                "mvn dependency:copy-dependencies",
            )
            sources = [str(path) for path in sorted((work / "src").rglob("*.java"))]
            _run_build_step(
                [
                    javac,
                    "--release",
                    str(JAVA_RELEASE),
                    "-encoding",
                    "UTF-8",
                    "-cp",
                    str(work / "lib" / "*"),
                    "-d",
                    str(work / "classes"),
                    *sources,
                ],
                work,
                log_path,
                "javac",
            )
            _run_build_step(
                [jar, "--create", "--file", str(work / LAUNCHER_JAR), "-C", str(work / "classes"), "."],
                work,
                log_path,
                "jar",
            )
            (work / _BUILT_MARKER).write_text(f"{time.monotonic() - started:.1f}s\n", encoding="utf-8")
            if target.exists():  # a stale, unfinished build from an interrupted run
                shutil.rmtree(target)
            work.rename(target)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        if progress is not None:
            progress(f"built the Neo4j launcher in {time.monotonic() - started:.1f} s")
    return Launcher(target)
