-- Retention never removes an event younger than the cutoff. The chain is cut just before the
-- first event, in chain order, that is not older than the cutoff; before, it was cut at the
-- last event older than the cutoff, which with clocks skewed between replicas (an old-looking
-- event written after a newer one) removed the newer one too. Now skew can only keep an old
-- event a little longer. With every event older than the cutoff, everything goes, as before.
CREATE OR REPLACE FUNCTION audit_prune(cutoff TIMESTAMPTZ)
RETURNS TABLE (cut_seq BIGINT, cut_hash BYTEA, pruned BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    keep_from BIGINT;
    last_seq  BIGINT;
    last_hash BYTEA;
    n         BIGINT;
BEGIN
    PERFORM 1 FROM audit_chain_head FOR UPDATE;
    -- Walks the chain from its start (the chain_seq index), so the cost grows with what is pruned.
    SELECT e.chain_seq INTO keep_from
      FROM audit_events e
     WHERE e.chain_seq IS NOT NULL AND e.occurred_at >= cutoff
     ORDER BY e.chain_seq LIMIT 1;
    IF keep_from IS NULL THEN
        SELECT max(e.chain_seq) INTO last_seq FROM audit_events e;
    ELSE
        last_seq := keep_from - 1;
    END IF;
    SELECT e.hash INTO last_hash FROM audit_events e WHERE e.chain_seq = last_seq;
    IF last_hash IS NULL THEN
        RETURN; -- nothing before the first event to keep
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
