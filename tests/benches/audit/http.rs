//! Through a real server: queries and verification over HTTP.

use super::*;

/// The release `vault-server` as a child process on the bench database.
pub(crate) struct Server {
    pub(crate) child: tokio::process::Child,
    pub(crate) url: String,
    pub(crate) log: PathBuf,
}

impl Server {
    pub(crate) async fn start(s: &Settings, env: &TestEnv, db_url: &str) -> Result<Server> {
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

# The bench measures queries, not the rate limits: one admin sends hundreds in a row.
[limits]
authenticated = {{ per_minute = 0 }}

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
    pub(crate) async fn stop(mut self) -> Result<()> {
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

/// The queries' working set into the OS cache, on a connection of its own.
async fn warm(db_url: &str) -> Result<()> {
    let pool = pool(db_url, 1).await?;
    warm_cache(&pool, QUERY_SET).await?;
    pool.close().await;
    Ok(())
}

pub(crate) async fn http_phase(
    s: &Settings,
    env: &'static TestEnv,
    db_url: &str,
    g: &Generated,
    world: &World,
) -> Result<()> {
    warm(db_url).await?;
    let server = Server::start(s, env, db_url).await?;
    let result = http_measure(s, &server, g, world).await;
    server.stop().await?;
    result
}

/// `GET /v1/audit` with an admin token: how long it took and how many events came back.
pub(crate) fn audit_getter(
    url: &str,
    token: &str,
) -> Result<impl Fn(Vec<(&'static str, String)>) -> BoxedQuery> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;
    let (url, token) = (format!("{url}/v1/audit"), token.to_owned());
    Ok(move |query: Vec<(&'static str, String)>| -> BoxedQuery {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        Box::pin(async move {
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
            Ok((took, page.events.len()))
        })
    })
}

pub(crate) type BoxedQuery =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(Duration, usize)>> + Send>>;

/// The two kinds of query, `s.queries` of each: p50/p95 printed with `label`.
pub(crate) async fn query_latencies(
    s: &Settings,
    get: &impl Fn(Vec<(&'static str, String)>) -> BoxedQuery,
    g: &Generated,
    world: &World,
    label: &str,
) -> Result<()> {
    let fmt = |t: OffsetDateTime| format_time(t);
    let week_ago = fmt(g.end_at - time::Duration::days(7));
    let day_ago = fmt(g.end_at - time::Duration::hours(24));
    let end = fmt(g.end_at);
    let mut rng = StdRng::seed_from_u64(SEED ^ 0x9e37);
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
            "GET /v1/audit{label}, {name:<26} p50 {:6.2} ms  p95 {:6.2} ms  max {:6.2} ms  ({} requests, {:.1} events per page; target p95 < 50 ms)",
            ms(pct(&samples, 50.0)),
            ms(pct(&samples, 95.0)),
            ms(*samples.last().expect("samples")),
            samples.len(),
            rows as f64 / samples.len() as f64
        );
        println!("  slowest: {:?}", slowest.1);
    }

    Ok(())
}

pub(crate) async fn http_measure(
    s: &Settings,
    server: &Server,
    g: &Generated,
    world: &World,
) -> Result<()> {
    let tokens = OAuthClient::new(&server.url).login("admin").await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;
    let get = audit_getter(&server.url, &tokens.access_token)?;
    // Windows end where the generated history ends, so events appended later (this phase's own
    // audit_query events, logins, server starts) never count.
    let week_ago = format_time(g.end_at - time::Duration::days(7));

    // Warm up the connection and the server (not counted).
    for i in 0..10 {
        let p = &world.principals[i * 37 % world.principals.len()];
        get(vec![
            ("principal", p.display.clone()),
            ("since", week_ago.clone()),
        ])
        .await?;
    }

    query_latencies(s, &get, g, world, "").await?;

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

/// The two queries again on `db_url` (a copy of the seeded trail) while events are appended at
/// `per_second` through an `AuditWriter` (another replica writing as people work).
pub(crate) async fn queries_under_writes(
    s: &Settings,
    env: &'static TestEnv,
    db_url: &str,
    g: &Generated,
    world: &Arc<World>,
    per_second: u32,
) -> Result<()> {
    warm(db_url).await?;
    let server = Server::start(s, env, db_url).await?;
    let result = async {
        let tokens = OAuthClient::new(&server.url).login("admin").await;
        let get = audit_getter(&server.url, &tokens.access_token)?;
        let writes = pool_writer(db_url).await?;
        let writer = AuditWriter::start(writes.clone());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let committed = Arc::new(AtomicU64::new(0));
        let pacer = {
            let (world, committed) = (world.clone(), committed.clone());
            tokio::spawn(async move {
                // Each tick starts a batch of writes; each write runs on its own task so a slow
                // commit never slows the pace.
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                let per_tick = (per_second / 100).max(1);
                let mut rng = StdRng::seed_from_u64(SEED ^ 0x5157);
                let mut turn = false;
                let mut inflight = tokio::task::JoinSet::new();
                let started = Instant::now();
                while !*stopped.borrow() && started.elapsed() < Duration::from_secs(3600) {
                    tick.tick().await;
                    for _ in 0..per_tick {
                        let mut e = world.event(&mut rng, OffsetDateTime::now_utc(), &mut turn);
                        e.id = Uuid::new_v4();
                        let (writer, committed) = (writer.clone(), committed.clone());
                        inflight.spawn(async move {
                            if writer.write(e).await.is_ok() {
                                committed.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                    while inflight.try_join_next().is_some() {}
                }
                while inflight.join_next().await.is_some() {}
                started.elapsed()
            })
        };
        // Let the writes reach their pace before measuring.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = committed.load(Ordering::Relaxed);
        let t = Instant::now();
        let measured = query_latencies(s, &get, g, world, " under writes").await;
        let rate = (committed.load(Ordering::Relaxed) - before) as f64 / t.elapsed().as_secs_f64();
        stop.send(true).ok();
        pacer.await?;
        writes.close().await;
        println!("  while the queries ran: {rate:.0} audit events/s committed (target pace {per_second}/s)");
        measured
    }
    .await;
    server.stop().await?;
    result
}
