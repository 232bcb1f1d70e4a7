"""`kg export VAULT --format json|graphml [--output FILE]`: read a vault, write its graph (no database).

Exit codes: 0 done, 65 the vault is not a readable folder or its relations config is bad, 1 the output
cannot be written.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ingest.export import write_graph
from ingest.vault import DEFAULT_MAX_FILE_BYTES
from kg.cli.app import app, hold_until_exit
from kg.cli.common import EXIT_DATA_ERROR, JobsOption, RelationsConfigOption, fail, load_settings
from kg.pipeline import RelationsConfigError, read_vault_with_config


class ExportFormat(StrEnum):
    json = "json"
    graphml = "graphml"


@app.command("export")
def export(
    vault: Annotated[Path, typer.Argument(help="The vault folder (Obsidian vault, Hugo content dir, repo of .md).")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="json (notes, concepts, relations, problems) or graphml.")
    ] = ExportFormat.json,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")
    ] = None,
    max_file_bytes: Annotated[
        int, typer.Option("--max-file-bytes", help="Notes larger than this are skipped and reported.", min=1)
    ] = DEFAULT_MAX_FILE_BYTES,
    relations_config: RelationsConfigOption = None,
    jobs: JobsOption = None,
) -> None:
    """Read VAULT into a graph of notes, concepts and relations and write it out; nothing is stored."""
    root = vault.expanduser()
    if not root.exists():
        raise fail(f"vault {str(vault)!r} does not exist", EXIT_DATA_ERROR)
    if not root.is_dir():
        raise fail(f"vault {str(vault)!r} is not a folder", EXIT_DATA_ERROR)
    relations_config = relations_config or load_settings().relations_config
    try:
        graph = read_vault_with_config(
            root, relations_config=relations_config, max_file_bytes=max_file_bytes, jobs=jobs
        )
    except RelationsConfigError as exc:  # a bad relations config: the message names the file and the key
        raise fail(str(exc), EXIT_DATA_ERROR) from None
    except NotADirectoryError as exc:  # the folder cannot be listed, or went away since the checks above
        raise fail(str(exc), EXIT_DATA_ERROR) from None
    hold_until_exit(graph)  # the process ends soon: not freed one object at a time
    if output is None:
        write_graph(graph, sys.stdout, fmt.value)
        sys.stdout.flush()
    else:
        try:
            with output.open("w", encoding="utf-8", newline="\n") as handle:
                write_graph(graph, handle, fmt.value)
        except OSError as exc:
            raise fail(f"cannot write {str(output)!r}: {exc.strerror or exc}") from None
    typer.echo(
        f"kg export: {len(graph.notes)} notes, {len(graph.concepts)} concepts, "
        f"{len(graph.relations)} relations, {len(graph.problems)} problems",
        err=True,
    )
