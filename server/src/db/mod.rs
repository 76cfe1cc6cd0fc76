//! All SQL lives here: small async functions taking an executor or pool.

pub mod audit;
pub mod ci;
pub mod cleanup;
pub mod device;
pub mod keys;
pub mod live_sessions;
pub mod logins;
pub mod people;
pub mod principals;
pub mod refresh;
pub mod revocations;
pub mod sessions;
pub mod signing_keys;

use std::{str::FromStr, time::Duration};

use secrecy::ExposeSecret;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgConnection, PgPool,
};

use crate::config::DatabaseConfig;

/// Database failures, split by whether the database is reachable at all.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Postgres is down, refusing connections, or the pool timed out: answer 503.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// A statement ran past `statement_timeout` and Postgres cancelled it (SQLSTATE 57014):
    /// the database is up but too slow for this request; answer 503 as well.
    #[error("database statement cancelled by statement_timeout: {0}")]
    TimedOut(sqlx::Error),
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
            sqlx::Error::Database(db) if db.code().as_deref() == Some(QUERY_CANCELED) => {
                DbError::TimedOut(e)
            }
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                DbError::Unavailable(e)
            }
            _ => DbError::Other(e),
        }
    }
}

/// SQLSTATE `query_canceled`: what a statement cut by `statement_timeout` fails with.
const QUERY_CANCELED: &str = "57014";

/// SQLSTATE classes meaning "cannot serve now": connection exceptions (08), insufficient
/// resources (53), operator intervention such as admin shutdown (57), and
/// "database does not allow connections" (55000 object_not_in_prerequisite_state).
fn is_unavailable_code(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") || c == "55000" || c == "3D000")
}

/// Brings the schema up to date (with the migration role when one is configured), then
/// connects the pool the server runs on, with the bounds of `[database]`.
pub async fn connect(config: &crate::config::Config) -> anyhow::Result<PgPool> {
    use anyhow::Context;
    let pool = pool_options(&config.database)
        .connect_with(connect_options(
            &config.database_url,
            &config.database,
            "database_url",
        )?)
        .await
        .context("cannot connect to the database (database_url)")?;
    match &config.migration_database_url {
        Some(owner) => {
            // No statement timeout here: a migration may rightly take longer than a request.
            let owner_pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(config.database.acquire_timeout)
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

/// The pool's bounds: its size, how long a caller waits for a connection (connecting and the
/// liveness test of an idle one included, so a Postgres that accepts TCP but never answers
/// costs at most this), and how long an idle connection is kept (a restarted Postgres leaves
/// only dead ones, found by that test and replaced).
fn pool_options(db: &DatabaseConfig) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(db.max_connections)
        .acquire_timeout(db.acquire_timeout)
        .test_before_acquire(true)
        .idle_timeout(Duration::from_secs(60))
}

/// The URL's options with Postgres's own bound on every statement of these connections.
fn connect_options(
    url: &secrecy::SecretString,
    db: &DatabaseConfig,
    key: &str,
) -> anyhow::Result<PgConnectOptions> {
    use anyhow::Context;
    let options = PgConnectOptions::from_str(url.expose_secret())
        .with_context(|| format!("{key} is not a Postgres URL"))?;
    let millis = db.statement_timeout.as_millis().to_string();
    Ok(options.options([("statement_timeout", millis.as_str())]))
}

/// Postgres's bound on one statement of a whole-trail job (chain verification, a retention
/// prune), instead of the pool's `statement_timeout`, which is sized for requests: such a
/// statement legitimately runs for minutes on a trail of millions of events.
pub const LONG_STATEMENT: Duration = Duration::from_secs(3600);

/// Lifts the statement bound to [`LONG_STATEMENT`] for the rest of the transaction `conn` is in
/// (`SET LOCAL`: a pooled connection goes back with its usual bound).
pub async fn allow_long_statements(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('statement_timeout', $1, true)")
        .bind(LONG_STATEMENT.as_millis().to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The schema, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Whether the database answers a trivial query within `limit` (a stopped Postgres never
/// answers, and its TCP connections stay open).
pub async fn ping(pool: &PgPool, limit: Duration) -> Result<(), DbError> {
    match tokio::time::timeout(limit, sqlx::query("SELECT 1").execute(pool)).await {
        Ok(done) => done.map(drop).map_err(DbError::from),
        Err(_) => Err(DbError::Unavailable(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {limit:?}"),
        )))),
    }
}
