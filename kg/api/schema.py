"""The GraphQL schema: read-only queries, hardening extensions, and the SDL export.

`python -m kg.api.schema` prints the SDL; `kg schema export-graphql` writes schema/schema.graphql.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.types import ExecutionContext

from kg.api.context import Context
from kg.api.errors import BadArgumentError, is_public
from kg.api.learning import compute_learning_path, resolve_one, unknown_concept
from kg.api.projection import Plans
from kg.api.responses import ANSWER_JSON_SCOPE_KEY, ANSWERS, encode_json
from kg.api.types import (
    Chain,
    ChainLink,
    Concept,
    ConceptConnection,
    ConceptEdge,
    ContextInfo,
    Evidence,
    LearningPath,
    Note,
    PageInfo,
    Relation,
    RelationCount,
    SearchHit,
    Stats,
    Vault,
    decode_cursor,
    described,
    encode_cursor,
)
from kg.store.read import GraphReader, StoreError

# Limits against abusive queries. The deepest useful query (a path's steps' concepts' relations'
# concepts' fields) is 7 levels; 12 leaves room without allowing runaway nesting.
MAX_DEPTH = 12
MAX_TOKENS = 2000
MAX_ALIASES = 30
MAX_PAGE = 200
MAX_SEARCH = 100


# QueryDepthLimiter's and MaxAliasesLimiter's rules, each made once: they build a rule class per instance
# (per request), which would make every ValidationCache key new.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    depth_validator(MAX_DEPTH, should_ignore=None),
    aliases_validator(MAX_ALIASES),
]


class CypherQueryCount(SchemaExtension):
    """Reports how many Cypher statements a request sent, under `extensions.cypherQueries`."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        reader = getattr(context, "reader", None)
        return {"cypherQueries": reader.queries} if reader is not None else {}


class KeptAnswers(SchemaExtension):
    """Keeps every complete answer (no errors) as JSON bytes in the snapshot, under the request's
    answer key and the graph version it was computed on: `kg.api.responses.KeptResponses` serves the
    same request from them until an ingest changes the graph. The graph is read-only through the API,
    so an answer depends on nothing but the document, its operation, its variables and the graph."""

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        reader: GraphReader | None = getattr(ctx.context, "reader", None)
        key: tuple[str, ...] | None = getattr(ctx.context, "answer_key", None)
        version: str | None = None
        if reader is not None and reader.snapshot is not None and key is not None:
            # the version the answer is computed on (the resolvers see this one too); if Neo4j is
            # down, the resolvers will meet it and report it cleanly
            with contextlib.suppress(StoreError):
                version = reader.known_version() or await ctx.context.read(reader.version)
        yield
        result = ctx.result
        if (
            version is None
            or reader is None
            or reader.snapshot is None
            or key is None
            or not isinstance(result, GraphQLExecutionResult)
            or result.errors
            or not result.data
        ):
            return
        data = encode_json(result.data)
        reader.snapshot.put(ANSWERS, version, key, data, cost=len(data))  # a long path weighs more
        request = getattr(ctx.context, "request", None)
        if request is not None:  # the router sends these bytes instead of encoding the data again
            request.scope[ANSWER_JSON_SCOPE_KEY] = data


class DirectLearningPath(SchemaExtension):
    """Answers a `learningPath` document that asks only for plain fields without graphql-core's
    execution (see `kg.api.projection`): the same resolver call, then a compiled projection."""

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        plan = None
        if ctx.query is not None and ctx.graphql_document is not None and isinstance(ctx.context, Context):
            plan = _PLANS.get(ctx.query, ctx.operation_name, ctx.graphql_document)
        args = plan.arguments(ctx.variables) if plan is not None else None
        if plan is not None and args is not None:
            try:
                context = ctx.context
                value = await context.read(
                    compute_learning_path,
                    context.reader,
                    args["to"],
                    list(args["known"]),
                    args["minConfidence"],
                    args.get("maxSteps"),
                    args.get("vault"),
                    assertions=plan.selects("Reason", "assertions"),
                )
            except Exception as exc:  # reported as graphql-core reports a resolver's error
                ctx.result = plan.error(exc)
            else:
                result = plan.result(value)
                if result is not None:
                    ctx.result = result
        yield


async def _resolve_concept(ctx: Context, name: str, vault: str | None) -> Concept | None:
    res = await ctx.read(resolve_one, ctx.reader, name, vault)
    return Concept.of(res.concepts[0]) if res.concepts else None


