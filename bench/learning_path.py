"""learningPath speed on a dense synthetic graph: N concepts, each requiring up to 4 earlier ones by
PREREQUISITE_OF / VARIANT_OF / IMPLEMENTS, every edge asserted by P notes (parallel relationships).

    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=... .venv/bin/python bench/learning_path.py 3000 --parallel 3

Writes vault `bench-lp` (replacing it) through VaultSync, then times, for the concepts with the
biggest closures: the whole answer (resolve + closure round trips + ordering), the Cypher round
trips alone, and the pure ordering alone. Prints one line per target and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

from neo4j import GraphDatabase

from kg.api.learning import compute_learning_path
from kg.learning_path import Requirement, plan_learning_path
from kg.model import Concept, Graph, Note, Relation, RelationType
from kg.settings import Settings
from kg.store.read import GraphReader
from kg.store.sync import VaultSync, scoped_uid

VAULT = "bench-lp"


def dense_graph(n: int, parallel: int, seed: int) -> Graph:
    rng = random.Random(seed)
    g = Graph()
    for i in range(n):
        key = f"c{i:05d}"
        g.concepts[key] = Concept(key=key, name=f"Concept {i:05d}", aliases={f"Concept {i:05d}"})
        for p in range(parallel):
            path = f"{key}/{p}.md"
            g.notes[path] = Note(path=path, title=f"{key} {p}", content_hash=path, encoding="utf-8",
                                 about=[key], words=400)  # fmt: skip
    types = [RelationType.PREREQUISITE_OF, RelationType.VARIANT_OF, RelationType.IMPLEMENTS]
    for i in range(1, n):
        for j in rng.sample(range(i), min(i, 4)):
            t = rng.choice(types)
            dep, req = f"c{i:05d}", f"c{j:05d}"
            source, target = (req, dep) if t is RelationType.PREREQUISITE_OF else (dep, req)
            for p in range(parallel):
                g.relations.append(Relation(type=t, source=source, target=target,
                                            confidence=rng.choice([0.3, 0.6, 1.0]), rule="bench", note=f"{dep}/{p}.md",
                                            line=p + 1, evidence=f"{dep} needs {req}"))  # fmt: skip
    return g


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("concepts", type=int, nargs="?", default=3000)
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    settings = Settings()
    driver = GraphDatabase.driver(
        settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value())
    )
    graph = dense_graph(args.concepts, args.parallel, args.seed)
    started = time.perf_counter()
    VaultSync(driver, settings.neo4j_database).sync(VAULT, "/bench", graph)
    took = time.perf_counter() - started
    print(f"wrote {len(graph.concepts)} concepts, {len(graph.relations)} relations in {took:.1f} s")

    needs: dict[str, set[str]] = {}
    for r in graph.relations:
        dep, req = (r.target, r.source) if r.type is RelationType.PREREQUISITE_OF else (r.source, r.target)
        needs.setdefault(dep, set()).add(req)

    def closure_size(key: str) -> int:
        seen, stack = {key}, [key]
        while stack:
            for y in needs.get(stack.pop(), ()):
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        return len(seen)

    targets = sorted(graph.concepts, key=closure_size, reverse=True)[: args.targets]
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    for key in targets:
        name = graph.concepts[key].name
        whole, cypher, order = [], [], []
        for _ in range(args.repeat):
            reader = GraphReader(driver, settings.neo4j_database)
            t0 = time.perf_counter()
            answer = compute_learning_path(reader, [name], [], 0.0, None, VAULT)
            whole.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            closure = GraphReader(driver, settings.neo4j_database).closure([scoped_uid(VAULT, key)])
            cypher.append(time.perf_counter() - t0)
            reqs = [Requirement(d, r, e.assertion.confidence) for d, r, e in closure.requires]
            t0 = time.perf_counter()
            plan_learning_path([scoped_uid(VAULT, key)], reqs)
            order.append(time.perf_counter() - t0)
        print(
            f"{name}: closure {len(closure.concepts)} concepts, {len(closure.requires)} assertions, "
            f"{answer.totals.longest_chain} stages, {reader.queries} round trips | median: answer "
            f"{statistics.median(whole) * 1000:.0f} ms, closure query {statistics.median(cypher) * 1000:.0f} ms, "
            f"ordering {statistics.median(order) * 1000:.1f} ms"
        )
    driver.close()


if __name__ == "__main__":
    main()
