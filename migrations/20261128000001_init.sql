-- team-vault initial schema: principals, login sessions, OAuth state, signing keys, audit trail.
-- Nothing secret is stored in plaintext: codes and tokens are stored as SHA-256 hex digests.

CREATE TABLE principals (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'ci', 'system')),
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    display      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer, subject)
);

-- One row per login (browser or device). Revoking it invalidates every token derived from it.
CREATE TABLE login_sessions (
    id           UUID PRIMARY KEY,
    principal_id UUID NOT NULL REFERENCES principals (id),
    groups       TEXT[] NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    revoke_reason TEXT
);

-- A login in progress at the upstream IdP. The upstream PKCE verifier and nonce live here for at
-- most a few minutes and are deleted on use: they protect one exchange and are useless after it.
CREATE TABLE pending_logins (
    id                  UUID PRIMARY KEY,
    upstream_state_hash TEXT NOT NULL UNIQUE,
    upstream_verifier   TEXT NOT NULL,
    upstream_nonce      TEXT NOT NULL,
    flow                TEXT NOT NULL CHECK (flow IN ('browser', 'device')),
    client_redirect_uri TEXT,
    client_state        TEXT,
    code_challenge      TEXT,
    device_id           UUID,
    created_at          TIMESTAMPTZ NOT NULL,
    expires_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,
    session_id     UUID NOT NULL REFERENCES login_sessions (id),
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ
);

CREATE TABLE device_authorizations (
    id               UUID PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash   TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    session_id       UUID REFERENCES login_sessions (id),
    interval_seconds INTEGER NOT NULL,
    last_polled_at   TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  UUID NOT NULL REFERENCES login_sessions (id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Public halves of the access-token signing keys. Private keys live only in the memory of the
-- replica that generated them; a restart generates a new key and old tokens still verify.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    algorithm  TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retire_at  TIMESTAMPTZ NOT NULL
);

-- The audit trail: append-only. `seq` orders the events; the hash chain (admin issue) will add
-- columns without touching the existing ones.
CREATE TABLE audit_events (
    seq              BIGSERIAL PRIMARY KEY,
    id               UUID NOT NULL UNIQUE,
    occurred_at      TIMESTAMPTZ NOT NULL,
    action           TEXT NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    principal_id     UUID,
    principal        TEXT,
    principal_kind   TEXT,
    profile          TEXT,
    role_arn         TEXT,
    session_name     TEXT,
    source_identity  TEXT,
    access_key_id    TEXT,
    expiration       TIMESTAMPTZ,
    duration_seconds INTEGER,
    reason           TEXT,
    client_addr      TEXT,
    user_agent       TEXT,
    request_id       TEXT,
    details          JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_principal ON audit_events (principal, occurred_at DESC);
CREATE INDEX audit_events_access_key ON audit_events (access_key_id) WHERE access_key_id IS NOT NULL;

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
