-- Group commit, and break starts and ends sent whole in one message (PostgreSQL).
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

-- A break start sent whole in one message with its BEGIN and COMMIT (src/store/pg_at_once.rs):
-- the reason `p_name` resolves to (as the long way's lookup resolves it) must still be the one
-- the caller knows (`p_reason_pk`, its code, label and limit), and active: SQLSTATE APRSN
-- otherwise (the caller then takes the long way, which says why). APONC during a call; a
-- second open break violates the partial unique index.
CREATE FUNCTION start_break_known(
    p_agent_pk BIGINT, p_account_pk BIGINT, p_name TEXT, p_reason_pk BIGINT, p_code TEXT,
    p_label TEXT, p_limit BIGINT, p_now BIGINT
) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    SELECT id, code, label, limit_seconds, active INTO r FROM break_reasons
    WHERE account_pk = p_account_pk
      AND (LOWER(code) = LOWER(p_name) OR LOWER(label) = LOWER(p_name))
    ORDER BY CASE WHEN LOWER(code) = LOWER(p_name) THEN 0 ELSE 1 END, id LIMIT 1;
    IF NOT FOUND OR NOT r.active OR r.id <> p_reason_pk OR r.code <> p_code
        OR r.label <> p_label OR r.limit_seconds IS DISTINCT FROM p_limit THEN
        RAISE EXCEPTION 'reason % is not the one known', p_name USING ERRCODE = 'APRSN';
    END IF;
    IF EXISTS (SELECT 1 FROM calls WHERE agent_pk = p_agent_pk AND ended_at IS NULL) THEN
        RAISE EXCEPTION 'agent % is on a call', p_agent_pk USING ERRCODE = 'APONC';
    END IF;
    INSERT INTO breaks (agent_pk, reason_pk, reason_code, reason, limit_seconds, started_at)
    VALUES (p_agent_pk, p_reason_pk, p_code, p_label, p_limit, p_now);
END
$$;

-- A break end sent whole in one message: ends the agent's open break at `p_now` (never before
-- its start), which must be the one the caller knows (its start, code, label and limit), so
-- that the event the caller wrote for it is true; SQLSTATE APSTL otherwise (the long way).
CREATE FUNCTION end_break_known(
    p_agent_pk BIGINT, p_now BIGINT, p_started_at BIGINT, p_code TEXT, p_label TEXT,
    p_limit BIGINT
) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    UPDATE breaks SET ended_at = GREATEST(p_now, started_at)
    WHERE agent_pk = p_agent_pk AND ended_at IS NULL
    RETURNING started_at, reason_code, reason, limit_seconds INTO r;
    IF NOT FOUND OR r.started_at <> p_started_at OR r.reason_code <> p_code
        OR r.reason <> p_label OR r.limit_seconds IS DISTINCT FROM p_limit THEN
        RAISE EXCEPTION 'the break is not the one known' USING ERRCODE = 'APSTL';
    END IF;
END
$$;
