-- What agentOnBreak asks PostgreSQL (src/store/sessions.rs `session`, src/store/breaks.rs
-- `open_break`): the session by its ssid hash, joined to its agent and account, then the
-- agent's open break. Two statements, two round trips, no transaction, as the server does.
-- The hash is picked at random from the seeded population: bench_ssids holds every seeded
-- ssid's hash with a row number (the sub-select is one extra index probe on a small table).
\set n random(1, :nsessions)
SELECT s.id AS session_id, s.last_seen_at, s.expires_at, s.ended_at,
       g.id AS agent_pk, g.account_pk, g.agent_id, g.name, g.wrap_seconds, g.wrap_mode, g.disabled,
       a.user_id, a.name AS account_name, a.suspended,
       a.wrap_seconds AS account_wrap_seconds, a.wrap_mode AS account_wrap_mode
FROM agent_sessions s
JOIN agents g ON g.id = s.agent_pk
JOIN accounts a ON a.id = g.account_pk
WHERE s.ssid_hash = (SELECT ssid_hash FROM bench_ssids WHERE n = :n)
\gset
SELECT reason_code, reason, limit_seconds, started_at, ended_at
FROM breaks WHERE agent_pk = :agent_pk AND ended_at IS NULL;
