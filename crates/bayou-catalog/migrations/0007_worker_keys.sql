-- Worker keys attach `bayou worker`s to a server and may call nothing else; 0/1 in both databases.
ALTER TABLE api_keys ADD COLUMN worker BIGINT NOT NULL DEFAULT 0;
