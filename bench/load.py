"""HTTP load for kg's GraphQL API: `learningPath` from N concurrent clients for a bounded time.

    python -m bench.load --url http://127.0.0.1:8000/graphql --clients 8 --duration 60 \
        --targets-file /tmp/kg-bench/v50000/.bench-manifest.json [--document outline|full]

Runs in its own process (bench/run.py starts it beside the API server on loopback) and prints one
JSON object: requests, errors (non-200, GraphQL `errors`, transport failures), requests/s and
latency percentiles in milliseconds. Each client sends its next request when the previous answer
arrives (closed loop), cycling through the targets. The server keeps each answer until the graph
changes, so once a target has been asked its answer is reused; `--uncached` measures the cost of
computing every answer.

`--document full` sends kg's LEARNING_PATH (what `kg path --json` asks: every reason's assertions and
from/to/requiredBy objects); `outline` (the default) sends LEARNING_PATH_OUTLINE, what a client
showing a path asks. The output names the document and the mean answer size.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from kg.api.queries import LEARNING_PATH, LEARNING_PATH_OUTLINE

DOCUMENTS = {"outline": LEARNING_PATH_OUTLINE, "full": LEARNING_PATH}
UNCACHED_MAX_STEPS = 1_000_000  # far above any path's length, so the answer is the uncapped one
_distinct = itertools.count(int(time.time() * 1000) % 1_000_000_000)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _client(
    http: httpx.AsyncClient,
    url: str,
    targets: list[str],
    offset: int,
    deadline: float,
    max_requests: int | None,
    latencies: list[float],
    errors: list[str],
    document: str = LEARNING_PATH_OUTLINE,
    sizes: list[int] | None = None,
    uncached: bool = False,
) -> None:
    i = offset
    sent = 0
    while time.perf_counter() < deadline and (max_requests is None or sent < max_requests):
        variables: dict[str, Any] = {"to": [targets[i % len(targets)]]}
        if uncached:  # a question never asked before (a step cap no path reaches): no kept answer applies
            variables["maxSteps"] = UNCACHED_MAX_STEPS + next(_distinct)
        body = {"query": document, "variables": variables}
        i += 1
        sent += 1
        started = time.perf_counter()
        try:
            response = await http.post(url, json=body)
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200
            payload: Any = response.json() if ok else None
            if not ok:
                errors.append(f"HTTP {response.status_code}")
            elif payload.get("errors"):
                errors.append(str(payload["errors"][0].get("message", "graphql error"))[:200])
            else:
                latencies.append(elapsed)
                if sizes is not None:
                    sizes.append(len(response.content))
        except (httpx.HTTPError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:200])


async def run_load(
    url: str,
    targets: list[str],
    clients: int,
    duration: float,
    max_requests: int | None = None,
    document: str = "outline",
    uncached: bool = False,
    warm_all: bool = False,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    sizes: list[int] = []
    query = DOCUMENTS[document]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        # One warm-up request per client (connections, server caches); not counted.
        await asyncio.gather(
            *(_client(http, url, targets, c, time.perf_counter() + 30, 1, [], [], query) for c in range(clients))
        )
        if warm_all:  # every target asked first (not counted): the steady state between two ingests.
            # By every client, so that each server worker process (connections are spread over them)
            # has been asked everything.
            await asyncio.gather(
                *(
                    _client(http, url, targets, c, time.perf_counter() + 900, len(targets), [], [], query)
                    for c in range(clients)
                )
            )
        started = time.perf_counter()
        deadline = started + duration
        per_client = None if max_requests is None else max(1, max_requests // clients)
        await asyncio.gather(
            *(
                _client(http, url, targets, c * 7, deadline, per_client, latencies, errors, query, sizes, uncached)
                for c in range(clients)
            )
        )
        wall = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    done = len(latencies) + len(errors)
    return {
        "document": document,
        "uncached": uncached,
        "warm_all": warm_all,
        "targets": len(targets),
        "clients": clients,
        "seconds": round(wall, 2),
        "requests": done,
        "ok": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "rps": round(done / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(ms, 50), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else 0.0,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else 0.0,
        "mean_bytes": round(statistics.fmean(sizes)) if sizes else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="learningPath load over HTTP")
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=None)
    parser.add_argument("--targets-file", type=Path, required=True, help="a vault's .bench-manifest.json")
    parser.add_argument("--document", choices=sorted(DOCUMENTS), default="outline", help="GraphQL document to send")
    parser.add_argument(
        "--uncached",
        action="store_true",
        help="make every request a question not asked before (a distinct, never-reached maxSteps), so the "
        "server computes every answer instead of reusing one kept for the graph version",
    )
    parser.add_argument(
        "--warm-all",
        action="store_true",
        help="ask every target once before timing (not counted): measures answers the server already keeps",
    )
    args = parser.parse_args(argv)
    manifest = json.loads(args.targets_file.read_text(encoding="utf-8"))
    targets = [str(t) for t in manifest["targets"]]
    result = asyncio.run(
        run_load(
            args.url,
            targets,
            args.clients,
            args.duration,
            args.max_requests,
            args.document,
            args.uncached,
            args.warm_all,
        )
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
