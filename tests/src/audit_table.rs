//! The audit table read (and, for tamper tests, changed) with plain SQL, independently of the
//! server's own queries: what the API answers is compared against this.

use crate::app::TestApp;
use vault_api::audit::AuditEventView;
use vault_server::audit::chain::{AuditRow, GENESIS};

/// `timestamptz` as the API writes times: RFC 3339 UTC with six fraction digits.
const TIME: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"#;

/// A SELECT list building an `AuditEventView` as JSON from a row of `audit_events`.
fn view_json() -> String {
    format!(
        "json_build_object(
            'chain_seq', chain_seq, 'id', id::text,
            'time', to_char(occurred_at AT TIME ZONE 'UTC', {TIME}),
            'action', action, 'outcome', outcome, 'principal', principal,
            'principal_kind', principal_kind, 'principal_id', principal_id::text,
            'profile', profile, 'role_arn', role_arn, 'session_name', session_name,
            'source_identity', source_identity, 'access_key_id', access_key_id,
            'expiration', to_char(expiration AT TIME ZONE 'UTC', {TIME}),
            'duration_seconds', duration_seconds, 'reason', reason, 'client_addr', client_addr,
            'user_agent', user_agent, 'request_id', request_id, 'details', details,
            'hash', encode(hash, 'hex'))"
    )
}

impl TestApp {
    /// Chained events matching the SQL condition `where_sql`, as the API should show them,
    /// oldest first.
    pub async fn table_views(&self, where_sql: &str) -> Vec<AuditEventView> {
        let sql = format!(
            "SELECT {} FROM audit_events WHERE chain_seq IS NOT NULL AND ({where_sql}) ORDER BY chain_seq",
            view_json()
        );
        sqlx::query_scalar::<_, serde_json::Value>(&sql)
            .fetch_all(&self.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|v| serde_json::from_value(v).expect("the view SQL builds an AuditEventView"))
            .collect()
    }

    /// The one event at `chain_seq`, read from the table.
    pub async fn table_event(&self, chain_seq: i64) -> AuditEventView {
        let mut rows = self.table_views(&format!("chain_seq = {chain_seq}")).await;
        assert_eq!(rows.len(), 1, "no single event at chain_seq {chain_seq}");
        rows.remove(0)
    }

    /// Ids (as text) of chained events matching `where_sql`, newest first.
    pub async fn table_ids_newest_first(&self, where_sql: &str) -> Vec<String> {
        let sql = format!(
            "SELECT id::text FROM audit_events WHERE chain_seq IS NOT NULL AND ({where_sql}) \
             ORDER BY chain_seq DESC"
        );
        sqlx::query_scalar(&sql)
            .fetch_all(&self.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `audit_chain_head`: the last position and its hash.
    pub async fn chain_head(&self) -> (i64, Vec<u8>) {
        sqlx::query_as("SELECT chain_seq, hash FROM audit_chain_head")
            .fetch_one(&self.db)
            .await
            .expect("reading audit_chain_head")
    }

    /// Stored events with `chain_seq >= from`, oldest first, as the server's chain code reads
    /// them.
    pub async fn stored_rows(&self, from: i64) -> Vec<AuditRow> {
        sqlx::query_as(
            "SELECT hash_version, chain_seq, id, occurred_at, action, outcome, principal_id, principal, \
             principal_kind, profile, role_arn, session_name, source_identity, access_key_id, expiration, \
             duration_seconds, reason, client_addr, user_agent, request_id, details, prev_hash, hash \
             FROM audit_events WHERE chain_seq >= $1 ORDER BY chain_seq",
        )
        .bind(from)
        .fetch_all(&self.db)
        .await
        .expect("reading audit_events")
    }

    /// Recomputes every hash from `from` to the newest event and moves the chain head there, as
    /// someone with the database owner's rights could after editing history: the chain is
    /// consistent again, and only a hash recorded elsewhere shows what happened.
    pub async fn rechain_from(&self, from: i64) {
        let mut prev = if from == 1 {
            GENESIS.to_vec()
        } else {
            sqlx::query_scalar("SELECT hash FROM audit_events WHERE chain_seq = $1")
                .bind(from - 1)
                .fetch_one(&self.db)
                .await
                .expect("the hash before the rewritten stretch")
        };
        let mut sql = String::new();
        let mut last = from - 1;
        for row in self.stored_rows(from).await {
            let hash = row.expected_hash(&prev).expect("a known encoding");
            sql.push_str(&format!(
                "UPDATE audit_events SET prev_hash = '\\x{}', hash = '\\x{}' WHERE chain_seq = {};\n",
                hex::encode(&prev),
                hex::encode(hash),
                row.chain_seq
            ));
            prev = hash.to_vec();
            last = row.chain_seq;
        }
        sql.push_str(&format!(
            "UPDATE audit_chain_head SET chain_seq = {last}, hash = '\\x{}';",
            hex::encode(&prev)
        ));
        self.tamper(&sql).await;
    }

    /// Runs `sql` as the database superuser with the append-only trigger of `audit_events`
    /// switched off for just that statement (disabled and re-enabled in one transaction), as an
    /// attacker with full database access could; returns the rows it touched.
    pub async fn tamper(&self, sql: &str) -> u64 {
        let mut tx = self.db.begin().await.expect("BEGIN");
        sqlx::raw_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            .execute(&mut *tx)
            .await
            .expect("disabling the append-only trigger");
        let done = sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("tampering with `{sql}`: {e}"));
        sqlx::raw_sql("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
            .execute(&mut *tx)
            .await
            .expect("re-enabling the append-only trigger");
        tx.commit().await.expect("COMMIT");
        done.rows_affected()
    }
}
