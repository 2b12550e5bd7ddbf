-- Each event's announcement names its kind after the four ids (`<instance> <account> <agent>
-- <event> <kind>`), so that a listener tells the changes that leave its live view alone
-- (presence: a floor going silent together) from those that do not, without reading the
-- event back (src/live/mod.rs). An instance that reads only the four ids reads it as before.
CREATE OR REPLACE FUNCTION sequence_events(p_account_pk BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
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
            concat_ws(' ', p.instance, p.account_pk, COALESCE(p.agent_pk, 0), new_id, p.kind));
        newest := new_id;
    END LOOP;
    RETURN newest;
END
$$;
