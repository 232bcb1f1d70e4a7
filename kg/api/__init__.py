"""GraphQL API: strawberry types and resolvers over the store, and the FastAPI app factory."""

from __future__ import annotations

from kg.api.app import create_app
from kg.api.schema import schema, schema_sdl

__all__ = ["create_app", "schema", "schema_sdl"]
