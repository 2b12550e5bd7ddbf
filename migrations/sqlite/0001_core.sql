-- Core model. Times are Unix seconds (BIGINT) in both databases, so both behave alike.
-- Kept in step with migrations/postgres/0001_core.sql.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    user_id     TEXT    NOT NULL UNIQUE CHECK (user_id <> ''),
    name        TEXT    NOT NULL DEFAULT '',
    suspended   BOOLEAN NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);

-- API tokens are stored only as their SHA-256; the token itself is shown once at creation.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    account_pk  BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE agents (
    id               INTEGER PRIMARY KEY,
    account_pk       BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    agent_id         TEXT   NOT NULL CHECK (agent_id <> ''),
    name             TEXT   NOT NULL DEFAULT '',
    wrap_seconds     BIGINT NOT NULL CHECK (wrap_seconds >= 0),
    -- presence, from the browser's setWebPingTime heartbeat
    last_ping_at     BIGINT,
    client_ping_time BIGINT,
    mic_perm         TEXT CHECK (mic_perm IN ('granted', 'denied', 'prompt')),
    created_at       BIGINT NOT NULL,
    UNIQUE (account_pk, agent_id)
);

-- Agent login sessions; the ssid is stored only as its SHA-256.
CREATE TABLE agent_sessions (
    id            INTEGER PRIMARY KEY,
    agent_pk      BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ssid_hash     TEXT   NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_pk);

CREATE TABLE breaks (
    id             INTEGER PRIMARY KEY,
    agent_pk       BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    reason         TEXT   NOT NULL CHECK (reason <> ''),
    limit_seconds  BIGINT CHECK (limit_seconds > 0),
    started_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- At most one open break per agent, whatever the races between requests.
CREATE UNIQUE INDEX breaks_one_open_per_agent ON breaks (agent_pk) WHERE ended_at IS NULL;

-- ends_at NULL means untimed; a timed wrap-up whose ends_at has passed is over even
-- while ended_at is still NULL (it is closed at ends_at by the next write).
CREATE TABLE wrap_ups (
    id               INTEGER PRIMARY KEY,
    agent_pk         BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    call_id          TEXT   NOT NULL,
    customer_number  TEXT   NOT NULL,
    started_at       BIGINT NOT NULL,
    ends_at          BIGINT,
    ended_at         BIGINT,
    CHECK (ends_at IS NULL OR ends_at >= started_at),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX wrap_ups_one_open_per_agent ON wrap_ups (agent_pk) WHERE ended_at IS NULL;
