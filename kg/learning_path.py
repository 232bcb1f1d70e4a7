"""Ordering a learning path: pure functions over concept ids and requires-edges (SPEC §5).

The store fetches the closure (everything the targets require, transitively) and the
requires-edges among it; this module decides what to study and in which order:

- `known` concepts block the walk (Metacademy): they are skipped, and so is whatever is
  reachable only through them ("implicitly known"). Targets are always steps.
- `depth` is the fewest requires-hops from the nearest target.
- `stage` is the step's level in the longest chain of prerequisites under it: stage 1 needs
  nothing inside the path, stage k needs something of stage k-1. Steps of one stage can be
  studied in parallel. The longest chain is the highest stage.
- the order is by stage (so every step comes after what it requires), then closer to a target,
  then better supported (strongest confidence, most assertions), then name, then id: deterministic.
- cycles (strongly connected components) are reported; their members share a stage and are
  ordered among themselves by the same tie-break, never looped on.
- a requires-edge that a longer chain through other steps already implies is flagged
  (`implied_for`), so readers can show the direct reasons first.
- `max_steps` keeps the steps closest to the targets (targets always kept) in the same order.

Nothing here knows Neo4j or GraphQL.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Requirement:
    """One assertion that `dependent` requires `required` (parallel assertions are merged here)."""

    dependent: str
    required: str
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class PlannedStep:
    id: str
    depth: int
    stage: int
    is_target: bool
    requires: tuple[str, ...]  # ids of steps this one directly requires (in plan order)
    required_by: tuple[str, ...]  # ids of steps that directly require this one (in plan order)
    support: float  # strongest confidence among the edges that put it in the path (1.0 for targets)
    assertions: int  # how many assertions put it in the path
    cycle: int | None = None  # index into `Plan.cycles` when the step is part of a cycle
    # steps whose direct need of this one is also implied by a longer chain through other steps
    # (a transitive edge; Metacademy hides those). Listed in `required_by` all the same.
    implied_for: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[PlannedStep, ...]
    cycles: tuple[tuple[str, ...], ...]  # each cycle's members, in plan order
    known: tuple[str, ...]  # known concepts the path would otherwise have needed
    implicitly_known: tuple[str, ...]  # needed only through known concepts
    longest_chain: int  # highest stage (before any max_steps cut)
    omitted: int  # steps dropped by max_steps

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.steps]


@dataclass(slots=True)
class _Edge:
    confidence: float
    assertions: int


def merge_requirements(requirements: Iterable[Requirement]) -> dict[str, dict[str, _Edge]]:
    """dependent -> required -> merged edge (strongest confidence, assertion count)."""
    needs: dict[str, dict[str, _Edge]] = defaultdict(dict)
    for req in requirements:
        edge = needs[req.dependent].get(req.required)
        if edge is None:
            needs[req.dependent][req.required] = _Edge(req.confidence, 1)
        else:
            edge.confidence = max(edge.confidence, req.confidence)
            edge.assertions += 1
    return needs


def _bfs(
    targets: Sequence[str], needs: Mapping[str, Mapping[str, _Edge]], blocked: Collection[str]
) -> tuple[dict[str, int], set[str]]:
    """Depths of everything reachable from the targets without entering `blocked`; and the blocked hit."""
    depth: dict[str, int] = {}
    hit: set[str] = set()
    queue: deque[str] = deque()
    for t in targets:
        if t not in depth:
            depth[t] = 0
            queue.append(t)
    while queue:
        x = queue.popleft()
        for y in sorted(needs.get(x, {})):
            if y in depth:
                continue
            if y in blocked:
                hit.add(y)
                continue
            depth[y] = depth[x] + 1
            queue.append(y)
    return depth, hit


def _strongly_connected(nodes: Sequence[str], succ: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Tarjan's SCCs, iterative; each component is emitted after every component it reaches."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            children = succ.get(v, ())
            recurse = False
            for j in range(i, len(children)):
                w = children[j]
                if w not in index:
                    work.append((v, j + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                component: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def plan_learning_path(
    targets: Sequence[str],
    requirements: Iterable[Requirement],
    *,
    known: Collection[str] = (),
    names: Mapping[str, str] | None = None,
    max_steps: int | None = None,
) -> Plan:
    """Order everything the targets require. See the module docstring for the rules."""
    names = names or {}
    targets = list(dict.fromkeys(targets))
    target_set = set(targets)
    needs = merge_requirements(requirements)
    blocked = set(known) - target_set

    depth, known_hit = _bfs(targets, needs, blocked)
    everything, _ = _bfs(targets, needs, ())
    implicitly_known = set(everything) - set(depth) - blocked

    in_path = set(depth)
    # requires-edges inside the path; self-loops are cycles of one
    succ: dict[str, list[str]] = {x: sorted(y for y in needs.get(x, {}) if y in in_path) for x in in_path}
    support: dict[str, float] = dict.fromkeys(target_set, 1.0)
    assertions: dict[str, int] = dict.fromkeys(in_path, 0)
    required_by: dict[str, list[str]] = defaultdict(list)
    for x, ys in succ.items():
        for y in ys:
            edge = needs[x][y]
            if y not in target_set:
                support[y] = max(support.get(y, 0.0), edge.confidence)
            assertions[y] += edge.assertions
            required_by[y].append(x)

    def tie(x: str) -> tuple[int, float, int, str, str]:
        return (depth[x], -support.get(x, 0.0), -assertions[x], names.get(x, x).casefold(), x)

    components = _strongly_connected(sorted(in_path, key=tie), succ)
    component_of: dict[str, int] = {}
    for ci, comp in enumerate(components):
        for x in comp:
            component_of[x] = ci
    # components come out dependencies-first, so one pass computes the stages
    comp_stage: list[int] = []
    for comp in components:
        below = [comp_stage[component_of[y]] for x in comp for y in succ[x] if component_of[y] != component_of[x]]
        comp_stage.append(1 + max(below, default=0))
    stage = {x: comp_stage[component_of[x]] for x in in_path}

    # Everything each component reaches, as a bitset over components, to spot transitive edges.
    reach: list[int] = []
    for ci, comp in enumerate(components):
        mask = 0
        for x in comp:
            for y in succ[x]:
                cy = component_of[y]
                if cy != ci:
                    mask |= (1 << cy) | reach[cy]
        reach.append(mask)

    def implied(dependent: str, required: str) -> bool:
        cd, cr = component_of[dependent], component_of[required]
        if cd == cr:
            return False
        others = {component_of[z] for z in succ[dependent]} - {cd, cr}
        return any(reach[cz] >> cr & 1 for cz in others)

    order = sorted(in_path, key=lambda x: (stage[x], *tie(x)))
    cyclic = [c for c in components if len(c) > 1 or c[0] in succ[c[0]]]
    position = {x: i for i, x in enumerate(order)}
    cycles = sorted((tuple(sorted(c, key=position.__getitem__)) for c in cyclic), key=lambda c: position[c[0]])
    cycle_of = {x: ci for ci, c in enumerate(cycles) for x in c}

    kept = order
    if max_steps is not None and len(order) > max_steps:
        closest = sorted(in_path - target_set, key=tie)[: max(0, max_steps - len(target_set))]
        keep = target_set | set(closest)
        kept = [x for x in order if x in keep]
    kept_set = set(kept)

    steps = tuple(
        PlannedStep(
            id=x,
            depth=depth[x],
            stage=stage[x],
            is_target=x in target_set,
            requires=tuple(sorted((y for y in succ[x] if y in kept_set), key=position.__getitem__)),
            required_by=tuple(sorted((d for d in required_by[x] if d in kept_set), key=position.__getitem__)),
            support=support.get(x, 0.0),
            assertions=assertions[x],
            cycle=cycle_of.get(x),
            implied_for=tuple(
                sorted((d for d in required_by[x] if d in kept_set and implied(d, x)), key=position.__getitem__)
            ),
        )
        for x in kept
    )

    def by_name(ids: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(ids, key=lambda x: (names.get(x, x).casefold(), x)))

    return Plan(
        steps=steps,
        cycles=tuple(cycles),
        known=by_name(known_hit),
        implicitly_known=by_name(implicitly_known),
        longest_chain=max(stage.values(), default=0),
        omitted=len(order) - len(kept),
    )
