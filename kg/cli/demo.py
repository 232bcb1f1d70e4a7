"""`kg demo`: the main job in one command (what `make demo` runs).

Starts the local Neo4j (unless NEO4J_URI points elsewhere), ingests the sample vault shipped in the
package, serves the GraphQL API, asks it for `learningPath(to: "GRPO")` over HTTP like any client
would, prints the answer and the GraphiQL URL, and keeps serving until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer

from kg.cli.app import app
from kg.cli.common import fail, load_settings, neo4j_driver
from kg.cli.path import render_tree
from kg.local_neo4j import LocalNeo4jError
from kg.pipeline import ingest_vault
from kg.resources import sample_vault_dir
from kg.settings import Settings

SAMPLE_VAULT_NAME = "sample"


def _start_local_neo4j(settings: Settings) -> None:
    from kg.cli.neo4j import local_neo4j

    server = local_neo4j(settings)
    if server.status().running:
        typer.echo(f"kg demo: local Neo4j already running at {server.bolt_uri}", err=True)
        return
    typer.echo(
        "kg demo: starting the local Neo4j (the first start downloads its jars and builds the launcher: "
        "about 30 s on a fast network, a few minutes on a slow one)",
        err=True,
    )
    try:
        uri = server.start()
    except LocalNeo4jError as error:
        raise fail(str(error)) from None
    typer.echo(f"kg demo: Neo4j at {uri}" + (f", Browser at {server.browser_url}" if server.browser_url else ""))


def _post_graphql(url: str, query: str, variables: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer: dict[str, Any] = json.loads(response.read().decode("utf-8"))
    return answer


def _wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise fail(f"the API did not come up at {url} within {timeout:.0f}s")


@app.command("demo")
def demo(
    target: Annotated[str, typer.Option("--target", help="The concept to show a learning path to.")] = "GRPO",
    port: Annotated[int | None, typer.Option("--port", help="API port (default: KG_API_PORT or 8000).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Print the learning path and exit instead of serving.")] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local/--no-local",
            help="Start the local Neo4j (default: yes, unless NEO4J_URI is set in the environment).",
        ),
    ] = True,
) -> None:
    """Local Neo4j + the sample vault ingested + the GraphQL API serving + a learning path printed."""
    import uvicorn

    from kg.api import create_app
    from kg.api.queries import LEARNING_PATH

    settings = load_settings()
    if local and not os.environ.get("NEO4J_URI"):
        _start_local_neo4j(settings)
    bind_port = port or settings.api_port
    with neo4j_driver(settings) as driver:
        result = ingest_vault(
            driver, sample_vault_dir(), database=settings.neo4j_database, vault_name=SAMPLE_VAULT_NAME
        )
        typer.echo(f"kg demo: ingested the sample vault: {result.report.summary()}", err=True)

        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, driver=driver), host=settings.api_host, port=bind_port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, name="kg-api", daemon=True)
        thread.start()
        base = f"http://{settings.api_host}:{bind_port}"
        try:
            _wait_until_up(f"{base}/healthz")
            answer = _post_graphql(
                f"{base}/graphql", LEARNING_PATH, {"to": [target], "known": [], "vault": SAMPLE_VAULT_NAME}
            )
            if answer.get("errors"):
                raise fail("learningPath failed: " + "; ".join(e.get("message", "?") for e in answer["errors"]))
            typer.echo(f'\nPOST {base}/graphql  learningPath(to: "{target}")\n')
            typer.echo(render_tree(answer["data"]["learningPath"]))
            typer.echo(f"\nGraphiQL: {base}/graphql   (health: {base}/healthz, readiness: {base}/readyz)")
            if once:
                return
            typer.echo("Serving; Ctrl-C to stop (Neo4j keeps running: `kg neo4j stop`).")
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.should_exit = True
            thread.join(10)
