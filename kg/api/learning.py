"""`learningPath`: resolve the names, fetch the closure (Cypher), order it (kg.learning_path), explain it.

Round trips on the happy path: one to resolve every spelling (targets and known) and one for the
closure with its edges, evidence and notes, whatever the size of the path.
"""

from __future__ import annotations

from collections import defaultdict

from kg.api.errors import BadArgumentError, UnknownConceptError, emptiness
from kg.api.types import (
    Concept,
    LearningPath,
    LearningStep,
    Note,
    PathCycle,
    PathTotals,
    Reason,
    Relation,
    evidence_list,
    evidence_order,
)
from kg.learning_path import Requirement, plan_learning_path
from kg.store.read import Assertion, ConceptRecord, GraphReader, Resolution

MAX_TARGETS = 20
MAX_KNOWN = 500


def _sentence(type_: str, source: str, target: str) -> str:
    if type_ == "PREREQUISITE_OF":
        return f"{source} is a prerequisite of {target}"
    if type_ == "VARIANT_OF":
        return f"{source} is a variant of {target}"
    return f"{source} implements {target}"


def _check_arguments(to: list[str], known: list[str], min_confidence: float, max_steps: int | None) -> list[str]:
    targets = [t.strip() for t in to if t.strip()]
    if not targets:
        raise BadArgumentError("to", 'give at least one target concept, e.g. learningPath(to: "GRPO")')
    if len(targets) > MAX_TARGETS:
        raise BadArgumentError("to", f"at most {MAX_TARGETS} targets per query")
    if len(known) > MAX_KNOWN:
        raise BadArgumentError("known", f"at most {MAX_KNOWN} known concepts per query")
    if not 0.0 <= min_confidence <= 1.0:
        raise BadArgumentError("minConfidence", "must be between 0 and 1")
    if max_steps is not None and max_steps < 1:
        raise BadArgumentError("maxSteps", "must be at least 1")
    return list(dict.fromkeys(targets))


def compute_learning_path(
    reader: GraphReader,
    to: list[str],
    known: list[str],
    min_confidence: float,
    max_steps: int | None,
    vault: str | None,
    assertions: bool = True,
) -> LearningPath:
    """Blocking: call it in a worker thread (see `Context.read`). `assertions` False leaves each
    reason's `assertions` empty (its strongest assertion is still there): for a document that does
    not ask for them, which saves building hundreds of `Evidence` objects per answer.

    Not kept here: the API keeps each complete answer as JSON bytes (`kg.api.responses`), which costs
    the garbage collector nothing, where kept answer objects made every full collection slower."""
    targets_text = _check_arguments(to, known, min_confidence, max_steps)
    known_text = [k.strip() for k in known if k.strip()]
    version = reader.version() if reader.snapshot is not None else None
    return _compute(reader, targets_text, known_text, min_confidence, max_steps, vault, version, assertions)


