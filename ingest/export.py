"""Writing a `Graph` out: JSON (the contract other tools and tests read) and GraphML (Gephi, yEd).

JSON: top-level `notes`, `concepts`, `relations`, `problems`, each a list sorted by identity, so
two exports of the same vault are byte-identical.
GraphML: concepts, notes, tags and resources are nodes (`kind` attribute, `label` for display);
typed relations, note→concept ABOUT/MENTIONS, note→note LINKS_TO, note→tag TAGGED and
note→resource CITES are edges with their attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO
from xml.sax.saxutils import escape, quoteattr

from kg.model import Concept, Graph, Link, Mention, Note, Problem, Relation

# --- JSON -----------------------------------------------------------------------------------------


def link_to_dict(link: Link) -> dict[str, Any]:
    return {
        "target": link.target,
        "kind": link.kind,
        "line": link.line,
        "alias": link.alias,
        "heading": link.heading,
        "block": link.block,
        "resolved_note": link.resolved_note,
        "concept": link.concept,
        "front_matter_key": link.front_matter_key,
    }


def mention_to_dict(mention: Mention) -> dict[str, Any]:
    return {
        "concept": mention.concept,
        "text": mention.text,
        "line": mention.line,
        "source": mention.source,
        "heading_path": list(mention.heading_path),
        "list_depth": mention.list_depth,
        "table_row": mention.table_row,
    }


def note_to_dict(note: Note) -> dict[str, Any]:
    return {
        "path": note.path,
        "title": note.title,
        "kind": note.kind,
        "tags": list(note.tags),
        "links": [link_to_dict(link) for link in note.links],
        "about": list(note.about),
        "encoding": note.encoding,
        "content_hash": note.content_hash,
        "resources": list(note.resources),
        "mentions": [mention_to_dict(m) for m in note.mentions],
        "description": note.description,
        "front_matter": note.front_matter,
        "cjk_chars": note.cjk_chars,
        "words": note.words,
    }


def concept_to_dict(concept: Concept) -> dict[str, Any]:
    return {
        "key": concept.key,
        "name": concept.name,
        "aliases": sorted(concept.aliases),
        "kind": concept.kind,
        "notes": list(concept.notes),
        "description": concept.description,
    }


def relation_to_dict(relation: Relation) -> dict[str, Any]:
    return {
        "type": str(relation.type),
        "source": relation.source,
        "target": relation.target,
        "confidence": relation.confidence,
        "rule": relation.rule,
        "note": relation.note,
        "line": relation.line,
        "evidence": relation.evidence,
    }


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    return {"path": problem.path, "line": problem.line, "kind": str(problem.kind), "message": problem.message}


def _relation_order(relation: Relation) -> tuple[str, int, str, str, str, str]:
    return (relation.note, relation.line or 0, relation.type, relation.source, relation.target, relation.rule)


def _problem_order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.path, problem.line or 0, problem.kind, problem.message)


def graph_to_dict(graph: Graph) -> dict[str, list[dict[str, Any]]]:
    return {
        "notes": [note_to_dict(graph.notes[path]) for path in sorted(graph.notes)],
        "concepts": [concept_to_dict(graph.concepts[key]) for key in sorted(graph.concepts)],
        "relations": [relation_to_dict(r) for r in sorted(graph.relations, key=_relation_order)],
        "problems": [problem_to_dict(p) for p in sorted(graph.problems, key=_problem_order)],
    }


def to_json(graph: Graph, *, indent: int | None = 2) -> str:
    return json.dumps(graph_to_dict(graph), ensure_ascii=False, indent=indent, default=str)


def write_json(graph: Graph, out: TextIO, *, indent: int | None = 2) -> None:
    out.write(to_json(graph, indent=indent))
    out.write("\n")


# --- GraphML --------------------------------------------------------------------------------------

# (id, for, name, type): attribute keys declared once, so Gephi/yEd know their types.
_GRAPHML_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("n_label", "node", "label", "string"),
    ("n_kind", "node", "kind", "string"),
    ("n_key", "node", "key", "string"),
    ("n_path", "node", "path", "string"),
    ("n_aliases", "node", "aliases", "string"),
    ("n_note_kind", "node", "note_kind", "string"),
    ("n_tags", "node", "tags", "string"),
    ("n_encoding", "node", "encoding", "string"),
    ("n_notes", "node", "notes", "int"),
    ("e_label", "edge", "label", "string"),
    ("e_type", "edge", "type", "string"),
    ("e_confidence", "edge", "confidence", "double"),
    ("e_rule", "edge", "rule", "string"),
    ("e_note", "edge", "note", "string"),
    ("e_line", "edge", "line", "int"),
    ("e_evidence", "edge", "evidence", "string"),
)

# XML 1.0 forbids most control characters; a note may contain them.
_XML_INVALID = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])


def _xml_text(value: object) -> str:
    return escape(str(value).translate(_XML_INVALID))


def _data(key: str, value: object) -> str:
    if value is None or value == "":
        return ""
    return f'<data key="{key}">{_xml_text(value)}</data>'


# yEd draws a node's label and shape only from its own graphics element; Gephi and networkx skip it.
_YED_STYLE = {
    "concept": ("ellipse", "#FFCC66"),
    "note": ("roundrectangle", "#99CCFF"),
    "tag": ("hexagon", "#CCFFCC"),
    "resource": ("rectangle", "#E0E0E0"),
}


def _yed_graphics(label: object, kind: object) -> str:
    shape, color = _YED_STYLE.get(str(kind), ("rectangle", "#FFFFFF"))
    text = _xml_text(label)
    width = max(30, min(300, 8 * len(text)))
    return (
        f'<data key="n_yed"><y:ShapeNode><y:Geometry width="{width}" height="30"/>'
        f'<y:Fill color="{color}"/><y:NodeLabel>{text}</y:NodeLabel>'
        f'<y:Shape type="{shape}"/></y:ShapeNode></data>'
    )


def _node(node_id: str, **data: object) -> str:
    body = "".join(_data(f"n_{k}", v) for k, v in data.items())
    body += _yed_graphics(data.get("label", node_id), data.get("kind"))
    return f"    <node id={quoteattr(node_id.translate(_XML_INVALID))}>{body}</node>\n"


def _edge(edge_id: int, source: str, target: str, **data: object) -> str:
    body = "".join(_data(f"e_{k}", v) for k, v in data.items())
    body += (
        '<data key="e_yed"><y:PolyLineEdge><y:Arrows source="none" target="standard"/>'
        f"<y:EdgeLabel>{_xml_text(data.get('label', ''))}</y:EdgeLabel></y:PolyLineEdge></data>"
    )
    return (
        f'    <edge id="e{edge_id}" source={quoteattr(source.translate(_XML_INVALID))} '
        f"target={quoteattr(target.translate(_XML_INVALID))}>{body}</edge>\n"
    )


def concept_node_id(key: str) -> str:
    return f"concept:{key}"


def note_node_id(path: str) -> str:
    return f"note:{path}"


def _graphml_lines(graph: Graph) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:y="http://www.yworks.com/xml/graphml" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
    )
    for key_id, for_, name, type_ in _GRAPHML_KEYS:
        yield f'  <key id="{key_id}" for="{for_}" attr.name="{name}" attr.type="{type_}"/>\n'
    yield '  <key id="n_yed" for="node" yfiles.type="nodegraphics"/>\n'
    yield '  <key id="e_yed" for="edge" yfiles.type="edgegraphics"/>\n'
    yield '  <graph id="kg" edgedefault="directed">\n'
    for key in sorted(graph.concepts):
        concept = graph.concepts[key]
        yield _node(
            concept_node_id(key),
            label=concept.name,
            kind="concept",
            key=key,
            aliases="; ".join(sorted(concept.aliases)),
            notes=len(concept.notes),
        )
    tags: set[str] = set()
    resources: set[str] = set()
    for path in sorted(graph.notes):
        note = graph.notes[path]
        tags.update(note.tags)
        resources.update(note.resources)
        yield _node(
            note_node_id(path),
            label=note.title or path,
            kind="note",
            path=path,
            note_kind=note.kind,
            tags="; ".join(note.tags),
            encoding=note.encoding,
        )
    for tag in sorted(tags):
        yield _node(f"tag:{tag}", label=f"#{tag}", kind="tag")
    for url in sorted(resources):
        yield _node(f"resource:{url}", label=url, kind="resource")
    edge_id = 0
    for relation in sorted(graph.relations, key=_relation_order):
        if relation.source not in graph.concepts or relation.target not in graph.concepts:
            continue
        edge_id += 1
        yield _edge(
            edge_id,
            concept_node_id(relation.source),
            concept_node_id(relation.target),
            label=str(relation.type),
            type=str(relation.type),
            confidence=relation.confidence,
            rule=relation.rule,
            note=relation.note,
            line=relation.line,
            evidence=relation.evidence,
        )
    for path in sorted(graph.notes):
        note = graph.notes[path]
        source = note_node_id(path)
        for key in note.about:
            if key in graph.concepts:
                edge_id += 1
                yield _edge(edge_id, source, concept_node_id(key), label="ABOUT", type="ABOUT", note=path)
        mentioned: dict[str, Mention] = {}
        for mention in note.mentions:
            if mention.concept in graph.concepts and mention.concept not in note.about:
                mentioned.setdefault(mention.concept, mention)
        for key, mention in mentioned.items():
            edge_id += 1
            yield _edge(
                edge_id,
                source,
                concept_node_id(key),
                label="MENTIONS",
                type="MENTIONS",
                note=path,
                line=mention.line,
                evidence=mention.line_text.strip(),
            )
        linked: set[str] = set()
        for link in note.links:
            target = link.resolved_note
            if target is None or target == path or target in linked or target not in graph.notes:
                continue
            linked.add(target)
            edge_id += 1
            yield _edge(
                edge_id, source, note_node_id(target), label="LINKS_TO", type="LINKS_TO", note=path, line=link.line
            )
        for tag in note.tags:
            edge_id += 1
            yield _edge(edge_id, source, f"tag:{tag}", label="TAGGED", type="TAGGED", note=path)
        for url in note.resources:
            edge_id += 1
            yield _edge(edge_id, source, f"resource:{url}", label="CITES", type="CITES", note=path)
    yield "  </graph>\n</graphml>\n"


def to_graphml(graph: Graph) -> str:
    return "".join(_graphml_lines(graph))


def write_graphml(graph: Graph, out: TextIO) -> None:
    for chunk in _graphml_lines(graph):
        out.write(chunk)


FORMATS = ("json", "graphml")


def write_graph(graph: Graph, out: TextIO, fmt: str) -> None:
    """Write `graph` to `out` as "json" or "graphml"."""
    if fmt == "json":
        write_json(graph, out)
    elif fmt == "graphml":
        write_graphml(graph, out)
    else:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
