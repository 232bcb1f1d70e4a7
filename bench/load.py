"""HTTP load for kg's GraphQL API: `learningPath` from N concurrent clients for a bounded time.

    python -m bench.load --url http://127.0.0.1:8000/graphql --clients 8 --duration 60 \
        --targets-file /tmp/kg-bench/v50000/.bench-manifest.json

Runs in its own process (bench/run.py starts it beside the API server on loopback) and prints one
JSON object: requests, errors (non-200, GraphQL `errors`, transport failures), requests/s and
latency percentiles in milliseconds. Each client sends its next request when the previous answer
arrives (closed loop), cycling through the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from kg.api.queries import LEARNING_PATH


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
) -> None:
    i = offset
    sent = 0
    while time.perf_counter() < deadline and (max_requests is None or sent < max_requests):
        body = {"query": LEARNING_PATH, "variables": {"to": [targets[i % len(targets)]]}}
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
        except (httpx.HTTPError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:200])


async def run_load(
    url: str, targets: list[str], clients: int, duration: float, max_requests: int | None = None
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        # One warm-up request per client (connections, server caches); not counted.
        await asyncio.gather(
            *(_client(http, url, targets, c, time.perf_counter() + 30, 1, [], []) for c in range(clients))
        )
        started = time.perf_counter()
        deadline = started + duration
        per_client = None if max_requests is None else max(1, max_requests // clients)
        await asyncio.gather(
            *(_client(http, url, targets, c * 7, deadline, per_client, latencies, errors) for c in range(clients))
        )
        wall = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    done = len(latencies) + len(errors)
    return {
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
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="learningPath load over HTTP")
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=None)
    parser.add_argument("--targets-file", type=Path, required=True, help="a vault's .bench-manifest.json")
    args = parser.parse_args(argv)
    manifest = json.loads(args.targets_file.read_text(encoding="utf-8"))
    targets = [str(t) for t in manifest["targets"]]
    result = asyncio.run(run_load(args.url, targets, args.clients, args.duration, args.max_requests))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
