-- Calls: the agent is on a call from its answer to its end. At most one open call per agent,
-- whatever the races between requests. In step with SQLite's 0005.
CREATE TABLE calls (
    id               BIGSERIAL PRIMARY KEY,
    agent_pk         BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    call_id          TEXT   NOT NULL CHECK (call_id <> ''),
    customer_number  TEXT   NOT NULL,
    direction        TEXT   NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    started_at       BIGINT NOT NULL,
    ended_at         BIGINT,
    -- how it ended: NULL while it lasts
    outcome          TEXT   CHECK (outcome IN ('completed', 'missed', 'disabled')),
    CHECK ((ended_at IS NULL) = (outcome IS NULL)),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX calls_one_open_per_agent ON calls (agent_pk) WHERE ended_at IS NULL;
