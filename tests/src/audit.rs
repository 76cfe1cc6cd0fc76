//! Assertions on the audit trail (`audit_events`) of a test's database.

use crate::app::TestApp;
use serde_json::Value;
use vault_api::Credentials;

impl TestApp {
    /// The first `audit_prune` event, waited for (bounded: 30 s).
    pub async fn first_prune(&self) -> Value {
        crate::poll::until(
            "the server to prune",
            std::time::Duration::from_secs(30),
            || async { self.audit_rows_for("audit_prune").await.into_iter().next() },
        )
        .await
    }

    /// Every audit row as JSON, oldest first.
    pub async fn audit_rows(&self) -> Vec<Value> {
        sqlx::query_scalar::<_, Value>(
            "SELECT row_to_json(a)::jsonb FROM audit_events a ORDER BY seq",
        )
        .fetch_all(&self.db)
        .await
        .expect("reading audit_events")
    }

    /// Audit rows with one action, oldest first.
    pub async fn audit_rows_for(&self, action: &str) -> Vec<Value> {
        self.audit_rows()
            .await
            .into_iter()
            .filter(|r| r["action"] == action)
            .collect()
    }

    /// Asserts the committed `credentials_issue` row for these credentials names who got them.
    pub async fn assert_issue_audited(
        &self,
        creds: &Credentials,
        principal: &str,
        profile: &str,
    ) -> Value {
        let rows: Vec<Value> = self
            .audit_rows_for("credentials_issue")
            .await
            .into_iter()
            .filter(|r| r["access_key_id"] == creds.access_key_id.as_str())
            .collect();
        assert_eq!(
            rows.len(),
            1,
            "expected exactly one credentials_issue row for {}, found {rows:#?}",
            creds.access_key_id
        );
        let row = rows.into_iter().next().expect("one row");
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        assert_eq!(field("outcome"), "success", "{row:#}");
        assert_eq!(field("principal"), principal, "{row:#}");
        assert_eq!(field("principal_kind"), "user", "{row:#}");
        assert!(
            !row["principal_id"].is_null(),
            "principal_id missing: {row:#}"
        );
        assert_eq!(field("profile"), profile, "{row:#}");
        assert_eq!(field("role_arn"), self.role_arn(profile), "{row:#}");
        // STS's alphabet: other characters (accents, other scripts) become `-` in session names.
        let local: String = principal
            .split('@')
            .next()
            .unwrap_or(principal)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let local = local.as_str();
        assert!(
            field("session_name").contains(local),
            "session_name does not identify {principal}: {row:#}"
        );
        assert!(
            field("source_identity").contains(local),
            "source_identity does not identify {principal}: {row:#}"
        );
        assert!(!row["expiration"].is_null(), "expiration missing: {row:#}");
        row
    }

    /// Asserts no audit row, serialised to text, contains any of `secrets`.
    pub async fn assert_no_secret_in_audit(&self, secrets: &[&str]) {
        let text = self
            .audit_rows()
            .await
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!text.is_empty(), "the audit trail is empty");
        for (i, secret) in secrets.iter().enumerate() {
            assert!(secret.len() >= 8, "secret #{i} is too short to search for");
            assert!(
                !text.contains(secret),
                "secret #{i} (of {} chars) appears in the audit trail",
                secret.len()
            );
        }
    }
}

/// The pieces of credentials that must never be stored or logged.
pub fn secrets_of(creds: &Credentials) -> [&str; 2] {
    [
        creds.secret_access_key.as_str(),
        creds.session_token.as_str(),
    ]
}
