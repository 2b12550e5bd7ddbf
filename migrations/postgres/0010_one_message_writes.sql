-- One event of the history, inserted under its account's event lock and announced on the
-- change feed; answers its id. A write sends its calls in the same message as its COMMIT
-- (see src/store/pg_commit.rs), so the lock, which keeps each account's event ids in
-- commit order, is held only while the server itself runs the insert and the commit, never
-- across a round trip to the client. PL/pgSQL keeps the insert's plan for the session.
CREATE FUNCTION record_event(
    p_account_pk BIGINT, p_agent_pk BIGINT, p_kind TEXT, p_actor TEXT, p_at BIGINT,
    p_details TEXT, p_instance TEXT
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    new_id BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(p_account_pk);
    INSERT INTO events (account_pk, agent_pk, kind, actor, at, details)
    VALUES (p_account_pk, p_agent_pk, p_kind, p_actor, p_at, p_details)
    RETURNING id INTO new_id;
    PERFORM pg_notify('agentprofile_changes',
        concat_ws(' ', p_instance, p_account_pk, COALESCE(p_agent_pk, 0), new_id));
    RETURN new_id;
END
$$;

-- Locks the agent's row until the end of the transaction, and fails (SQLSTATE APDIS) if the
-- agent is disabled: a write on one agent sends it in the same message as its BEGIN.
CREATE FUNCTION lock_enabled_agent(p_agent_pk BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agents SET disabled = disabled WHERE id = p_agent_pk AND NOT disabled;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'agent % is disabled', p_agent_pk USING ERRCODE = 'APDIS';
    END IF;
END
$$;
