"""neomodel classes describing kg's nodes and relationships.

They document the graph's shape in Python and serve simple lookups
(`ConceptNode.nodes.get_or_none(uid=...)`). Bulk writes do not go through them — the sync uses
batched UNWIND statements (see BENCHMARKS.md for why) — and constraints are owned by
schema/constraints.cypher, not `neomodel_install_labels`.
"""

from __future__ import annotations

from neo4j import Driver
from neomodel import (
    ArrayProperty,
    DateTimeNeo4jFormatProperty,
    FloatProperty,
    IntegerProperty,
    RelationshipTo,
    StringProperty,
    StructuredNode,
    StructuredRel,
    db,
)


def use_driver(driver: Driver) -> None:
    """Point neomodel at the driver kg was handed (neomodel never builds its own connection here)."""
    db.set_connection(driver=driver)


class AssertionRel(StructuredRel):
    """Provenance every derived concept relation carries (SPEC §4)."""

    asserted_by = StringProperty(required=True)  # uid of the asserting note
    note = StringProperty()  # vault-relative path
    line = IntegerProperty()
    rule = StringProperty()
    confidence = FloatProperty()
    evidence = StringProperty()
    vault = StringProperty()


class MentionRel(StructuredRel):
    count = IntegerProperty()
    line = IntegerProperty()
    lines = ArrayProperty(IntegerProperty())


class ConceptNode(StructuredNode):
    __label__ = "Concept"
    uid = StringProperty(unique_index=True, required=True)
    vault = StringProperty(index=True)
    key = StringProperty(index=True)
    name = StringProperty(index=True)
    aliases = ArrayProperty(StringProperty())
    aliases_text = StringProperty()
    kind = StringProperty()
    description = StringProperty()
    digest = StringProperty()

    prerequisite_of = RelationshipTo("ConceptNode", "PREREQUISITE_OF", model=AssertionRel)
    variant_of = RelationshipTo("ConceptNode", "VARIANT_OF", model=AssertionRel)
    implements = RelationshipTo("ConceptNode", "IMPLEMENTS", model=AssertionRel)
    part_of = RelationshipTo("ConceptNode", "PART_OF", model=AssertionRel)
    next = RelationshipTo("ConceptNode", "NEXT", model=AssertionRel)
    related_to = RelationshipTo("ConceptNode", "RELATED_TO", model=AssertionRel)


class TagNode(StructuredNode):
    __label__ = "Tag"
    uid = StringProperty(unique_index=True, required=True)
    vault = StringProperty(index=True)
    name = StringProperty(index=True)


class ResourceNode(StructuredNode):
    __label__ = "Resource"
    uid = StringProperty(unique_index=True, required=True)
    vault = StringProperty(index=True)
    url = StringProperty()
    name = StringProperty()


class NoteNode(StructuredNode):
    __label__ = "Note"
    uid = StringProperty(unique_index=True, required=True)
    vault = StringProperty(index=True)
    path = StringProperty(index=True)
    title = StringProperty()
    name = StringProperty()
    content_hash = StringProperty()
    digest = StringProperty()
    kind = StringProperty()
    description = StringProperty()
    encoding = StringProperty()
    tags = ArrayProperty(StringProperty())
    cjk_chars = IntegerProperty()
    words = IntegerProperty()
    minutes = IntegerProperty()
    updated_at = DateTimeNeo4jFormatProperty()

    about = RelationshipTo(ConceptNode, "ABOUT")
    mentions = RelationshipTo(ConceptNode, "MENTIONS", model=MentionRel)
    tagged = RelationshipTo(TagNode, "TAGGED")
    links_to = RelationshipTo("NoteNode", "LINKS_TO")
    cites = RelationshipTo(ResourceNode, "CITES")


class VaultNode(StructuredNode):
    __label__ = "Vault"
    name = StringProperty(unique_index=True, required=True)
    uid = StringProperty()
    root = StringProperty()
    notes = IntegerProperty()
    concepts = IntegerProperty()
    relations = IntegerProperty()
    problems = IntegerProperty()

    contains = RelationshipTo(NoteNode, "CONTAINS")
