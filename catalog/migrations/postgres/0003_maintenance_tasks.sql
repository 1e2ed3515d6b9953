-- Maintenance task queue, PostgreSQL. Times are ms since the Unix epoch.
CREATE TABLE floe_maintenance_tasks (
    task_id          BIGSERIAL PRIMARY KEY,
    namespace        TEXT NOT NULL,      -- levels joined by U+001F
    table_name       TEXT NOT NULL,
    action           TEXT NOT NULL,      -- compact, expire-snapshots, ...
    options          TEXT NOT NULL,      -- JSON object
    dry_run          BIGINT NOT NULL,   -- 0 or 1
    priority         BIGINT NOT NULL,   -- higher first (urgent = manual requests)
    debt             BIGINT NOT NULL,   -- the scheduler's debt score; higher first
    status           TEXT NOT NULL,      -- queued, running, succeeded, failed
    attempts         BIGINT NOT NULL,
    max_attempts     BIGINT NOT NULL,
    not_before_ms    BIGINT NOT NULL,   -- retry backoff: not claimed before
    lease_owner      TEXT,
    lease_expires_ms BIGINT,
    result           TEXT,               -- JSON, when succeeded
    error            TEXT,               -- the last failure
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL,
    started_at_ms    BIGINT,
    finished_at_ms   BIGINT
);
-- At most one queued or running (non dry-run) task per table and action.
CREATE UNIQUE INDEX floe_maintenance_tasks_active
    ON floe_maintenance_tasks (namespace, table_name, action)
    WHERE status IN ('queued', 'running') AND dry_run = 0;
CREATE INDEX floe_maintenance_tasks_status ON floe_maintenance_tasks (status, not_before_ms);
