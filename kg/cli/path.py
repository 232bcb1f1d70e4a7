"""`kg path GRPO [--known X ...] [--json]`: the API's learningPath, in a terminal.

It runs the same GraphQL document through the same schema as `/graphql`, so the JSON it prints is
exactly the API's `data.learningPath`; without `--json` it prints that answer as a readable tree.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kg.cli.app import app
from kg.cli.common import EXIT_UNAVAILABLE, fail, load_settings, neo4j_driver

if TYPE_CHECKING:  # strawberry loads in ~0.1 s: only `kg path` and `kg serve` need it, not every command
    from strawberry.types import ExecutionResult

EVIDENCE_WIDTH = 90
MAX_REASONS = 3  # in the tree; strongest first (the JSON has them all)


def run_learning_path_query(reader: Any, variables: dict[str, Any]) -> ExecutionResult:
    from kg.api.context import Context
    from kg.api.queries import LEARNING_PATH
    from kg.api.schema import schema

    async def run() -> ExecutionResult:
        return await schema.execute(LEARNING_PATH, variable_values=variables, context_value=Context(reader=reader))

    return asyncio.run(run())


def _short(text: str, width: int = EVIDENCE_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_tree(path: dict[str, Any]) -> str:
    """The answer as a tree: stages, steps, why each is there (with evidence) and what to read."""
    totals = path["totals"]
    targets = ", ".join(t["name"] for t in path["targets"])
    lines = [
        f"Learning path to {targets}: {totals['steps']} steps in {totals['longestChain']} stages, "
        f"{totals['notes']} notes, ~{totals['minutes']} min"
        + (f" (relations with confidence >= {path['minConfidence']:g})" if path["minConfidence"] else "")
    ]
    stage = None
    for step in path["steps"]:
        if step["stage"] != stage:
            stage = step["stage"]
            lines.append(f"stage {stage}")
        concept = step["concept"]
        flags = [f"depth {step['depth']}"]
        if step["isTarget"]:
            flags.append("target")
        if step["inCycle"]:
            flags.append("in a cycle")
        lines.append(f"  {step['position']:>3}. {concept['name']}  ({', '.join(flags)})")
        for reason in step["reasons"][:MAX_REASONS]:
            more = len(reason["assertions"]) - 1
            where = f"{reason['note']}:{reason['line']}" if reason["line"] is not None else reason["note"]
            lines.append(
                f"       ← {reason['text']} [{reason['rule']} {reason['confidence']:.2f}, {where}"
                + (f", +{more} more" if more > 0 else "")
                + "]"
                + (" (also via a longer chain)" if reason["implied"] else "")
            )
            if reason["evidence"]:
                lines.append(f"         “{_short(reason['evidence'])}”")
        hidden = len(step["reasons"]) - MAX_REASONS
        if hidden > 0:
            lines.append(f"       (+{hidden} weaker reasons; --json shows all)")
        for note in step["notes"]:
            lines.append(f"       read: {note['path']} ({note['minutes']} min)")
    for cycle in path["cycles"]:
        lines.append("cycle: " + " → ".join(c["name"] for c in cycle["concepts"]))
    if path["known"]:
        lines.append("known, skipped: " + ", ".join(c["name"] for c in path["known"]))
    if path["implicitlyKnown"]:
        lines.append("needed only through known concepts: " + ", ".join(c["name"] for c in path["implicitlyKnown"]))
    for warning in path["warnings"]:
        lines.append(f"note: {warning}")
    return "\n".join(lines)


@app.command("path")
def path(
    targets: Annotated[list[str], typer.Argument(help="Concept(s) to learn: names, aliases or keys.")],
    known: Annotated[
        list[str] | None, typer.Option("--known", "-k", help="A concept you already know (repeatable).")
    ] = None,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Ignore relations below this confidence.")
    ] = 0.0,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Keep only the steps closest to the targets.")
    ] = None,
    vault: Annotated[str | None, typer.Option(help="The vault to look in (when several are ingested).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")] = False,
) -> None:
    """What to learn before TARGETS, in order, with the notes to read and why (same answer as the API)."""
    from kg.store.read import GraphReader

    settings = load_settings()
    variables: dict[str, Any] = {
        "to": targets,
        "known": known or [],
        "minConfidence": min_confidence,
        "maxSteps": max_steps,
        "vault": vault,
    }
    with neo4j_driver(settings) as driver:
        reader = GraphReader(driver, settings.neo4j_database, timeout_s=settings.query_timeout_s)
        result = run_learning_path_query(reader, variables)
    if result.errors:
        error = result.errors[0]
        code = (error.extensions or {}).get("code")
        if code == "GRAPH_UNAVAILABLE":
            raise fail(f"cannot reach Neo4j at {settings.neo4j_uri} ({error.message})", EXIT_UNAVAILABLE)
        raise fail(error.message)
    assert result.data is not None
    answer = result.data["learningPath"]
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        typer.echo(render_tree(answer))
