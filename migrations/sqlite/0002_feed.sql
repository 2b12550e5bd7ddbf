-- Changes that no event records (account suspension and wrap-up policy, agent updates),
-- so that a server sees what another process (the CLI) committed to the same file: it
-- polls this table and `events` by id. Writers are serialised, so ids follow commit order.
CREATE TABLE feed_changes (
    id          INTEGER PRIMARY KEY,
    account_pk  BIGINT NOT NULL,
    agent_pk    BIGINT
);
