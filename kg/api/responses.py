"""Kept answers served as bytes: a question asked before, on the same graph version, skips GraphQL.

Clients send the same few documents with a few variables, and between two ingests the answer to one
question never changes (the API is read-only). `KeptAnswers` (a schema extension) keeps every complete
answer's `data` as JSON bytes in the app's `GraphSnapshot`; `KeptResponses` (ASGI middleware in
front of the app) answers a POST with the same document, operation name and variables straight from
those bytes: no routing, no parse/validate/execute, no serialisation, no Neo4j round trip while the
snapshot's graph version is fresh (`version_ttl_s`). Anything it cannot serve goes on unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg.api.context import run_read
from kg.store.read import GraphReader, GraphSnapshot, StoreError

ANSWERS = "answers"  # the snapshot's pool of answers (JSON bytes of `data`)
READER_SCOPE_KEY = "kg.reader"  # the request's reader, handed from the middleware to the context
ANSWER_KEY_SCOPE_KEY = "kg.answer_key"  # the request's answer key, for KeptAnswers
ANSWER_JSON_SCOPE_KEY = "kg.answer_json"  # the answer's `data` as KeptAnswers encoded it, for the router
KEPT_HEADER = (b"kg-answer", b"kept")  # says a response came from the kept answers
MAX_BODY = 256 << 10  # a learningPath request is ~1 KB; bigger bodies are not worth keeping


def answer_key(query: str, operation_name: str | None, variables: Mapping[str, Any] | None) -> tuple[str, ...]:
    """What an answer depends on besides the graph: the document, the operation and the variables, as
    the request gives them (an operation name left out is another key than the same name given)."""
    return (query, operation_name or "", json.dumps(variables or {}, sort_keys=True, default=str))


def encode_json(data: object) -> bytes:
    """Compact UTF-8 JSON (CJK stays as it is: a third of the size of \\u escapes)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def response_body(data: bytes, extensions: Mapping[str, Any]) -> bytes:
    """The body strawberry sends for an answer without errors (same keys, same order), around the
    answer's `data` already encoded."""
    return b'{"data":' + data + b',"extensions":' + encode_json(extensions) + b"}"


class EncodedResponse(dict[str, Any]):
    """A response whose JSON is already known (`body`): the router sends it without encoding it again."""

    def __init__(self, response: Mapping[str, Any], body: bytes) -> None:
        super().__init__(response)
        self.body = body


class KeptResponses:
    """ASGI middleware: answers repeated GraphQL POSTs at `path` from the snapshot's kept answers.

    A request it cannot answer goes to the app as it came, with its reader (which may already have
    read the graph version: the request's `cypherQueries` still counts everything) and its answer key
    in the scope, for the context (`Context.reader`, `Context.answer_key`)."""

    def __init__(
        self, app: ASGIApp, *, path: str, snapshot: GraphSnapshot, new_reader: Callable[[], GraphReader]
    ) -> None:
        self.app = app
        self.path = path
        self.snapshot = snapshot
        self.new_reader = new_reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        reader = self.new_reader()
        key = _request_key(body) if complete and _is_json(scope) else None
        if key is not None:
            version = self.snapshot.fresh_version()
            if version is None:
                try:
                    version = await run_read(reader, reader.version)
                except StoreError:  # the resolvers will meet it and report it cleanly
                    version = None
            kept = self.snapshot.get(ANSWERS, version, key) if version is not None else None
            if isinstance(kept, bytes):
                await _send_json(send, response_body(kept, {"cypherQueries": reader.queries}))
                return
            scope[ANSWER_KEY_SCOPE_KEY] = key  # where KeptAnswers keeps the answer
        scope[READER_SCOPE_KEY] = reader
        await self.app(scope, _replay(body, complete, receive), send)


def _request_key(body: bytes) -> tuple[str, ...] | None:
    """The answer key of a single GraphQL request as JSON, else None (strawberry handles the rest)."""
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    query, operation, variables = request.get("query"), request.get("operationName"), request.get("variables")
    if not (
        isinstance(query, str)
        and isinstance(operation, (str, type(None)))
        and isinstance(variables, (dict, type(None)))
        and request.get("extensions") is None
    ):
        return None
    return answer_key(query, operation, variables)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower() == b"application/json"
    return False


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, up to MAX_BODY (then `complete` is False and the rest is left to the app)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # a disconnect: the app sees it through _replay
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A `receive` that first gives back what was read, then carries on with the real one."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed


async def _send_json(send: Send, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        KEPT_HEADER,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
