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
use vault_e2e::{env::TestEnv, oauth::OAuthClient};
use vault_server::audit::{
    chain::{format_time, AuditRow, GENESIS},
    verify,
    writer::AuditWriter,
    AuditEvent, Outcome,
};

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
        warm_cache(&pool).await?;
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

/// Reads the table and its chain position index once into the OS page cache, so that the
/// verification figures measure verification rather than the disk (the first pass after the
/// cluster starts otherwise reads gigabytes from it). Prints how long that took.
async fn warm_cache(pool: &PgPool) -> Result<()> {
    let t = Instant::now();
    let prewarm = sqlx::raw_sql(
        "CREATE EXTENSION IF NOT EXISTS pg_prewarm; \
         SELECT pg_prewarm('audit_events', 'read'); \
         SELECT pg_prewarm('audit_events_chain_seq_key', 'read');",
    )
    .execute(pool)
    .await;
    if let Err(e) = prewarm {
        // Without the contrib module, a scan of every page does the same for the table.
        println!("  (pg_prewarm unavailable: {e}; scanning instead)");
        sqlx::query("SELECT count(*) FROM audit_events WHERE details IS NOT NULL")
            .execute(pool)
            .await?;
    }
    println!(
        "  read the table into the OS cache first: {:.1} s",
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

// ---------------------------------------------------------------------------------------------
// The generated world: principals, profiles, and how often each does what.

/// Every action the generator writes (the server's own action names).
const ACTIONS: &[&str] = &[
    "credentials_issue",
    "credentials_deny",
    "token_refresh",
    "login",
    "device_approve",
    "logout",
    "login_failed",
    "refresh_token_reuse",
    "admin_denied",
    "audit_query",
    "audit_export",
    "audit_verify",
    "server_start",
    "server_stop",
];

const TEAMS: &[&str] = &[
    "payments", "search", "data", "platform", "web", "mobile", "ml", "security",
];
const ENVS: &[(&str, &str, i32, i32)] = &[
    // name, account, default duration, max duration
    ("dev", "111122223333", 3600, 43200),
    ("staging", "222233334444", 3600, 14400),
    ("prod", "333344445555", 3600, 3600),
    ("prod-readonly", "333344445555", 3600, 14400),
    ("sandbox", "444455556666", 14400, 43200),
];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki", "zoe",
    "amir", "bea", "chen", "dmitri", "esther", "farid", "gita", "hana", "ines",
];
const LAST: &[&str] = &[
    "smith", "jones", "garcia", "muller", "rossi", "tanaka", "kim", "nguyen", "silva", "novak",
    "okafor", "larsen", "dubois", "haddad", "kowalski", "murphy", "sato", "fischer", "costa",
    "ivanova",
];
const SERVICES: &[&str] = &["api", "worker", "infra", "etl", "frontend"];

struct Profile {
    name: String,
    role_arn: String,
    team: usize,
    env: usize,
}

struct Principal {
    id: Uuid,
    display: String,
    kind: &'static str,
    session_name: String,
    /// Profiles this principal may assume (indexes into `World::profiles`).
    allowed: Vec<usize>,
    groups: Vec<String>,
    addrs: Vec<String>,
    admin: bool,
}

struct World {
    principals: Vec<Principal>,
    profiles: Vec<Profile>,
    /// Cumulative activity weights of the principals (Zipf-like: a few very busy, a long tail).
    cumulative: Vec<f64>,
}

impl World {
    fn new() -> World {
        let mut rng = StdRng::seed_from_u64(SEED);
        let mut profiles = Vec::new();
        for (t, team) in TEAMS.iter().enumerate() {
            for (e, (env, account, _, _)) in ENVS.iter().enumerate() {
                profiles.push(Profile {
                    name: format!("{team}-{env}"),
                    role_arn: format!("arn:aws:iam::{account}:role/{team}-{env}"),
                    team: t,
                    env: e,
                });
            }
        }
        let mut principals = Vec::new();
        // CI identities first: the busiest principals.
        for (team, team_name) in TEAMS.iter().enumerate() {
            for svc in SERVICES {
                let display = format!("repo:acme/{team_name}-{svc}:ref:refs/heads/main");
                let allowed = profiles
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.team == team && matches!(ENVS[p.env].0, "dev" | "staging" | "prod")
                    })
                    .map(|(i, _)| i)
                    .collect();
                principals.push(Principal {
                    id: Uuid::from_bytes(rng.gen()),
                    session_name: vault_server::sts::session_name(&display),
                    display,
                    kind: "ci",
                    allowed,
                    groups: Vec::new(),
                    addrs: vec![format!(
                        "172.16.{}.{}",
                        rng.gen_range(0..16),
                        rng.gen_range(1..255)
                    )],
                    admin: false,
                });
            }
        }
        // People: 420 of them, each in one or two teams, some on call (prod), a few admins.
        let mut n = 0;
        'people: for last in LAST {
            for first in FIRST {
                if n == 420 {
                    break 'people;
                }
                n += 1;
                let display = format!("{first}.{last}@example.com");
                let home = rng.gen_range(0..TEAMS.len());
                let mut teams = vec![home];
                if rng.gen_bool(0.3) {
                    teams.push(rng.gen_range(0..TEAMS.len()));
                }
                let oncall = rng.gen_bool(0.25);
                let admin = n % 60 == 0;
                let mut groups: Vec<String> = teams.iter().map(|t| TEAMS[*t].to_string()).collect();
                if oncall {
                    groups.push(format!("{}-oncall", TEAMS[home]));
                }
                if admin {
                    groups.push("admins".into());
                }
                let allowed = profiles
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        teams.contains(&p.team)
                            && (ENVS[p.env].0 != "prod" || (oncall && p.team == home))
                    })
                    .map(|(i, _)| i)
                    .collect();
                let addrs = (0..rng.gen_range(1..=3))
                    .map(|_| {
                        format!(
                            "10.{}.{}.{}",
                            rng.gen_range(0..255),
                            rng.gen_range(0..255),
                            rng.gen_range(1..255)
                        )
                    })
                    .collect();
                principals.push(Principal {
                    id: Uuid::from_bytes(rng.gen()),
                    session_name: vault_server::sts::session_name(&display),
                    display,
                    kind: "user",
                    allowed,
                    groups,
                    addrs,
                    admin,
                });
            }
        }
        let mut total = 0.0;
        let cumulative = (0..principals.len())
            .map(|rank| {
                total += 1.0 / (rank as f64 + 8.0);
                total
            })
            .collect();
        World {
            principals,
            profiles,
            cumulative,
        }
    }

    fn pick_principal(&self, rng: &mut StdRng) -> &Principal {
        let total = *self.cumulative.last().expect("principals");
        let x = rng.gen::<f64>() * total;
        let i = self.cumulative.partition_point(|c| *c < x);
        &self.principals[i.min(self.principals.len() - 1)]
    }

    /// One realistic event at `at`. `system_turn` alternates server start and stop.
    fn event(&self, rng: &mut StdRng, at: OffsetDateTime, system_turn: &mut bool) -> AuditEvent {
        let uuid = |rng: &mut StdRng| uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
        if rng.gen_bool(0.0004) {
            *system_turn = !*system_turn;
            let mut e = base(
                if *system_turn {
                    "server_start"
                } else {
                    "server_stop"
                },
                Outcome::Success,
                at,
            );
            e.principal = Some("vault-server".into());
            e.principal_kind = Some("system".into());
            e.request_id = Some(uuid(rng).to_string());
            e.details = serde_json::json!({ "version": "0.1.0" });
            return e;
        }
        let p = self.pick_principal(rng);
        let session_id = uuid(rng);
        let by = |mut e: AuditEvent, rng: &mut StdRng| {
            e.principal_id = Some(p.id);
            e.principal = Some(p.display.clone());
            e.principal_kind = Some(p.kind.to_owned());
            e.client_addr = Some(p.addrs[rng.gen_range(0..p.addrs.len())].clone());
            e.request_id = Some(uuid(rng).to_string());
            e.details = serde_json::json!({ "session_id": session_id });
            e
        };
        let r: f64 = rng.gen();
        if p.kind == "ci" {
            let mut e = if r < 0.96 {
                issue(self, p, rng, at)
            } else {
                deny(self, p, rng, at)
            };
            e = by(e, rng);
            e.user_agent = Some("vault/0.1.0 (ci)".into());
            return e;
        }
        let ua = if rng.gen_bool(0.85) {
            "vault/0.1.0"
        } else {
            "mairu/0.8.1"
        };
        let mut e = match r {
            r if r < 0.58 => issue(self, p, rng, at),
            r if r < 0.62 => deny(self, p, rng, at),
            r if r < 0.86 => base("token_refresh", Outcome::Success, at),
            r if r < 0.91 => {
                let device = rng.gen_bool(0.12);
                let mut e = base(
                    if device { "device_approve" } else { "login" },
                    Outcome::Success,
                    at,
                );
                e = by(e, rng);
                e.user_agent = Some(BROWSER.into());
                e.details = serde_json::json!({
                    "flow": if device { "device" } else { "browser" },
                    "groups": p.groups,
                    "session_id": session_id,
                });
                return e;
            }
            r if r < 0.93 => base("logout", Outcome::Success, at),
            r if r < 0.94 => {
                let mut e = base("login_failed", Outcome::Failure, at);
                e.reason = Some(
                    "the identity provider answered error=access_denied (End-User aborted interaction)"
                        .into(),
                );
                e.client_addr = Some(p.addrs[0].clone());
                e.user_agent = Some(BROWSER.into());
                e.request_id = Some(uuid(rng).to_string());
                return e;
            }
            r if r < 0.9405 => {
                let mut e = by(base("refresh_token_reuse", Outcome::Denied, at), rng);
                e.reason = Some(
                    "a refresh token was presented twice; the login session was revoked".into(),
                );
                e.user_agent = Some(ua.into());
                return e;
            }
            _ if p.admin => {
                let r2: f64 = rng.gen();
                let action = if r2 < 0.9 {
                    "audit_query"
                } else if r2 < 0.95 {
                    "audit_export"
                } else {
                    "audit_verify"
                };
                let mut e = by(base(action, Outcome::Success, at), rng);
                let filter = serde_json::json!({
                    "principal": self.principals[rng.gen_range(0..self.principals.len())].display,
                    "since": "7d",
                });
                e.details["filter"] = filter;
                if action == "audit_query" {
                    e.details["returned"] = serde_json::json!(rng.gen_range(0..=50));
                }
                e.user_agent = Some(ua.into());
                return e;
            }
            _ if rng.gen_bool(0.05) => {
                let mut e = by(base("admin_denied", Outcome::Denied, at), rng);
                e.reason = Some(
                    "only members of the admin groups [admins] may read the audit trail".into(),
                );
                e.details["attempted"] = serde_json::json!("read the audit trail");
                e.user_agent = Some(ua.into());
                return e;
            }
            _ => issue(self, p, rng, at),
        };
        e = by(e, rng);
        e.user_agent = Some(ua.into());
        e
    }
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

