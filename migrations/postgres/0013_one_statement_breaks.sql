-- A break's start or end as ONE statement (src/store/pg_at_once.rs), a transaction of its own:
-- the message that held BEGIN, SET LOCAL synchronous_commit, the agent's lock, the change,
-- the INSERT of its event and COMMIT (0010, 0012) had six statements parsed and planned each
-- time; these functions' statements keep their plans for the session. The commit is
-- asynchronous, as before: the account's sequencing run (`sequence_events`) makes it durable
-- before the answer.
CREATE FUNCTION pend_event(
    p_account_pk BIGINT, p_agent_pk BIGINT, p_kind TEXT, p_actor TEXT, p_at BIGINT,
    p_details TEXT, p_instance TEXT
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO pending_events (account_pk, agent_pk, kind, actor, at, details, instance)
    VALUES (p_account_pk, p_agent_pk, p_kind, p_actor, p_at, p_details, p_instance);
END
$$;

CREATE FUNCTION start_break_once(
    p_agent_pk BIGINT, p_account_pk BIGINT, p_name TEXT, p_reason_pk BIGINT, p_code TEXT,
    p_label TEXT, p_limit BIGINT, p_now BIGINT,
    e_account_pk BIGINT, e_agent_pk BIGINT, e_kind TEXT, e_actor TEXT, e_at BIGINT,
    e_details TEXT, e_instance TEXT
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lock_enabled_agent(p_agent_pk);
    PERFORM start_break_known(p_agent_pk, p_account_pk, p_name, p_reason_pk, p_code, p_label,
        p_limit, p_now);
    PERFORM pend_event(e_account_pk, e_agent_pk, e_kind, e_actor, e_at, e_details, e_instance);
END
$$;

CREATE FUNCTION end_break_once(
    p_agent_pk BIGINT, p_now BIGINT, p_started_at BIGINT, p_code TEXT, p_label TEXT,
    p_limit BIGINT,
    e_account_pk BIGINT, e_agent_pk BIGINT, e_kind TEXT, e_actor TEXT, e_at BIGINT,
    e_details TEXT, e_instance TEXT
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    PERFORM end_break_known(p_agent_pk, p_now, p_started_at, p_code, p_label, p_limit);
    PERFORM pend_event(e_account_pk, e_agent_pk, e_kind, e_actor, e_at, e_details, e_instance);
END
$$;
