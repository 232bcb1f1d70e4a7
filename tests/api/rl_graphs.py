"""Hand-written graphs whose correct learning paths are known, for the API and store tests."""

from __future__ import annotations

from kg.model import Concept, Graph, Mention, Note, Relation, RelationType

P = RelationType.PREREQUISITE_OF
V = RelationType.VARIANT_OF
I = RelationType.IMPLEMENTS  # noqa: E741


def note(path: str, about: list[str], *, tags: list[str] | None = None, cjk: int = 0, words: int = 0,
         kind: str | None = None) -> Note:  # fmt: skip
    return Note(
        path=path,
        title=path.rsplit("/", 1)[-1].removesuffix(".md"),
        content_hash=f"hash-{path}",
        encoding="utf-8",
        tags=tags or [],
        about=about,
        mentions=[Mention(concept=c, text=c, line=1, source="title") for c in about],
        kind=kind,
        cjk_chars=cjk,
        words=words,
    )


def rel(t: RelationType, s: str, o: str, note_path: str, conf: float = 1.0, rule: str = "explicit.front_matter",
        line: int = 3) -> Relation:  # fmt: skip
    return Relation(type=t, source=s, target=o, confidence=conf, rule=rule, note=note_path, line=line,
                    evidence=f"{s} {t.value} {o} @{note_path}:{line}")  # fmt: skip


CONCEPTS = {
    "mdp": ("MDP", {"马尔可夫决策过程", "Markov Decision Process"}),
    "pg": ("Policy Gradient", {"策略梯度", "PG"}),
    "trpo": ("TRPO", {"Trust Region Policy Optimization"}),
    "ppo": ("PPO", {"Proximal Policy Optimization", "近端策略优化"}),
    "rm": ("Reward Model", {"奖励模型"}),
    "rlhf": ("RLHF", set()),
    "grpo": ("GRPO", {"Group Relative Policy Optimization", "群体相对策略优化"}),
    "dapo": ("DAPO", set()),
    "trl": ("TRL", {"Transformer Reinforcement Learning"}),
    "transformer": ("Transformer", set()),
    "kvcache": ("KV Cache", set()),
}


def rl_graph() -> Graph:
    """GRPO needs PPO (twice asserted) and RLHF; PPO needs Policy Gradient and TRPO; TRPO needs Policy
    Gradient; Policy Gradient needs MDP; RLHF needs PPO and the Reward Model. DAPO is a variant of GRPO
    and TRL implements GRPO: both come after it. KV Cache is only weakly (0.3) before Transformer.

    The correct path to GRPO: Reward Model, MDP (stage 1; RM is closer), Policy Gradient, TRPO, PPO,
    RLHF, GRPO.
    """
    g = Graph()
    for key, (name, aliases) in CONCEPTS.items():
        g.concepts[key] = Concept(key=key, name=name, aliases={name, *aliases})
    g.notes["rl/MDP.md"] = note("rl/MDP.md", ["mdp"], tags=["rl"], cjk=900)
    g.notes["rl/Policy Gradient.md"] = note("rl/Policy Gradient.md", ["pg"], tags=["rl"], words=1000)
    g.notes["rl/TRPO.md"] = note("rl/TRPO.md", ["trpo"], tags=["rl"], words=400)
    g.notes["rl/PPO 概述.md"] = note("rl/PPO 概述.md", ["ppo"], tags=["rl", "rl/ppo"], cjk=600, words=200,
                                     kind="overview")  # fmt: skip
    g.notes["rl/PPO-从零手写.md"] = note("rl/PPO-从零手写.md", ["ppo"], tags=["rl"], words=2000,
                                         kind="implementation")  # fmt: skip
    g.notes["align/Reward Model.md"] = note("align/Reward Model.md", ["rm"], tags=["alignment"], cjk=300)
    g.notes["align/RLHF.md"] = note("align/RLHF.md", ["rlhf"], tags=["alignment"], cjk=1500)
    g.notes["align/GRPO.md"] = note("align/GRPO.md", ["grpo"], tags=["alignment", "rl/grpo"], cjk=3000)
    g.notes["align/DAPO.md"] = note("align/DAPO.md", ["dapo"], tags=["alignment"], cjk=300)
    g.notes["tools/TRL.md"] = note("tools/TRL.md", ["trl"], tags=["tools"], words=200)
    g.notes["arch/Transformer.md"] = note("arch/Transformer.md", ["transformer"], words=200)
    g.notes["arch/KV Cache.md"] = note("arch/KV Cache.md", ["kvcache"], words=200)
    g.relations = [
        rel(P, "ppo", "grpo", "align/GRPO.md"),
        rel(P, "ppo", "grpo", "rl/PPO 概述.md", 0.7, "cue.from_to", 12),
        rel(V, "grpo", "ppo", "align/GRPO.md", 0.9, "cue.variant", 5),
        rel(P, "rlhf", "grpo", "align/GRPO.md", 0.8, "cue.prerequisite", 4),
        rel(P, "pg", "ppo", "rl/PPO 概述.md"),
        rel(P, "trpo", "ppo", "rl/PPO 概述.md"),
        rel(P, "pg", "trpo", "rl/TRPO.md"),
        rel(P, "mdp", "pg", "rl/Policy Gradient.md"),
        rel(P, "ppo", "rlhf", "align/RLHF.md"),
        rel(P, "rm", "rlhf", "align/RLHF.md"),
        rel(V, "dapo", "grpo", "align/DAPO.md"),
        rel(I, "trl", "grpo", "tools/TRL.md"),
        rel(RelationType.RELATED_TO, "grpo", "dapo", "align/GRPO.md", 0.5, "cue.related", 20),
        rel(RelationType.NEXT, "transformer", "kvcache", "arch/Transformer.md", 0.3, "structure.next", 9),
        rel(P, "kvcache", "transformer", "arch/Transformer.md", 0.3, "structure.order", 9),
        rel(P, "transformer", "kvcache", "arch/KV Cache.md"),
    ]
    return g


RL_PATH_TO_GRPO = ["Reward Model", "MDP", "Policy Gradient", "TRPO", "PPO", "RLHF", "GRPO"]
