-- The IAM access keys the server owns, sealed with AES-256-GCM under a master key that is never
-- stored here, and the persisted state of each identity's key rotation.

CREATE TABLE owned_keys (
    access_key_id  TEXT PRIMARY KEY,
    identity       TEXT NOT NULL,
    sealed_secret  TEXT NOT NULL,             -- v1:<master key id>:<nonce>:<ciphertext>
    master_key_id  TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'inactive', 'deleted')),
    created_at     TIMESTAMPTZ NOT NULL,
    activated_at   TIMESTAMPTZ,
    deactivated_at TIMESTAMPTZ,
    deleted_at     TIMESTAMPTZ
);
-- At most one active key per identity.
CREATE UNIQUE INDEX owned_keys_one_active ON owned_keys (identity) WHERE state = 'active';

-- One row per rotation; the open one (finished_at IS NULL) is resumed after a crash.
CREATE TABLE key_rotations (
    id              UUID PRIMARY KEY,
    identity        TEXT NOT NULL,
    step            TEXT NOT NULL CHECK (step IN ('start', 'created', 'verified', 'activated', 'deactivated', 'done', 'failed')),
    old_key_id      TEXT,
    new_key_id      TEXT,
    reason          TEXT NOT NULL,             -- schedule | manual
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX key_rotations_one_open ON key_rotations (identity) WHERE finished_at IS NULL;
