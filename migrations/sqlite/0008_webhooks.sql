-- Webhooks: endpoints of an account, each with a durable cursor into `events` (the outbox is
-- the history itself: the last event id delivered or skipped), the failed attempts of the
-- event after it and when it is tried next; the signing secret in the clear (it must sign,
-- so it cannot be hashed; see README "Webhooks"), and the one it replaced, which keeps
-- signing beside it until `previous_until`. `webhook_deliveries`: the recent attempts of
-- each endpoint (trimmed by the deliverer). In step with PostgreSQL's 0008.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    account_pk      BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url             TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    events          TEXT    NOT NULL DEFAULT '[]',
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    secret          TEXT    NOT NULL,
    previous_secret TEXT,
    previous_until  BIGINT,
    cursor          BIGINT  NOT NULL CHECK (cursor >= 0),
    attempts        BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_try_ms     BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_pk, id);

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY,
    webhook_pk  BIGINT  NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    BIGINT  NOT NULL,
    attempt     BIGINT  NOT NULL,
    at_ms       BIGINT  NOT NULL,
    ok          BOOLEAN NOT NULL,
    status      BIGINT,
    latency_ms  BIGINT  NOT NULL,
    error       TEXT,
    next_try_ms BIGINT
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_pk, id);
