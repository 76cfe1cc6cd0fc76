-- Registered OAuth clients (issue 14): every login in flight, device authorization and login
-- session belongs to the client that started it, so a code, device code or refresh token issued
-- to one client is refused to another. Rows from before are the built-in CLI's; the default
-- also covers a replica of the previous release inserting during a rolling upgrade.

ALTER TABLE pending_logins
    ADD COLUMN client_id text NOT NULL DEFAULT 'vault-cli' CHECK (length(client_id) BETWEEN 1 AND 64);
ALTER TABLE device_authorizations
    ADD COLUMN client_id text NOT NULL DEFAULT 'vault-cli' CHECK (length(client_id) BETWEEN 1 AND 64);
ALTER TABLE login_sessions
    ADD COLUMN client_id text NOT NULL DEFAULT 'vault-cli' CHECK (length(client_id) BETWEEN 1 AND 64);
