-- Membership that stays fresh (issue 11): a login remembers when its groups were last read from
-- the IdP, and the IdP's own refresh and access tokens to read them again, sealed with the master
-- key (AES-256-GCM, bound to the session id; never in plain text). NULL where the IdP gave none or
-- no master key is configured. Sessions from before this migration have none: their groups are
-- re-read at the first refresh after membership_ttl, which fails, so they log in again.
ALTER TABLE login_sessions
    ADD COLUMN membership_checked_at      TIMESTAMPTZ,
    ADD COLUMN upstream_refresh_sealed    TEXT,
    ADD COLUMN upstream_access_sealed     TEXT,
    ADD COLUMN upstream_access_expires_at TIMESTAMPTZ;
