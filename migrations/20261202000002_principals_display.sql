-- Whether an older principal has the same display name is asked on every session lookup (two
-- IdP subjects with one verified email must not share a session name): an index answers it.
CREATE INDEX principals_display ON principals (display, created_at, id);
