-- Floe catalog schema, PostgreSQL. Times are ms since the Unix epoch.
CREATE TABLE floe_namespaces (
    namespace     TEXT PRIMARY KEY,   -- levels joined by U+001F
    parent        TEXT NOT NULL,      -- '' for a top-level namespace
    properties    TEXT NOT NULL,      -- JSON object
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX floe_namespaces_parent ON floe_namespaces (parent);

CREATE TABLE floe_tables (
    table_id          TEXT PRIMARY KEY,  -- catalog-assigned UUID (stable across renames)
    namespace         TEXT NOT NULL REFERENCES floe_namespaces (namespace),
    name              TEXT NOT NULL,
    metadata_location TEXT NOT NULL,
    version           BIGINT NOT NULL,  -- bumped by every commit: the CAS token
    created_at_ms     BIGINT NOT NULL,
    updated_at_ms     BIGINT NOT NULL,
    UNIQUE (namespace, name)
);

CREATE TABLE floe_idempotency_keys (
    idempotency_key TEXT PRIMARY KEY,
    result          TEXT NOT NULL,       -- JSON: the tables and metadata locations committed
    created_at_ms   BIGINT NOT NULL
);

CREATE TABLE floe_writer_progress (
    table_id      TEXT NOT NULL REFERENCES floe_tables (table_id) ON DELETE CASCADE,
    writer_id     TEXT NOT NULL,
    epoch         BIGINT NOT NULL,
    last_seq      BIGINT NOT NULL,
    snapshot_id   BIGINT,
    watermark     BIGINT,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (table_id, writer_id)
);
