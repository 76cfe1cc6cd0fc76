-- Replicas keep live login sessions in memory for up to a second (server/src/auth/sessions.rs).
-- Any change to a session row, or its removal, is announced on `vault_session_revoked` so every
-- replica forgets it at once; this covers revocations by hand as well as by the server.
CREATE FUNCTION login_sessions_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vault_session_revoked', OLD.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER login_sessions_changed
    AFTER UPDATE OR DELETE ON login_sessions
    FOR EACH ROW EXECUTE FUNCTION login_sessions_notify_change();

-- TRUNCATE has no rows to name: forget every session.
CREATE FUNCTION login_sessions_notify_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vault_session_revoked', '*');
    RETURN NULL;
END;
$$;

CREATE TRIGGER login_sessions_truncated
    AFTER TRUNCATE ON login_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION login_sessions_notify_truncate();
