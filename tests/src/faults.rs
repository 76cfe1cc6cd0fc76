//! Faults a test injects into the real components: Postgres refusing one kind of audit event.

use sqlx::PgPool;

use crate::TestApp;

/// From now on, Postgres itself refuses every audit event of `action` (a trigger raising an
/// exception), as a full disk or a broken replica would: the audit write fails for real.
pub async fn refuse_audit_events(db: &PgPool, action: &str) {
    refuse_audit_events_where(db, action, &format!("NEW.action = '{action}'")).await;
}

/// From now on, Postgres refuses every audit event for which the SQL condition `when` (on
/// `NEW`) holds; `name` names the trigger for [`accept_audit_events`].
pub async fn refuse_audit_events_where(db: &PgPool, name: &str, when: &str) {
    let name = trigger(name);
    sqlx::raw_sql(&format!(
        r#"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'e2e: audit storage refuses this write'; END $$;
           CREATE TRIGGER {name} BEFORE INSERT ON audit_events FOR EACH ROW
           WHEN ({when}) EXECUTE FUNCTION {name}();"#
    ))
    .execute(db)
    .await
    .expect("installing the refusing trigger");
}

/// Undoes [`refuse_audit_events`] for `action` (or [`refuse_audit_events_where`] for `name`).
pub async fn accept_audit_events(db: &PgPool, action: &str) {
    let name = trigger(action);
    sqlx::raw_sql(&format!(
        "DROP TRIGGER {name} ON audit_events; DROP FUNCTION {name}();"
    ))
    .execute(db)
    .await
    .expect("removing the refusing trigger");
}

fn trigger(action: &str) -> String {
    format!("e2e_refuse_{action}")
}

impl TestApp {
    /// [`refuse_audit_events`] in this test's database.
    pub async fn refuse_audit_events(&self, action: &str) {
        refuse_audit_events(&self.db, action).await;
    }

    /// [`refuse_audit_events_where`] in this test's database.
    pub async fn refuse_audit_events_where(&self, name: &str, when: &str) {
        refuse_audit_events_where(&self.db, name, when).await;
    }
}
