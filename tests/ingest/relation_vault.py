"""A small in-memory vault for the relation-rule tests: notes from strings, read with the outline rule
and the typed rules, and lookups of the edges found by concept name."""

from __future__ import annotations

from ingest.relation_rules import DEFAULT_CONFIG, RelationsConfig
from ingest.relations import rules_for
from ingest.vault import outline_relations, parse_note, resolve_notes
from kg.model import Relation, RelationType


class Vault:
    def __init__(self, files: dict[str, str], config: RelationsConfig = DEFAULT_CONFIG) -> None:
        parsed = [parse_note(path, text) for path, text in files.items()]
        self.graph, self.index = resolve_notes(parsed, rules=[outline_relations, *rules_for(config)])

    @property
    def relations(self) -> list[Relation]:
        return self.graph.relations

    def key(self, name: str) -> str:
        found = self.index.resolve(name)
        assert found is not None, f"{name!r} is not a concept"
        return found

    def find(self, kind: RelationType, source: str, target: str) -> list[Relation]:
        s, t = self.key(source), self.key(target)
        return [r for r in self.relations if r.type is kind and r.source == s and r.target == t]

    def rules(self, kind: RelationType, source: str, target: str) -> set[str]:
        return {r.rule for r in self.find(kind, source, target)}

    def typed(self, *kinds: RelationType) -> list[tuple[str, str, str]]:
        return sorted((r.type.value, r.source, r.target) for r in self.relations if r.type in kinds)

    def by_rule(self, rule: str) -> list[tuple[str, str]]:
        """(source name, target name) of every edge of `rule`, sorted."""
        names = {k: c.name for k, c in self.graph.concepts.items()}
        return sorted((names[r.source], names[r.target]) for r in self.relations if r.rule == rule)


def vault(**files: str) -> Vault:
    """Notes named by keyword (`a__b` is the path `a/b.md`)."""
    return Vault({name.replace("__", "/") + ".md": text for name, text in files.items()})
