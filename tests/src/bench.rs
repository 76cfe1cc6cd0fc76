//! Shared pieces of the benchmarks in `tests/benches` (never used by a test): percentiles, a
//! durable cluster, an STS stand-in that answers at once, a release `vault-server` process on a
//! database of its own, and its resident memory.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use sqlx::{Connection, PgConnection};
use vault_server::sts::{AssumeRequest, IssuedCredentials, RoleIssuer, StsError};

use crate::config::{self, ServerSettings};
use crate::database::TestDatabase;
use crate::env::TestEnv;
use crate::owned_keys::server::{free_port, ServerProcess};

/// The `p`th percentile of sorted samples (nearest rank).
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i]
}

/// Milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Makes the whole cluster durable (fsync, full_page_writes, synchronous_commit) or back to
/// the test configuration (postgresql.conf). All three take effect on reload.
pub async fn set_durable(admin_url: &str, on: bool) -> Result<()> {
    let mut c = PgConnection::connect(admin_url).await?;
    // One statement at a time: ALTER SYSTEM refuses to run inside a (implicit) transaction.
    for setting in ["fsync", "full_page_writes", "synchronous_commit"] {
        let sql = if on {
            format!("ALTER SYSTEM SET {setting} = on")
        } else {
            format!("ALTER SYSTEM RESET {setting}")
        };
        sqlx::raw_sql(&sql).execute(&mut c).await?;
    }
    sqlx::query("SELECT pg_reload_conf()")
        .execute(&mut c)
        .await?;
    c.close().await.ok();
    // The postmaster signals its children; give them a moment to re-read the files.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

/// The cluster's `fsync` and `synchronous_commit`, as a session sees them.
pub async fn durability(url: &str) -> Result<(String, String)> {
    let mut c = PgConnection::connect(url).await?;
    let settings =
        sqlx::query_as("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
            .fetch_one(&mut c)
            .await?;
    c.close().await.ok();
    Ok(settings)
}

/// A benchmark's stand-in for STS that answers at once with fresh random credentials, so the
/// broker's own ceiling can be measured (moto tops out near 250 AssumeRole calls a second).
pub struct InstantSts;

#[async_trait]
impl RoleIssuer for InstantSts {
    async fn assume_role(&self, r: AssumeRequest) -> Result<IssuedCredentials, StsError> {
        use rand::{distributions::Alphanumeric, Rng};
        let random = |n: usize| -> String {
            rand::thread_rng()
                .sample_iter(&Alphanumeric)
                .take(n)
                .map(char::from)
                .collect()
        };
        Ok(IssuedCredentials {
            access_key_id: format!("ASIA{}", random(16).to_ascii_uppercase()),
            secret_access_key: random(40),
            session_token: random(300),
            expiration: time::OffsetDateTime::now_utc() + r.duration,
        })
    }
}

/// A release `vault-server serve` (VAULT_TEST_SERVER_BIN, which `tests/bench` sets) on a fresh
/// database, with the default profiles and `extra_toml` at the top level. Killed when dropped;
/// the database stays until [`BenchServer::drop_database`].
pub struct BenchServer {
    pub process: ServerProcess,
    pub database: TestDatabase,
    pub url: String,
}

impl BenchServer {
    pub async fn start(name: &str, extra_toml: &str, scratch: &std::path::Path) -> Result<Self> {
        let env = TestEnv::get();
        let database = TestDatabase::create(&env.database_url).await?;
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let settings = ServerSettings {
            database_url: database.url.clone(),
            migration_database_url: None,
            audit_retention: None,
            // The limits as shipped: `[limits]` with every default.
            limits: Some(String::new()),
            public_url: Some(url.clone()),
            idp_issuer: env.idp_issuer.clone(),
            federation_url: env.federation_url.clone(),
            moto_url: env.moto_url.clone(),
            account_id: config::random_account_id(),
            access_token_ttl: "1h".into(),
            refresh_token_ttl: "1d".into(),
            profiles: config::default_profiles(),
            extra_top_level: format!("listen = \"127.0.0.1:{port}\"\n{extra_toml}"),
        };
        std::fs::create_dir_all(scratch)?;
        let config_path: PathBuf = scratch.join(format!("{name}.toml"));
        std::fs::write(&config_path, settings.to_toml())
            .with_context(|| format!("writing {}", config_path.display()))?;
        let log = scratch.join(format!("{name}.log"));
        let process = ServerProcess::start(name, port, config_path, log, Vec::new()).await;
        Ok(BenchServer {
            process,
            database,
            url,
        })
    }

    /// The server's resident set now and at its peak (VmRSS, VmHWM), in KiB.
    pub fn memory_kib(&self) -> Result<(u64, u64)> {
        let pid = self.process.pid().context("the server is not running")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| -> Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("no {name} in /proc/{pid}/status"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    pub async fn drop_database(self) -> Result<()> {
        let database = self.database.clone();
        drop(self.process);
        database.drop_database().await
    }
}
