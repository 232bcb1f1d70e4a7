"""The `kg` command line: the composition root, the only place (with the API app factory) that reads settings.

One module per command, each registering itself on `app`.
"""

from __future__ import annotations

from kg.cli import commands as _commands  # noqa: F401  (registers the commands)
from kg.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
