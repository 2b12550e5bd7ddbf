-- Time-in-state reports: the account's time zone (an IANA name; day and week buckets follow
-- it), the events of an account by time (the reports' walk), and all events by time (the
-- sweeper deletes those past EVENTS_RETENTION_DAYS, in batches). In step with SQLite's 0007.
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC' CHECK (time_zone <> '');
CREATE INDEX events_account_at ON events (account_pk, at);
CREATE INDEX events_at ON events (at);
