//! `vault-server keys import` and `keys rewrap`: bootstrapping an identity's first key, and
//! re-sealing every stored key under a new master key.

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{mask::mask, seal::MasterKey};
use crate::{
    audit::{AuditEvent, Outcome},
    config::Identity,
    db::{self, keys::KeyState},
    request_meta::RequestMeta,
};

/// Stores `access_key_id`/`secret` as the active key of `identity`, sealed under `master`.
/// Refuses if the identity already has an active key, unless `replace`.
pub async fn import(
    pool: &PgPool,
    master: &MasterKey,
    identity: &Identity,
    access_key_id: &str,
    secret: &SecretString,
    replace: bool,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    if !access_key_id.starts_with("AKIA")
        && !access_key_id.starts_with("ASIA")
        && access_key_id.len() < 16
    {
        bail!(
            "`{}` does not look like an access key id",
            mask(access_key_id)
        );
    }
    let mut tx = pool.begin().await?;
    if let Some(current) = db::keys::active(&mut *tx, &identity.name).await? {
        if !replace {
            bail!(
                "identity `{}` already has an active key ({}); pass --replace to replace it",
                identity.name,
                mask(&current.access_key_id)
            );
        }
        db::keys::set_state(&mut *tx, &current.access_key_id, KeyState::Retiring, now).await?;
    }
    let sealed = master.seal(secret.expose_secret(), access_key_id);
    db::keys::insert(
        &mut *tx,
        access_key_id,
        &identity.name,
        &sealed,
        master.id(),
        KeyState::Active,
        now,
    )
    .await
    .context("storing the key")?;
    let event = AuditEvent::new(
        "key_import",
        Outcome::Success,
        &RequestMeta::internal(),
        now,
    )
    .as_server()
    .detail("identity", &identity.name)
    .detail("key", access_key_id)
    .detail("master_key_id", master.id());
    db::audit::append(&mut tx, &[event]).await?;
    db::keys::notify_changed(&mut *tx, &identity.name).await?;
    tx.commit().await?;
    Ok(())
}

/// Re-seals every live key from `old` to `new` in one transaction; returns how many.
pub async fn rewrap(
    pool: &PgPool,
    old: &MasterKey,
    new: &MasterKey,
    now: OffsetDateTime,
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let keys = db::keys::all_live(&mut *tx).await?;
    let mut done = 0;
    for key in &keys {
        if key.master_key_id == new.id() {
            continue;
        }
        let secret = old
            .open(&key.sealed_secret, &key.access_key_id)
            .with_context(|| format!("opening key {}", mask(&key.access_key_id)))?;
        let sealed = new.seal(secret.expose_secret(), &key.access_key_id);
        db::keys::reseal(&mut *tx, &key.access_key_id, &sealed, new.id()).await?;
        done += 1;
    }
    let event = AuditEvent::new(
        "key_rewrap",
        Outcome::Success,
        &RequestMeta::internal(),
        now,
    )
    .as_server()
    .detail("keys", done)
    .detail("from_master_key_id", old.id())
    .detail("to_master_key_id", new.id());
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(done)
}
