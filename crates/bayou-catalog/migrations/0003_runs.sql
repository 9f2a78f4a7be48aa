-- Run history: one row per run, its record (the runtime's RunRecord as JSON) with the columns
-- `job ls` filters and orders on.
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    finished_ms BIGINT,
    logs_kept BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_ms, id);
CREATE INDEX IF NOT EXISTS runs_by_user ON runs (user_name, started_ms);
