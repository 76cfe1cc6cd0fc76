-- Tamper-evident audit trail: a hash chain over the events, a single-row chain head that every
-- writer (on any replica) locks while appending, and retention checkpoints.
--
-- Events written before this migration have no chain position; verification reports the chain
-- from the first chained event on.

ALTER TABLE audit_events
    ADD COLUMN chain_seq BIGINT UNIQUE,
    ADD COLUMN prev_hash BYTEA,
    ADD COLUMN hash      BYTEA;

-- The head of the chain: the last position and hash. Appending takes `FOR UPDATE` on this row,
-- which serialises writers across replicas without a table lock.
CREATE TABLE audit_chain_head (
    id        BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    chain_seq BIGINT NOT NULL,
    hash      BYTEA  NOT NULL
);
INSERT INTO audit_chain_head (id, chain_seq, hash) VALUES (TRUE, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- Where retention cut the chain: the first remaining event links to `cut_hash`.
CREATE TABLE audit_checkpoints (
    cut_seq    BIGINT PRIMARY KEY,
    cut_hash   BYTEA  NOT NULL,
    pruned     BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Query paths of the admin API (newest first by chain position).
CREATE INDEX audit_events_chain_desc     ON audit_events (chain_seq DESC);
CREATE INDEX audit_events_action_chain   ON audit_events (action, chain_seq DESC);
CREATE INDEX audit_events_principal_chain ON audit_events (principal, chain_seq DESC);
CREATE INDEX audit_events_profile_chain  ON audit_events (profile, chain_seq DESC);
CREATE INDEX audit_events_time           ON audit_events (occurred_at);
CREATE INDEX audit_events_session_name   ON audit_events (session_name) WHERE session_name IS NOT NULL;
DROP INDEX audit_events_principal;

-- UPDATE and DELETE stay refused, except the DELETE done by audit_prune() below.
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('vault.audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

-- Retention: removes every event up to the last one older than `cutoff` and records the cut.
-- SECURITY DEFINER so the server's role needs only EXECUTE on it, never DELETE on the table.
-- The caller appends the matching `audit_prune` checkpoint event in the same transaction.
CREATE FUNCTION audit_prune(cutoff TIMESTAMPTZ)
RETURNS TABLE (cut_seq BIGINT, cut_hash BYTEA, pruned BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    last_seq  BIGINT;
    last_hash BYTEA;
    n         BIGINT;
BEGIN
    PERFORM 1 FROM audit_chain_head FOR UPDATE;
    SELECT e.chain_seq, e.hash INTO last_seq, last_hash
      FROM audit_events e
     WHERE e.chain_seq IS NOT NULL AND e.occurred_at < cutoff
     ORDER BY e.chain_seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('vault.audit_prune', 'on', true);
    DELETE FROM audit_events e WHERE e.chain_seq <= last_seq OR e.chain_seq IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('vault.audit_prune', 'off', true);
    INSERT INTO audit_checkpoints (cut_seq, cut_hash, pruned, created_at)
    VALUES (last_seq, last_hash, n, now());
    RETURN QUERY SELECT last_seq, last_hash, n;
END;
$$;
REVOKE ALL ON FUNCTION audit_prune(TIMESTAMPTZ) FROM PUBLIC;
