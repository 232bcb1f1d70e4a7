"""The pure learning-path ordering: order property on generated graphs, known-pruning, cycles, caps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kg.learning_path import Plan, Requirement, plan_learning_path


def req(dependent: str, required: str, confidence: float = 1.0) -> Requirement:
    return Requirement(dependent=dependent, required=required, confidence=confidence)


# GRPO needs PPO and RLHF; PPO needs PG and TRPO; TRPO needs PG; PG needs MDP; RLHF needs PPO and RM.
GRPO_EDGES = [
    req("grpo", "ppo"),
    req("grpo", "rlhf", 0.8),
    req("ppo", "pg"),
    req("ppo", "trpo"),
    req("trpo", "pg"),
    req("pg", "mdp"),
    req("rlhf", "ppo"),
    req("rlhf", "rm"),
    req("dapo", "grpo"),  # a variant of GRPO: after it, never before
]


def positions(plan: Plan) -> dict[str, int]:
    return {step.id: i for i, step in enumerate(plan.steps)}


def test_hand_written_path_order_depth_stage() -> None:
    plan = plan_learning_path(["grpo"], GRPO_EDGES)
    assert plan.ids == ["rm", "mdp", "pg", "trpo", "ppo", "rlhf", "grpo"]  # rm is closer than mdp
    by_id = {s.id: s for s in plan.steps}
    assert {k: by_id[k].depth for k in by_id} == {
        "grpo": 0, "ppo": 1, "rlhf": 1, "pg": 2, "trpo": 2, "rm": 2, "mdp": 3
    }  # fmt: skip
    assert {k: by_id[k].stage for k in by_id} == {
        "mdp": 1, "rm": 1, "pg": 2, "trpo": 3, "ppo": 4, "rlhf": 5, "grpo": 6
    }  # fmt: skip
    assert plan.longest_chain == 6
    assert by_id["grpo"].is_target and by_id["grpo"].requires == ("ppo", "rlhf")
    assert by_id["ppo"].required_by == ("rlhf", "grpo")
    assert plan.cycles == () and plan.known == () and plan.omitted == 0


def test_ties_prefer_closer_then_better_supported_then_name() -> None:
    # a, b, c, d all stage 1; d is closer (depth 1); b is better supported than a and c
    edges = [req("t", "d"), req("t", "x", 0.9), req("x", "c", 0.5), req("x", "b", 0.9), req("x", "a", 0.5)]
    plan = plan_learning_path(["t"], edges)
    assert plan.ids == ["d", "b", "a", "c", "x", "t"]
    # parallel assertions are merged: more assertions win a tie on confidence
    plan = plan_learning_path(["t"], [req("t", "p"), req("t", "q"), req("t", "q")])
    assert plan.ids == ["q", "p", "t"]
    assert plan.steps[0].assertions == 2


def test_known_blocks_the_walk_and_reports_implicitly_known() -> None:
    plan = plan_learning_path(["grpo"], GRPO_EDGES, known=["ppo"])
    assert plan.ids == ["rm", "rlhf", "grpo"]
    assert plan.known == ("ppo",)
    assert set(plan.implicitly_known) == {"pg", "trpo", "mdp"}
    # MDP is still needed when something not known needs it
    plan = plan_learning_path(["grpo"], [*GRPO_EDGES, req("rm", "mdp")], known=["ppo"])
    assert plan.ids == ["mdp", "rm", "rlhf", "grpo"]
    assert set(plan.implicitly_known) == {"pg", "trpo"}
    # a target is a step even when listed as known
    assert plan_learning_path(["grpo"], GRPO_EDGES, known=["grpo"]).ids[-1] == "grpo"


def test_cycles_are_reported_not_looped_on() -> None:
    edges = [req("t", "a"), req("a", "b"), req("b", "c"), req("c", "a"), req("c", "base"), req("s", "s")]
    plan = plan_learning_path(["t", "s"], edges)
    assert plan.ids[:2] == ["s", "base"]  # s: a target (depth 0) with nothing else below it
    assert set(plan.ids) == {"t", "a", "b", "c", "base", "s"}
    cycles = {frozenset(c) for c in plan.cycles}
    assert cycles == {frozenset({"a", "b", "c"}), frozenset({"s"})}
    stages = {s.id: s.stage for s in plan.steps}
    assert stages["a"] == stages["b"] == stages["c"] == 2 and stages["t"] == 3
    assert all(s.cycle is not None for s in plan.steps if s.id in "abc")


def test_several_targets_and_max_steps() -> None:
    plan = plan_learning_path(["grpo", "dapo"], GRPO_EDGES)
    assert plan.ids[-2:] == ["grpo", "dapo"]
    assert next(s for s in plan.steps if s.id == "grpo").is_target
    capped = plan_learning_path(["grpo"], GRPO_EDGES, max_steps=3)
    assert capped.ids == ["ppo", "rlhf", "grpo"] and capped.omitted == 4
    assert capped.longest_chain == 6
    assert plan_learning_path(["grpo"], GRPO_EDGES, max_steps=1).ids == ["grpo"]


def test_isolated_target() -> None:
    plan = plan_learning_path(["x"], [])
    assert plan.ids == ["x"] and plan.steps[0].stage == 1 and plan.longest_chain == 1


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[Requirement]]:
    n = draw(st.integers(min_value=1, max_value=25))
    nodes = [f"n{i:02d}" for i in range(n)]
    edges: list[Requirement] = []
    for i in range(1, n):
        for j in draw(st.lists(st.integers(min_value=0, max_value=i - 1), max_size=4)):
            conf = draw(st.sampled_from([0.3, 0.6, 1.0]))
            for _ in range(draw(st.integers(min_value=1, max_value=2))):  # parallel assertions
                edges.append(req(nodes[i], nodes[j], conf))
    return nodes, edges


@settings(max_examples=300, deadline=None)
@given(dags(), st.data())
def test_order_property_on_generated_dags(graph: tuple[list[str], list[Requirement]], data: st.DataObject) -> None:
    nodes, edges = graph
    targets = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
    known = data.draw(st.lists(st.sampled_from(nodes), max_size=3, unique=True))
    plan = plan_learning_path(targets, edges, known=known)
    pos = positions(plan)
    needs: dict[str, set[str]] = {}
    for e in edges:
        needs.setdefault(e.dependent, set()).add(e.required)
    # every step's prerequisites that are steps come earlier, and stages strictly increase along edges
    stage = {s.id: s.stage for s in plan.steps}
    for s in plan.steps:
        for r in needs.get(s.id, set()):
            if r in pos:
                assert pos[r] < pos[s.id]
                assert stage[r] < stage[s.id]
        assert set(s.requires) == needs.get(s.id, set()) & set(pos)
    # closure: whatever a step needs is a step, or known (or reached only through known)
    for s in plan.steps:
        for r in needs.get(s.id, set()):
            assert r in pos or r in known
    assert plan.cycles == ()  # a DAG has none
    assert set(targets) <= set(pos)
    assert not (set(plan.implicitly_known) & set(pos))
    assert plan.longest_chain == max(stage.values())
    # deterministic regardless of the order the edges arrive in
    assert plan_learning_path(targets, list(reversed(edges)), known=known) == plan


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30), st.integers(0, 9))
def test_arbitrary_graphs_terminate_and_respect_order_outside_cycles(pairs: list[tuple[int, int]], t: int) -> None:
    edges = [req(f"n{a}", f"n{b}") for a, b in pairs]
    plan = plan_learning_path([f"n{t}"], edges)
    pos = positions(plan)
    cycle_of = {s.id: s.cycle for s in plan.steps}
    for e in edges:
        if e.dependent in pos and e.required in pos:
            same_cycle = cycle_of[e.dependent] is not None and cycle_of[e.dependent] == cycle_of[e.required]
            assert same_cycle or pos[e.required] < pos[e.dependent]
    assert len(pos) == len(plan.steps)


def test_transitive_edges_are_flagged() -> None:
    plan = plan_learning_path(["grpo"], GRPO_EDGES)
    by_id = {s.id: s for s in plan.steps}
    # GRPO needs PPO directly, but also through RLHF; PPO needs PG directly and through TRPO
    assert by_id["ppo"].implied_for == ("grpo",)
    assert by_id["pg"].implied_for == ("ppo",)
    assert by_id["rlhf"].implied_for == () and by_id["trpo"].implied_for == ()


@settings(max_examples=200, deadline=None)
@given(dags())
def test_implied_edges_have_a_longer_chain(graph: tuple[list[str], list[Requirement]]) -> None:
    nodes, edges = graph
    plan = plan_learning_path([nodes[-1]], edges)
    needs: dict[str, set[str]] = {}
    for e in edges:
        needs.setdefault(e.dependent, set()).add(e.required)

    def reaches(a: str, b: str, skip_direct: bool) -> bool:
        stack = [y for y in needs.get(a, set()) if not (skip_direct and y == b)]
        seen = set(stack)
        while stack:
            x = stack.pop()
            if x == b:
                return True
            for y in needs.get(x, set()) - seen:
                seen.add(y)
                stack.append(y)
        return False

    for step in plan.steps:
        for d in step.required_by:
            assert (d in step.implied_for) == reaches(d, step.id, skip_direct=True)
