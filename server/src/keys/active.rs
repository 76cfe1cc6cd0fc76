//! The active key of each owned identity, in memory on every replica, and the AWS credentials
//! provider that hands it to the SDK. Reloaded when Postgres announces a change (LISTEN/NOTIFY)
//! and by a short poll in case a notification is missed.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use aws_credential_types::{
    provider::{self, error::CredentialsError, future, ProvideCredentials},
    Credentials,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{postgres::PgListener, PgPool};

use super::seal::{MasterKey, SealError};
use crate::db::{self, DbError};

/// Poll period that bounds how stale a replica's key can be if a NOTIFY is lost.
const POLL: Duration = Duration::from_secs(5);

/// Why the active keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("identity `{0}` has no active key; import one with `vault-server keys import --identity {0}`")]
    NoKey(String),
    #[error("the active key of identity `{identity}` cannot be opened: {cause}")]
    Seal { identity: String, cause: SealError },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Each identity's active access key id and secret.
pub struct ActiveKeys {
    master: MasterKey,
    identities: Vec<String>,
    current: RwLock<HashMap<String, (String, SecretString)>>,
}

impl ActiveKeys {
    /// Loads every identity's active key; fails if one is missing or will not open.
    pub async fn load(
        pool: &PgPool,
        master: MasterKey,
        identities: Vec<String>,
    ) -> Result<Arc<Self>, LoadError> {
        let keys = Arc::new(ActiveKeys {
            master,
            identities,
            current: RwLock::new(HashMap::new()),
        });
        keys.reload(pool).await?;
        Ok(keys)
    }

    /// Re-reads the active keys from the database.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), LoadError> {
        let mut fresh = HashMap::new();
        for identity in &self.identities {
            let key = db::keys::active(pool, identity)
                .await
                .map_err(DbError::from)?
                .ok_or_else(|| LoadError::NoKey(identity.clone()))?;
            let secret = self
                .master
                .open(&key.sealed_secret, &key.access_key_id)
                .map_err(|cause| LoadError::Seal {
                    identity: identity.clone(),
                    cause,
                })?;
            fresh.insert(identity.clone(), (key.access_key_id, secret));
        }
        *self.current.write().expect("lock") = fresh;
        Ok(())
    }

    /// The master key (for sealing new keys).
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The active key id of `identity`.
    pub fn key_id(&self, identity: &str) -> Option<String> {
        self.current
            .read()
            .expect("lock")
            .get(identity)
            .map(|(id, _)| id.clone())
    }

    fn credentials(&self, identity: &str) -> provider::Result {
        let current = self.current.read().expect("lock");
        let (id, secret) = current.get(identity).ok_or_else(|| {
            CredentialsError::not_loaded(format!("no active key for identity {identity}"))
        })?;
        Ok(Credentials::new(
            id,
            secret.expose_secret(),
            None,
            None,
            "vault-server-owned-key",
        ))
    }

    /// An SDK credentials provider that always yields the current active key of `identity`.
    pub fn provider(self: &Arc<Self>, identity: &str) -> ActiveKeyProvider {
        ActiveKeyProvider {
            keys: self.clone(),
            identity: identity.to_owned(),
        }
    }

    /// Keeps this replica's keys current: LISTEN for changes, poll as a backstop.
    pub async fn follow(self: Arc<Self>, pool: PgPool) {
        let mut listener = PgListener::connect_with(&pool).await.ok();
        if let Some(l) = listener.as_mut() {
            if let Err(e) = l.listen("vault_keys").await {
                tracing::warn!(error = %e, "cannot LISTEN for key changes; polling only");
                listener = None;
            }
        }
        loop {
            match listener.as_mut() {
                Some(l) => {
                    let _ = tokio::time::timeout(POLL, l.recv()).await;
                }
                None => tokio::time::sleep(POLL).await,
            }
            if let Err(e) = self.reload(&pool).await {
                tracing::warn!(error = %e, "reloading the active keys failed; keeping the current ones");
            }
        }
    }
}

impl std::fmt::Debug for ActiveKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveKeys")
            .field("identities", &self.identities)
            .finish()
    }
}

/// Yields the active key at each call (the SDK's identity cache must be off for this client).
#[derive(Debug, Clone)]
pub struct ActiveKeyProvider {
    keys: Arc<ActiveKeys>,
    identity: String,
}

impl ProvideCredentials for ActiveKeyProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(self.keys.credentials(&self.identity))
    }
}
