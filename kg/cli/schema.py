"""`kg schema apply`: create kg's Neo4j constraints and indexes (idempotent)."""

from __future__ import annotations

import typer

from kg.cli.app import app
from kg.cli.common import load_settings, neo4j_driver
from kg.store.schema import apply_schema

schema_app = typer.Typer(help="Neo4j schema (constraints and indexes from schema/constraints.cypher).")
app.add_typer(schema_app, name="schema")


@schema_app.command("apply")
def apply() -> None:
    """Create any missing constraint or index. Safe to run any number of times."""
    settings = load_settings()
    with neo4j_driver(settings) as driver:
        count = apply_schema(driver, settings.neo4j_database)
    typer.echo(f"schema applied: {count} statements (IF NOT EXISTS) on {settings.neo4j_uri}")
