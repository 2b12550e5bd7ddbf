-- The reports' roll-up (README "Reports"): one row per agent and local day (in the account's
-- time zone) whose tally is not "logged out all day, nothing in it", sealed by the sweeper
-- once the day is over. `break_seconds`: a JSON object of seconds by reason code; `lead`,
-- `trail`, `reset`: what composes the longest break across days. `report_seals`: per
-- account, the zone the days were cut in, and [sealed_from, sealed_to): the days rolled up
-- (a day in it without a row was logged out throughout); `watermark`: every event of the
-- account up to this id is reflected in the rows (a later event dated before sealed_to
-- means the roll-up is stale: reports walk the events and the sweeper re-seals). In step
-- with SQLite's 0009.
CREATE TABLE report_seals (
    account_pk  BIGINT NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    time_zone   TEXT   NOT NULL,
    sealed_from BIGINT NOT NULL,
    sealed_to   BIGINT NOT NULL CHECK (sealed_to >= sealed_from),
    watermark   BIGINT NOT NULL
);

CREATE TABLE report_days (
    account_pk         BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day_start          BIGINT  NOT NULL,
    agent_pk           BIGINT  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    available          BIGINT  NOT NULL,
    on_call            BIGINT  NOT NULL,
    wrap_up            BIGINT  NOT NULL,
    on_break           BIGINT  NOT NULL,
    logged_out         BIGINT  NOT NULL,
    breaks             BIGINT  NOT NULL,
    calls              BIGINT  NOT NULL,
    wrap_ups           BIGINT  NOT NULL,
    over_limit_breaks  BIGINT  NOT NULL,
    over_limit_seconds BIGINT  NOT NULL,
    longest_break      BIGINT  NOT NULL,
    lead               BIGINT  NOT NULL,
    trail              BIGINT  NOT NULL,
    reset              BOOLEAN NOT NULL,
    break_seconds      TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (account_pk, day_start, agent_pk)
);
CREATE INDEX report_days_agent ON report_days (agent_pk);