fn base(action: &'static str, outcome: Outcome, at: OffsetDateTime) -> AuditEvent {
    AuditEvent {
        id: Uuid::nil(),
        occurred_at: at,
        action,
        outcome,
        principal_id: None,
        principal: None,
        principal_kind: None,
        profile: None,
        role_arn: None,
        session_name: None,
        source_identity: None,
        access_key_id: None,
        expiration: None,
        duration_seconds: None,
        reason: None,
        client_addr: None,
        user_agent: None,
        request_id: None,
        details: serde_json::json!({}),
    }
}

/// A temporary access key id as STS hands them out.
fn access_key(rng: &mut StdRng) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut k = String::with_capacity(20);
    k.push_str("ASIA");
    for _ in 0..16 {
        k.push(B32[rng.gen_range(0..32)] as char);
    }
    k
}

fn issue(w: &World, p: &Principal, rng: &mut StdRng, at: OffsetDateTime) -> AuditEvent {
    if p.allowed.is_empty() {
        return deny(w, p, rng, at);
    }
    let profile = &w.profiles[p.allowed[rng.gen_range(0..p.allowed.len())]];
    let (_, _, default, max) = ENVS[profile.env];
    let duration = if rng.gen_bool(0.8) {
        default
    } else {
        rng.gen_range(900..=max)
    };
    let failed = rng.gen_bool(0.003);
    let mut e = base(
        "credentials_issue",
        if failed {
            Outcome::Failure
        } else {
            Outcome::Success
        },
        at,
    );
    e.profile = Some(profile.name.clone());
    e.role_arn = Some(profile.role_arn.clone());
    e.session_name = Some(p.session_name.clone());
    e.source_identity = Some(p.session_name.clone());
    e.duration_seconds = Some(duration);
    if failed {
        e.reason = Some("sts:AssumeRole failed: service error: Throttling: Rate exceeded".into());
    } else {
        e.access_key_id = Some(access_key(rng));
        e.expiration = Some(at + time::Duration::seconds(duration.into()));
    }
    e
}

