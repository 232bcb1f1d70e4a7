"""The `kg` command line: the composition root, the only place (with the API app factory) that reads settings.

One module per command, each registering itself on `app`.
"""

from __future__ import annotations

import contextlib
import os
import sys

from kg.cli import app as _app_module
from kg.cli import commands as _commands  # noqa: F401  (registers the commands)
from kg.cli.app import app


def main() -> None:
    """The `kg` console script. A command that left objects to `hold_until_exit` ends the process
    with `os._exit` once its output is flushed, so that they are not freed one by one first."""
    _app_module.start_holding()
    try:
        app()
    except SystemExit as exc:
        if _app_module.holding() and (exc.code is None or isinstance(exc.code, int)):
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say anyway
                    stream.flush()
            os._exit(exc.code or 0)
        raise


__all__ = ["app", "main"]
