"""The FastAPI app factory: GraphQL at /graphql (GraphiQL optional), /healthz and /readyz."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from neo4j import Driver, GraphDatabase
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from kg.api.context import Context
from kg.api.responses import (
    ANSWER_JSON_SCOPE_KEY,
    ANSWER_KEY_SCOPE_KEY,
    READER_SCOPE_KEY,
    EncodedResponse,
    KeptResponses,
    encode_json,
    response_body,
)
from kg.api.schema import schema
from kg.settings import Settings
from kg.store.read import GraphReader, GraphSnapshot, StoreError

READINESS_TIMEOUT_S = 5.0
# How long the graph version read by one request is trusted by the next ones: a request then costs
# no Neo4j round trip when its answer is kept, and an ingest shows in the answers within this time.
VERSION_TTL_S = 1.0
# How often a running app looks for a new graph version to build its spelling index ahead of requests.
SPELLINGS_REFRESH_S = 2.0
log = logging.getLogger(__name__)


class _Router(GraphQLRouter[Context, None]):
    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        data = request.scope.pop(ANSWER_JSON_SCOPE_KEY, None)  # set by KeptAnswers
        extensions = response.get("extensions")
        if isinstance(data, bytes) and extensions is not None and set(response) == {"data", "extensions"}:
            return cast(GraphQLHTTPResponse, EncodedResponse(response, response_body(data, extensions)))
        return response

    def encode_json(self, data: object) -> bytes:
        if isinstance(data, EncodedResponse):
            return data.body
        return encode_json(data)  # as KeptResponses sends kept answers: UTF-8, compact


def create_app(
    settings: Settings | None = None,
    driver: Driver | None = None,
    *,
    version_ttl_s: float = VERSION_TTL_S,
    spellings_refresh_s: float = SPELLINGS_REFRESH_S,
) -> FastAPI:
    """Build the API. A driver passed in stays the caller's; one built from settings is closed on shutdown.

    The graph version (what kept answers are keyed by) is read again at most every `version_ttl_s`
    seconds, so a writing ingest shows in the answers within that time; 0 reads it on every request.
    While the app runs (its lifespan), it looks at the version every `spellings_refresh_s` seconds
    and builds a new version's spelling index then, before a request has to wait for it (0: never)."""
    settings = settings or Settings()
    owned = driver is None
    the_driver = driver or GraphDatabase.driver(
        settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value())
    )
    database = settings.neo4j_database
    timeout_s = settings.query_timeout_s

    # Spellings and answers derived from the whole graph, shared by every request of this app and
    # dropped whenever the graph's version changes (any ingest that wrote something).
    snapshot = GraphSnapshot(version_ttl_s=version_ttl_s, freeze_gc=True)

    def new_reader() -> GraphReader:
        return GraphReader(the_driver, database, timeout_s=timeout_s, snapshot=snapshot)

    def build_spellings() -> None:
        """The spelling index of the graph's current version, built unless it is already."""
        reader = GraphReader(the_driver, database, snapshot=snapshot)  # a reader reads its version once
        snapshot.spellings(reader.version(), reader.spelling_index)

    async def warm_up() -> None:
        # Plans the big statements in the background; an unreachable Neo4j is /readyz's business.
        try:
            await asyncio.to_thread(GraphReader(the_driver, database, snapshot=snapshot).warm_up)
            await asyncio.to_thread(build_spellings)
        except StoreError as exc:
            log.info("kg api: warm-up skipped: %s", exc)
        # After an ingest the first name lookup would rebuild the spelling index (~4 s on a 50k-note
        # graph, every client waiting): built here as soon as the new version shows instead.
        while spellings_refresh_s > 0:
            await asyncio.sleep(spellings_refresh_s)
            try:
                await asyncio.to_thread(build_spellings)
            except StoreError as exc:
                log.debug("kg api: spelling refresh skipped: %s", exc)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(warm_up())
        try:
            yield
        finally:
            task.cancel()
            if owned:
                the_driver.close()

    async def context_getter(request: Request) -> Context:
        # A reader per request (KeptResponses made it): its own query counter and its own DataLoaders.
        reader = request.scope.get(READER_SCOPE_KEY)
        return Context(
            reader=reader if isinstance(reader, GraphReader) else new_reader(),
            answer_key=request.scope.get(ANSWER_KEY_SCOPE_KEY),
        )

    graphql = _Router(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=False,  # keeps GET for the IDE page; no state-changing ops exist anyway
        context_getter=context_getter,
    )
    app = FastAPI(
        title="kg",
        summary="Knowledge graph of study notes: learning paths and exploration over GraphQL.",
        lifespan=lifespan,
    )
    app.state.snapshot = snapshot  # what the app keeps per graph version, for operators and tests
    app.include_router(graphql, prefix="/graphql")
    app.add_middleware(KeptResponses, path="/graphql", snapshot=snapshot, new_reader=new_reader)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False, response_model=None)
    async def readyz() -> JSONResponse:
        """Readiness: Neo4j answers a query."""
        reader = GraphReader(the_driver, database, timeout_s=READINESS_TIMEOUT_S)
        try:
            ok = await asyncio.wait_for(asyncio.to_thread(reader.ping), timeout=READINESS_TIMEOUT_S + 1)
        except (StoreError, TimeoutError) as exc:
            reason = str(exc) or "the graph database did not answer in time"
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        if not ok:
            return JSONResponse({"status": "unavailable", "reason": "unexpected answer"}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app
