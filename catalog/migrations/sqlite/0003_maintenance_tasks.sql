-- Maintenance task queue, SQLite. Times are ms since the Unix epoch.
CREATE TABLE floe_maintenance_tasks (
    task_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace        TEXT NOT NULL,      -- levels joined by U+001F
    table_name       TEXT NOT NULL,
    action           TEXT NOT NULL,      -- compact, expire-snapshots, ...
    options          TEXT NOT NULL,      -- JSON object
    dry_run          INTEGER NOT NULL,   -- 0 or 1
    priority         INTEGER NOT NULL,   -- higher first (urgent = manual requests)
    debt             INTEGER NOT NULL,   -- the scheduler's debt score; higher first
    status           TEXT NOT NULL,      -- queued, running, succeeded, failed
    attempts         INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    not_before_ms    INTEGER NOT NULL,   -- retry backoff: not claimed before
    lease_owner      TEXT,
    lease_expires_ms INTEGER,
    result           TEXT,               -- JSON, when succeeded
    error            TEXT,               -- the last failure
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    started_at_ms    INTEGER,
    finished_at_ms   INTEGER
);
-- At most one queued or running (non dry-run) task per table and action.
CREATE UNIQUE INDEX floe_maintenance_tasks_active
    ON floe_maintenance_tasks (namespace, table_name, action)
    WHERE status IN ('queued', 'running') AND dry_run = 0;
CREATE INDEX floe_maintenance_tasks_status ON floe_maintenance_tasks (status, not_before_ms);
