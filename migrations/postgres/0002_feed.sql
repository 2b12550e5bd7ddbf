-- In step with SQLite's 0002_feed.sql, which needs a table for its change feed. PostgreSQL
-- announces every change with pg_notify in the transaction that makes it (channel
-- `agentprofile_changes`), so it keeps nothing here.
SELECT 1;
