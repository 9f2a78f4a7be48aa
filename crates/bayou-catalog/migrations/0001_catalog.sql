-- refs, commits, content-addressed tree nodes, namespaces, settings.
-- One text for SQLite and PostgreSQL: BIGINT has integer affinity in SQLite, and BYTEA keeps
-- SQLite's blobs as they are. IF NOT EXISTS adopts catalogs made before migrations were tracked.
CREATE TABLE IF NOT EXISTS refs (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('branch', 'tag')),
    head TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commits (
    id TEXT PRIMARY KEY,
    parents TEXT NOT NULL,
    generation BIGINT NOT NULL,
    tree TEXT NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    properties TEXT NOT NULL,
    operations TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tree_nodes (id TEXT PRIMARY KEY, body BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
