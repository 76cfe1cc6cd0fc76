//! All SQL lives here: small async functions taking an executor or pool.

pub mod audit;
pub mod ci;
pub mod cleanup;
pub mod device;
pub mod keys;
pub mod logins;
pub mod principals;
pub mod refresh;
pub mod sessions;
pub mod signing_keys;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::{postgres::PgPoolOptions, PgPool};

/// Database failures, split by whether the database is reachable at all.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Postgres is down, refusing connections, or the pool timed out: answer 503.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error(transparent)]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => DbError::Unavailable(e),
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                DbError::Unavailable(e)
            }
            _ => DbError::Other(e),
        }
    }
}

/// SQLSTATE classes meaning "cannot serve now": connection exceptions (08), insufficient
/// resources (53), operator intervention such as admin shutdown (57), and
/// "database does not allow connections" (55000 object_not_in_prerequisite_state).
fn is_unavailable_code(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") || c == "55000" || c == "3D000")
}

/// Brings the schema up to date (with the migration role when one is configured), then
/// connects the pool the server runs on.
pub async fn connect(
    url: &secrecy::SecretString,
    migration_url: Option<&secrecy::SecretString>,
) -> anyhow::Result<PgPool> {
    use anyhow::Context;
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(3))
        .connect(url.expose_secret())
        .await
        .context("cannot connect to the database (database_url)")?;
    match migration_url {
        Some(owner) => {
            let owner_pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(owner.expose_secret())
                .await
                .context("cannot connect to the database (migration_database_url)")?;
            MIGRATOR
                .run(&owner_pool)
                .await
                .context("cannot apply database migrations")?;
            owner_pool.close().await;
        }
        None => MIGRATOR
            .run(&pool)
            .await
            .context("cannot apply database migrations")?,
    }
    Ok(pool)
}

/// The schema, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Whether the database answers a trivial query.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
