//! One user cannot degrade service for others, measured: the latency of two entitled people's
//! credential requests against a release `vault-server` (its shipped default limits), first
//! quiet, then while an unprivileged logged-in user floods `POST /v1/credentials` with
//! 8,000-character profile names from several tasks and an anonymous source (127.0.0.2) floods the
//! token exchange with 12 KB junk tokens.
//!
//! Run with `tests/bench hostile`. The STS behind the server is moto. The people's requests are
//! paced (BENCH_HOSTILE_RATE per person per second), as people and their tools send them; the
//! flood is as fast as its tasks can go. Reports p50/p99 quiet and under attack, failures, the
//! share of the flood answered 429, and audit growth per flood request.
//!
//! Knobs: BENCH_HOSTILE_SECS (per phase, default 30), BENCH_HOSTILE_RATE (default 4),
//! BENCH_HOSTILE_FLOODERS (oversized-value tasks, default 8), BENCH_HOSTILE_JUNK (junk-token
//! tasks, default 4), BENCH_SCRATCH (where the server's config and log go).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::watch;
use vault_e2e::bench::{ms, pct, BenchServer};
use vault_e2e::oauth::OAuthClient;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// What the people saw in one phase.
struct Phase {
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let secs = knob("BENCH_HOSTILE_SECS", 30);
    let rate = knob("BENCH_HOSTILE_RATE", 4).max(1);
    let flooders = knob("BENCH_HOSTILE_FLOODERS", 8) as usize;
    let junk = knob("BENCH_HOSTILE_JUNK", 4) as usize;
    let scratch = std::env::var_os("BENCH_SCRATCH")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let server = BenchServer::start("hostile-server", "", &scratch).await?;
    let oauth = OAuthClient::new(&server.url);
    let people = vec![
        oauth.login("alice").await.access_token,
        oauth.login("bob").await.access_token,
    ];
    let mallory = oauth.login("mallory").await.access_token;
    println!(
        "hostile: {} people at {rate} requests/s each, {secs} s per phase; flood: {flooders} tasks of oversized profiles as a logged-in user without groups, {junk} tasks of 12 KB junk tokens from 127.0.0.2",
        people.len()
    );

    // Warm-up (not counted).
    people_phase(&server.url, &people, rate, Duration::from_secs(2)).await;
    let quiet = people_phase(&server.url, &people, rate, Duration::from_secs(secs)).await;

