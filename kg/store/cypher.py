"""Every Cypher statement kg sends, as named constants.

Writes are batched: one `UNWIND $rows` statement per batch. Relationship types cannot be
parameters in Cypher, so statements that differ only by type are built once per type here.
All kg nodes carry `vault` and `uid`; all typed relations carry `asserted_by` (the note uid),
which is how a note's assertions are found and retracted and how user-made data is left alone.
"""

from __future__ import annotations

from kg.model import RelationType

# The labels and relationship types kg writes (SPEC §4). Anything else in the database is not kg's.
NOTE_EDGE_TYPES = ("ABOUT", "MENTIONS", "TAGGED", "LINKS_TO", "CITES")
TYPED_RELATIONS = tuple(t.value for t in RelationType)

# --- vault and lock -------------------------------------------------------------------------------

# Returns the folder the vault was last ingested from (this one, for a new vault).
MERGE_VAULT = """
MERGE (v:Vault {name: $vault})
ON CREATE SET v.uid = $vault, v.root = $root, v.created_at = datetime()
RETURN v.root AS root
"""

# The ingest lease lives on its own node, never written by the sync transaction itself, so a
# second ingest sees it at once instead of waiting for the first one's locks.
# Taking the node's write lock first (the counter bump) serialises two ingests racing for the lease.
LOCK_TOUCH = """
MERGE (l:IngestLock {vault: $vault}) SET l.seq = coalesce(l.seq, 0) + 1
"""

# Who holds the lease, read under the write lock LOCK_TOUCH took: the caller decides in Python
# whether it is free (no token, expired, or held by a process of this host that is gone).
LOCK_STATE = """
MATCH (l:IngestLock {vault: $vault})
RETURN l.token AS token, l.owner AS owner, l.host AS host, l.pid AS pid,
       toString(l.expires) AS expires, coalesce(l.expires < datetime(), true) AS expired
"""

TAKE_LOCK = """
MATCH (l:IngestLock {vault: $vault})
SET l.token = $token, l.owner = $owner, l.host = $host, l.pid = $pid,
    l.expires = datetime() + duration({seconds: $lease_s})
RETURN toString(l.expires) AS expires
"""

# The running sync extends its own lease (matched by token) every lease/3 seconds.
RENEW_LOCK = """
MATCH (l:IngestLock {vault: $vault}) WHERE l.token = $token
SET l.expires = datetime() + duration({seconds: $lease_s})
RETURN toString(l.expires) AS expires
"""

# Read inside the sync transaction just before it commits: is the lease still this run's?
LOCK_HOLDER = """
MATCH (l:IngestLock {vault: $vault}) RETURN l.token AS token, l.owner AS owner
"""

RELEASE_LOCK = """
MATCH (l:IngestLock {vault: $vault}) WHERE l.token = $token
REMOVE l.token, l.expires, l.owner, l.host, l.pid
"""

BREAK_LOCK = """
MATCH (l:IngestLock {vault: $vault}) REMOVE l.token, l.expires, l.owner, l.host, l.pid
"""

# Last statement of a sync's (last) transaction; it also clears the mark of an unfinished sync.
# The typed relations by type, as two lists (a property cannot hold a map), are what `stats` reads:
# counting ~500k edges of a 50k-note vault took 1-1.4 s.
UPDATE_VAULT_STATS = """
MATCH (v:Vault {name: $vault})
SET v.root = $root, v.notes = $notes, v.concepts = $concepts, v.relations = $relations,
    v.relation_types = $relation_types, v.relation_type_counts = $relation_type_counts,
    v.problems = $problems, v.last_change_at = datetime(), v.fingerprint = $fingerprint
REMOVE v.sync_incomplete
"""

# What the files looked like when the graph was made (`kg.pipeline.vault_fingerprint`; null: unknown).
# Set on its own when a sync changed nothing: it does not move `last_change_at`.
SET_VAULT_FINGERPRINT = """
MATCH (v:Vault {name: $vault}) SET v.fingerprint = $fingerprint, v.root = $root
"""

VAULT_FINGERPRINT = """
OPTIONAL MATCH (v:Vault {name: $vault})
RETURN v.fingerprint AS fingerprint, coalesce(v.sync_incomplete, false) AS incomplete, v.root AS root
"""

