"""`kg neo4j start | stop | status`: a local Neo4j 5.26 Community on 127.0.0.1, no Docker.

The first start builds a small Java launcher (Maven Central jars, cached under KG_HOME, default
~/.kg). User `neo4j`, password from NEO4J_PASSWORD (local default "kg-local-password"), set on
every start. Neo4j Browser is served at http://127.0.0.1:<http-port>/browser/ unless --no-browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from kg.cli.app import app
from kg.cli.common import fail, load_settings
from kg.local_neo4j import DEFAULT_START_TIMEOUT_S, LocalNeo4j, LocalNeo4jError
from kg.settings import Settings

neo4j_app = typer.Typer(
    name="neo4j",
    help="Run a local Neo4j 5.26 Community (Bolt on 127.0.0.1, data in KG_HOME/neo4j-data by default).",
    no_args_is_help=True,
)
app.add_typer(neo4j_app, name="neo4j")

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Neo4j home: data, logs, pid file. (default: KG_NEO4J_DATA_DIR or KG_HOME/neo4j-data)",
        file_okay=False,
    ),
]


def _fail(error: LocalNeo4jError) -> NoReturn:
    exit_ = fail(str(error))  # the one line
    if error.details:  # e.g. the tail of the Neo4j log, below it
        typer.echo(error.details, err=True)
    raise exit_


def local_neo4j(
    settings: Settings,
    *,
    data_dir: Path | None = None,
    port: int | None = None,
    http_port: int | None = None,
    browser: bool = True,
    heap: str | None = None,
    pagecache: str | None = None,
) -> LocalNeo4j:
    """The local Neo4j the settings describe (KG_HOME, KG_NEO4J_*, NEO4J_USER/NEO4J_PASSWORD).

    Each keyword, when given, overrides its setting, as the `kg neo4j start` options do;
    `browser=False` leaves the HTTP connector (Neo4j Browser) off. Progress messages of a start
    (the first-use launcher build) go to stderr. Nothing is started: call `.start()`.
    """
    return LocalNeo4j(
        home=settings.home,
        data_dir=data_dir or settings.data_dir,
        bolt_port=port or settings.neo4j_bolt_port,
        http_port=(http_port or settings.neo4j_http_port) if browser else None,
        password=settings.neo4j_password.get_secret_value(),
        heap=heap or settings.neo4j_heap,
        pagecache=pagecache or settings.neo4j_pagecache,
        user=settings.neo4j_user,
        progress=lambda message: typer.echo(message, err=True),
    )


@neo4j_app.command()
def start(
    data_dir: DataDirOption = None,
    port: Annotated[int | None, typer.Option("--port", help="Bolt port. (default: KG_NEO4J_BOLT_PORT or 7687)")] = None,
    http_port: Annotated[
        int | None,
        typer.Option("--http-port", help="HTTP port for Neo4j Browser. (default: KG_NEO4J_HTTP_PORT or 7474)"),
    ] = None,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Serve Neo4j Browser (the HTTP connector).")
    ] = True,
    heap: Annotated[
        str | None, typer.Option("--heap", help="JVM heap, e.g. 2g. (default: KG_NEO4J_HEAP or 2g)")
    ] = None,
    pagecache: Annotated[
        str | None,
        typer.Option("--pagecache", help="Neo4j page cache, e.g. 2g. (default: KG_NEO4J_PAGECACHE or 2g)"),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Seconds to wait for Bolt to answer (a first-use launcher build not counted)."),
    ] = DEFAULT_START_TIMEOUT_S,
) -> None:
    """Start Neo4j in the background; returns once Bolt answers and prints the Bolt URI."""
    settings = load_settings()
    server = local_neo4j(
        settings,
        data_dir=data_dir,
        port=port,
        http_port=http_port,
        browser=browser,
        heap=heap,
        pagecache=pagecache,
    )
    try:
        uri = server.start(timeout=timeout)
    except LocalNeo4jError as error:
        _fail(error)
    status = server.status()
    typer.echo(uri)
    typer.echo(
        f"running (pid {status.pid}, user {server.user}, password from NEO4J_PASSWORD), "
        f"data dir {server.data_dir}, log {server.log_file}",
        err=True,
    )
    if server.browser_url:
        typer.echo(f"Neo4j Browser: {server.browser_url}", err=True)


@neo4j_app.command()
def stop(
    data_dir: DataDirOption = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Seconds to wait for a clean shutdown (the first stop after a build may take up to 180 s more).",
        ),
    ] = 60.0,
) -> None:
    """Stop the Neo4j serving the data dir (clean shutdown; data stays)."""
    server = local_neo4j(load_settings(), data_dir=data_dir)
    try:
        stopped = server.stop(timeout=timeout)
    except LocalNeo4jError as error:
        _fail(error)
    typer.echo(f"stopped (data dir {server.data_dir})" if stopped else f"not running (data dir {server.data_dir})")


@neo4j_app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Say whether Neo4j is running for the data dir; exit code 0 if running, 1 if not."""
    current = local_neo4j(load_settings(), data_dir=data_dir).status()
    if not current.running:
        typer.echo(f"stopped (data dir {current.data_dir})")
        raise typer.Exit(1)
    typer.echo(f"running: {current.bolt_uri} (pid {current.pid}, data dir {current.data_dir})")
    if current.browser_url:
        typer.echo(f"Neo4j Browser: {current.browser_url}")
