"""A local Neo4j 5.26 Community for kg, without Docker: Maven Central jars and a small Java launcher.

Library API (the CLI `kg neo4j start|stop|status` is a thin layer over it)::

    server = LocalNeo4j(home=Path("~/.kg"), data_dir=Path("~/.kg/neo4j-data"), bolt_port=7687,
                        http_port=7474, password="...", heap="2g", pagecache="2g")
    uri = server.start()              # "bolt://127.0.0.1:7687", once RETURN 1 answers (waits up to 300 s)
    server.status()                   # Neo4jStatus(running=True, pid=..., bolt_uri=..., ...)
    server.stop()

Errors are `LocalNeo4jError` with a one-line message (and optional `details`, e.g. a log tail).
"""

from __future__ import annotations

from kg.local_neo4j.build import Launcher, ensure_launcher, launcher_key
from kg.local_neo4j.errors import LocalNeo4jError
from kg.local_neo4j.server import DEFAULT_START_TIMEOUT_S, LocalNeo4j, Neo4jStatus, find_free_port, port_in_use

__all__ = [
    "DEFAULT_START_TIMEOUT_S",
    "Launcher",
    "LocalNeo4j",
    "LocalNeo4jError",
    "Neo4jStatus",
    "ensure_launcher",
    "find_free_port",
    "launcher_key",
    "port_in_use",
]
