-- What setWebPingTime writes (src/store/agents.rs `record_ping`), in one transaction: the
-- agent's ping, the session's idle timer, the microphone permission when it changed (never
-- here: the seeding pinged every agent with "granted"). The server finds the session by its
-- primary key; here by the agent's open-session index, as the session id is not known.
\set id random(:minid, :maxid)
BEGIN;
UPDATE agents SET last_ping_at = :now, client_ping_time = NULL WHERE id = :id AND NOT disabled;
UPDATE agent_sessions SET last_seen_at = :now WHERE agent_pk = :id AND ended_at IS NULL;
UPDATE agents SET mic_perm = 'granted' WHERE id = :id AND mic_perm IS DISTINCT FROM 'granted';
COMMIT;
