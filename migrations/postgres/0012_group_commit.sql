-- Group commit (see src/store/group_commit.rs). A write no longer inserts its events under
-- its account's event lock: it commits them here, unnumbered, with its change (asynchronously,
-- no lock, no announcement), and then waits for a sequencing run of its account that began
-- after its commit. One run numbers every waiting event of the account, in the order they
-- were written, announces them, and commits synchronously: it carries the lock, the
-- announcements and the WAL flush of many writes at once, and each account's event ids
-- still follow the order in which they become visible. A run that finds nothing still
-- commits durably: it is the durability barrier of the writes it serves.
CREATE TABLE pending_events (
    id BIGSERIAL PRIMARY KEY,
    account_pk BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    agent_pk BIGINT REFERENCES agents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    details TEXT NOT NULL,
    -- The instance that wrote it, announced with it (that instance skips its own changes).
    instance TEXT NOT NULL
);
CREATE INDEX pending_events_account ON pending_events (account_pk, id);

-- Moves the account's waiting events into `events`, oldest first, under the account's event
-- lock, announcing each; answers the newest id given (0: none waited).
CREATE FUNCTION sequence_events(p_account_pk BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    p RECORD;
    new_id BIGINT;
    newest BIGINT := 0;
BEGIN
    -- A transaction id, so that the commit is written and waited for even when nothing moves.
    PERFORM pg_current_xact_id();
    PERFORM pg_advisory_xact_lock(p_account_pk);
    FOR p IN
        WITH moved AS (DELETE FROM pending_events WHERE account_pk = p_account_pk RETURNING *)
        SELECT * FROM moved ORDER BY id
    LOOP
        INSERT INTO events (account_pk, agent_pk, kind, actor, at, details)
        VALUES (p.account_pk, p.agent_pk, p.kind, p.actor, p.at, p.details)
        RETURNING id INTO new_id;
        PERFORM pg_notify('agentprofile_changes',
            concat_ws(' ', p.instance, p.account_pk, COALESCE(p.agent_pk, 0), new_id));
        newest := new_id;
    END LOOP;
    RETURN newest;
END
$$;
