-- PostgreSQL's agent lock becomes a row lock (FOR NO KEY UPDATE) instead of an UPDATE. SQLite
-- has no row locks (BEGIN IMMEDIATE serialises writers, and the UPDATE is its check): kept,
-- empty, so that both databases' migrations stay numbered in step.
SELECT 1;
