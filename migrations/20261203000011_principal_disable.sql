-- `vault admin disable`: a disabled principal cannot log in, refresh or use its tokens, whatever
-- its IdP groups say, until `vault admin enable`. Who disabled it is in the audit trail
-- (`principal_disable`); the row keeps only when, for the checks and for listing.
ALTER TABLE principals
    ADD COLUMN disabled_at TIMESTAMPTZ;
