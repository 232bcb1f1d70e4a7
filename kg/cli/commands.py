"""Imports every command module so that each registers itself on the app."""

from __future__ import annotations

import importlib

# Modules are added here as commands land; a missing one is a packaging bug, so import eagerly.
COMMAND_MODULES: tuple[str, ...] = ("schema", "neo4j", "ingest", "export", "serve", "path", "demo")

for _module in COMMAND_MODULES:
    importlib.import_module(f"kg.cli.{_module}")