def _compute(
    reader: GraphReader,
    targets_text: list[str],
    known_text: list[str],
    min_confidence: float,
    max_steps: int | None,
    vault: str | None,
    version: str | None,
    with_assertions: bool = True,
) -> LearningPath:
    resolved = reader.resolve([*targets_text, *known_text], vault, version=version)

    targets: list[ConceptRecord] = []
    for text in targets_text:
        res = resolved[text]
        if not res.concepts:
            raise unknown_concept(reader, text, res, vault)
        targets.extend(c for c in res.concepts if c.uid not in {t.uid for t in targets})
    vaults = sorted({t.vault for t in targets})
    if len(vaults) > 1:
        raise BadArgumentError(
            "vault", f'the targets are in several vaults ({", ".join(vaults)}); choose one with vault: "…"'
        )
    the_vault = vaults[0]

    warnings: list[str] = []
    known_uids: set[str] = set()
    for text in known_text:
        res = resolved[text]
        hits = [c for c in res.concepts if c.vault == the_vault]
        if not hits:
            hint = f" (did you mean {', '.join(res.suggestions[:3])}?)" if res.suggestions else ""
            warnings.append(f"known concept {text!r} not found in vault {the_vault!r}; ignored{hint}")
            continue
        if res.how == "typo":
            warnings.append(f"known concept {text!r} read as {hits[0].name!r}")
        known_uids.update(c.uid for c in hits)
    for text in targets_text:
        res = resolved[text]
        if res.how == "typo":
            warnings.append(f"target {text!r} read as {', '.join(c.name for c in res.concepts)!r}")

    closure = reader.closure([t.uid for t in targets], min_confidence)
    concepts = closure.concepts
    for t in targets:
        concepts.setdefault(t.uid, t)
    plan = plan_learning_path(
        [t.uid for t in targets],
        [Requirement(dep, req, edge.assertion.confidence) for dep, req, edge in closure.requires],
        known=known_uids,
        names={uid: c.name for uid, c in concepts.items()},
        max_steps=max_steps,
    )

    # (dependent, required) -> the stored edges (type, source, target) with their assertions
    edges: dict[tuple[str, str], dict[tuple[str, str, str], list[Assertion]]] = defaultdict(lambda: defaultdict(list))
    for dep, req, edge in closure.requires:
        edges[(dep, req)][(edge.type, edge.source, edge.target)].append(edge.assertion)

    made: dict[str, Concept] = {}

    def concept(uid: str) -> Concept:  # one object per concept, however often the answer names it
        c = made.get(uid)
        if c is None:
            c = made[uid] = Concept.of(concepts[uid])
        return c

    def reasons_for(step_uid: str, required_by: tuple[str, ...], implied_for: tuple[str, ...]) -> list[Reason]:
        out: list[tuple[tuple[bool, float, int, str], Reason]] = []
        for dep in required_by:
            for (type_, source, target), assertions in sorted(edges[(dep, step_uid)].items()):
                distinct = set(assertions)
                strongest = min(distinct, key=evidence_order)
                reason = Reason(
                    relation=Relation(type_),
                    from_=concept(source),
                    to=concept(target),
                    required_by=concept(dep),
                    confidence=strongest.confidence,
                    rule=strongest.rule,
                    evidence=strongest.evidence,
                    note=strongest.note,
                    line=strongest.line,
                    text=_sentence(type_, concepts[source].name, concepts[target].name),
                    assertions=evidence_list(assertions) if with_assertions else [],
                    implied=dep in implied_for,
                )
                key = (reason.implied, -reason.confidence, -len(distinct), concepts[dep].name.casefold())
                out.append((key, reason))
        out.sort(key=lambda pair: pair[0])
        return [reason for _, reason in out]

    steps: list[LearningStep] = []
    seen_notes: dict[str, int] = {}
    for i, s in enumerate(plan.steps, start=1):
        notes = closure.notes.get(s.id, [])
        for n in notes:
            seen_notes.setdefault(n.uid, n.minutes)
        steps.append(
            LearningStep(
                position=i,
                concept=concept(s.id),
                depth=s.depth,
                stage=s.stage,
                is_target=s.is_target,
                in_cycle=s.cycle is not None,
                requires=[concept(r) for r in s.requires],
                reasons=reasons_for(s.id, s.required_by, s.implied_for),
                notes=[Note.of(n) for n in notes],
                minutes=sum(n.minutes for n in notes),
            )
        )
    if plan.omitted:
        warnings.append(f"{plan.omitted} steps farthest from the targets left out by maxSteps={max_steps}")
    if plan.cycles:
        warnings.append(f"{len(plan.cycles)} cycle(s) among the prerequisites; their members are ordered by tie-break")
    return LearningPath(
        targets=[Concept.of(t) for t in targets],
        steps=steps,
        totals=PathTotals(
            steps=len(steps),
            minutes=sum(seen_notes.values()),
            notes=len(seen_notes),
            longest_chain=plan.longest_chain,
        ),
        cycles=[PathCycle(concepts=[concept(u) for u in c]) for c in plan.cycles],
        known=[concept(u) for u in plan.known],
        implicitly_known=[concept(u) for u in plan.implicitly_known],
        omitted_steps=plan.omitted,
        min_confidence=min_confidence,
        warnings=warnings,
    )


def resolve_one(reader: GraphReader, text: str, vault: str | None) -> Resolution:
    return reader.resolve([text], vault)[text]


def unknown_concept(reader: GraphReader, text: str, resolution: Resolution, vault: str | None) -> UnknownConceptError:
    """The error for a name that resolved to nothing: its suggestions or, when there are none and the
    graph (or the vault) has no concepts at all, that it must be ingested first. Blocking."""
    empty = None if resolution.suggestions else emptiness(reader.stats(vault).concepts, vault)
    return UnknownConceptError(text, resolution.suggestions, empty)