fn deny(w: &World, p: &Principal, rng: &mut StdRng, at: OffsetDateTime) -> AuditEvent {
    let mut e = base("credentials_deny", Outcome::Denied, at);
    let i = rng.gen_range(0..w.profiles.len());
    let profile = &w.profiles[i];
    e.profile = Some(profile.name.clone());
    let code = if p.allowed.contains(&i) {
        let asked = ENVS[profile.env].3 * 2;
        e.duration_seconds = Some(asked);
        e.reason = Some(format!(
            "{}h is longer than the maximum for `{}`, which is {}h ({} seconds)",
            asked / 3600,
            profile.name,
            ENVS[profile.env].3 / 3600,
            ENVS[profile.env].3
        ));
        "duration_too_long"
    } else {
        e.reason = Some(format!(
            "{} may not assume `{}`: it is open to the groups [{}] and you are in [{}]",
            p.display,
            profile.name,
            TEAMS[profile.team],
            p.groups.join(", ")
        ));
        "not_allowed"
    };
    e.details = serde_json::json!({ "code": code });
    e
}

/// Maps event `i` of `n` to a time in [end - 365 days, end), following a weekly rhythm: busy
/// on weekday working hours, quiet at night and at weekends. Monotonic in `i`.
struct Timeline {
    start: OffsetDateTime,
    /// Cumulative weight at the start of each hour.
    cumulative: Vec<f64>,
    hour: usize,
}

