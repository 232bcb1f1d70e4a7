"""Every read-only Cypher statement the API and `kg path` send, as named constants.

Reads never write: the reader runs them in READ access mode. Lists of ids come in as one
`UNWIND $uids` parameter so a DataLoader batch is one round trip, never one query per node.
"""

from __future__ import annotations

# Relations that put a concept on a learning path, read from the dependent concept X:
# X requires A when (A)-[:PREREQUISITE_OF]->(X), (X)-[:VARIANT_OF]->(A) or (X)-[:IMPLEMENTS]->(A).
REQUIRES_IN = "PREREQUISITE_OF"
REQUIRES_OUT = "VARIANT_OF|IMPLEMENTS"
TYPED = "PREREQUISITE_OF|VARIANT_OF|IMPLEMENTS|PART_OF|NEXT|RELATED_TO"

CONCEPT_FIELDS = "{.uid, .vault, .key, .name, .aliases, .kind, .description}"
NOTE_FIELDS = "{.uid, .vault, .path, .title, .kind, .description, .tags, .minutes, .cjk_chars, .words}"
ASSERTION_FIELDS = "{.rule, .confidence, .evidence, .note, .line}"

PING = "RETURN 1 AS ok"

# --- learning path ---------------------------------------------------------------------------------

# The most breadth-first levels one closure round trip walks (`$max_levels`). The walk stops by
# itself when a level adds nothing new, so in practice one round trip always suffices; deeper
# closures would continue in another round trip from the last level.
CLOSURE_LEVELS = 1000

# Breadth-first closure over requires-edges in one statement: a `reduce` over levels, each level
# one COLLECT subquery that expands the whole frontier at once and keeps the concepts not seen yet
# (DISTINCT, so parallel assertions cost nothing extra). The required concept y is the start of a
# PREREQUISITE_OF and the end of a VARIANT_OF/IMPLEMENTS: two directed pattern comprehensions, so
# a concept many others require is not expanded along all its dependents' edges (an undirected
# expand with a direction test did that: 13.7 -> 5-7 ms p50 for a 60-concept closure on the 50k
# bench graph, same answers for its 200 targets).
#
# Why not a quantified path pattern: `ANY SHORTEST (t)((a)-[r]-(b) WHERE <direction depends on
# type(r)>)*(x)` cannot inline that direction test on Neo4j 5.26, so it enumerates paths and does
# not finish on a dense graph with parallel edges (measured: >120 s on 100 nodes). Why not the
# same walk unrolled into one CALL per level: the statement gets long and a cold Neo4j takes 5-10 s
# to plan it (longer than a request's timeout); this one plans in ~2.5 s cold, ~0.7 s warm.
# Measured on a 3000-concept graph with 36k parallel relationships: a 992-concept closure in
# ~0.8 s, a 128-concept one in ~0.13 s, 10 concepts in ~30 ms (bench/learning_path.py).
#
# One record, `rows`: per concept of the closure `[concept, depth, requires, notes]`, its outgoing
# requires-edges (all of them end inside the closure) and the notes about it. One record rather
# than one per concept: the driver's per-record work was a third of the client's time on a
# 60-concept closure. An edge is a list, `[type, required uid, rule, confidence, evidence, note,
# line]` (see CLOSURE_EDGE): a path has hundreds of them, and the driver decodes a list faster than
# a map with the same values. The stored direction follows from the type.
LEARNING_PATH_CLOSURE = f"""
MATCH (t:Concept) WHERE t.uid IN $start
WITH collect(t) AS start
WITH reduce(s = {{seen: start, frontier: start, depths: [x IN start | 0]}}, level IN range(1, $max_levels) |
  CASE WHEN size(s.frontier) = 0 THEN s ELSE
  reduce(n = s, next IN [COLLECT {{
      WITH s
      UNWIND s.frontier AS x
      UNWIND [(x)<-[r:{REQUIRES_IN}]-(y:Concept) WHERE r.confidence >= $min | y]
           + [(x)-[r:{REQUIRES_OUT}]->(y:Concept) WHERE r.confidence >= $min | y] AS y
      WITH y WHERE NOT y IN s.seen AND NOT y.uid IN $exclude
      RETURN DISTINCT y
    }}] |
    {{seen: n.seen + next, frontier: next, depths: n.depths + [y IN next | level]}}) END) AS s
UNWIND range(0, size(s.seen) - 1) AS i
WITH s.seen[i] AS x, s.depths[i] AS depth
CALL (x) {{
  MATCH (y:Concept)-[r:{REQUIRES_IN}]->(x) WHERE r.confidence >= $min
  RETURN collect([type(r), y.uid, r.rule, r.confidence, r.evidence, r.note, r.line]) AS incoming
}}
CALL (x) {{
  MATCH (x)-[r:{REQUIRES_OUT}]->(y:Concept) WHERE r.confidence >= $min
  RETURN collect([type(r), y.uid, r.rule, r.confidence, r.evidence, r.note, r.line]) AS outgoing
}}
CALL (x) {{
  MATCH (n:Note)-[:ABOUT]->(x)
  RETURN collect(n {NOTE_FIELDS}) AS notes
}}
RETURN collect([x {CONCEPT_FIELDS}, depth, incoming + outgoing, notes]) AS rows
"""