# A sync written in several transactions marks the vault in its first one (cleared by
# UPDATE_VAULT_STATS in its last): if it dies midway, the next sync knows to sweep the vault for
# the orphans the committed transactions left (their candidates were only in the dead run's memory).
MARK_SYNC_INCOMPLETE = """
MATCH (v:Vault {name: $vault}) SET v.sync_incomplete = true
"""

# --- what is there now ------------------------------------------------------------------------------

# One record with two lists, not a record per node: streaming 20k records costs seconds in the driver.
# Pairs (not two collects) because collect() skips nulls and would misalign uids and digests.
# `path`/`key` IS NOT NULL (always true of kg's nodes) lets the planner seek the (vault, path) and
# (vault, key) indexes; `{vault: $vault}` alone scanned every vault's notes and concepts.
VAULT_DIGESTS = """
CALL () {
  MATCH (n:Note) WHERE n.vault = $vault AND n.path IS NOT NULL
  RETURN collect([n.uid, n.digest, n.relations_digest, n.edges_digest]) AS notes
}
CALL () {
  MATCH (c:Concept) WHERE c.vault = $vault AND c.key IS NOT NULL RETURN collect([c.uid, c.digest]) AS concepts
}
CALL () {
  OPTIONAL MATCH (v:Vault {name: $vault})
  RETURN coalesce(v.sync_incomplete, false) AS incomplete, v.fingerprint AS fingerprint, v.root AS root
}
RETURN notes, concepts, incomplete, fingerprint, root
"""

# A note or concept unchanged since an older kg wrote it: only its digest is brought up to date.
RESTAMP_NOTE_DIGESTS = """
UNWIND $rows AS row
MATCH (n:Note {uid: row.uid}) SET n.digest = row.digest
"""

RESTAMP_CONCEPT_DIGESTS = """
UNWIND $rows AS row
MATCH (c:Concept {uid: row.uid}) SET c.digest = row.digest
"""

# --- retraction -------------------------------------------------------------------------------------

# Retractions return the uids of the concepts, tags and resources they detached: the only nodes
# that can have become orphans, so the orphan deletes look at those and not at the whole vault.
RETRACT_NOTE_EDGES = """
UNWIND $uids AS uid
MATCH (n:Note {uid: uid})-[e:ABOUT|MENTIONS|TAGGED|LINKS_TO|CITES]->(x)
DELETE e
RETURN collect(DISTINCT CASE WHEN x:Concept THEN x.uid END) AS concepts,
       collect(DISTINCT CASE WHEN x:Tag THEN x.uid END) AS tags,
       collect(DISTINCT CASE WHEN x:Resource THEN x.uid END) AS resources
"""

# Every type's assertions of the notes in one statement: all the `asserted_by` index seeks run before
# its first delete (Eager). A seek slows down with each relationship the transaction has deleted:
# one statement per type, run one after the other, took 5.7 s for 3,000 notes, this 0.34 s.
_ASSERTED_BY_UNION = "\n  UNION ALL\n".join(
    f"  MATCH ()-[r:{t} {{asserted_by: uid}}]->() RETURN r" for t in TYPED_RELATIONS
)
# A changed note whose other edges stay (`VaultSync.sync`): only its links go.
RETRACT_NOTE_LINKS = """
UNWIND $uids AS uid
MATCH (:Note {uid: uid})-[e:LINKS_TO]->()
DELETE e
"""

RETRACT_TYPED_RELATIONS = f"""
UNWIND $uids AS uid
CALL (uid) {{
{_ASSERTED_BY_UNION}
}}
WITH r, startNode(r) AS a, endNode(r) AS b
DELETE r
RETURN collect(DISTINCT a.uid) + collect(DISTINCT b.uid) AS concepts
"""

# A deleted or moved note: its node goes too (incoming links from other notes are re-asserted by them).
DELETE_NOTES = """
UNWIND $uids AS uid
MATCH (n:Note {uid: uid})
DETACH DELETE n
"""

