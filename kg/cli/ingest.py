"""`kg ingest VAULT`: parse a vault and bring its part of Neo4j exactly up to date.

Once, every N minutes (`--every 15m`) or on change (`--watch`). Exit codes (for cron/systemd):
0 done, 65 the vault is not a readable folder, its relations config is bad, its default name is that
of a vault ingested from another folder, or it has no notes while the graph holds some
(`--allow-empty` lets it remove them), 69 Neo4j unreachable
or lost during the run, 75 another ingest of this vault holds the lock or Neo4j refused the run for a
transient reason (try later), 1 anything else. A run that fails leaves no half-written note: the graph
is the previous one, or (a change written in several transactions) partly new, which the next run
finishes.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired, TransientError

from ingest.vault import ParseCache, VaultListing, list_vault
from kg.cli.app import app, hold_until_exit
from kg.cli.common import (
    EXIT_DATA_ERROR,
    EXIT_TEMPFAIL,
    EXIT_UNAVAILABLE,
    JobsOption,
    RelationsConfigOption,
    connect,
    fail,
    load_settings,
)
from kg.ingest_state import STATE_DIR_NAME, IngestState, load_state, save_state, state_file
from kg.pipeline import (
    IngestResult,
    RelationsConfigError,
    default_vault_name,
    ingest_vault,
    read_relations_rules,
    small_kept_run,
    unchanged_since_last_ingest,
    vault_fingerprint,
)
from kg.schedule import backoff_delays, parse_duration, vault_snapshot, wait_for_change
from kg.settings import Settings
from kg.store.sync import (
    DEFAULT_MAX_TX_ROWS,
    EmptyVaultError,
    IngestLockedError,
    NoteDigests,
    ProgressCallback,
    VaultRootError,
    VaultSync,
)

_RETRYABLE = (ServiceUnavailable, SessionExpired, TransientError, OSError)
# Small runs sync with the cyclic collector paused (kg.pipeline.ingest_vault); the few cycles the
# Neo4j driver leaves (~2k objects a run) are collected, while waiting, after this many of them.
SMALL_RUNS_PER_COLLECTION = 20
# A one-shot `--keep-state` run writes the state again (~2 s at 10k notes) only when the vault has
# drifted from it by more than this share of its notes, or its concept index had to be rebuilt: until
# then each run reads again the few notes changed since it was written, which costs less (a state
# behind some edits is still right). Long-running modes write it when a tenth has drifted.
ONE_SHOT_SAVE_SHARE = 0.01
# ... or when more than this share of its notes had to be hashed to be known (a new mtime, the same
# bytes: a `touch`, a sync tool, a branch switched and back). Their new mtimes are kept only by a save,
# and until then every run reads and hashes them again: ~0.4 s a run when all of 10k notes were touched.
# (Not files with an mtime in the future, from a clock ahead: saved, they would be hashed again all the same.)
ONE_SHOT_REHASH_SAVE_SHARE = 0.1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _other_root_hint(exc: VaultRootError) -> str:
    return (
        f"{exc}: two folders of the same name? Give this one its own name with --name, or pass "
        f"--name {exc.vault} to make this folder that vault (its notes replace the graph's)"
    )


def _log(message: str) -> None:
    typer.echo(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} kg ingest: {message}", err=True)


def _run_once(
    driver: Driver,
    settings: Settings,
    root: Path,
    vault_name: str,
    config: Path | None,
    interactive: bool,
    fingerprint: str | None,
    listing: VaultListing,
    jobs: int | None,
    state_path: Path | None,
    full: bool,
    *,
    max_tx_rows: int,
    allow_empty: bool,
    same_root: bool,
) -> tuple[IngestResult, IngestState | None]:
    """One ingest, and with `state_path` (`--keep-state`) the state it started from and kept: loaded
    while the sync takes its lease in the background."""
    state: IngestState | None = None

    def load() -> tuple[ParseCache, NoteDigests]:
        nonlocal state
        assert state_path is not None
        state = _load_kept_state(state_path, root, full)
        return state.cache, state.digests

    def run(progress: ProgressCallback | None) -> IngestResult:
        return ingest_vault(
            driver,
            root,
            database=settings.neo4j_database,
            vault_name=vault_name,
            progress=progress,
            relations_config=config,
            fingerprint=fingerprint,
            jobs=jobs,
            kept=load if state_path is not None else None,
            listing=listing,
            max_tx_rows=max_tx_rows,
            allow_empty=allow_empty,
            same_root=same_root,
        )

    if not interactive:
        return run(None), state
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"syncing {vault_name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(progress), state


def _summary(result: IngestResult, cache: ParseCache | None = None) -> str:
    """The run's one log line; with the `cache` it kept, how many notes it read and resolved again, and
    how many it found unchanged only by hashing them (their size or mtime had changed)."""
    line = (
        f"{result.report.summary()} parse={result.parse_seconds:.2f}s "
        f"relations={len(result.graph.relations)} problems={len(result.graph.problems)}"
    )
    if result.report.took_over_from:
        line += f" (took over the lock of {result.report.took_over_from}, a process that is gone)"
    if cache is not None:
        line += f" parsed={cache.misses} resolved={cache.notes_resolved} hashed={cache.hits_by_bytes}"
    return line


@app.command("ingest")
def ingest(
    vault: Annotated[Path, typer.Argument(help="The vault folder (Obsidian vault, Hugo content dir, repo of .md).")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help=(
                "Vault name in the graph (default: the folder's name; refused when a vault of that name was "
                "ingested from another folder). Given, this folder becomes that vault."
            ),
        ),
    ] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Keep running; re-ingest every interval, e.g. 15m, 1h.")
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running; re-ingest when files change.")] = False,
    debounce: Annotated[str, typer.Option("--debounce", help="With --watch: quiet time before ingesting.")] = "2s",
    break_lock: Annotated[
        bool, typer.Option("--break-lock", help="Clear a stale lock left by an ingest that died, then ingest.")
    ] = False,
    problems: Annotated[
        bool, typer.Option("--problems", help="Print every problem found in the vault (path: reason).")
    ] = False,
    relations_config: RelationsConfigOption = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read the whole vault even when its files (names, sizes, mtimes) are as at the last ingest.",
        ),
    ] = False,
    jobs: JobsOption = None,
    keep_state: Annotated[
        bool,
        typer.Option(
            "--keep-state",
            help=(
                "Keep what the run read of each note in KG_HOME/ingest-state/, so that the next run (cron), "
                "or a restarted --every/--watch, parses and resolves only the notes changed since "
                "(~8 KB of disk a note)."
            ),
        ),
    ] = False,
    max_tx_rows: Annotated[
        int,
        typer.Option(
            "--max-tx-rows",
            min=1,
            help=(
                "Rows (nodes and relationships written or retracted) one transaction may hold; a bigger change "
                "is written in several transactions of whole notes (of at most 50,000 rows). Lower it when Neo4j "
                "runs out of transaction memory."
            ),
        ),
    ] = DEFAULT_MAX_TX_ROWS,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help=(
                "Let a vault folder without notes remove the vault's notes from the graph. Without it such a run "
                "is refused and writes nothing: an unmounted share or an emptied folder looks the same."
            ),
        ),
    ] = False,
) -> None:
    """Ingest VAULT into Neo4j: only changed notes are rewritten; a re-run on an unchanged vault writes
    nothing, and when no file's name, size or mtime changed since the last ingest it reads nothing either."""
    root = vault.expanduser()
    if not root.is_dir():
        raise fail(f"vault {str(vault)!r} is not a folder", EXIT_DATA_ERROR)
    if every and watch:
        raise fail("use either --every or --watch, not both", 2)
    try:
        interval = parse_duration(every) if every else None
        quiet_s = parse_duration(debounce)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    settings = load_settings()
    config = relations_config or settings.relations_config
    try:
        read_relations_rules(root, config)  # a bad config is named before Neo4j is even asked
    except RelationsConfigError as exc:
        raise fail(str(exc), EXIT_DATA_ERROR) from None
    vault_name = name or default_vault_name(root)
    state_path = state_file(settings.home / STATE_DIR_NAME, root) if keep_state else None
    interactive = sys.stderr.isatty() and interval is None and not watch

    if interval is None and not watch:
        driver = connect(settings)
        try:
            if break_lock:
                VaultSync(driver, settings.neo4j_database).break_lock(vault_name)
            started = time.perf_counter()
            listing = list_vault(root)  # listed once: judged by the fingerprint, then read
            fingerprint = vault_fingerprint(root, config, listing)
            unchanged = unchanged_since_last_ingest(
                driver, vault_name, fingerprint, settings.neo4j_database, root, same_root=name is None
            )
            if unchanged and not (full or problems):
                _log(
                    f"vault={vault_name} unchanged since its last ingest (no note file's name, size or mtime "
                    f"changed): nothing read or written in {time.perf_counter() - started:.2f}s; --full reads it all"
                )
                return
            result, state = _run_once(
                driver,
                settings,
                root,
                vault_name,
                config,
                interactive,
                fingerprint,
                listing,
                jobs,
                state_path,
                full,
                max_tx_rows=max_tx_rows,
                allow_empty=allow_empty,
                same_root=name is None,
            )
            hold_until_exit(state, result)  # the process ends soon: not freed one object at a time
        except IngestLockedError as exc:
            raise fail(str(exc), EXIT_TEMPFAIL) from None
        except EmptyVaultError as exc:
            raise fail(f"{exc}; if the vault is empty now, run kg ingest --allow-empty", EXIT_DATA_ERROR) from None
        except VaultRootError as exc:
            raise fail(_other_root_hint(exc), EXIT_DATA_ERROR) from None
        except NotADirectoryError as exc:  # the vault folder went away since the run began
            raise fail(str(exc), EXIT_DATA_ERROR) from None
        except RelationsConfigError as exc:  # the config file changed under us and is now bad
            raise fail(str(exc), EXIT_DATA_ERROR) from None
        except TransientError as exc:
            raise fail(
                f"Neo4j at {settings.neo4j_uri} refused the ingest for now ({_first_line(exc)}); "
                "try again later, the next run finishes what this one did not write",
                EXIT_TEMPFAIL,
            ) from None
        except (ServiceUnavailable, SessionExpired, DriverError, OSError) as exc:
            raise fail(
                f"lost Neo4j at {settings.neo4j_uri} during the ingest ({_first_line(exc)}); "
                "re-run when Neo4j is back, it finishes what this run did not write",
                EXIT_UNAVAILABLE,
            ) from None
        except Neo4jError as exc:
            reason = _first_line(exc)
            raise fail(f"Neo4j at {settings.neo4j_uri} failed the ingest ({reason})") from None
        finally:
            driver.close()
        if state is not None and state_path is not None:
            cache = state.cache
            _log(_summary(result, cache))
            drifted = max(cache.misses, cache.notes_resolved)  # notes whose parse or resolution differs from it
            if (
                drifted > len(cache) * ONE_SHOT_SAVE_SHARE
                or cache.index_rebuilt
                or cache.hits_restated > len(cache) * ONE_SHOT_REHASH_SAVE_SHARE
            ):
                _save_kept_state(state_path, root, state)
            else:
                _log(
                    f"kept state not saved again: {drifted} of {len(cache)} notes read or resolved again since it "
                    f"was (saved past {ONE_SHOT_SAVE_SHARE:.0%} of the vault, when the concept index is rebuilt, "
                    f"or past {ONE_SHOT_REHASH_SAVE_SHARE:.0%} hashed again for a new mtime)"
                )
        else:
            _log(_summary(result))
        if problems:
            for p in result.graph.problems:
                typer.echo(f"{p.path}{':' + str(p.line) if p.line else ''}: {p.kind.value}: {p.message}")
        return
    _run_forever(
        settings,
        root,
        vault_name,
        config,
        interval,
        quiet_s,
        break_lock,
        jobs,
        state_path,
        max_tx_rows=max_tx_rows,
        allow_empty=allow_empty,
        same_root=name is None,
    )


