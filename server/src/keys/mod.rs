//! The IAM access keys the server owns: sealed at rest, loaded on every replica, and rotated by
//! exactly one replica through a persisted, crash-safe state machine.

pub mod active;
pub mod iam;
pub mod import;
pub mod leader;
mod mask;
pub mod rotation;
pub mod seal;

pub use mask::mask;

use std::sync::Arc;

use anyhow::Context;
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::{config::Config, trail::writer::AuditWriter};

/// The owned identities of this replica: their active keys and rotators.
pub struct OwnedKeys {
    pub active: Arc<active::ActiveKeys>,
    pub rotators: Vec<Arc<rotation::Rotator>>,
    /// Wakes the rotation loop early (manual rotation).
    pub wake: Arc<Notify>,
}

impl OwnedKeys {
    /// Loads the active keys (refusing to start if one is missing or the master key is wrong)
    /// and prepares a rotator per identity. `None` when no identities are configured.
    pub async fn start(
        config: &Config,
        pool: &PgPool,
        audit: &AuditWriter,
    ) -> anyhow::Result<Option<Self>> {
        if config.identities.is_empty() {
            return Ok(None);
        }
        let master = seal::MasterKey::from_env()
            .context("identities are configured, so a master key is needed")?;
        let names = config.identities.iter().map(|i| i.name.clone()).collect();
        let active = active::ActiveKeys::load(pool, master, names).await?;
        let mut rotators = Vec::new();
        for identity in &config.identities {
            let admin = Arc::new(iam::AwsKeyAdmin::new(&config.aws, &active, &identity.name).await);
            rotators.push(Arc::new(rotation::Rotator::new(
                identity.clone(),
                pool.clone(),
                active.clone(),
                admin,
                audit.clone(),
            )));
        }
        Ok(Some(OwnedKeys {
            active,
            rotators,
            wake: Arc::new(Notify::new()),
        }))
    }

    /// The rotator of `identity`.
    pub fn rotator(&self, identity: &str) -> Option<&Arc<rotation::Rotator>> {
        self.rotators.iter().find(|r| r.identity.name == identity)
    }
}
