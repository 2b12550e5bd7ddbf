-- The whole model. Times are Unix seconds (BIGINT) in both databases, so both behave alike.
-- Kept in step with migrations/postgres/0001_core.sql (only id columns and boolean defaults differ).

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    user_id       TEXT    NOT NULL UNIQUE CHECK (user_id <> ''),
    name          TEXT    NOT NULL DEFAULT '',
    suspended     BOOLEAN NOT NULL DEFAULT 0,
    -- the account's wrap-up policy; an agent may override either part
    wrap_seconds  BIGINT  NOT NULL CHECK (wrap_seconds >= 0),
    wrap_mode     TEXT    NOT NULL DEFAULT 'timed' CHECK (wrap_mode IN ('timed', 'forced', 'untimed')),
    created_at    BIGINT  NOT NULL
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
    account_pk       BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    agent_id         TEXT    NOT NULL CHECK (agent_id <> ''),
    name             TEXT    NOT NULL DEFAULT '',
    -- NULL: the account's policy applies
    wrap_seconds     BIGINT  CHECK (wrap_seconds >= 0),
    wrap_mode        TEXT    CHECK (wrap_mode IN ('timed', 'forced', 'untimed')),
    disabled         BOOLEAN NOT NULL DEFAULT 0,
    -- presence, from the browser's setWebPingTime heartbeat
    last_ping_at     BIGINT,
    client_ping_time BIGINT,
    mic_perm         TEXT CHECK (mic_perm IN ('granted', 'denied', 'prompt')),
    created_at       BIGINT  NOT NULL,
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
CREATE INDEX agent_sessions_open ON agent_sessions (agent_pk) WHERE ended_at IS NULL;

-- Each account's list of break reasons; a break always has one of them.
CREATE TABLE break_reasons (
    id             INTEGER PRIMARY KEY,
    account_pk     BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code           TEXT    NOT NULL CHECK (code <> ''),
    label          TEXT    NOT NULL CHECK (label <> ''),
    limit_seconds  BIGINT  CHECK (limit_seconds > 0),
    active         BOOLEAN NOT NULL DEFAULT 1,
    created_at     BIGINT  NOT NULL,
    UNIQUE (account_pk, code)
);

-- reason_code, reason (the label) and limit_seconds are the reason as it was when the break began.
CREATE TABLE breaks (
    id             INTEGER PRIMARY KEY,
    agent_pk       BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    reason_pk      BIGINT NOT NULL REFERENCES break_reasons (id),
    reason_code    TEXT   NOT NULL,
    reason         TEXT   NOT NULL,
    limit_seconds  BIGINT CHECK (limit_seconds > 0),
    started_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- At most one open break per agent, whatever the races between requests.
CREATE UNIQUE INDEX breaks_one_open_per_agent ON breaks (agent_pk) WHERE ended_at IS NULL;

-- ends_at NULL means untimed. A timed or forced wrap-up whose ends_at has passed is over even
-- while ended_at is still NULL; the next write touching it closes it at ends_at.
CREATE TABLE wrap_ups (
    id               INTEGER PRIMARY KEY,
    agent_pk         BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    call_id          TEXT   NOT NULL CHECK (call_id <> ''),
    customer_number  TEXT   NOT NULL,
    mode             TEXT   NOT NULL CHECK (mode IN ('timed', 'forced', 'untimed')),
    started_at       BIGINT NOT NULL,
    ends_at          BIGINT,
    ended_at         BIGINT,
    CHECK ((mode = 'untimed') = (ends_at IS NULL)),
    CHECK (ends_at IS NULL OR ends_at >= started_at),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX wrap_ups_one_open_per_agent ON wrap_ups (agent_pk) WHERE ended_at IS NULL;

-- The history: every state change, written in the same transaction as the change.
-- actor: 'session:<id>', 'token:<id>', 'cli' or 'system'; details: a JSON object.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    account_pk  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    agent_pk    BIGINT REFERENCES agents (id) ON DELETE CASCADE,
    kind        TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    details     TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX events_account ON events (account_pk, id);
CREATE INDEX events_agent ON events (agent_pk, id);