# The fields of one edge of LEARNING_PATH_CLOSURE's `requires`, in order.
CLOSURE_EDGE = ("type", "required", "rule", "confidence", "evidence", "note", "line")

# --- resolving names -------------------------------------------------------------------------------

# Each probe: {text, lower (file stem of the spelling), path (without .md), keys}. Ranked:
# 3 = display name, 2 = alias or key, 1 = title/path of a note about it (`GRPO-手撕实操` reaches
# GRPO through its implementation note).
RESOLVE_EXACT = f"""
UNWIND $probes AS probe
CALL (probe) {{
  MATCH (c:Concept)
  WHERE ($vault IS NULL OR c.vault = $vault) AND toLower(c.name) = probe.lower
  RETURN c, 3 AS rank
  UNION
  MATCH (c:Concept)
  WHERE ($vault IS NULL OR c.vault = $vault)
    AND (c.key IN probe.keys OR any(a IN coalesce(c.aliases, []) WHERE toLower(a) = probe.lower))
  RETURN c, 2 AS rank
  UNION
  MATCH (n:Note)-[:ABOUT]->(c:Concept)
  WHERE ($vault IS NULL OR n.vault = $vault)
    AND (toLower(n.title) = probe.lower OR toLower(n.path) = probe.path + '.md')
  RETURN c, 1 AS rank
}}
WITH probe, c, max(rank) AS rank
RETURN probe.text AS text, rank, c {CONCEPT_FIELDS} AS concept
"""

# The graph's version: every sync that writes anything sets its vault's `last_change_at` in the same
# transaction, so this changes whenever what the API reads changes (a vault added, re-ingested or
# removed). The API keeps what it derives from the whole graph (spellings, answers) per version.
GRAPH_VERSION = """
MATCH (v:Vault)
WITH v ORDER BY v.name
RETURN collect(v.name + '@' + coalesce(toString(v.last_change_at), '')) AS version
"""

# Every spelling RESOLVE_EXACT compares, lower-cased by Neo4j's own toLower (so an in-memory index
# built from these rows answers exactly as that statement would). Each comes back as one record of
# lists (uid, vault, key, name, aliases, kind, description, lower name, lower aliases): the driver's
# work per record was most of the time (a 50k-note graph: 6.5 -> 1.7 s for the two statements), and
# the API builds this after every ingest, before it can resolve a name.
SPELLINGS_CONCEPTS = """
MATCH (c:Concept)
RETURN collect([c.uid, c.vault, c.key, c.name, c.aliases, c.kind, c.description,
                toLower(c.name), [a IN coalesce(c.aliases, []) | toLower(a)]]) AS concepts
"""

# (lower title, lower path, uids of the concepts it is about) of every note about something.
SPELLINGS_NOTES = """
MATCH (n:Note)-[:ABOUT]->(c:Concept)
WITH toLower(n.title) AS title, toLower(n.path) AS path, collect(c.uid) AS concepts
RETURN collect([title, path, concepts]) AS notes
"""

# All spellings, for typo-tolerant matching and suggestions when no exact spelling matched.
CONCEPT_SPELLINGS = f"""
MATCH (c:Concept) WHERE $vault IS NULL OR c.vault = $vault
RETURN c {CONCEPT_FIELDS} AS concept
"""

# --- exploration ------------------------------------------------------------------------------------

CONCEPT_BY_NAME = RESOLVE_EXACT

CONCEPTS_BY_UID = f"""
UNWIND $uids AS uid
MATCH (c:Concept {{uid: uid}})
RETURN uid, c {CONCEPT_FIELDS} AS concept
"""