    let events_before = audit_bytes(&server).await?;
    let (stop, stopped) = watch::channel(false);
    let counts = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let mut flood = Vec::new();
    for _ in 0..flooders {
        flood.push(tokio::spawn(oversized(
            server.url.clone(),
            mallory.clone(),
            stopped.clone(),
            counts.clone(),
        )));
    }
    for _ in 0..junk {
        flood.push(tokio::spawn(junk_tokens(
            server.url.clone(),
            stopped.clone(),
            counts.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let attacked = people_phase(&server.url, &people, rate, Duration::from_secs(secs)).await;
    stop.send(true).ok();
    for f in flood {
        f.await?;
    }
    let growth = audit_bytes(&server).await? - events_before;

    report("quiet", &quiet);
    report("under attack", &attacked);
    let (q99, a99) = (pct(&quiet.latencies, 99.0), pct(&attacked.latencies, 99.0));
    println!(
        "p99 under attack / quiet: {:.2}x (target within 3x), people's failures under attack: {} (target 0)",
        a99.as_secs_f64() / q99.as_secs_f64().max(1e-6),
        attacked.failures.len()
    );
    let counts = counts.lock().expect("counts").clone();
    let total: u64 = counts.values().sum();
    let limited = counts.get("oversized 429").copied().unwrap_or(0)
        + counts.get("junk 429").copied().unwrap_or(0);
    println!(
        "flood: {total} requests, {:.1}% answered 429; by kind and status: {counts:?}",
        100.0 * limited as f64 / total.max(1) as f64
    );
    println!(
        "audit growth during the attack: {} bytes = {:.0} bytes per flood request (target < 2048)",
        growth,
        growth as f64 / total.max(1) as f64
    );
    for f in attacked.failures.iter().take(5) {
        println!("  a person's failure: {f}");
    }
    server.drop_database().await
}

fn report(name: &str, p: &Phase) {
    println!(
        "people, {name:<12}: {} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, failures {}",
        p.latencies.len() + p.failures.len(),
        ms(pct(&p.latencies, 50.0)),
        ms(pct(&p.latencies, 99.0)),
        ms(p.latencies.last().copied().unwrap_or_default()),
        p.failures.len()
    );
}

/// Each person asks for credentials `rate` times a second for `span`.
async fn people_phase(url: &str, people: &[String], rate: u64, span: Duration) -> Phase {
    let mut tasks = Vec::new();
    for token in people {
        let (url, token) = (format!("{url}/v1/credentials"), token.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client");
            let mut tick = tokio::time::interval(Duration::from_secs(1) / rate as u32);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut ok, mut bad) = (Vec::new(), Vec::new());
            let end = Instant::now() + span;
            while Instant::now() < end {
                tick.tick().await;
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "profile": "dev" }))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 200 => {
                        let body = r.bytes().await;
                        match body {
                            Ok(_) => ok.push(t.elapsed()),
                            Err(e) => bad.push(format!("reading the body: {e}")),
                        }
                    }
                    Ok(r) => {
                        let status = r.status();
                        bad.push(format!("{status}: {}", r.text().await.unwrap_or_default()));
                    }
                    Err(e) => bad.push(format!("no answer: {e}")),
                }
            }
            (ok, bad)
        }));
    }
    let mut phase = Phase {
        latencies: Vec::new(),
        failures: Vec::new(),
    };
    for t in tasks {
        let (ok, bad) = t.await.expect("a person's task");
        phase.latencies.extend(ok);
        phase.failures.extend(bad);
    }
    phase.latencies.sort();
    phase
}

fn count(counts: &Mutex<BTreeMap<String, u64>>, kind: &str, status: Option<u16>) {
    let key = match status {
        Some(s) => format!("{kind} {s}"),
        None => format!("{kind} no answer"),
    };
    *counts.lock().expect("counts").entry(key).or_default() += 1;
}

/// `POST /v1/credentials` with an 8,000-character profile name, as fast as it goes.
async fn oversized(
    url: String,
    token: String,
    stop: watch::Receiver<bool>,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let profile = "p".repeat(8000);
    // Bounded: stops when told, or after an hour in any case.
    let end = Instant::now() + Duration::from_secs(3600);
    while !*stop.borrow() && Instant::now() < end {
        let status = http
            .post(format!("{url}/v1/credentials"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "profile": profile, "duration_seconds": 3600 }))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        count(&counts, "oversized", status);
    }
}

/// Anonymous token exchanges with a 12 KB junk token, from another address (127.0.0.2).
async fn junk_tokens(
    url: String,
    stop: watch::Receiver<bool>,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
) {
    let http = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let token = "j".repeat(12 * 1024);
    let end = Instant::now() + Duration::from_secs(3600);
    while !*stop.borrow() && Instant::now() < end {
        let status = http
            .post(format!("{url}/oauth/token"))
            .form(&[
                ("grant_type", vault_api::GRANT_TOKEN_EXCHANGE),
                ("subject_token", &token),
                ("subject_token_type", vault_api::TOKEN_TYPE_JWT),
            ])
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        count(&counts, "junk", status);
    }
}

/// The audit table's size on disk (heap, TOAST and indexes).
async fn audit_bytes(server: &BenchServer) -> Result<i64> {
    let pool = server.database.pool().await?;
    let bytes = sqlx::query_scalar("SELECT pg_total_relation_size('audit_events')")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(bytes)
}
