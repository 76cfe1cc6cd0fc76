-- Only audit_prune() may delete audit events. The trigger used to let any DELETE through once the
-- session had set `vault.audit_prune = 'on'`, a custom setting anyone can set: a role given DELETE
-- on the table (an operator's `GRANT ALL ON ALL TABLES`, say) could remove events at will.
-- Now a DELETE passes only while the current user is the table's owner, which for any other role
-- is true only inside audit_prune() (SECURITY DEFINER, owned by the owner, which applied the
-- migrations); the switch is still required, so the owner's own stray DELETE stays refused. Only
-- the owner (who could drop the trigger anyway) and superusers can get around this.
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('vault.audit_prune', true) = 'on'
       AND current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = TG_RELID)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$;
