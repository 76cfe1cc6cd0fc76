//! What the test database says about owned keys: the `key_rotations` and `owned_keys` rows, the
//! stored secrets (opened with the bed's master key) and the audit trail.

use super::iam::AccessKey;
use super::KeyBed;
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// One `key_rotations` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RotationRow {
    pub id: Uuid,
    pub step: String,
    pub old_key_id: Option<String>,
    pub new_key_id: Option<String>,
    pub reason: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: OffsetDateTime,
    pub started_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// One `owned_keys` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub access_key_id: String,
    pub identity: String,
    pub sealed_secret: String,
    pub master_key_id: String,
    pub state: String,
}

impl KeyBed {
    /// Every rotation, oldest first.
    pub async fn rotations(&self) -> Vec<RotationRow> {
        sqlx::query_as(
            "SELECT id, step, old_key_id, new_key_id, reason, attempts, last_error,
                    next_attempt_at, started_at, updated_at, finished_at
               FROM key_rotations ORDER BY started_at, updated_at",
        )
        .fetch_all(self.db())
        .await
        .expect("reading key_rotations")
    }

    /// One rotation.
    pub async fn rotation(&self, id: Uuid) -> RotationRow {
        self.rotations()
            .await
            .into_iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no rotation {id}"))
    }

    /// Waits until rotation `id` is finished; returns it.
    pub async fn wait_finished(&self, id: Uuid, limit: Duration) -> RotationRow {
        let what = format!("rotation {id} to finish");
        let started = std::time::Instant::now();
        loop {
            let r = self.rotation(id).await;
            if r.finished_at.is_some() {
                return r;
            }
            assert!(
                started.elapsed() < limit,
                "gave up after {limit:?} waiting for {what}; it is at {r:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every owned key, oldest first.
    pub async fn keys(&self) -> Vec<KeyRow> {
        sqlx::query_as(
            "SELECT access_key_id, identity, sealed_secret, master_key_id, state
               FROM owned_keys ORDER BY created_at, access_key_id",
        )
        .fetch_all(self.db())
        .await
        .expect("reading owned_keys")
    }

    /// The ids of the keys in state `active`.
    pub async fn active_key_ids(&self) -> Vec<String> {
        self.keys()
            .await
            .into_iter()
            .filter(|k| k.state == "active")
            .map(|k| k.access_key_id)
            .collect()
    }

    /// A stored key with its secret opened with the bed's master key.
    pub async fn stored_key(&self, access_key_id: &str) -> AccessKey {
        let row = self
            .keys()
            .await
            .into_iter()
            .find(|k| k.access_key_id == access_key_id)
            .unwrap_or_else(|| panic!("{access_key_id} is not stored"));
        let master = vault_server::keys::seal::MasterKey::parse(&self.master_key)
            .expect("the bed's master key");
        let secret = master
            .open(&row.sealed_secret, access_key_id)
            .unwrap_or_else(|e| panic!("opening {access_key_id}: {e}"));
        AccessKey {
            id: access_key_id.to_owned(),
            secret: secrecy::ExposeSecret::expose_secret(&secret).to_owned(),
        }
    }

    /// Audit rows with `action`, oldest first, as JSON.
    pub async fn audit_rows_for(&self, action: &str) -> Vec<Value> {
        sqlx::query_scalar::<_, Value>(
            "SELECT row_to_json(a)::jsonb FROM audit_events a WHERE action = $1 ORDER BY seq",
        )
        .bind(action)
        .fetch_all(self.db())
        .await
        .expect("reading audit_events")
    }

    /// The whole audit trail as text.
    pub async fn audit_text(&self) -> String {
        sqlx::query_scalar::<_, Value>(
            "SELECT row_to_json(a)::jsonb FROM audit_events a ORDER BY seq",
        )
        .fetch_all(self.db())
        .await
        .expect("reading audit_events")
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
    }
}
