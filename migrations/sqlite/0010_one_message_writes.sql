-- PostgreSQL's `record_event` and `lock_enabled_agent` functions (a write's events sent with
-- its COMMIT, its agent's lock with its BEGIN). SQLite needs nothing: it serialises writers.
-- Kept, empty, so that both databases' migrations stay numbered in step.
SELECT 1;
