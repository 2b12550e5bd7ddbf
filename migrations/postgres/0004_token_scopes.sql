-- Least-privilege tokens: a scope (tokens from before keep full rights), an optional expiry,
-- when it was last used (written at most once a minute per token), and a label to tell
-- tokens apart in a list (the token itself is never shown again). In step with SQLite's 0004.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin'
    CHECK (scope IN ('read', 'supervise', 'admin'));
ALTER TABLE api_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX api_tokens_account ON api_tokens (account_pk, id);
