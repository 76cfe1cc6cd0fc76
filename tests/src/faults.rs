//! Faults a test injects into the real components: Postgres refusing one kind of audit event.

use crate::TestApp;

impl TestApp {
    /// From now on, Postgres itself refuses every audit event of `action` (a trigger raising an
    /// exception), as a full disk or a broken replica would: the audit write fails for real.
    pub async fn refuse_audit_events(&self, action: &str) {
        let name = format!("e2e_refuse_{action}");
        sqlx::raw_sql(&format!(
            r#"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'e2e: audit storage refuses this write'; END $$;
               CREATE TRIGGER {name} BEFORE INSERT ON audit_events FOR EACH ROW
               WHEN (NEW.action = '{action}') EXECUTE FUNCTION {name}();"#
        ))
        .execute(&self.db)
        .await
        .expect("installing the refusing trigger");
    }
}
