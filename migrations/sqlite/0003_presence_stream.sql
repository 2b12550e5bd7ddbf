-- Presence as last recorded by the sweeper (the events `presence.*` say when it changed), and
-- the single-use tickets browsers open the event stream with. In step with PostgreSQL's 0003.
ALTER TABLE agents ADD COLUMN presence TEXT NOT NULL DEFAULT 'offline'
    CHECK (presence IN ('online', 'stale', 'offline'));

-- A ticket is stored only as its SHA-256, and deleted when it is used.
CREATE TABLE stream_tickets (
    id           INTEGER PRIMARY KEY,
    ticket_hash  TEXT   NOT NULL UNIQUE,
    token_pk     BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX stream_tickets_expiry ON stream_tickets (expires_at);
