-- PostgreSQL's group commit (`pending_events`, `sequence_events`). SQLite needs nothing: it
-- serialises writers. Kept, empty, so that both databases' migrations stay numbered in step.
SELECT 1;