def _load_kept_state(path: Path, root: Path, full: bool) -> IngestState:
    """The state the last `--keep-state` run kept, or an empty one (why, when there was a file)."""
    if full:  # read it all: the run starts empty and keeps what it reads
        return IngestState.empty()
    started = time.perf_counter()
    state, why = load_state(path, root)
    if state is None:
        if why:
            _log(f"kept state not used: {why}; reading the whole vault")
        return IngestState.empty()
    _log(f"kept state of {len(state.cache)} notes loaded from {path} in {time.perf_counter() - started:.2f}s")
    return state


def _save_kept_state(path: Path, root: Path, state: IngestState) -> None:
    """Keep the state for the next run; failing to is reported, not fatal: the graph is written."""
    started = time.perf_counter()
    try:
        size = save_state(path, root, state)
    except OSError as exc:
        _log(f"could not keep the state in {path} ({exc.strerror or exc}); the next run reads the whole vault")
        return
    _log(f"kept state ({size / 1e6:.1f} MB) saved to {path} in {time.perf_counter() - started:.2f}s")


def _run_forever(
    settings: Settings,
    root: Path,
    vault_name: str,
    config: Path | None,
    interval: float | None,
    debounce_s: float,
    break_lock: bool,
    jobs: int | None,
    state_path: Path | None = None,
    *,
    max_tx_rows: int = DEFAULT_MAX_TX_ROWS,
    allow_empty: bool = False,
    same_root: bool = False,
) -> None:
    """The long-running modes: survive Neo4j restarts (retry with backoff, one line each time).
    `state_path` (`--keep-state`): start from the state a last run kept there, and keep it there after the first run
    and whenever a tenth of the vault was read or resolved again since the last save (a state that
    lags behind some small edits is still right: the next start reads those notes again)."""
    auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=auth)
    mode = f"every {interval:g}s" if interval is not None else "on change"
    _log(f"watching {root} ({mode}) into {settings.neo4j_uri} as vault {vault_name!r}")
    snapshot = vault_snapshot(root)
    # notes an edit did not touch are not read, parsed or resolved again, nor digested again for the sync
    state = _load_kept_state(state_path, root, full=False) if state_path is not None else IngestState.empty()
    cache, digests = state.cache, state.digests
    small_runs = 0  # small runs since the last full collection
    unsaved = 0  # notes read or resolved again since the state was last kept on disk
    try:
        if break_lock:
            VaultSync(driver, settings.neo4j_database).break_lock(vault_name)
        while True:
            delays = backoff_delays()
            while True:
                try:
                    result = ingest_vault(
                        driver,
                        root,
                        database=settings.neo4j_database,
                        vault_name=vault_name,
                        relations_config=config,
                        cache=cache,
                        digests=digests,
                        jobs=jobs,
                        max_tx_rows=max_tx_rows,
                        allow_empty=allow_empty,
                        same_root=same_root,
                    )
                    # how much of the vault this run read and resolved again (the rest was kept)
                    _log(_summary(result, cache))
                    unsaved += cache.misses + cache.notes_resolved
                    if state_path is not None and unsaved > len(cache) // 10:
                        _save_kept_state(state_path, root, state)
                        unsaved = 0
                    small_runs = small_runs + 1 if small_kept_run(cache) else SMALL_RUNS_PER_COLLECTION
                    if small_runs >= SMALL_RUNS_PER_COLLECTION:
                        # A big read leaves millions of objects the collector has not walked yet: its
                        # first full collection (~1 s at 10k notes) would land in the next, small,
                        # run. Take it now, while waiting for changes (and after some small runs).
                        gc.collect()
                        small_runs = 0
                    break
                except RelationsConfigError as exc:  # the relations config was edited into a bad state: wait for a fix
                    _log(f"{exc}; skipping this run, the graph is unchanged")
                    break
                except VaultRootError as exc:  # another folder's vault: waiting will not change that
                    raise fail(_other_root_hint(exc), EXIT_DATA_ERROR) from None
                except (EmptyVaultError, NotADirectoryError) as exc:  # a share unmounted, a folder moved away
                    _log(f"{exc}; skipping this run, the graph is unchanged until the notes are back")
                    break
                except IngestLockedError as exc:
                    delay = delays()
                    _log(f"{exc}; retrying in {delay:g}s")
                except (*_RETRYABLE, Neo4jError) as exc:
                    delay = delays()
                    _log(f"Neo4j at {settings.neo4j_uri} unavailable ({_first_line(exc)}); retrying in {delay:g}s")
                time.sleep(delay)
            if interval is not None:
                time.sleep(interval)
            else:
                snapshot = wait_for_change(root, snapshot, debounce_s=debounce_s)
    except KeyboardInterrupt:
        _log("stopped")
    finally:
        driver.close()
