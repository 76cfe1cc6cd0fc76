-- Which canonical encoding an event's hash covers. Events written before this migration used
-- version 1 (compact JSON, computed and checked only by the server). Servers from now on write
-- version 2 (Postgres's binary form of the columns), which verification hashes exactly as
-- Postgres sends it, without decoding: see server/src/audit/chain/v2.rs. The default stays 1
-- so that an older replica still running during an upgrade labels its events correctly.
-- Adding a column with a constant default rewrites no row, so the append-only trigger is
-- not involved.
ALTER TABLE audit_events ADD COLUMN hash_version SMALLINT NOT NULL DEFAULT 1;
