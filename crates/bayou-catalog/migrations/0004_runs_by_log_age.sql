-- Pruning old logs (`--keep-logs-days`) finds the finished runs that still hold logs by index.
CREATE INDEX IF NOT EXISTS runs_by_log_age ON runs (logs_kept, finished_ms);
