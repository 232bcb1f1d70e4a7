// kg's Neo4j schema. Applied by `kg schema apply` and at the start of every ingest.
// Every statement is idempotent (IF NOT EXISTS). Statements are separated by ';'.
// kg owns its constraints here (not neomodel_install_labels), so the schema is reviewable Cypher
// and the same file works for users who run it by hand in Neo4j Browser or cypher-shell.

// Identity: every kg node carries `uid`, unique per label. Nodes other than Vault are scoped to
// their vault (uid = vault name + U+241F + key) so vaults never share, and never touch, each other's nodes.
CREATE CONSTRAINT vault_name IF NOT EXISTS FOR (v:Vault) REQUIRE v.name IS UNIQUE;
CREATE CONSTRAINT note_uid IF NOT EXISTS FOR (n:Note) REQUIRE n.uid IS UNIQUE;
CREATE CONSTRAINT concept_uid IF NOT EXISTS FOR (c:Concept) REQUIRE c.uid IS UNIQUE;
CREATE CONSTRAINT tag_uid IF NOT EXISTS FOR (t:Tag) REQUIRE t.uid IS UNIQUE;
CREATE CONSTRAINT ingest_lock_vault IF NOT EXISTS FOR (l:IngestLock) REQUIRE l.vault IS UNIQUE;
CREATE CONSTRAINT resource_uid IF NOT EXISTS FOR (r:Resource) REQUIRE r.uid IS UNIQUE;

// Lookups the read queries and the sync need.
CREATE INDEX concept_vault_key IF NOT EXISTS FOR (c:Concept) ON (c.vault, c.key);
CREATE INDEX concept_name IF NOT EXISTS FOR (c:Concept) ON (c.name);
CREATE INDEX concept_kind IF NOT EXISTS FOR (c:Concept) ON (c.kind);
CREATE INDEX note_vault_path IF NOT EXISTS FOR (n:Note) ON (n.vault, n.path);
// note(path:) without a vault: the composite index above needs the vault too.
CREATE INDEX note_path IF NOT EXISTS FOR (n:Note) ON (n.path);
CREATE INDEX tag_vault_name IF NOT EXISTS FOR (t:Tag) ON (t.vault, t.name);
CREATE INDEX tag_name IF NOT EXISTS FOR (t:Tag) ON (t.name);

// Retraction finds a note's assertions by the `asserted_by` note uid on typed relations.
CREATE INDEX prerequisite_asserted_by IF NOT EXISTS FOR ()-[r:PREREQUISITE_OF]-() ON (r.asserted_by);
CREATE INDEX variant_asserted_by IF NOT EXISTS FOR ()-[r:VARIANT_OF]-() ON (r.asserted_by);
CREATE INDEX implements_asserted_by IF NOT EXISTS FOR ()-[r:IMPLEMENTS]-() ON (r.asserted_by);
CREATE INDEX part_of_asserted_by IF NOT EXISTS FOR ()-[r:PART_OF]-() ON (r.asserted_by);
CREATE INDEX next_asserted_by IF NOT EXISTS FOR ()-[r:NEXT]-() ON (r.asserted_by);
CREATE INDEX related_asserted_by IF NOT EXISTS FOR ()-[r:RELATED_TO]-() ON (r.asserted_by);

// Full-text search over concept names and aliases and note titles (`search(text)` in the API).
CREATE FULLTEXT INDEX kg_fulltext IF NOT EXISTS
  FOR (n:Concept|Note) ON EACH [n.name, n.aliases_text, n.title];