# Left with no note and no relation: gone. Nodes with user-made relationships keep them and stay.
# Only the candidates a retraction detached are looked at (uids are vault-scoped).
DELETE_ORPHAN_CONCEPTS = """
UNWIND $uids AS uid
MATCH (c:Concept {uid: uid}) WHERE NOT (c)--() DELETE c RETURN count(c) AS deleted
"""
DELETE_ORPHAN_TAGS = """
UNWIND $uids AS uid
MATCH (t:Tag {uid: uid}) WHERE NOT (t)--() DELETE t RETURN count(t) AS deleted
"""
DELETE_ORPHAN_RESOURCES = """
UNWIND $uids AS uid
MATCH (r:Resource {uid: uid}) WHERE NOT (r)--() DELETE r RETURN count(r) AS deleted
"""

# After an unfinished multi-transaction sync: every node of the vault that nothing points at any more.
SWEEP_ORPHANS: dict[str, str] = {
    name: f"""
MATCH (x:{label} {{vault: $vault}}) WHERE NOT (x)--() DELETE x RETURN count(x) AS deleted
"""
    for name, label in (("concepts", "Concept"), ("tags", "Tag"), ("resources", "Resource"))
}

# --- assertion ---------------------------------------------------------------------------------------

UPSERT_CONCEPTS = """
UNWIND $rows AS row
MERGE (c:Concept {uid: row.uid})
SET c.vault = row.vault, c.key = row.key, c.name = row.name, c.aliases = row.aliases,
    c.aliases_text = row.aliases_text, c.kind = row.kind, c.description = row.description,
    c.digest = row.digest
"""

UPSERT_NOTES = """
UNWIND $rows AS row
MERGE (n:Note {uid: row.uid})
SET n.vault = row.vault, n.path = row.path, n.title = row.title, n.name = row.title,
    n.content_hash = row.content_hash, n.digest = row.digest, n.relations_digest = row.relations_digest,
    n.edges_digest = row.edges_digest, n.kind = row.kind,
    n.description = row.description, n.encoding = row.encoding, n.tags = row.tags,
    n.cjk_chars = row.cjk_chars, n.words = row.words, n.minutes = row.minutes,
    n.updated_at = datetime()
WITH n, row
MATCH (v:Vault {name: row.vault})
MERGE (v)-[:CONTAINS]->(n)
"""

CREATE_ABOUT = """
UNWIND $rows AS row
MATCH (n:Note {uid: row.note}), (c:Concept {uid: row.concept})
CREATE (n)-[:ABOUT]->(c)
"""

CREATE_MENTIONS = """
UNWIND $rows AS row
MATCH (n:Note {uid: row.note}), (c:Concept {uid: row.concept})
CREATE (n)-[:MENTIONS {count: row.count, lines: row.lines, line: row.line}]->(c)
"""

CREATE_TAGGED = """
UNWIND $rows AS row
MATCH (n:Note {uid: row.note})
MERGE (t:Tag {uid: row.tag})
ON CREATE SET t.vault = row.vault, t.name = row.name
CREATE (n)-[:TAGGED]->(t)
"""

CREATE_LINKS = """
UNWIND $rows AS row
MATCH (n:Note {uid: row.note}), (m:Note {uid: row.target})
CREATE (n)-[:LINKS_TO {count: row.count, line: row.line}]->(m)
"""

CREATE_CITES = """
UNWIND $rows AS row
MATCH (n:Note {uid: row.note})
MERGE (r:Resource {uid: row.resource})
ON CREATE SET r.vault = row.vault, r.url = row.url, r.name = row.domain
CREATE (n)-[:CITES]->(r)
"""

CREATE_TYPED_RELATION: dict[str, str] = {
    t: f"""
UNWIND $rows AS row
MATCH (a:Concept {{uid: row.source}}), (b:Concept {{uid: row.target}})
CREATE (a)-[:{t} {{asserted_by: row.note_uid, note: row.note, line: row.line, rule: row.rule,
                  confidence: row.confidence, evidence: row.evidence, vault: row.vault}}]->(b)
"""
    for t in TYPED_RELATIONS
}

# --- counts (tests, stats) ---------------------------------------------------------------------------

VAULT_COUNTS = """
MATCH (v:Vault {name: $vault})
CALL (v) { MATCH (n:Note {vault: v.name}) RETURN count(n) AS notes }
CALL (v) { MATCH (c:Concept {vault: v.name}) RETURN count(c) AS concepts }
CALL (v) { MATCH (:Concept {vault: v.name})-[r]->(:Concept) RETURN count(r) AS relations }
RETURN notes, concepts, relations
"""
