-- Issue 11: a login is bound to the browser that started it, and the device confirm page shows
-- who asked for the device code.

-- SHA-256 (hex) of the random cookie set in the browser that started the login (GET
-- /oauth/authorize, or approving on the /device page). NULL (rows from before this migration)
-- matches no browser.
ALTER TABLE pending_logins ADD COLUMN browser_hash TEXT;

-- The client that asked for the device code (POST /oauth/device), shown on the confirm page.
ALTER TABLE device_authorizations ADD COLUMN client_addr TEXT;
ALTER TABLE device_authorizations ADD COLUMN user_agent TEXT;
