-- What `vault admin sessions` shows about a live login: where it came from (the client address
-- and user agent of the request that opened it) and when its tokens were last refreshed.
-- NULL for logins opened before this migration and, for last_refresh_at, never refreshed.
ALTER TABLE login_sessions
    ADD COLUMN client_addr     TEXT,
    ADD COLUMN user_agent      TEXT,
    ADD COLUMN last_refresh_at TIMESTAMPTZ;

-- Listing the live logins (of one principal) reads only unrevoked rows.
CREATE INDEX login_sessions_live_by_principal
    ON login_sessions (principal_id, created_at)
    WHERE revoked_at IS NULL;
