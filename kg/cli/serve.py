"""`kg serve`: the GraphQL API (FastAPI + strawberry) under uvicorn; `kg schema export-graphql`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kg.cli.app import app
from kg.cli.common import load_settings, neo4j_driver
from kg.cli.schema import schema_app
from kg.resources import schema_dir


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: KG_API_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: KG_API_PORT or 8000).")] = None,
    graphiql: Annotated[
        bool | None, typer.Option("--graphiql/--no-graphiql", help="Serve the GraphiQL IDE at /graphql.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes (default: KG_API_WORKERS or 1). Each has its own Neo4j driver and caches; "
            "more than one uses more cores for GraphQL execution.",
        ),
    ] = None,
) -> None:
    """Serve GraphQL at /graphql (GraphiQL in a browser), /healthz and /readyz."""
    import uvicorn

    from kg.api import create_app

    settings = load_settings()
    if graphiql is not None:
        settings = settings.model_copy(update={"graphiql": graphiql})
    bind_host = host or settings.api_host
    bind_port = port or settings.api_port
    processes = workers or settings.api_workers
    banner = f"kg serve: GraphQL at http://{bind_host}:{bind_port}/graphql (Neo4j {settings.neo4j_uri})"
    if processes > 1:
        # Worker processes import the app factory and read the settings from the environment
        # themselves, so the command line's overrides travel there.
        if graphiql is not None:
            os.environ["KG_GRAPHIQL"] = "true" if graphiql else "false"
        typer.echo(f"{banner}, {processes} workers", err=True)
        uvicorn.run(
            "kg.api.app:create_app",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=processes,
            log_level="info",
        )
        return
    with neo4j_driver(settings) as driver:
        typer.echo(banner, err=True)
        uvicorn.run(create_app(settings, driver=driver), host=bind_host, port=bind_port, log_level="info")


@schema_app.command("export-graphql")
def export_graphql(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: schema/schema.graphql; - for stdout)."),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the file differs from the code's schema.")] = False,
) -> None:
    """Write the GraphQL SDL of the API (schema/schema.graphql)."""
    from kg.api import schema_sdl

    sdl = schema_sdl()
    if output is not None and str(output) == "-":
        typer.echo(sdl, nl=False)
        return
    target = output or schema_dir() / "schema.graphql"
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != sdl:
            typer.echo(f"kg: {target} is out of date; run `kg schema export-graphql`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{target} is up to date")
        return
    target.write_text(sdl, encoding="utf-8")
    typer.echo(f"wrote {target} ({len(sdl.splitlines())} lines)")