# Both directions of every typed relation of each concept, one row per assertion.
CONCEPT_RELATIONS = f"""
UNWIND $uids AS uid
MATCH (c:Concept {{uid: uid}})
CALL (c) {{
  MATCH (c)-[r:{TYPED}]->(o:Concept) RETURN r, o, 'OUT' AS direction
  UNION ALL
  MATCH (c)<-[r:{TYPED}]-(o:Concept) RETURN r, o, 'IN' AS direction
}}
RETURN uid, type(r) AS type, direction, o {CONCEPT_FIELDS} AS other, r {ASSERTION_FIELDS} AS assertion
ORDER BY uid, type, direction, other.name, other.uid, assertion.note, assertion.line, assertion.rule
"""

NOTES_ABOUT = f"""
UNWIND $uids AS uid
MATCH (n:Note)-[:ABOUT]->(:Concept {{uid: uid}})
RETURN uid, n {NOTE_FIELDS} AS note
ORDER BY uid, note.path
"""

NOTES_MENTIONING = f"""
UNWIND $uids AS uid
MATCH (n:Note)-[m:MENTIONS]->(:Concept {{uid: uid}})
RETURN uid, n {NOTE_FIELDS} AS note, m.count AS count, m.line AS line
ORDER BY uid, count DESC, note.path
"""

# A concept's tags: the tags of the notes about it.
CONCEPT_TAGS = """
UNWIND $uids AS uid
MATCH (:Concept {uid: uid})<-[:ABOUT]-(:Note)-[:TAGGED]->(t:Tag)
RETURN uid, t.name AS tag
ORDER BY uid, tag
"""

NOTE_BY_PATH = f"""
MATCH (n:Note {{path: $path}}) WHERE $vault IS NULL OR n.vault = $vault
RETURN n {NOTE_FIELDS} AS note
ORDER BY note.vault
"""

NOTE_CONCEPTS = f"""
UNWIND $uids AS uid
MATCH (:Note {{uid: uid}})-[:ABOUT]->(c:Concept)
RETURN uid, c {CONCEPT_FIELDS} AS concept
ORDER BY uid, concept.name
"""

NOTE_LINKS = f"""
UNWIND $uids AS uid
MATCH (n:Note {{uid: uid}})
CALL (n) {{
  MATCH (n)-[:LINKS_TO]->(o:Note) RETURN o, 'OUT' AS direction
  UNION ALL
  MATCH (n)<-[:LINKS_TO]-(o:Note) RETURN o, 'IN' AS direction
}}
RETURN uid, direction, o {NOTE_FIELDS} AS note
ORDER BY uid, direction, note.path
"""

NOTE_RESOURCES = """
UNWIND $uids AS uid
MATCH (:Note {uid: uid})-[:CITES]->(r:Resource)
RETURN uid, r.url AS url
ORDER BY uid, url
"""

SEARCH = f"""
CALL db.index.fulltext.queryNodes('kg_fulltext', $query, {{limit: $fetch}}) YIELD node, score
WHERE $vault IS NULL OR node.vault = $vault
RETURN score,
       CASE WHEN node:Concept THEN node {CONCEPT_FIELDS} END AS concept,
       CASE WHEN node:Note THEN node {NOTE_FIELDS} END AS note
ORDER BY score DESC, coalesce(node.name, node.title), node.uid
LIMIT $limit
"""

# Keyset pagination on (name, uid), `$after_name`/`$after_uid` "" for the first page. The page is
# read along the concept_name index in order and stops after `$take` rows (a sort of every concept
# was 0.4-0.8 s a page on a 50k-note graph); the tie on uid is sorted within one name.
_CONCEPT_PAGE = f"""
CALL () {{
  MATCH (c:Concept) WHERE c.name >= $after_name
  WITH c ORDER BY c.name
  WITH c WHERE (c.name > $after_name OR c.uid > $after_uid)
    AND ($vault IS NULL OR c.vault = $vault) AND ($kind IS NULL OR c.kind = $kind)
  WITH c ORDER BY c.name, c.uid LIMIT $take
  RETURN collect(c {CONCEPT_FIELDS}) AS page
}}
RETURN total, page
"""

LIST_CONCEPTS = (
    """
CALL () {
  MATCH (c:Concept) WHERE ($vault IS NULL OR c.vault = $vault) AND ($kind IS NULL OR c.kind = $kind)
  RETURN count(c) AS total
}"""
    + _CONCEPT_PAGE
)

# No vault, no kind: the total is Neo4j's count of the label, not a scan.
LIST_ALL_CONCEPTS = "CALL () { MATCH (c:Concept) RETURN count(c) AS total }" + _CONCEPT_PAGE