@strawberry.type
class Query:
    @described(
        "What to learn before the targets, in order (SPEC §5). Targets are names, aliases or keys, "
        "case-insensitive, tolerant of small typos. `known` concepts are skipped with whatever is needed only "
        "through them; relations below `minConfidence` are ignored; `maxSteps` keeps the steps closest to the targets."
    )
    async def learning_path(
        self,
        info: ContextInfo,
        to: list[str],
        known: list[str] = [],  # noqa: B006  (never mutated; shows as `= []` in the SDL)
        min_confidence: float = 0.0,
        max_steps: int | None = None,
        vault: str | None = None,
    ) -> LearningPath:
        ctx = info.context
        return await ctx.read(compute_learning_path, ctx.reader, to, list(known), min_confidence, max_steps, vault)

    @described("A concept by name, alias or key (typo-tolerant); null when none matches.")
    async def concept(self, info: ContextInfo, name: str, vault: str | None = None) -> Concept | None:
        return await _resolve_concept(info.context, name, vault)

    @described("Full-text search over concept names, aliases and note titles.")
    async def search(self, info: ContextInfo, text: str, first: int = 20, vault: str | None = None) -> list[SearchHit]:
        if not 1 <= first <= MAX_SEARCH:
            raise BadArgumentError("first", f"must be between 1 and {MAX_SEARCH}")
        hits = await info.context.read(info.context.reader.search, text, first, vault)
        return [
            SearchHit(
                score=h.score,
                concept=Concept.of(h.concept) if h.concept else None,
                note=Note.of(h.note) if h.note else None,
            )
            for h in hits
        ]

    @described("Concepts by name, optionally by tag (nested tags included) or kind; paginated.")
    async def concepts(
        self,
        info: ContextInfo,
        tag: str | None = None,
        kind: str | None = None,
        vault: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ConceptConnection:
        if not 1 <= first <= MAX_PAGE:
            raise BadArgumentError("first", f"must be between 1 and {MAX_PAGE}")
        cursor = decode_cursor(after) if after else None
        if after and cursor is None:
            raise BadArgumentError("after", "not a cursor returned by this API")
        reader = info.context.reader
        page = await info.context.read(reader.list_concepts, first=first, after=cursor, tag=tag, kind=kind, vault=vault)
        edges = [ConceptEdge(cursor=encode_cursor(c), node=Concept.of(c)) for c in page.items]
        return ConceptConnection(
            total_count=page.total,
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
        )

    @described("A note by its vault-relative path.")
    async def note(self, info: ContextInfo, path: str, vault: str | None = None) -> Note | None:
        notes = await info.context.read(info.context.reader.note_by_path, path, vault)
        if len(notes) > 1:
            raise BadArgumentError("vault", f'{path!r} exists in several vaults; choose one with vault: "…"')
        return Note.of(notes[0]) if notes else None

    @described(
        "The shortest chain of typed relations between two concepts (either direction); null if none.",
        name="connection",
    )
    async def connection(
        self,
        info: ContextInfo,
        from_: Annotated[str, strawberry.argument(name="from")],
        to: str,
        vault: str | None = None,
    ) -> Chain | None:
        ctx = info.context
        resolved = await ctx.read(ctx.reader.resolve, [from_, to], vault)
        ends = []
        for text in (from_, to):
            res = resolved[text]
            if not res.concepts:
                raise await ctx.read(unknown_concept, ctx.reader, text, res, vault)
            ends.append(res.concepts[0])
        if ends[0].vault != ends[1].vault:
            return None
        found = await ctx.read(ctx.reader.connection, ends[0].uid, ends[1].uid)
        if found is None:
            return None
        by_uid = {c.uid: c for c in found.concepts}
        links = [
            ChainLink(
                relation=Relation(e.type),
                from_=Concept.of(by_uid[e.source]),
                to=Concept.of(by_uid[e.target]),
                evidence=Evidence.of(e.assertion),
            )
            for e in found.edges
        ]
        return Chain(length=len(links), concepts=[Concept.of(c) for c in found.concepts], links=links)

    @described("Counts of vaults, notes, concepts, tags, resources and relations by type.")
    async def stats(self, info: ContextInfo, vault: str | None = None) -> Stats:
        s = await info.context.read(info.context.reader.stats, vault)
        return Stats(
            vaults=s.vaults,
            notes=s.notes,
            concepts=s.concepts,
            tags=s.tags,
            resources=s.resources,
            relations=[RelationCount(relation=Relation(t), count=n) for t, n in sorted(s.relations.items())],
        )

    @described("The vaults in the graph and their last ingest's counts.")
    async def vaults(self, info: ContextInfo) -> list[Vault]:
        rows = await info.context.read(info.context.reader.vaults)
        return [
            Vault(
                name=v.name,
                root=v.root,
                notes=v.notes,
                concepts=v.concepts,
                relations=v.relations,
                problems=v.problems,
                last_change_at=v.last_change_at,
            )
            for v in rows
        ]


class KgSchema(strawberry.Schema):
    """Logs only unexpected errors (with their traceback, server-side); a user's unknown concept is no incident."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        super().process_errors([e for e in errors if not is_public(e)], execution_context)


schema = KgSchema(
    query=Query,
    extensions=[
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaskErrors(should_mask_error=lambda error: not is_public(error)),
        # Clients send the same few documents: parse and validate each once (~10 ms per request).
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        CypherQueryCount,
        KeptAnswers,  # outside DirectLearningPath: keeps what it answers too
        DirectLearningPath,
    ],
)
_PLANS = Plans(schema._schema)


def schema_sdl() -> str:
    """The schema as SDL, newline-terminated: what schema/schema.graphql must hold."""
    return schema.as_str().rstrip("\n") + "\n"


if __name__ == "__main__":
    print(schema_sdl(), end="")
