//! The audit trail at scale (issue 3), against the Postgres that `tests/bench audit` starts.
//!
//! 1. Seeds a database of its own with `BENCH_AUDIT_EVENTS` realistic events (default 10 million:
//!    hundreds of principals, dozens of profiles, a year of history, a mix of actions and
//!    outcomes, `ASIA…` keys on issues) carrying a valid hash chain, sealed in order with the
//!    server's own `AuditRow::seal` and loaded with `COPY`. The database is kept: a later run
//!    with the same count reuses it (`BENCH_AUDIT_REGENERATE=1` forces a new one).
//! 2. Chain verification over the whole chain: `verify()` called directly (as the server runs
//!    it, then split into other numbers of parts), and later `GET /v1/audit/verify` through a
//!    real `vault-server` process.
//! 3. `GET /v1/audit` latency (p50/p95) through that server with an admin token: one principal
//!    over 7 days, and one action over 24 hours (varied principals and actions; the windows end
//!    where the generated history ends).
//! 4. The write path, on a copy of the seeded database (so the trail the queries run on stays as
//!    generated): two `AuditWriter`s on two pools (two replicas appending to one chain), each
//!    fed by 64 concurrent tasks; committed events per second, then the written range verified.
//!    Run once as the test cluster is configured (fsync off) and once durable (fsync and
//!    synchronous_commit on, reloaded for the run and reset afterwards).
//!
//! Knobs: BENCH_AUDIT_EVENTS, BENCH_AUDIT_QUERIES (per kind, default 200),
//! BENCH_AUDIT_WRITE_SECS (default 10), BENCH_AUDIT_REGENERATE=1, BENCH_AUDIT_SKIP (comma list of
//! phases to skip: verify, http, write, durable), BENCH_AUDIT_PROFILE=1 (where verification time
//! goes: Postgres alone, the COPY stream received, hashing on top; client and Postgres CPU
//! measured apart),
//! VAULT_BENCH_SERVER_BIN (default target/release/vault-server), BENCH_SCRATCH (where the
//! server's config and log go).

use std::{
    path::PathBuf,
    str::FromStr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, PgConnection, PgPool,
};
use time::OffsetDateTime;
use uuid::Uuid;
use vault_api::audit::{AuditPage, VerifyReport};
use vault_e2e::{
    bench::{ms, pct, set_durable},
    env::TestEnv,
    oauth::OAuthClient,
};
use vault_server::audit::{
    chain::{format_time, AuditRow, GENESIS},
    AuditEvent, Outcome,
};
use vault_server::principal::PrincipalKind;
use vault_server::trail::{verify, writer::AuditWriter};

#[path = "audit/events.rs"]
mod events;
#[path = "audit/http.rs"]
mod http;
#[path = "audit/profile.rs"]
mod profile;
#[path = "audit/seed.rs"]
mod seed;
#[path = "audit/world.rs"]
mod world;
#[path = "audit/write.rs"]
mod write;
use events::*;
use http::*;
use profile::*;
use seed::*;
use world::*;
use write::*;

/// Same seed, same principals and profiles: the query phase knows whom to ask about.
const SEED: u64 = 0x7ea3_0a17_2026_0003;
/// Bytes of COPY text per chunk sent to Postgres.
const CHUNK: usize = 4 << 20;
/// Bumped when the generator changes, so an old database is not mistaken for a current one.
const GENERATOR_VERSION: i32 = 2;

struct Settings {
    events: i64,
    queries: usize,
    write_secs: u64,
    regenerate: bool,
    skip: Vec<String>,
    server_bin: PathBuf,
    scratch: PathBuf,
}

impl Settings {
    fn from_env() -> Result<Self> {
        let num = |name: &str, default: u64| -> Result<u64> {
            match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => v
                    .trim()
                    .replace('_', "")
                    .parse()
                    .with_context(|| format!("{name}={v} is not a whole number")),
                _ => Ok(default),
            }
        };
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let events = num("BENCH_AUDIT_EVENTS", 10_000_000)? as i64;
        if events < 1000 {
            bail!("BENCH_AUDIT_EVENTS must be at least 1000");
        }
        Ok(Settings {
            events,
            queries: num("BENCH_AUDIT_QUERIES", 200)?.max(1) as usize,
            write_secs: num("BENCH_AUDIT_WRITE_SECS", 10)?.max(1),
            regenerate: std::env::var_os("BENCH_AUDIT_REGENERATE").is_some_and(|v| v != "0"),
            skip: std::env::var("BENCH_AUDIT_SKIP")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            server_bin: std::env::var_os("VAULT_BENCH_SERVER_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace.join("target/release/vault-server")),
            scratch: std::env::var_os("BENCH_SCRATCH")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
        })
    }

