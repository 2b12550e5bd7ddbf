-- PostgreSQL's announcements name each event's kind. SQLite needs nothing (its feed reads
-- the kind from `events`): kept, empty, so that both databases' migrations stay numbered in
-- step.
SELECT 1;
