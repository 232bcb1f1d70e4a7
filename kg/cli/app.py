"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kg",
    help="kg: turn a vault of study notes into a Neo4j knowledge graph and serve learning paths over GraphQL.",
    no_args_is_help=True,
    add_completion=False,
)

# What a command leaves for the end of the process to drop (`hold_until_exit`); None unless the
# process is the `kg` command itself (`kg.cli.main`): in tests the commands run inside another
# process, which must free them as usual.
_held_until_exit: list[object] | None = None


def hold_until_exit(*values: object) -> None:
    """Keep `values` alive until `kg.cli.main` ends the process, which it then does without freeing
    them: an ingest holds millions of objects (its graph, a kept state), and dropping them one by one
    took 0.2 s of a 3 s `kg ingest --keep-state` run at 10k notes, for memory the process returns anyway."""
    if _held_until_exit is not None:
        _held_until_exit.extend(values)


def start_holding() -> None:
    global _held_until_exit
    _held_until_exit = []


def holding() -> bool:
    return bool(_held_until_exit)