impl Timeline {
    fn new(end: OffsetDateTime) -> Timeline {
        let hours = 365 * 24;
        let start = end - time::Duration::hours(hours as i64);
        let mut cumulative = Vec::with_capacity(hours + 1);
        let mut total = 0.0;
        cumulative.push(0.0);
        for h in 0..hours {
            let t = start + time::Duration::hours(h as i64);
            let weekday = t.weekday().number_days_from_monday() < 5;
            let w = match (weekday, t.hour()) {
                (true, 8..=17) => 10.0,
                (true, 18..=22) | (true, 6..=7) => 3.0,
                _ => 1.0,
            };
            total += w;
            cumulative.push(total);
        }
        Timeline {
            start,
            cumulative,
            hour: 0,
        }
    }

    fn at(&mut self, i: i64, n: i64) -> OffsetDateTime {
        let total = *self.cumulative.last().expect("hours");
        let target = (i as f64 + 0.5) / n as f64 * total;
        while self.hour + 2 < self.cumulative.len() && self.cumulative[self.hour + 1] <= target {
            self.hour += 1;
        }
        let (lo, hi) = (self.cumulative[self.hour], self.cumulative[self.hour + 1]);
        let frac = ((target - lo) / (hi - lo)).clamp(0.0, 1.0);
        self.start
            + time::Duration::hours(self.hour as i64)
            + time::Duration::microseconds((frac * 3_600_000_000.0) as i64)
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding the database.

/// What a finished generation recorded, so a later run can reuse the database.
#[derive(Debug, sqlx::FromRow)]
struct Generated {
    events: i64,
    last_hash: Vec<u8>,
    end_at: OffsetDateTime,
    seconds: f64,
}

/// Creates (or reuses) the bench database and makes sure it holds the generated chain.
async fn prepare_database(
    admin_url: &str,
    s: &Settings,
    world: &Arc<World>,
) -> Result<(String, Generated)> {
    let name = format!("bench_audit_{}", s.events);
    let mut url = url::Url::parse(admin_url).context("VAULT_TEST_DATABASE_URL")?;
    url.set_path(&name);
    let db_url = url.to_string();
    let mut admin = PgConnection::connect(admin_url).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if exists && !s.regenerate {
        let pool = pool(&db_url, 2).await?;
        vault_server::db::MIGRATOR.run(&pool).await?;
        if let Some(g) = generated(&pool, s.events).await? {
            println!(
                "reusing database {name}: {} generated events (generation took {:.0} s; BENCH_AUDIT_REGENERATE=1 makes a new one)",
                g.events, g.seconds
            );
            pool.close().await;
            return Ok((db_url, g));
        }
        pool.close().await;
    }
    if exists {
        println!("dropping database {name} (incomplete, outdated or regeneration asked for)");
        sqlx::query(&format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
            .execute(&mut admin)
            .await?;
    }
    sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut admin)
        .await?;
    admin.close().await.ok();
    let pool = pool(&db_url, 2).await?;
    vault_server::db::MIGRATOR.run(&pool).await?;
    pool.close().await;
    let g = generate(&db_url, s.events, world).await?;
    Ok((db_url, g))
}

/// The recorded generation, if the database still holds exactly it (last event in place).
async fn generated(pool: &PgPool, events: i64) -> Result<Option<Generated>> {
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('bench_audit_generated') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !has_table {
        return Ok(None);
    }
    let g: Option<Generated> = sqlx::query_as(
        "SELECT events, last_hash, end_at, seconds FROM bench_audit_generated WHERE version = $1",
    )
    .bind(GENERATOR_VERSION)
    .fetch_optional(pool)
    .await?;
    let Some(g) = g.filter(|g| g.events == events) else {
        return Ok(None);
    };
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE chain_seq = $1")
            .bind(events)
            .fetch_optional(pool)
            .await?;
    let first: Option<i64> = sqlx::query_scalar("SELECT min(chain_seq) FROM audit_events")
        .fetch_one(pool)
        .await?;
    // Each run appends a few hundred events (its queries are audited); once they add up, the
    // trail is no longer the one generated and queries would pay for skipping them.
    let (head, _) = vault_server::db::audit::head(pool).await?;
    let appended = head - events;
    if appended > (events / 200).max(5_000) {
        println!("{appended} events were appended since generation: generating again");
        return Ok(None);
    }
    Ok((stored.as_deref() == Some(g.last_hash.as_slice()) && first == Some(1)).then_some(g))
}

/// Seals `n` events in chain order and loads them with COPY, all in one transaction (an
/// interrupted run leaves an empty table). Indexes are dropped for the load and rebuilt from
/// their saved definitions, which is several times faster than maintaining them row by row.
async fn generate(db_url: &str, n: i64, world: &Arc<World>) -> Result<Generated> {
    let started = Instant::now();
    let end = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    let mut conn = PgConnection::connect(db_url).await?;
    sqlx::raw_sql("SET maintenance_work_mem = '1GB'; SET synchronous_commit = off")
        .execute(&mut conn)
        .await?;
    let mut tx = conn.begin().await?;
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'audit_events'::regclass AND contype IN ('p', 'u') ORDER BY conname",
    )
    .fetch_all(&mut *tx)
    .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'audit_events' \
           AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'audit_events'::regclass) \
         ORDER BY indexname",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!(r#"DROP INDEX "{name}""#))
            .execute(&mut *tx)
            .await?;
    }
    for (name, _) in &constraints {
        sqlx::query(&format!(
            r#"ALTER TABLE audit_events DROP CONSTRAINT "{name}""#
        ))
        .execute(&mut *tx)
        .await?;
    }

    // The generator runs on a thread of its own; Postgres parses COPY on the other core.
    let (chunks, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let world = world.clone();
    let producer = std::thread::spawn(move || -> Vec<u8> {
        let mut rng = StdRng::seed_from_u64(SEED ^ n as u64);
        let mut timeline = Timeline::new(end);
        let mut turn = false;
        let mut prev = GENESIS.to_vec();
        let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
        let mut scratch = Vec::with_capacity(1024);
        let t0 = Instant::now();
        for seq in 1..=n {
            let at = timeline.at(seq - 1, n);
            let mut event = world.event(&mut rng, at, &mut turn);
            event.id = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
            let row = AuditRow::seal(&event, seq, &prev);
            copy_line(&mut buf, &mut scratch, &row);
            prev = row.hash;
            if buf.len() >= CHUNK || seq == n {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 64 * 1024));
                if chunks.blocking_send(full).is_err() {
                    break; // the loader failed; it reports why
                }
            }
            if seq % 1_000_000 == 0 {
                eprintln!(
                    "  sealed and sent {seq} events ({:.0}/s)",
                    seq as f64 / t0.elapsed().as_secs_f64()
                );
            }
        }
        prev
    });
    let mut copy = tx
        .copy_in_raw(
            "COPY audit_events (hash_version, chain_seq, id, occurred_at, action, outcome, principal_id, principal, \
             principal_kind, profile, role_arn, session_name, source_identity, access_key_id, expiration, \
             duration_seconds, reason, client_addr, user_agent, request_id, details, prev_hash, hash) FROM STDIN",
        )
        .await?;
    while let Some(chunk) = rx.recv().await {
        copy.send(chunk).await?;
    }
    let loaded = copy.finish().await?;
    let last_hash = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?;
    if loaded != n as u64 {
        bail!("COPY loaded {loaded} rows, expected {n}");
    }
    let loaded_at = started.elapsed();
    println!(
        "  sealed and loaded {n} events in {:.1} s ({:.0}/s)",
        loaded_at.as_secs_f64(),
        n as f64 / loaded_at.as_secs_f64()
    );

    for (name, def) in &constraints {
        sqlx::query(&format!(
            r#"ALTER TABLE audit_events ADD CONSTRAINT "{name}" {def}"#
        ))
        .execute(&mut *tx)
        .await?;
    }
    for (_, def) in &indexes {
        sqlx::query(def).execute(&mut *tx).await?;
    }
    let indexed_at = started.elapsed();
    println!(
        "  rebuilt {} indexes in {:.1} s",
        constraints.len() + indexes.len(),
        (indexed_at - loaded_at).as_secs_f64()
    );
    // The head table is the one updatable part of the chain (audit_events refuses UPDATE).
    sqlx::query("UPDATE audit_chain_head SET chain_seq = $1, hash = $2 WHERE id")
        .bind(n)
        .bind(&last_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_audit_generated (version INT, events BIGINT, \
         last_hash BYTEA, end_at TIMESTAMPTZ, seconds DOUBLE PRECISION)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM bench_audit_generated")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Statistics and the visibility map, as autovacuum would leave them after such a load.
    sqlx::query("VACUUM (ANALYZE) audit_events")
        .execute(&mut conn)
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    sqlx::query("INSERT INTO bench_audit_generated VALUES ($1, $2, $3, $4, $5)")
        .bind(GENERATOR_VERSION)
        .bind(n)
        .bind(&last_hash)
        .bind(end)
        .bind(seconds)
        .execute(&mut conn)
        .await?;
    let size: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_total_relation_size('audit_events'))")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await.ok();
    println!(
        "generated {n} events in {seconds:.0} s (seal + COPY {:.0} s, indexes {:.0} s, VACUUM ANALYZE {:.0} s); table with indexes: {size}",
        loaded_at.as_secs_f64(),
        (indexed_at - loaded_at).as_secs_f64(),
        seconds - indexed_at.as_secs_f64()
    );
    Ok(Generated {
        events: n,
        last_hash,
        end_at: end,
        seconds,
    })
}

