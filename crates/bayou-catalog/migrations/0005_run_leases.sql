-- A running run's lease: the process that holds it, and when it last said it was alive. A
-- run whose holder is gone is settled as crashed by whoever looks next.
ALTER TABLE runs ADD COLUMN holder TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_ms BIGINT;
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, started_ms);
