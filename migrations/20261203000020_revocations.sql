-- The AWS kill switch (issue 12): who is revoked, and how far each served role's
-- `team-vault-revocations` inline policy has come. See server/src/revocations/.

-- One row per revoked principal; a second revocation moves revoked_at later.
CREATE TABLE revocations (
    principal_id    uuid PRIMARY KEY REFERENCES principals (id),
    source_identity text NOT NULL CHECK (length(source_identity) BETWEEN 2 AND 64),
    revoked_at      timestamptz NOT NULL,
    reason          text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    revoked_by      text NOT NULL CHECK (length(revoked_by) <= 320)
);

-- Per served role: the step its policy is at. `generation` grows with every new revocation, so
-- a writer that read an older set of revocations cannot mark the role applied.
CREATE TABLE revocation_roles (
    role_arn        text PRIMARY KEY CHECK (length(role_arn) <= 2048),
    step            text NOT NULL CHECK (step IN ('pending', 'merged', 'applied')),
    generation      bigint NOT NULL DEFAULT 1,
    -- The document the merge produced (NULL: the policy is to be deleted), for the write step.
    document        text CHECK (length(document) <= 20480),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text CHECK (length(last_error) <= 2000),
    next_attempt_at timestamptz NOT NULL,
    applied_at      timestamptz,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX revocation_roles_due ON revocation_roles (next_attempt_at);