/// One row of COPY text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_line(buf: &mut Vec<u8>, scratch: &mut Vec<u8>, r: &AuditRow) {
    use std::io::Write;
    fn text(buf: &mut Vec<u8>, s: &str) {
        for &b in s.as_bytes() {
            match b {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                _ => buf.push(b),
            }
        }
    }
    fn opt(buf: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => text(buf, s),
            None => buf.extend_from_slice(b"\\N"),
        }
    }
    fn bytea(buf: &mut Vec<u8>, bytes: &[u8]) {
        const HEX: &[u8] = b"0123456789abcdef";
        buf.extend_from_slice(b"\\\\x"); // `\x` with the backslash escaped for COPY
        for b in bytes {
            buf.push(HEX[(b >> 4) as usize]);
            buf.push(HEX[(b & 15) as usize]);
        }
    }
    let tab = |buf: &mut Vec<u8>| buf.push(b'\t');
    write!(buf, "{}\t{}", r.hash_version, r.chain_seq).expect("vec");
    tab(buf);
    text(buf, &r.id.to_string());
    tab(buf);
    text(buf, &format_time(r.occurred_at));
    tab(buf);
    text(buf, &r.action);
    tab(buf);
    text(buf, &r.outcome);
    tab(buf);
    opt(buf, r.principal_id.map(|u| u.to_string()).as_deref());
    for s in [
        &r.principal,
        &r.principal_kind,
        &r.profile,
        &r.role_arn,
        &r.session_name,
        &r.source_identity,
        &r.access_key_id,
    ] {
        tab(buf);
        opt(buf, s.as_deref());
    }
    tab(buf);
    opt(buf, r.expiration.map(format_time).as_deref());
    tab(buf);
    opt(buf, r.duration_seconds.map(|d| d.to_string()).as_deref());
    for s in [&r.reason, &r.client_addr, &r.user_agent, &r.request_id] {
        tab(buf);
        opt(buf, s.as_deref());
    }
    tab(buf);
    scratch.clear();
    serde_json::to_writer(&mut *scratch, &r.details).expect("json");
    text(buf, std::str::from_utf8(scratch).expect("utf-8 json"));
    tab(buf);
    bytea(buf, &r.prev_hash);
    tab(buf);
    bytea(buf, &r.hash);
    buf.push(b'\n');
}

