"""First-time latency of each kind of GraphQL query other than learningPath, one client.

    python -m bench.queries --url http://127.0.0.1:8000/graphql --neo4j bolt://127.0.0.1:7687 \
        --password kg-local-password [--requests 25] [--seed 1] [--vault NAME]

Runs in its own process beside the API server (bench/run.py's `http` section starts it after the
learningPath load). Every request asks something not asked before (a concept, a typo of one, a word
to search, a tag, a note, a pair to connect), so the server's kept answers never serve it: what is
measured is computing the answer. The names, tags and paths are sampled from the graph over Bolt.
Prints one JSON object: for each kind, requests, errors and latency percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
from neo4j import GraphDatabase

from bench.load import percentile

CONCEPT = """query($n: String!, $v: String) { concept(name: $n, vault: $v) {
  name aliases kind description tags notes { path title } mentionedIn(first: 10) { note { path } count }
  prerequisites { concept { name } confidence evidence { text note line } } dependents { concept { name } }
  variants { concept { name } } variantOf { concept { name } } implements { concept { name } }
  related { concept { name } } partOf { concept { name } } } }"""
CONCEPT_NAME = "query($n: String!, $v: String) { concept(name: $n, vault: $v) { name } }"
SEARCH = """query($t: String!, $v: String) { search(text: $t, first: 20, vault: $v) {
  score concept { name } note { path } } }"""
CONCEPTS = """query($tag: String, $v: String, $after: String) {
  concepts(tag: $tag, vault: $v, first: 50, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { name kind } } }"""
NOTE = """query($p: String!, $v: String) { note(path: $p, vault: $v) {
  title tags minutes about { name } linksTo { path } linkedFrom { path } resources } }"""
CONNECTION = """query($a: String!, $b: String!, $v: String) { connection(from: $a, to: $b, vault: $v) {
  length concepts { name } links { relation evidence { text } } } }"""
# a new alias per request makes each a new question (the server keeps answers by document and variables)
STATS = "query($v: String) {{ s{ask}: stats(vault: $v) {{ notes concepts relations {{ relation count }} }} }}"

Request = tuple[str, dict[str, Any]]


def sample(uri: str, password: str, vault: str | None) -> dict[str, list[str]]:
    where = "WHERE $vault IS NULL OR x.vault = $vault"
    with GraphDatabase.driver(uri, auth=("neo4j", password)) as driver, driver.session() as session:
        return {
            what: [r["v"] for r in session.run(statement.format(where=where), vault=vault)]
            for what, statement in {
                "names": "MATCH (x:Concept) {where} RETURN x.name AS v ORDER BY v",
                "tags": "MATCH (x:Tag) {where} RETURN DISTINCT x.name AS v ORDER BY v",
                "paths": "MATCH (x:Note) {where} RETURN x.path AS v ORDER BY v",
            }.items()
        }


def typo(name: str, rng: random.Random) -> str:
    """One edit: a letter replaced, dropped, or two swapped (what `concept(name:)` forgives)."""
    i = rng.randrange(len(name))
    edit = rng.choice(("replace", "drop", "swap")) if len(name) > 1 else "replace"
    if edit == "replace":
        return name[:i] + "q" + name[i + 1 :]
    if edit == "drop":
        return name[:i] + name[i + 1 :]
    i = min(i, len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def requests(graph: dict[str, list[str]], n: int, rng: random.Random) -> Iterator[tuple[str, list[Request]]]:
    names, tags, paths = graph["names"], graph["tags"], graph["paths"]
    words = sorted({w for name in rng.sample(names, min(len(names), 20 * n)) for w in name.split() if len(w) > 3})

    def pick(values: list[str], k: int) -> list[str]:
        return rng.sample(values, min(k, len(values)))

    yield "concept", [(CONCEPT, {"n": name}) for name in pick(names, n)]
    yield "concept, one typo", [(CONCEPT_NAME, {"n": typo(name, rng)}) for name in pick(names, n)]
    yield "search", [(SEARCH, {"t": word}) for word in pick(words, n)]
    firsts = sorted(pick(names, n))  # pages that start at a sampled name (a cursor is name + uid)
    yield (
        "concepts page",
        [(CONCEPTS, {"tag": None, "after": None})]
        + [(CONCEPTS, {"tag": None, "after": _cursor(name)}) for name in firsts[: n - 1]],
    )
    yield "concepts by tag", [(CONCEPTS, {"tag": tag, "after": None}) for tag in pick(tags, n)]
    yield "note", [(NOTE, {"p": path}) for path in pick(paths, n)]
    yield "connection", [(CONNECTION, {"a": a, "b": b}) for a, b in zip(pick(names, n), pick(names, n), strict=False)]
    yield "stats", [(STATS.format(ask=rng.randrange(10**9)), {}) for _ in range(min(n, 5))]


def _cursor(name: str) -> str:
    """A cursor as the API makes them (`kg.api.types.encode_cursor`), placed just before `name`."""
    return base64.urlsafe_b64encode(json.dumps([name, ""], ensure_ascii=False).encode("utf-8")).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--neo4j", required=True, help="Bolt URI, to sample names, tags and paths")
    parser.add_argument("--password", required=True)
    parser.add_argument("--requests", type=int, default=25, help="requests per kind of query")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--vault")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    graph = sample(args.neo4j, args.password, args.vault)
    out: dict[str, Any] = {"seed": args.seed, "concepts": len(graph["names"]), "notes": len(graph["paths"])}
    with httpx.Client(timeout=300) as http:
        for kind, batch in requests(graph, args.requests, rng):
            latencies: list[float] = []
            errors: list[str] = []
            for query, variables in batch:
                started = time.perf_counter()
                response = http.post(args.url, json={"query": query, "variables": {**variables, "v": args.vault}})
                latencies.append((time.perf_counter() - started) * 1000)
                body = (
                    response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
                )
                if response.status_code != 200 or body.get("errors"):
                    errors.append(f"{response.status_code}: {str(body.get('errors'))[:200]}")
            out[kind] = {
                "requests": len(latencies),
                "errors": len(errors),
                "error_samples": errors[:3],
                "p50_ms": percentile(latencies, 50),
                "p90_ms": percentile(latencies, 90),
                "max_ms": max(latencies, default=0.0),
            }
            print(f"{kind}: {out[kind]}", file=sys.stderr, flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
