"""The one settings object. Read only by the CLI (composition root) and the API app factory."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Documented local default for the Neo4j that `kg neo4j start` runs; set NEO4J_PASSWORD to change it.
LOCAL_DEFAULT_PASSWORD = "kg-local-password"


def default_home() -> Path:
    return Path.home() / ".kg"


class Settings(BaseSettings):
    """Where Neo4j is and how kg runs. Environment variables, then a `.env` file, then defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    neo4j_uri: str = Field(default="bolt://127.0.0.1:7687", validation_alias="NEO4J_URI")
    neo4j_user: str = Field(default="neo4j", validation_alias="NEO4J_USER")
    neo4j_password: SecretStr = Field(default=SecretStr(LOCAL_DEFAULT_PASSWORD), validation_alias="NEO4J_PASSWORD")
    neo4j_database: str = Field(default="neo4j", validation_alias="NEO4J_DATABASE")

    # kg's own state: launcher build, jars cache and the local Neo4j's data dir live under here.
    # Not a field named `home`: with populate_by_name, pydantic-settings would also read $HOME into it.
    kg_home: Path = Field(default_factory=default_home, validation_alias="KG_HOME")
    neo4j_bolt_port: int = Field(default=7687, validation_alias="KG_NEO4J_BOLT_PORT")
    neo4j_http_port: int = Field(default=7474, validation_alias="KG_NEO4J_HTTP_PORT")
    neo4j_data_dir: Path | None = Field(default=None, validation_alias="KG_NEO4J_DATA_DIR")
    neo4j_heap: str = Field(default="2g", validation_alias="KG_NEO4J_HEAP")
    neo4j_pagecache: str = Field(default="2g", validation_alias="KG_NEO4J_PAGECACHE")

    api_host: str = Field(default="127.0.0.1", validation_alias="KG_API_HOST")
    api_port: int = Field(default=8000, validation_alias="KG_API_PORT")
    # uvicorn worker processes for `kg serve` (each with its own driver and caches)
    api_workers: int = Field(default=1, ge=1, validation_alias="KG_API_WORKERS")
    graphiql: bool = Field(default=True, validation_alias="KG_GRAPHIQL")
    query_timeout_s: float = Field(default=10.0, validation_alias="KG_QUERY_TIMEOUT")
    relations_config: Path | None = Field(default=None, validation_alias="KG_RELATIONS_CONFIG")

    @property
    def home(self) -> Path:
        return self.kg_home

    @property
    def data_dir(self) -> Path:
        return self.neo4j_data_dir or (self.home / "neo4j-data")