// ---------------------------------------------------------------------------------------------
// Through a real server: queries and verification over HTTP.

/// The release `vault-server` as a child process on the bench database.
struct Server {
    child: tokio::process::Child,
    url: String,
    log: PathBuf,
}

impl Server {
    async fn start(s: &Settings, env: &TestEnv, db_url: &str) -> Result<Server> {
        if !s.server_bin.is_file() {
            bail!(
                "{} is missing: build it first (cargo build --release -p vault-server)",
                s.server_bin.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("http://127.0.0.1:{port}");
        std::fs::create_dir_all(&s.scratch)?;
        let config = s.scratch.join("audit-bench-server.toml");
        let log = s.scratch.join("audit-bench-server.log");
        let q = |v: &str| serde_json::to_string(v).expect("string");
        std::fs::write(
            &config,
            format!(
                r#"listen = "127.0.0.1:{port}"
public_url = {url_q}
database_url = {db}
log_format = "text"
admin_groups = ["admins"]
access_token_ttl = "1h"
refresh_token_ttl = "1d"

[oidc]
issuer = {issuer}
client_id = "team-vault"
client_secret = "dev-secret"
scopes = ["openid", "email", "profile", "groups"]
groups_claim = "groups"

[aws]
region = "us-east-1"
endpoint_url = {moto}
access_key_id = "testing"
secret_access_key = "testing"

[[profiles]]
name = "dev"
role_arn = "arn:aws:iam::123456789012:role/team-dev"
default_duration = "1h"
max_duration = "4h"
allow_groups = ["dev", "ops"]
"#,
                url_q = q(&url),
                db = q(db_url),
                issuer = q(&env.idp_issuer),
                moto = q(&env.moto_url),
            ),
        )?;
        let child = tokio::process::Command::new(&s.server_bin)
            .args(["serve", "--config"])
            .arg(&config)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(&log)?.try_clone()?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", s.server_bin.display()))?;
        let mut server = Server { child, url, log };
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/readyz", server.url)).send().await {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "vault-server exited ({status}); see {}",
                    server.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "vault-server not ready after 60 s; see {}",
            server.log.display()
        )
    }

    /// SIGTERM (graceful shutdown), bounded wait, then kill.
    async fn stop(mut self) -> Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
                .await
                .is_ok()
            {
                return Ok(());
            }
        }
        self.child.kill().await?;
        Ok(())
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn http_phase(
    s: &Settings,
    env: &'static TestEnv,
    db_url: &str,
    g: &Generated,
    world: &World,
) -> Result<()> {
    let server = Server::start(s, env, db_url).await?;
    let result = http_measure(s, &server, g, world).await;
    server.stop().await?;
    result
}

async fn http_measure(s: &Settings, server: &Server, g: &Generated, world: &World) -> Result<()> {
    let tokens = OAuthClient::new(&server.url).login("admin").await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;
    let get = |query: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = format!("{}/v1/audit", server.url);
        let token = tokens.access_token.clone();
        async move {
            let t = Instant::now();
            let resp = http
                .get(url)
                .bearer_auth(token)
                .query(&query)
                .send()
                .await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            let took = t.elapsed();
            if !status.is_success() {
                bail!(
                    "GET /v1/audit {query:?}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
            }
            let page: AuditPage = serde_json::from_slice(&body)?;
            Ok::<_, anyhow::Error>((took, page.events.len()))
        }
    };
    let fmt = |t: OffsetDateTime| format_time(t);
    // Windows end where the generated history ends, so events appended later (this phase's own
    // audit_query events, logins, server starts) never count.
    let week_ago = fmt(g.end_at - time::Duration::days(7));
    let day_ago = fmt(g.end_at - time::Duration::hours(24));
    let end = fmt(g.end_at);
    let mut rng = StdRng::seed_from_u64(SEED ^ 0x9e37);

    // Warm up the connection and the server (not counted).
    for i in 0..10 {
        let p = &world.principals[i * 37 % world.principals.len()];
        get(vec![
            ("principal", p.display.clone()),
            ("since", week_ago.clone()),
        ])
        .await?;
    }

    for name in ["one principal over 7 days", "one action over 24 hours"] {
        let mut samples = Vec::with_capacity(s.queries);
        let mut rows = 0usize;
        let mut slowest = (Duration::ZERO, Vec::new());
        for _ in 0..s.queries {
            let q = if name.starts_with("one principal") {
                let p = &world.principals[rng.gen_range(0..world.principals.len())];
                vec![
                    ("principal", p.display.clone()),
                    ("since", week_ago.clone()),
                    ("until", end.clone()),
                ]
            } else {
                let a = ACTIONS[rng.gen_range(0..ACTIONS.len())];
                vec![
                    ("action", a.to_owned()),
                    ("since", day_ago.clone()),
                    ("until", end.clone()),
                ]
            };
            let (took, n) = get(q.clone()).await?;
            rows += n;
            if took > slowest.0 {
                slowest = (took, q);
            }
            samples.push(took);
        }
        samples.sort();
        println!(
            "GET /v1/audit, {name:<26} p50 {:6.2} ms  p95 {:6.2} ms  max {:6.2} ms  ({} requests, {:.1} events per page; target p95 < 50 ms)",
            ms(pct(&samples, 50.0)),
            ms(pct(&samples, 95.0)),
            ms(*samples.last().expect("samples")),
            samples.len(),
            rows as f64 / samples.len() as f64
        );
        println!("  slowest: {:?}", slowest.1);
    }

    if !s.skips("verify") {
        let t = Instant::now();
        let resp = http
            .get(format!("{}/v1/audit/verify", server.url))
            .bearer_auth(&tokens.access_token)
            .send()
            .await?;
        let status = resp.status();
        let body = resp.text().await?;
        let secs = t.elapsed().as_secs_f64();
        if !status.is_success() {
            bail!("GET /v1/audit/verify: {status} {body}");
        }
        let report: VerifyReport = serde_json::from_str(&body)?;
        check_report(&report, "GET /v1/audit/verify")?;
        println!(
            "GET /v1/audit/verify, whole chain: {} events in {:.2} s = {:.0} events/s (target >= 500000)",
            report.checked,
            secs,
            report.checked as f64 / secs
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The write path: two replicas, one chain.

/// Makes the whole cluster durable (fsync, full_page_writes, synchronous_commit) or back to
/// the test configuration (postgresql.conf). All three take effect on reload.
async fn set_durable(admin_url: &str, on: bool) -> Result<()> {
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

async fn write_phase(
    pool: &PgPool,
    db_url: &str,
    world: &Arc<World>,
    secs: u64,
    durable: bool,
) -> Result<()> {
    const REPLICAS: usize = 2;
    const TASKS: usize = 64;
    let settings: (String, String) =
        sqlx::query_as("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
            .fetch_one(pool)
            .await?;
    let (before, _) = vault_server::db::audit::head(pool).await?;
    let committed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut pools = Vec::new();
    let mut handles = Vec::new();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    for replica in 0..REPLICAS {
        let p = pool_writer(db_url).await?;
        let writer = AuditWriter::start(p.clone());
        pools.push(p);
        for task in 0..TASKS {
            let (writer, world, committed, failed) = (
                writer.clone(),
                world.clone(),
                committed.clone(),
                failed.clone(),
            );
            handles.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64((replica * TASKS + task) as u64);
                let mut turn = false;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let now = OffsetDateTime::now_utc();
                    let mut e = world.event(&mut rng, now, &mut turn);
                    e.id = Uuid::new_v4();
                    let t = Instant::now();
                    match writer.write(e).await {
                        Ok(()) => {
                            committed.fetch_add(1, Ordering::Relaxed);
                            latencies.push(t.elapsed());
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            }));
        }
    }
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    for p in pools {
        p.close().await;
    }
    let (after, _) = vault_server::db::audit::head(pool).await?;
    let committed = committed.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    latencies.sort();
    let label = if durable {
        "durable: fsync on, synchronous_commit on"
    } else {
        "as the test cluster runs: fsync off, synchronous_commit off"
    };
    println!(
        "write path ({label}; server reports fsync={}, synchronous_commit={}):",
        settings.0, settings.1
    );
    println!(
        "  {REPLICAS} writers x {TASKS} tasks for {elapsed:.1} s: {committed} events committed = {:.0} events/s (target >= 2000); {failed} failed; write() latency p50 {:.1} ms p99 {:.1} ms",
        committed as f64 / elapsed,
        ms(pct(&latencies, 50.0)),
        ms(pct(&latencies, 99.0))
    );
    if (after - before) as u64 != committed {
        bail!(
            "the chain head moved by {} but {committed} writes were acknowledged",
            after - before
        );
    }
    let t = Instant::now();
    let report = verify::verify(pool, Some(before + 1), Some(after)).await?;
    check_report(&report, "verify() of the written range")?;
    println!(
        "  chain {}..={} verifies: {} events checked in {:.2} s, one unbroken chain across both writers",
        before + 1,
        after,
        report.checked,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A replica's pool, as the server configures its own (db::connect: 20 connections).
async fn pool_writer(db_url: &str) -> Result<PgPool> {
    pool(db_url, 20).await
}

// ---------------------------------------------------------------------------------------------
// Where verification time goes (BENCH_AUDIT_PROFILE=1).

/// CPU seconds (user + system) used so far by a process, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat(5); here indexes 11 and 12. 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// One pass over the whole chain per line, on one connection whose backend's CPU is read from
/// /proc: what Postgres costs to produce the verification COPY stream, what receiving it costs,
/// and what hashing every event on top of that costs.
async fn profile_verify(db_url: &str) -> Result<()> {
    use futures_util::TryStreamExt;
    let (from, to): (i64, i64) = {
        let mut conn = PgConnection::connect(db_url).await?;
        let range = sqlx::query_as("SELECT min(chain_seq), max(chain_seq) FROM audit_events")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        range
    };
    let rows = (to - from + 1) as f64;
    let me = std::process::id();
    println!("where verification time goes (one pass over {from}..={to} per line):");
    let statement = format!(
        "COPY (SELECT {}, prev_hash, hash FROM audit_events WHERE chain_seq BETWEEN {from} AND {to} \
         ORDER BY chain_seq) TO STDOUT (FORMAT binary)",
        vault_server::audit::chain::v2::FIELDS
    );

    // Postgres alone: the same query into a server-side sink, nothing sent.
    let mut conn = PgConnection::connect(db_url).await?;
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await?;
    let (t, c0, b0) = (Instant::now(), cpu_seconds(me), cpu_seconds(backend as u32));
    sqlx::query(&format!(
        "EXPLAIN (ANALYZE, TIMING OFF) {}",
        statement
            .trim_start_matches("COPY (")
            .trim_end_matches(") TO STDOUT (FORMAT binary)")
    ))
    .execute(&mut conn)
    .await?;
    let line = |name: &str, t: Instant, c0: f64, b0: f64| {
        let wall = t.elapsed().as_secs_f64();
        println!(
            "  {name:<58} {:>9.0} events/s  wall {wall:6.2} s  client CPU {:6.2} s  Postgres CPU {:6.2} s",
            rows / wall,
            cpu_seconds(me) - c0,
            cpu_seconds(backend as u32) - b0
        );
    };
    line(
        "Postgres runs the query, sends nothing (EXPLAIN ANALYZE)",
        t,
        c0,
        b0,
    );

    let (t, c0, b0) = (Instant::now(), cpu_seconds(me), cpu_seconds(backend as u32));
    let mut bytes = 0u64;
    {
        let mut chunks = conn.copy_out_raw(&statement).await?;
        while let Some(chunk) = chunks.try_next().await? {
            bytes += chunk.len() as u64;
        }
    }
    line(
        "Postgres sends the binary COPY, client only receives",
        t,
        c0,
        b0,
    );
    println!(
        "      ({:.0} bytes per event on the wire)",
        bytes as f64 / rows
    );
    conn.close().await?;

    // verify() itself, one part (one connection): receiving plus SHA-256 per event.
    let pool = pool(db_url, 2).await?;
    let (t, c0) = (Instant::now(), cpu_seconds(me));
    let report = verify::verify_in_parts(&pool, None, None, Some(1)).await?;
    check_report(&report, "verify() in one part")?;
    let wall = t.elapsed().as_secs_f64();
    println!(
        "  {:<58} {:>9.0} events/s  wall {wall:6.2} s  client CPU {:6.2} s",
        "verify() in one part (receive + SHA-256 per event)",
        rows / wall,
        cpu_seconds(me) - c0
    );
    pool.close().await;
    Ok(())
}
