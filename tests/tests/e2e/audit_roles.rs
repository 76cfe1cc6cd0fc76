//! The server's database role may only INSERT and SELECT on the audit table: a server running as
//! that role (the owner applying migrations) issues and prunes, and the role itself can neither
//! change nor remove events.

use sqlx::{Connection, PgConnection};
use vault_e2e::database::TestDatabase;
use vault_e2e::db_roles::{seed_old_events, server_role_grants, spawn_pruning_as, ServerRole};
use vault_e2e::env::TestEnv;

/// Runs `sql` as the role; returns the SQLSTATE and message of the refusal.
async fn refused(conn: &mut PgConnection, sql: &str) -> (String, String) {
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(done) => panic!(
            "`{sql}` succeeded as the server's role ({} rows)",
            done.rows_affected()
        ),
        Err(sqlx::Error::Database(e)) => (
            e.code().unwrap_or_default().into_owned(),
            e.message().to_owned(),
        ),
        Err(e) => panic!("`{sql}`: {e}"),
    }
}

#[tokio::test]
async fn a_server_on_the_restricted_role_issues_and_prunes_but_the_role_cannot_change_audit_events()
{
    // The owner creates the schema (the first start), then grants the server's role.
    let db = TestDatabase::create(&TestEnv::get().database_url)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let role = ServerRole::create(&db).await.unwrap();
    eprintln!(
        "grants given to the server's role:\n{}",
        server_role_grants(&role.name)
    );
    // Every other table gets full DML (a table added without a grant here fails this test);
    // the audit table exactly SELECT and INSERT.
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    let ungranted: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND c.relname NOT IN ('audit_events', 'audit_chain_head', 'audit_checkpoints', 'audit_time_marks', '_sqlx_migrations') \
           AND NOT (has_table_privilege($1, c.oid, 'SELECT') AND has_table_privilege($1, c.oid, 'INSERT') \
                AND has_table_privilege($1, c.oid, 'UPDATE') AND has_table_privilege($1, c.oid, 'DELETE')) \
         ORDER BY 1",
    )
    .bind(&role.name)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        ungranted.is_empty(),
        "SERVER_ROLE_GRANTS misses tables: {ungranted:?}"
    );
    // SELECT, INSERT, UPDATE, DELETE, TRUNCATE: which the role has on a table.
    let privileges = |table: &'static str| {
        sqlx::query_scalar::<_, bool>(
            "SELECT has_table_privilege($1, $2::regclass, p) \
             FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p",
        )
        .bind(role.name.clone())
        .bind(table)
    };
    let audit = privileges("audit_events")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        audit,
        [true, true, false, false, false],
        "SELECT, INSERT only"
    );
    // The per-minute chain marks are kept by a trigger of the owner's: the role only reads them.
    let marks = privileges("audit_time_marks")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        marks,
        [true, false, false, false, false],
        "audit_time_marks: SELECT only"
    );
    conn.close().await.ok();

    // History older than the retention period, present before the server starts.
    let old = seed_old_events(&db, 120).await.unwrap();
    let app = spawn_pruning_as(&db, &role).await;
    let connections: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND datname = current_database()",
    )
    .bind(&role.name)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        connections > 0,
        "precondition: the server is connected as its restricted role"
    );

    // Issuance works: the role INSERTs events and moves the chain head.
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let creds = oauth.credentials(&alice, "dev").await;
    app.assert_issue_audited(&creds, "alice@example.com", "dev")
        .await;

    // Pruning works: through audit_prune(), which the role may only execute.
    let prune = app.first_prune().await;
    assert_eq!(prune["details"]["cut_seq"], *old.end(), "{prune:#}");
    assert_eq!(prune["details"]["pruned"], 120, "{prune:#}");
    let report = app.admin_audit_api().await.verify(&[]).await;
    assert!(report.ok && report.from_checkpoint, "{report:#?}");

    // The role itself cannot change history, not even with the pruning switch set by hand.
    let mut conn = PgConnection::connect(&role.url).await.unwrap();
    let superuser: bool =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(!superuser);
    for sql in [
        "UPDATE audit_events SET reason = 'tampered'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "BEGIN; SET LOCAL vault.audit_prune = 'on'; DELETE FROM audit_events; COMMIT",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
        "DELETE FROM audit_checkpoints",
        "INSERT INTO audit_checkpoints (cut_seq, cut_hash, pruned, created_at) VALUES (999999, '\\x00', 0, now())",
    ] {
        let (code, message) = refused(&mut conn, sql).await;
        assert_eq!(code, "42501", "`{sql}`: expected insufficient_privilege, got {code}: {message}");
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.ok();
        if !sql.starts_with("ALTER") {
            assert!(message.contains("permission denied"), "`{sql}`: {message}");
        }
    }
    conn.close().await.ok();
    let report = app.admin_audit_api().await.verify(&[]).await;
    assert!(report.ok, "{report:#?}");
}