    fn skips(&self, phase: &str) -> bool {
        self.skip.iter().any(|s| s == phase)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let s = Settings::from_env()?;
    let env = TestEnv::get();
    let world = Arc::new(World::new());
    println!(
        "audit bench: {} events; {} principals, {} profiles, {} actions",
        s.events,
        world.principals.len(),
        world.profiles.len(),
        ACTIONS.len()
    );

    // An interrupted durable run must not leave the cluster durable (or vice versa).
    set_durable(&env.database_url, false).await?;

    let (db_url, generated) = prepare_database(&env.database_url, &s, &world).await?;
    let pool = pool(&db_url, 4).await?;

    if !s.skips("verify") {
        phase("verification");
        warm_cache(&pool, VERIFY_SET).await?;
        let default = verify::default_parts(generated.events);
        for parts in [None, Some(1), Some(2), Some(3), Some(4)] {
            let t = Instant::now();
            let report = verify::verify_in_parts(&pool, None, None, parts).await?;
            let secs = t.elapsed().as_secs_f64();
            check_report(&report, "verify() over the whole chain")?;
            let how = match parts {
                None => format!("verify() directly (as the server runs it: {default} parts)"),
                Some(n) => format!("verify_in_parts({n})"),
            };
            println!(
                "{how}, whole chain: {} events in {:.2} s = {:.0} events/s (target >= 500000)",
                report.checked,
                secs,
                report.checked as f64 / secs
            );
        }
    }

    if std::env::var_os("BENCH_AUDIT_PROFILE").is_some_and(|v| v != "0") {
        phase("profile");
        profile_verify(&db_url).await?;
    }

    if !s.skips("http") {
        phase("HTTP");
        http_phase(&s, env, &db_url, &generated, &world).await?;
    }
    pool.close().await;

    if !s.skips("write") {
        // Appending to the seeded trail itself would make every later run's queries skip the
        // appended events: the write path runs on a copy of it (same size, same indexes).
        phase("write path");
        let (copy_url, copy_name) = copy_database(&env.database_url, &db_url).await?;
        let result = async {
            let copy = self::pool(&copy_url, 4).await?;
            if !s.skips("http") {
                phase("queries while 1,000 events/s are written");
                queries_under_writes(&s, env, &copy_url, &generated, &world, 1000).await?;
            }
            write_phase(&copy, &copy_url, &world, s.write_secs, false).await?;
            if !s.skips("durable") {
                set_durable(&env.database_url, true).await?;
                let result = write_phase(&copy, &copy_url, &world, s.write_secs, true).await;
                set_durable(&env.database_url, false).await?;
                result?;
            }
            copy.close().await;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        drop_database(&env.database_url, &copy_name).await?;
        result?;
    }
    Ok(())
}

/// What verification reads: the table and its chain position index.
const VERIFY_SET: &[&str] = &["audit_events", "audit_events_chain_seq_key"];

/// What the two `GET /v1/audit` queries read: the table, the indexes their plans use (one
/// principal: `(principal, chain_seq)`; one action: `(action, chain_seq)`, or the time index),
/// and the per-minute chain marks that bound a window.
pub(crate) const QUERY_SET: &[&str] = &[
    "audit_events",
    "audit_events_principal_chain",
    "audit_events_action_chain",
    "audit_events_time",
    "audit_time_marks",
    "audit_time_marks_pkey",
];

/// Reads `relations` once into the OS page cache, as a server that has been running holds what
/// it reads, so that the figures measure the query or the walk rather than this machine's disk
/// (the first pass after the cluster starts, or after `CREATE DATABASE … TEMPLATE` churned the
/// cache, otherwise reads gigabytes from it at about 150 MB/s). Prints how long that took.
pub(crate) async fn warm_cache(pool: &PgPool, relations: &[&str]) -> Result<()> {
    let t = Instant::now();
    let mut sql = String::from("CREATE EXTENSION IF NOT EXISTS pg_prewarm;");
    for r in relations {
        sql.push_str(&format!(" SELECT pg_prewarm('{r}', 'read');"));
    }
    if let Err(e) = sqlx::raw_sql(&sql).execute(pool).await {
        // Without the contrib module, a scan of every page does the same for the table.
        println!("  (pg_prewarm unavailable: {e}; scanning the table instead)");
        sqlx::query("SELECT count(*) FROM audit_events WHERE details IS NOT NULL")
            .execute(pool)
            .await?;
    }
    println!(
        "  read {} into the OS cache first: {:.1} s",
        relations.join(", "),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Names a phase and how busy the machine is as it starts (timings on a busy box are noisy).
fn phase(name: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("-- {name} (load average {})", load.join(" "));
}

/// `CREATE DATABASE <name>_write TEMPLATE <name>` (a file copy; nobody may be connected to
/// the template). Returns the copy's URL and name.
async fn copy_database(admin_url: &str, db_url: &str) -> Result<(String, String)> {
    let mut url = url::Url::parse(db_url)?;
    let source = url.path().trim_start_matches('/').to_owned();
    let name = format!("{source}_write");
    url.set_path(&name);
    drop_database(admin_url, &name).await?;
    let t = Instant::now();
    let mut admin = PgConnection::connect(admin_url).await?;
    let create = format!(r#"CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY"#);
    if sqlx::query(&create).execute(&mut admin).await.is_err() {
        // Before Postgres 15 there is no STRATEGY (and the file copy is the only one).
        sqlx::query(&format!(r#"CREATE DATABASE "{name}" TEMPLATE "{source}""#))
            .execute(&mut admin)
            .await
            .with_context(|| format!("copying {source} for the write path"))?;
    }
    admin.close().await.ok();
    println!(
        "  copied {source} to {name} for the write path in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok((url.to_string(), name))
}

async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
        .execute(&mut admin)
        .await?;
    admin.close().await.ok();
    Ok(())
}

fn check_report(report: &VerifyReport, what: &str) -> Result<()> {
    if !report.ok {
        bail!("{what}: the chain does not verify: {:?}", report.broken);
    }
    Ok(())
}

async fn pool(url: &str, max: u32) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(PgConnectOptions::from_str(url)?)
        .await
        .with_context(|| format!("connecting to {url}"))
}
