-- PostgreSQL's break start and end as one statement. SQLite needs nothing: kept, empty, so
-- that both databases' migrations stay numbered in step.
SELECT 1;
