//! Only `audit_prune()` may delete audit events: a role that was given DELETE on the table (an
//! operator's over-broad grant) and sets the pruning switch itself is still refused by the
//! trigger, while the server running as that role prunes through the function.

use sqlx::{Connection, PgConnection};
use vault_e2e::database::TestDatabase;
use vault_e2e::db_roles::{seed_old_events, spawn_pruning_as, ServerRole};
use vault_e2e::env::TestEnv;

#[tokio::test]
async fn a_role_with_delete_rights_cannot_delete_audit_events_by_setting_the_prune_switch() {
    let db = TestDatabase::create(&TestEnv::get().database_url)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let role = ServerRole::create(&db).await.unwrap();
    // Beyond what the README grants: as after `GRANT ALL ON ALL TABLES IN SCHEMA public`.
    db.exec(&format!(
        "GRANT UPDATE, DELETE ON audit_events, audit_checkpoints TO {}",
        role.name
    ))
    .await
    .unwrap();
    let old = seed_old_events(&db, 50).await.unwrap();
    let app = spawn_pruning_as(&db, &role).await;
    // audit_prune() still prunes, called by the server on the role.
    let prune = app.first_prune().await;
    assert_eq!(prune["details"]["cut_seq"], *old.end(), "{prune:#}");
    assert_eq!(prune["details"]["pruned"], 50, "{prune:#}");

    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let before = count().await;
    let mut conn = PgConnection::connect(&role.url).await.unwrap();
    for sql in [
        "BEGIN; SET LOCAL vault.audit_prune = 'on'; DELETE FROM audit_events; COMMIT",
        "SET vault.audit_prune = 'on'; DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
        "SELECT set_config('vault.audit_prune', 'on', false); DELETE FROM audit_events",
        "SET vault.audit_prune = 'on'; DELETE FROM audit_checkpoints",
        "SET vault.audit_prune = 'on'; UPDATE audit_events SET reason = 'tampered'",
    ] {
        match sqlx::raw_sql(sql).execute(&mut conn).await {
            Ok(done) => panic!(
                "`{sql}` succeeded as the server's role ({} rows)",
                done.rows_affected()
            ),
            Err(sqlx::Error::Database(e)) => assert!(
                e.message().contains("append-only"),
                "`{sql}` was refused, but not by the trigger: {}",
                e.message()
            ),
            Err(e) => panic!("`{sql}`: {e}"),
        }
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.ok();
    }
    conn.close().await.ok();
    assert_eq!(count().await, before, "an event was removed");
    let report = app.admin_audit_api().await.verify(&[]).await;
    assert!(report.ok && report.from_checkpoint, "{report:#?}");
}
