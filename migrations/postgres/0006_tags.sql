-- Notification tags (the upstream `tags` route): what was created for an agent, when, and
-- when a `tags` fetch first returned it (`read_at`); and each agent's last `tags` fetch, which
-- `ref` narrows the window to. Tags older than TAGS_RETENTION_DAYS are deleted by the
-- sweeper, in batches (`tags_at`). In step with SQLite's 0006.
CREATE TABLE tags (
    id          BIGSERIAL PRIMARY KEY,
    account_pk  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    agent_pk    BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    title       TEXT   NOT NULL,
    text        TEXT,
    icon        TEXT,
    action      TEXT,
    read_at     BIGINT
);
CREATE INDEX tags_agent ON tags (agent_pk, at);
CREATE INDEX tags_at ON tags (at);

CREATE TABLE tag_fetches (
    agent_pk    BIGINT PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    fetched_at  BIGINT NOT NULL
);