# The same with a tag (nested tags included: `ai` matches `ai/llm`): the tagged concepts are found
# from the tag's notes, not by asking every concept whether a note about it has the tag (56k
# subqueries, ~1 s a page on a 50k-note graph), and the page is the first of them by (name, uid)
# (a tag of 30 concepts: 3-9 ms; one on all 50k notes: ~0.4 s, most of it walking its notes).
LIST_CONCEPTS_TAGGED = f"""
CALL () {{
  MATCH (t:Tag) WHERE t.name = $tag OR t.name STARTS WITH $tag + '/'
  MATCH (t)<-[:TAGGED]-(:Note)-[:ABOUT]->(c:Concept)
  WHERE ($vault IS NULL OR c.vault = $vault) AND ($kind IS NULL OR c.kind = $kind)
  RETURN collect(DISTINCT c) AS tagged
}}
CALL (tagged) {{
  UNWIND tagged AS c
  WITH c WHERE c.name > $after_name OR (c.name = $after_name AND c.uid > $after_uid)
  WITH c ORDER BY c.name, c.uid LIMIT $take
  RETURN collect(c {CONCEPT_FIELDS}) AS page
}}
RETURN size(tagged) AS total, page
"""

# The shortest chain of typed relations (either direction) between two concepts.
CONNECTION_MAX_HOPS = 10
CONNECTION = f"""
MATCH (a:Concept {{uid: $source}}), (b:Concept {{uid: $target}})
MATCH p = ANY SHORTEST (a)-[:{TYPED}]-{{1,{CONNECTION_MAX_HOPS}}}(b)
RETURN [n IN nodes(p) | n {CONCEPT_FIELDS}] AS nodes,
       [r IN relationships(p) | r {{type: type(r), source: startNode(r).uid, target: endNode(r).uid,
                                  .rule, .confidence, .evidence, .note, .line}}] AS relations
"""

# The typed relations by type are the counts each vault's last sync stored on its Vault node
# (counting the edges themselves took 1-1.4 s on a 50k-note graph); `counted` < `vaults` when a vault
# was last written by a kg that did not store them, or its last sync did not finish (its edges are
# not what the counts say), and STATS_RELATIONS counts instead. Nodes are counted from Neo4j's count
# store over every vault (STATS_ALL), by index seeks for one (STATS): not by a scan of every node.
_STATS_VAULTS_AND_RELATIONS = """
CALL () {
  MATCH (v:Vault) WHERE $vault IS NULL OR v.name = $vault
  RETURN count(v) AS vaults, count(CASE WHEN v.sync_incomplete IS NULL THEN v.relation_types END) AS counted
}
CALL () {
  MATCH (v:Vault) WHERE ($vault IS NULL OR v.name = $vault) AND v.relation_types IS NOT NULL
  UNWIND range(0, size(v.relation_types) - 1) AS i
  WITH v.relation_types[i] AS type, v.relation_type_counts[i] AS n
  WITH type, sum(n) AS n ORDER BY type
  RETURN collect({type: type, count: n}) AS relations
}
"""

STATS_ALL = (
    _STATS_VAULTS_AND_RELATIONS
    + """
CALL () { MATCH (n:Note) RETURN count(n) AS notes }
CALL () { MATCH (c:Concept) RETURN count(c) AS concepts }
CALL () { MATCH (t:Tag) RETURN count(t) AS tags }
CALL () { MATCH (r:Resource) RETURN count(r) AS resources }
RETURN vaults, counted, notes, concepts, tags, resources, relations
"""
)

STATS = (
    _STATS_VAULTS_AND_RELATIONS
    + """
CALL () { MATCH (n:Note) WHERE n.vault = $vault AND n.path IS NOT NULL RETURN count(n) AS notes }
CALL () { MATCH (c:Concept) WHERE c.vault = $vault AND c.key IS NOT NULL RETURN count(c) AS concepts }
CALL () { MATCH (t:Tag) WHERE t.vault = $vault AND t.name IS NOT NULL RETURN count(t) AS tags }
CALL () { MATCH (r:Resource) WHERE r.vault = $vault RETURN count(r) AS resources }
RETURN vaults, counted, notes, concepts, tags, resources, relations
"""
)

STATS_RELATIONS = f"""
MATCH (:Concept)-[r:{TYPED}]->(:Concept) WHERE $vault IS NULL OR r.vault = $vault
WITH type(r) AS type, count(r) AS n ORDER BY type
RETURN collect({{type: type, count: n}}) AS relations
"""

VAULTS = """
MATCH (v:Vault)
RETURN v.name AS name, v.root AS root, v.notes AS notes, v.concepts AS concepts,
       v.relations AS relations, v.problems AS problems, toString(v.last_change_at) AS last_change_at
ORDER BY name
"""
