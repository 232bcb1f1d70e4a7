"""Run all of kg's benchmarks at a chosen size and print medians (see BENCHMARKS.md).

    .venv/bin/python -m bench.run --size 10000

`--size N` (default 10000) sets every figure's scale the way issue 7 states it at N = 10,000:
parse on N/5 and N notes (kg vs obsidiantools), full ingest of N, UNWIND sync vs naive neomodel
writes on N/10, incremental re-ingest after editing one note of N, and learningPath over HTTP (then
the first-time latency of every other kind of query) plus the peak RSS of the ingest on 5N. Vaults
come from bench/generate_vault.py (deterministic, cached under --workdir). Neo4j: a LocalNeo4j of
its own (free port, data dir under --workdir, heap and page cache 2g), stopped at the end; or an
existing server with --neo4j-uri (it is WIPED).
Results are printed as a table and written to --workdir/results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.generate_vault import generate, load_manifest
from kg.console import DRIVER_EXTRAS_KG_DOES_NOT_USE

if TYPE_CHECKING:
    from neo4j import Driver

SECTIONS = ("parse", "naive", "ingest", "incremental", "big", "http")
PASSWORD = "kg-bench-password"
WIPE = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem_gb, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": os.getloadavg(),
    }


# --- Neo4j ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def neo4j_server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.neo4j_uri:
        yield args.neo4j_uri, args.neo4j_password
        return
    from kg.local_neo4j import LocalNeo4j, find_free_port
    from kg.settings import Settings

    data_dir = args.workdir / "neo4j-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    server = LocalNeo4j(
        home=Settings().home,
        data_dir=data_dir,
        bolt_port=find_free_port(),
        password=PASSWORD,
        heap=args.heap,
        pagecache=args.pagecache,
    )
    log(f"starting Neo4j ({server!r})")
    uri = server.start(timeout=600)
    try:
        yield uri, PASSWORD
    finally:
        log("stopping Neo4j")
        server.stop()


def wipe(driver: Driver) -> None:
    with driver.session() as session:
        session.run(WIPE).consume()


def neo4j_version(driver: Driver) -> str:
    with driver.session() as session:
        rec = session.run("CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition").single()
    return f"{rec['v']} {rec['edition']}" if rec else "?"


# --- workers (run in child processes, print one JSON line) ---------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child
    would start from its parent's RSS at the fork (111 MB here, where kg's imports take 57)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# This venv has numpy and pandas for obsidiantools (the `bench` extra) only, and the neo4j driver
# imports them whenever they are installed (~50 MB of RSS before any work: 101 against 52 MB). kg does not depend on
# them and the `kg` process hides them (`kg.console`), so the ingest worker hides them too: its peak RSS is that of
# `kg ingest`.
NOT_KG_DEPENDENCIES = DRIVER_EXTRAS_KG_DOES_NOT_USE


# `kg` as a process, as installed: the console script's own entry point, which keeps the driver from
# importing the bench extra's numpy and pandas (`kg.console`).
KG_AS_INSTALLED = "import sys\nfrom kg.console import main\nsys.argv[0] = 'kg'\nmain()\n"


def worker_ingest(vault: str, uri: str, password: str) -> dict[str, Any]:
    for name in NOT_KG_DEPENDENCIES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: `import name` raises ImportError
    from neo4j import GraphDatabase

    from kg.pipeline import ingest_vault

    imported_rss_mb = peak_rss_mb()
    driver = GraphDatabase.driver(uri, auth=("neo4j", password))
    try:
        started = time.perf_counter()
        result = ingest_vault(driver, Path(vault), vault_name="bench", jobs=None)  # as `kg ingest`
        total = time.perf_counter() - started
    finally:
        driver.close()
    return {
        "seconds": total,
        "parse_seconds": result.parse_seconds,
        "sync_seconds": result.report.seconds,
        "maxrss_mb": peak_rss_mb(),
        # The parse's worker processes, gone before this one's peak (the rules, the sync). Linux
        # carries ru_maxrss across exec, so a child's may start from this process's RSS: an upper bound.
        "parse_workers_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "imported_rss_mb": imported_rss_mb,  # the interpreter with kg and the driver imported
        "notes": result.report.notes_total,
        "relations": result.report.relations_written,
        "concepts": result.report.concepts_written,
        "summary": result.report.summary(),
    }


def worker_obsidiantools(vault: str) -> dict[str, Any]:
    import obsidiantools.api as otools  # type: ignore[import-untyped]

    started = time.perf_counter()
    v = otools.Vault(Path(vault)).connect().gather()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "notes": len(v.md_file_index)}


def run_worker(args: list[str], timeout: float | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.run", "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(data, dict)
    return data


# --- benchmarks ----------------------------------------------------------------------------------


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_parse(vault: Path, repeat: int, ot_repeat: int, ot_timeout: float) -> dict[str, Any]:
    import ingest.vault as vault_module
    from ingest.vault import read_vault

    n = int(load_manifest(vault)["notes"])  # type: ignore[call-overload]
    # kg as `kg ingest` and `kg export` read (one process per CPU), and in one process
    kg_times, one_times = [], []
    for i in range(repeat):
        kg_times.append(timed(lambda: read_vault(vault, jobs=None)))
        one_times.append(timed(lambda: read_vault(vault, jobs=1)))
        log(f"  kg read_vault {n}: {kg_times[-1]:.2f}s, one process {one_times[-1]:.2f}s (run {i + 1}/{repeat})")
    out: dict[str, Any] = {
        "notes": n,
        "processes": vault_module.processes_for(None, n),
        "kg_seconds": median(kg_times),
        "kg_runs": kg_times,
        "kg_notes_per_s": n / median(kg_times),
        "kg_one_process_seconds": median(one_times),
        "kg_one_process_runs": one_times,
    }
    ot_times: list[float] = []
    for i in range(ot_repeat):
        try:
            ot_times.append(run_worker(["obsidiantools", str(vault)], timeout=ot_timeout)["seconds"])
            log(f"  obsidiantools {n}: {ot_times[-1]:.2f}s (run {i + 1}/{ot_repeat})")
        except subprocess.TimeoutExpired:
            log(f"  obsidiantools {n}: over {ot_timeout:.0f}s, stopped")
            out["obsidiantools_timeout_s"] = ot_timeout
            break
        except RuntimeError as exc:
            log(f"  obsidiantools {n}: {exc}")
            out["obsidiantools_error"] = str(exc)[-500:]
            break
    if ot_times:
        out["obsidiantools_seconds"] = median(ot_times)
        out["obsidiantools_runs"] = ot_times
        out["obsidiantools_notes_per_s"] = n / median(ot_times)
        out["ratio"] = median(ot_times) / median(kg_times)
        out["ratio_one_process"] = median(ot_times) / median(one_times)
    return out


def bench_naive(driver: Driver, vault: Path, repeat: int) -> dict[str, Any]:
    from bench.naive_neomodel import write_naive
    from ingest.vault import read_vault
    from kg.store.sync import VaultSync

    graph = read_vault(vault)
    wipe(driver)
    VaultSync(driver).sync("bench", str(vault), graph)  # warm-up: Neo4j plans and caches the queries
    unwind: list[float] = []
    for _ in range(repeat):
        wipe(driver)
        unwind.append(timed(lambda: VaultSync(driver).sync("bench", str(vault), graph)))
        log(f"  UNWIND sync {len(graph.notes)} notes: {unwind[-1]:.2f}s")
    with driver.session() as session:
        rec = session.run("MATCH (n) WITH count(n) AS nodes MATCH ()-[r]->() RETURN nodes, count(r) AS rels").single()
    counts = {"nodes": rec["nodes"], "rels": rec["rels"]} if rec else {}
    wipe(driver)
    written: dict[str, int] = {}

    def naive() -> None:
        written.update(write_naive(driver, "bench", graph))

    naive_s = timed(naive)
    log(f"  naive neomodel {len(graph.notes)} notes: {naive_s:.2f}s {written}")
    wipe(driver)
    return {
        "notes": len(graph.notes),
        "unwind_seconds": median(unwind),
        "unwind_runs": unwind,
        "unwind_graph": counts,
        "naive_seconds": naive_s,
        "naive_written": written,
        "ratio": naive_s / median(unwind),
    }


def bench_ingest(driver: Driver, vault: Path, uri: str, password: str, repeat: int) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        wipe(driver)
        runs.append(run_worker(["ingest", str(vault), uri, password]))
        r = runs[-1]
        log(
            f"  full ingest: {r['seconds']:.1f}s (parse {r['parse_seconds']:.1f}s, sync {r['sync_seconds']:.1f}s), "
            f"RSS {r['maxrss_mb']:.0f} MB ({r['imported_rss_mb']:.0f} MB once imported) (run {i + 1}/{repeat}) "
            f"{r['summary']}"
        )
    return {
        "notes": runs[-1]["notes"],
        "seconds": median([r["seconds"] for r in runs]),
        "parse_seconds": median([r["parse_seconds"] for r in runs]),
        "sync_seconds": median([r["sync_seconds"] for r in runs]),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "imported_rss_mb": max(r["imported_rss_mb"] for r in runs),
        "parse_workers_maxrss_mb": max(r["parse_workers_maxrss_mb"] for r in runs),
        "relations": runs[-1]["relations"],
        "summary": runs[-1]["summary"],
        "runs": [r["seconds"] for r in runs],
    }


def bench_incremental(driver: Driver, vault: Path, repeat: int, uri: str, password: str) -> dict[str, Any]:
    """Vault already ingested: edit one note, re-ingest in-process (parse + sync), then a no-op run.

    As a one-shot `kg ingest` (cron) reads the vault, then with the `ParseCache` that
    `kg ingest --every/--watch` keep across runs (unchanged notes are neither parsed nor resolved
    again), started as the CLI starts: one full run, then a full garbage collection."""
    import gc

    from ingest.vault import ParseCache
    from kg.pipeline import ingest_vault
    from kg.store.sync import NoteDigests

    manifest = load_manifest(vault)
    candidates = [str(p) for p in manifest["edit_candidates"]]  # type: ignore[attr-defined]
    known = [str(t) for t in manifest["targets"]]  # type: ignore[attr-defined]  # concepts with notes
    cache, digests = ParseCache(), NoteDigests()
    ingest_vault(driver, vault, vault_name="bench", jobs=None)  # the database matches the files
    # one-shot and watch: an edit that links two new concepts (names of its own: up to 2026-12-02 the
    # watch edit named the concepts the one-shot edits had added, so it linked known names);
    # watch-known: links to two concepts the vault has notes about; watch-prose: a sentence, no name
    # watch-add: a new note (beside an edit candidate) that links two concepts the vault has notes about
    modes: dict[str, list[dict[str, float]]] = {
        "one-shot": [], "watch": [], "watch-known": [], "watch-prose": [], "watch-add": [],
    }  # fmt: skip
    originals: dict[Path, tuple[bytes, int]] = {}
    added: list[Path] = []  # notes the runs wrote, removed at the end
    env = dict(os.environ, NEO4J_URI=uri, NEO4J_USER="neo4j", NEO4J_PASSWORD=password)
    cli = [sys.executable, "-c", KG_AS_INSTALLED, "ingest", str(vault), "--name", "bench"]
    kept_state: list[dict[str, float]] = []
    try:
        for mode, runs in modes.items():
            if mode == "watch":  # `kg ingest --watch` starts: a full run, then gc.collect()
                ingest_vault(driver, vault, vault_name="bench", cache=cache, digests=digests, jobs=None)
                gc.collect()
            for i in range(repeat):
                path = vault / candidates[(len(modes) * i + list(modes).index(mode)) % len(candidates)]
                first, second = known[(2 * i) % len(known)], known[(2 * i + 1) % len(known)]  # with notes
                if mode == "watch-add":
                    _add_note(path.with_name(f"Added Note {i}.md"), f"新笔记: [[{first}]] 基于 [[{second}]]。", added)
                elif mode == "watch-prose":
                    _append_to_note(path, f"More notes {i}, written while reading the paper again.", originals)
                elif mode == "watch-known":
                    _append_to_note(path, f"编辑 {i}: now also see [[{first}]] and 基于 [[{second}]]。", originals)
                else:
                    topic, other = f"Edited Topic {mode} {i}", f"Another Edit {mode} {i}"
                    _append_to_note(
                        path, f"编辑 {mode} {i}: now also see [[{topic}]] and 基于 [[{other}]]。", originals
                    )
                started = time.perf_counter()
                watch = mode.startswith("watch")
                result = ingest_vault(
                    driver,
                    vault,
                    vault_name="bench",
                    cache=cache if watch else None,
                    digests=digests if watch else None,
                    jobs=None,  # as `kg ingest` reads
                )
                total = time.perf_counter() - started
                runs.append(
                    {
                        "seconds": total,
                        "parse": result.parse_seconds,
                        "sync": result.report.seconds,
                        "changed": result.report.notes_changed,
                    }
                )
                log(
                    f"  edit one note ({mode}): {total:.2f}s (parse {result.parse_seconds:.2f}s, "
                    f"sync {result.report.seconds:.2f}s, changed={result.report.notes_changed})"
                )
        kept_state = _kept_state_runs(cli, env, vault, candidates, repeat, originals, added)
    finally:
        for path, (data, mtime_ns) in originals.items():  # bytes and mtimes as generated
            path.write_bytes(data)
            os.utime(path, ns=(mtime_ns, mtime_ns))
        for path in added:
            path.unlink(missing_ok=True)
    restore = ingest_vault(driver, vault, vault_name="bench")
    started = time.perf_counter()
    noop = ingest_vault(driver, vault, vault_name="bench")
    noop_s = time.perf_counter() - started
    log(
        f"  no-op re-ingest: {noop_s:.2f}s (restore run changed={restore.report.notes_changed}, "
        f"no-op counters={noop.report.counters})"
    )
    # `kg ingest VAULT` as cron runs it: the first run stores the files' fingerprint, the second finds
    # them as they were and reads nothing
    cli_s: list[float] = []
    for _ in range(3):
        started = time.perf_counter()
        done = subprocess.run(cli, env=env, capture_output=True, text=True, check=True)
        cli_s.append(time.perf_counter() - started)
        log(f"  kg ingest (process): {cli_s[-1]:.2f}s: {done.stderr.strip().splitlines()[-1][:120]}")
    kept_edits, kept_adds = kept_state["edit"], kept_state["add"]
    figures: dict[str, Any] = {}
    for mode, runs in modes.items():  # watch-known: watch_known_seconds, ...; the one-shot's unprefixed
        figures.update(_timed_runs("" if mode == "one-shot" else f"{mode.replace('-', '_')}_", runs))
    return {
        **figures,
        "noop_seconds": noop_s,
        "noop_counters": noop.report.counters,
        "cli_full_seconds": cli_s[0],
        "cli_unchanged_seconds": median(cli_s[1:]),
        "kept_state_seconds": median([r["seconds"] for r in kept_edits]),
        "kept_state_written_seconds": median([r["seconds"] - r["save"] for r in kept_edits]),
        "kept_state_load_seconds": median([r["load"] for r in kept_edits]),
        "kept_state_parse_seconds": median([r["parse"] for r in kept_edits]),
        "kept_state_sync_seconds": median([r["sync"] for r in kept_edits]),
        "kept_state_save_seconds": median([r["save"] for r in kept_edits]),
        "kept_state_saves": sum(1 for r in kept_edits if r["mb"]),
        "kept_state_mb": max(r["mb"] for r in kept_edits + kept_adds),
        "kept_state_maxrss_mb": max(r["maxrss_mb"] for r in kept_edits + kept_adds),
        "kept_state_runs": kept_edits,
        "kept_state_add_seconds": median([r["seconds"] for r in kept_adds]),
        "kept_state_add_written_seconds": median([r["seconds"] - r["save"] for r in kept_adds]),
        "kept_state_add_runs": kept_adds,
    }


def _add_note(path: Path, body: str, added: list[Path]) -> None:
    """A new note titled after its file, listed in `added` for the caller to remove."""
    added.append(path)
    path.write_text(f"# {path.stem}\n\n{body}\n", encoding="utf-8")


def _append_to_note(path: Path, paragraph: str, originals: dict[Path, tuple[bytes, int]]) -> None:
    """Append a paragraph to a note; its first bytes and mtime go into `originals` for the caller to restore."""
    originals.setdefault(path, (path.read_bytes(), path.stat().st_mtime_ns))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n\n{paragraph}\n")


def _timed_runs(prefix: str, runs: list[dict[str, float]]) -> dict[str, Any]:
    """The medians of runs timed in process (total, parse, sync), under `prefix`, and the runs."""
    return {
        f"{prefix}seconds": median([r["seconds"] for r in runs]),
        f"{prefix}parse_seconds": median([r["parse"] for r in runs]),
        f"{prefix}sync_seconds": median([r["sync"] for r in runs]),
        f"{prefix}runs": runs,
    }


_KEPT_LOADED = re.compile(r"kept state of \d+ notes loaded from .* in ([\d.]+)s")
_KEPT_SAVED = re.compile(r"kept state \(([\d.]+) MB\) saved to .* in ([\d.]+)s")
_RUN_TIMES = re.compile(r" time=([\d.]+)s parse=([\d.]+)s")
_KEPT_NOT_SAVED = "kept state not saved again"


def _kept_state_runs(
    cli: list[str], env: dict[str, str], vault: Path, candidates: list[str], repeat: int,
    originals: dict[Path, tuple[bytes, int]], added: list[Path],
) -> dict[str, list[dict[str, float]]]:  # fmt: skip
    """`kg ingest VAULT --keep-state` as cron runs it, each a process: one run keeps the state, then
    each edit's run (two new concepts linked) loads it, reads, syncs and saves it again when the vault
    drifted from it enough (`kg.cli.ingest.ONE_SHOT_SAVE_SHARE`); then as many runs each after a note
    is added. Its KG_HOME is a new folder. The edited files go into `originals`, the added ones into
    `added`, for the caller to restore."""
    home = Path(tempfile.mkdtemp(prefix="kg-bench-home-"))
    kept_env = dict(env, KG_HOME=str(home))
    command = [*cli, "--keep-state"]
    runs: dict[str, list[dict[str, float]]] = {"edit": [], "add": []}
    try:
        subprocess.run(command, env=kept_env, capture_output=True, text=True, check=True)
        for kind, kind_runs in runs.items():
            for i in range(repeat):
                path = vault / candidates[(7 * i + 3) % len(candidates)]
                if kind == "add":
                    _add_note(path.with_name(f"Cron Added {i}.md"), f"新笔记 {i}: see [[Cron Topic {i}]].", added)
                else:
                    _append_to_note(
                        path, f"编辑 cron {i}: also see [[Cron Topic {i}]] and 基于 [[Cron Edit {i}]]。", originals
                    )
                kind_runs.append(_kept_state_run(command, kept_env, kind))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return runs


def _kept_state_run(command: list[str], env: dict[str, str], kind: str) -> dict[str, float]:
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        text = stderr.read()
    loaded, saved, times = _KEPT_LOADED.search(text), _KEPT_SAVED.search(text), _RUN_TIMES.search(text)
    if child.returncode != 0 or not (loaded and times and (saved or _KEPT_NOT_SAVED in text)):
        raise RuntimeError(f"kg ingest --keep-state failed (exit {child.returncode}):\n{text}")
    run = {
        "seconds": seconds,
        "load": float(loaded.group(1)),
        "parse": float(times.group(2)),
        "sync": float(times.group(1)),
        "save": float(saved.group(2)) if saved else 0.0,
        "mb": float(saved.group(1)) if saved else 0.0,  # 0: not saved
        "maxrss_mb": usage.ru_maxrss / 1024,
    }
    saving = f"save {run['save']:.2f}s of {run['mb']:.0f} MB" if saved else "not saved"
    log(
        f"  kg ingest --keep-state (process) after {'a note added' if kind == 'add' else 'an edit'}: {seconds:.2f}s "
        f"(load {run['load']:.2f}s, parse {run['parse']:.2f}s, sync {run['sync']:.2f}s, {saving}; "
        f"peak RSS {run['maxrss_mb']:.0f} MB)"
    )
    return run


def _wait_http(url: str, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s")


# (label, document, clients, mode) of each HTTP run, in order. The headline figures are the outline
# document (what a client showing a path asks); the full document is what `kg path --json` asks.
# The server keeps answers per graph version, so the figures depend on whether a question was
# asked before: mode "" asks each target for the first time (1 client, as many requests as
# targets), "warm" asks every target once before timing (the steady state between two ingests),
# "uncached" makes every question new (the cost of computing every answer).
HTTP_RUNS = (
    ("single", "outline", 1, ""),
    ("concurrent_warm", "outline", 8, "warm"),
    ("concurrent_uncached", "outline", 8, "uncached"),
    ("single_full", "full", 1, "uncached"),
    ("concurrent_full_warm", "full", 8, "warm"),
)


def bench_http(
    uri: str, password: str, vault: Path, duration: float, single_requests: int, workers: int = 1
) -> dict[str, Any]:
    from kg.local_neo4j import find_free_port

    port = find_free_port()
    env = dict(os.environ, NEO4J_URI=uri, NEO4J_USER="neo4j", NEO4J_PASSWORD=password, KG_GRAPHIQL="false")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "kg.api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{port}/readyz", 120)
        url = f"http://127.0.0.1:{port}/graphql"
        manifest = str(vault / ".bench-manifest.json")
        load = [sys.executable, "-m", "bench.load", "--url", url, "--targets-file", manifest]

        def run_load(extra: list[str], timeout: float) -> dict[str, Any]:
            proc = subprocess.run([*load, *extra], capture_output=True, text=True, timeout=timeout, check=True)
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            assert isinstance(data, dict)
            return data

        n_targets = len(json.loads(Path(manifest).read_text(encoding="utf-8"))["targets"])
        out: dict[str, Any] = {"workers": workers}
        for label, document, clients, mode in HTTP_RUNS:
            extra = ["--document", document, "--clients", str(clients), "--duration", str(duration)]
            if clients == 1:  # first-time questions only: at most one request per target
                extra += ["--max-requests", str(min(single_requests, n_targets) if not mode else single_requests)]
            if mode:
                extra.append(f"--{mode.replace('warm', 'warm-all')}")
            out[label] = run_load(extra, duration + 1200 if mode == "warm" else duration + 120)
            out[label]["load_avg"] = os.getloadavg()
            log(f"  {label}: {out[label]}")
        # the other queries, each asked for the first time (bench/queries.py), one client
        queries = [sys.executable, "-m", "bench.queries", "--url", url, "--neo4j", uri, "--password", password]
        proc = subprocess.run(queries, capture_output=True, text=True, timeout=1800, check=True)
        out["queries"] = json.loads(proc.stdout.strip().splitlines()[-1])
        log(f"  queries: {out['queries']}")
        return out
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- report --------------------------------------------------------------------------------------


# The report's rows of the edits timed in process (`bench_incremental`): key prefix, label, goal.
_MODE_ROWS = (
    ("", "incremental: one note edited", "goal ≤ 2 s"),
    ("watch_", "  same, ParseCache kept (--every/--watch), two new concepts", "goal ≤ 2 s"),
    ("watch_known_", "  same, the edit links two known concepts", "goal ≤ 2 s"),
    ("watch_add_", "  same, a note added (it links two known concepts)", ""),
    ("watch_prose_", "  same, the edit a sentence with no new name", "goal ≤ 2 s"),
)


def report(results: dict[str, Any]) -> str:
    lines = [
        f"kg benchmarks — size {results['size']} ({results['machine']['nproc']} cores, "
        f"{results['machine']['ram_gb']} GB, {results['machine']['cpu']}, Python {results['machine']['python']}, "
        f"Neo4j {results.get('neo4j', '?')})"
    ]

    def row(name: str, value: str, goal: str = "") -> None:
        lines.append(f"  {name:<46} {value:<34} {goal}")

    for p in results.get("parse", []):
        row(
            f"parse {p['notes']} notes: kg",
            f"{p['kg_seconds']:.2f} s ({p['kg_notes_per_s']:.0f} notes/s, {p.get('processes', 1)} processes)",
            "goal ≥ 5000 notes/s",
        )
        if "kg_one_process_seconds" in p:
            row(f"parse {p['notes']} notes: kg in one process", f"{p['kg_one_process_seconds']:.2f} s")
        if "obsidiantools_seconds" in p:
            row(
                f"parse {p['notes']} notes: obsidiantools",
                f"{p['obsidiantools_seconds']:.2f} s ({p['obsidiantools_notes_per_s']:.0f} notes/s)",
            )
            row(f"parse {p['notes']} notes: obsidiantools / kg", f"{p['ratio']:.1f}×", "goal ≥ 20×")
            if "ratio_one_process" in p:
                row("  obsidiantools / kg in one process", f"{p['ratio_one_process']:.1f}×")
        elif "obsidiantools_timeout_s" in p:
            row(f"parse {p['notes']} notes: obsidiantools", f"> {p['obsidiantools_timeout_s']:.0f} s (stopped)")
    if "naive" in results:
        n = results["naive"]
        row(f"sync {n['notes']} notes: UNWIND (VaultSync)", f"{n['unwind_seconds']:.2f} s")
        row(f"sync {n['notes']} notes: naive neomodel", f"{n['naive_seconds']:.2f} s")
        row("naive / UNWIND", f"{n['ratio']:.1f}×")
    if "ingest" in results:
        i = results["ingest"]
        row(
            f"full ingest {i['notes']} notes",
            f"{i['seconds']:.1f} s (parse {i['parse_seconds']:.1f} + sync {i['sync_seconds']:.1f})",
            "goal ≤ 60 s",
        )
        row("  peak RSS of that ingest", f"{i['maxrss_mb']:.0f} MB")
        if "parse_workers_maxrss_mb" in i:
            row("  peak RSS of a parse worker (upper bound)", f"{i['parse_workers_maxrss_mb']:.0f} MB")
    if "incremental" in results:
        i = results["incremental"]
        for prefix, label, goal in _MODE_ROWS:
            if f"{prefix}seconds" in i:
                row(
                    label,
                    f"{i[f'{prefix}seconds']:.2f} s "
                    f"(parse {i[f'{prefix}parse_seconds']:.2f} + sync {i[f'{prefix}sync_seconds']:.2f})",
                    goal,
                )
        row("incremental: nothing changed", f"{i['noop_seconds']:.2f} s")
        if "cli_unchanged_seconds" in i:
            row(
                "  kg ingest (a process), files as at its last run",
                f"{i['cli_unchanged_seconds']:.2f} s (a run that reads: {i['cli_full_seconds']:.2f} s)",
            )
        if "kept_state_seconds" in i:
            row(
                "  kg ingest --keep-state (a process), one note edited",
                f"{i['kept_state_seconds']:.2f} s, graph written after {i['kept_state_written_seconds']:.2f} s "
                f"(load {i['kept_state_load_seconds']:.2f} + parse {i['kept_state_parse_seconds']:.2f} + sync "
                f"{i['kept_state_sync_seconds']:.2f}; then save {i['kept_state_save_seconds']:.2f} s, "
                f"{i['kept_state_saves']} of {len(i['kept_state_runs'])} runs saved, "
                f"{i['kept_state_mb']:.0f} MB; peak RSS {i['kept_state_maxrss_mb']:.0f} MB)",
                "goal ≤ 2 s",
            )
        if "kept_state_add_seconds" in i:
            row(
                "  kg ingest --keep-state (a process), one note added",
                f"{i['kept_state_add_seconds']:.2f} s, graph written after {i['kept_state_add_written_seconds']:.2f} s",
            )
    if "big" in results:
        b = results["big"]
        row(
            f"ingest {b['notes']} notes",
            f"{b['seconds']:.1f} s (parse {b['parse_seconds']:.1f} + sync {b['sync_seconds']:.1f})",
        )
        row(f"  peak RSS of the {b['notes']}-note ingest", f"{b['maxrss_mb']:.0f} MB", "goal ≤ 1024 MB")
        row("    of which kg and the driver imported", f"{b['imported_rss_mb']:.0f} MB")
        if "parse_workers_maxrss_mb" in b:
            row("  peak RSS of a parse worker (upper bound)", f"{b['parse_workers_maxrss_mb']:.0f} MB")
    if "http" in results:
        h = results["http"]
        for label, document, clients, mode in HTTP_RUNS:
            if label not in h:
                continue
            r = h[label]
            what = f"learningPath ({document} doc{', ' + mode if mode else ''}), {clients} client(s)"
            goal = "goal p50 ≤ 50 ms" if clients == 1 else "goal ≥ 100 req/s, p99 ≤ 300 ms, 0 errors"
            row(
                what,
                f"{r['rps']:.1f} req/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, {r['errors']} errors",
                goal,
            )
        for kind, r in h.get("queries", {}).items():
            if isinstance(r, dict):
                row(
                    f"{kind}, first time, 1 client",
                    f"p50 {r['p50_ms']:.0f} ms, p90 {r['p90_ms']:.0f} ms, max {r['max_ms']:.0f} ms, "
                    f"{r['errors']} errors ({r['requests']} requests)",
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        kind, *rest = argv[1:]
        data = worker_ingest(*rest) if kind == "ingest" else worker_obsidiantools(*rest)
        print(json.dumps(data))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=10_000, help="N (default 10000): see the module docstring")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median reported)")
    parser.add_argument("--ot-repeat", type=int, default=1, help="obsidiantools runs per size (it is slow)")
    parser.add_argument("--ot-timeout", type=float, default=3600.0, help="stop an obsidiantools run after this")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of 8-client HTTP load")
    parser.add_argument("--single-requests", type=int, default=300, help="requests of the 1-client run")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {','.join(SECTIONS)}")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kg-bench"))
    parser.add_argument("--neo4j-uri", default=None, help="use this server instead of starting one (WIPED)")
    parser.add_argument("--neo4j-password", default=os.environ.get("NEO4J_PASSWORD", ""))
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="2g")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for the http section")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    n = args.size
    args.workdir.mkdir(parents=True, exist_ok=True)

    def vault(notes: int, utf8_only: bool = False) -> Path:
        path: Path = args.workdir / f"v{notes}-s{args.seed}{'-utf8' if utf8_only else ''}"
        started = time.perf_counter()
        generate(notes, path, args.seed, legacy_encodings=not utf8_only)
        log(f"vault {path} ready ({time.perf_counter() - started:.1f}s)")
        return path

    results: dict[str, Any] = {
        "size": n,
        "seed": args.seed,
        "repeat": args.repeat,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    out = args.workdir / "results.json"

    def save() -> None:  # after every section, so a long run that dies still leaves its figures
        out.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str), encoding="utf-8")

    if "parse" in only:
        results["parse"] = []
        for notes in (n // 5, n):
            log(f"parse {notes}")
            # UTF-8 only: obsidiantools crashes on the vault's GB18030 notes (UnboundLocalError).
            results["parse"].append(bench_parse(vault(notes, True), args.repeat, args.ot_repeat, args.ot_timeout))
            save()
    needs_db = only & {"naive", "ingest", "incremental", "big", "http"}
    if needs_db:
        with neo4j_server(args) as (uri, password):
            from neo4j import GraphDatabase

            driver = GraphDatabase.driver(uri, auth=("neo4j", password))
            try:
                results["neo4j"] = neo4j_version(driver)
                if "naive" in only:
                    log(f"UNWIND vs naive neomodel on {max(1, n // 10)} notes")
                    results["naive"] = bench_naive(driver, vault(max(1, n // 10)), args.repeat)
                    save()
                if "ingest" in only or "incremental" in only:
                    v = vault(n)
                    if "ingest" in only:
                        log(f"full ingest {n}")
                        results["ingest"] = bench_ingest(driver, v, uri, password, args.repeat)
                        save()
                    if "incremental" in only:
                        log(f"incremental {n}")
                        results["incremental"] = bench_incremental(driver, v, args.repeat, uri, password)
                        save()
                if "big" in only or "http" in only:
                    big = vault(5 * n)
                    if "big" in only:
                        log(f"ingest {5 * n} (peak RSS)")
                        results["big"] = bench_ingest(driver, big, uri, password, 1)
                        save()
                    if "http" in only:
                        if "big" not in only:
                            wipe(driver)
                            run_worker(["ingest", str(big), uri, password])
                        log(f"learningPath over HTTP on {5 * n} notes")
                        results["http"] = bench_http(
                            uri, password, big, args.duration, args.single_requests, args.workers
                        )
                        save()
            finally:
                driver.close()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    save()
    print(report(results))
    print(f"(full results: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
