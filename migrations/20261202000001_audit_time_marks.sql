-- Which chain positions each minute of event time (UTC) holds, at least: for a time window, the
-- range of chain positions its events can lie in, so a windowed audit query walks the chain
-- index inside that range instead of from the head. Kept by a statement trigger on every insert
-- (SECURITY DEFINER: the server's role only reads it). Marks only ever widen: events a retention
-- prune removes leave their minute's mark behind, still a true bound for what remains.
-- The key carries both positions, so a window's bounds are an index-only scan (a week: 10,080
-- entries).
CREATE TABLE audit_time_marks (
    minute    TIMESTAMP NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL,
    PRIMARY KEY (minute) INCLUDE (first_seq, last_seq)
);

INSERT INTO audit_time_marks (minute, first_seq, last_seq)
SELECT date_trunc('minute', occurred_at AT TIME ZONE 'UTC'), min(chain_seq), max(chain_seq)
  FROM audit_events
 WHERE chain_seq IS NOT NULL
 GROUP BY 1
 ORDER BY 1;

CREATE FUNCTION audit_time_marks_note() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO audit_time_marks AS m (minute, first_seq, last_seq)
    SELECT date_trunc('minute', n.occurred_at AT TIME ZONE 'UTC'), min(n.chain_seq), max(n.chain_seq)
      FROM new_events n
     WHERE n.chain_seq IS NOT NULL
     GROUP BY 1
    ON CONFLICT (minute) DO UPDATE
       SET first_seq = LEAST(m.first_seq, EXCLUDED.first_seq),
           last_seq = GREATEST(m.last_seq, EXCLUDED.last_seq);
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_events_time_marks
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_time_marks_note();
