"""A `learningPath` document of plain fields is answered by a compiled projection, not by graphql-core:
the JSON (data and errors) must be what graphql-core's execution gives, on a real graph."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from neo4j import Driver

from kg.api.context import Context
from kg.api.projection import Plans
from kg.api.queries import LEARNING_PATH, LEARNING_PATH_OUTLINE
from kg.api.schema import DirectLearningPath, KgSchema, Query, schema
from kg.store.read import GraphReader

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

# graphql-core's execution for everything: the same schema without the projection
EXECUTED = KgSchema(query=Query, extensions=[e for e in schema.extensions if e is not DirectLearningPath])

EVERY_KIND_OF_FIELD = """
query Every($to: [String!]!) {
  path: learningPath(to: $to, maxSteps: 4) {
    __typename
    totals { __typename steps minutes notes longestChain }
    targets { id vault key name aliases kind description }
    steps {
      position stage isTarget inCycle minutes
      concept { id name kind description aliases }
      reasons { relation implied confidence line from { key } requiredBy { __typename name }
                assertions { rule confidence text note line } }
      notes { id vault path title kind description tags minutes cjkChars words }
    }
    omittedSteps minConfidence warnings
  }
}
"""

# (document, variables) pairs: answers, several targets, known concepts, a cycle, a confidence floor,
# a step cap, an unknown target, a bad argument and a variable of the wrong type
CASES: list[tuple[str, dict[str, Any]]] = [
    (LEARNING_PATH, {"to": ["GRPO"]}),
    (LEARNING_PATH_OUTLINE, {"to": ["GRPO"]}),
    (LEARNING_PATH, {"to": ["TRL", "DAPO"], "known": ["ppo", "no such thing"]}),
    (LEARNING_PATH_OUTLINE, {"to": ["KV Cache"]}),
    (LEARNING_PATH, {"to": ["KV Cache"], "minConfidence": 0.5}),
    (LEARNING_PATH_OUTLINE, {"to": ["GRPO"], "maxSteps": 3, "vault": "rl"}),
    (LEARNING_PATH, {"to": ["GPRO"]}),  # a typo, read as GRPO with a warning
    (EVERY_KIND_OF_FIELD, {"to": ["GRPO"]}),
    (LEARNING_PATH, {"to": ["no such concept"]}),
    (LEARNING_PATH_OUTLINE, {"to": ["GRPO"], "minConfidence": 2}),
    (LEARNING_PATH, {"to": ["GRPO"], "vault": "elsewhere"}),
    (LEARNING_PATH_OUTLINE, {"to": 5}),
]


async def run(on: KgSchema, driver: Driver, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = await on.execute(document, variable_values=variables, context_value=Context(reader=GraphReader(driver)))
    return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@pytest.mark.parametrize(("document", "variables"), CASES)
async def test_projection_answers_as_graphql_core(rl_vault: Driver, document: str, variables: dict[str, Any]) -> None:
    assert Plans(schema._schema).get(document, None, parse(document)) is not None  # the projection is used
    projected = await run(schema, rl_vault, document, variables)
    executed = await run(EXECUTED, rl_vault, document, variables)
    assert projected == executed
    assert projected["data"] or projected["errors"]


@pytest.mark.parametrize(
    "document",
    [
        '{ learningPath(to: "GRPO") { ... on LearningPath { totals { steps } } } }',  # a fragment
        '{ learningPath(to: "GRPO") { totals @include(if: true) { steps } } }',  # a directive
        '{ learningPath(to: "GRPO") { steps { concept { tags } } } }',  # a field with a resolver
        '{ learningPath(to: "GRPO") { totals { steps } totals { notes } } }',  # a repeated key
        '{ learningPath(to: "GRPO") { totals { steps } } stats { notes } }',  # another root field
        "{ stats { notes } }",
    ],
)
async def test_other_documents_are_executed_by_graphql_core(rl_vault: Driver, document: str) -> None:
    assert Plans(schema._schema).get(document, None, parse(document)) is None
    assert await run(schema, rl_vault, document, {}) == await run(EXECUTED, rl_vault, document, {})


def test_a_plan_knows_which_fields_its_document_reads() -> None:
    plans = Plans(schema._schema)
    full = plans.get(LEARNING_PATH, None, parse(LEARNING_PATH))
    outline = plans.get(LEARNING_PATH_OUTLINE, None, parse(LEARNING_PATH_OUTLINE))
    assert full is not None and outline is not None
    # the outline's answers are computed without every assertion's Evidence (kg.api.learning)
    assert full.selects("Reason", "assertions") and not outline.selects("Reason", "assertions")
    assert outline.selects("Reason", "rule") and outline.selects("LearningStep", "reasons")
    assert not outline.selects("Reason", "from") and full.selects("Reason", "from")
