"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kg",
    help="kg: turn a vault of study notes into a Neo4j knowledge graph and serve learning paths over GraphQL.",
    no_args_is_help=True,
    add_completion=False,
)
