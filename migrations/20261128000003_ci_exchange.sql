-- CI token exchange: each CI token (issuer, jti) is accepted once; a CI login session remembers
-- which issuer vouched for the job and the claims the policy matches on.

CREATE TABLE ci_token_uses (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    used_at    TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX ci_token_uses_expiry ON ci_token_uses (expires_at);

ALTER TABLE login_sessions
    ADD COLUMN ci_issuer TEXT,
    ADD COLUMN ci_claims JSONB;
