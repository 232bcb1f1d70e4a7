"""What every command that talks to Neo4j shares: the settings and a checked driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

from kg.settings import Settings

# Exit codes cron and systemd can act on (sysexits.h).
EXIT_USAGE = 2
EXIT_DATA_ERROR = 65  # EX_DATAERR: the vault argument is not a readable folder
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: Neo4j cannot be reached or refused our credentials
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL: another ingest of this vault holds the lock; try again later


# `--relations-config`, shared by the commands that read a vault (ingest, export).
RelationsConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--relations-config",
        help="Relation-key config (TOML). Default: KG_RELATIONS_CONFIG, else the vault's kg-relations.toml.",
    ),
]


# `--jobs`, shared by the commands that read a vault (ingest, export).
JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        help="Processes that read and parse notes. Default: one per CPU when 1,000 or more notes need parsing.",
    ),
]


def load_settings() -> Settings:
    return Settings()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise."""
    typer.echo(f"kg: {message}", err=True)
    return typer.Exit(code)


def connect(settings: Settings) -> Driver:
    """A driver that has answered, or one line naming the URI tried."""
    driver = GraphDatabase.driver(
        settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value())
    )
    try:
        driver.verify_connectivity()
    except AuthError:
        driver.close()
        raise fail(
            f"Neo4j at {settings.neo4j_uri} refused user {settings.neo4j_user!r}: check NEO4J_USER/NEO4J_PASSWORD",
            EXIT_UNAVAILABLE,
        ) from None
    except (ServiceUnavailable, Neo4jError, OSError, ValueError) as exc:
        driver.close()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(
            f"cannot reach Neo4j at {settings.neo4j_uri} ({reason}); start one with `kg neo4j start` or set NEO4J_URI",
            EXIT_UNAVAILABLE,
        ) from None
    return driver


@contextmanager
def neo4j_driver(settings: Settings) -> Iterator[Driver]:
    driver = connect(settings)
    try:
        yield driver
    finally:
        driver.close()
