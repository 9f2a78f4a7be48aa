-- Admin keys may do what changes the whole lake (`bayou gc` over a server); 0/1 in both databases.
ALTER TABLE api_keys ADD COLUMN admin BIGINT NOT NULL DEFAULT 0;
