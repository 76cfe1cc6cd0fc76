//! The broker's own ceiling: audited issuances per second through the whole server (HTTP, token
//! and session checks, policy, the audit writer's group commit on durable Postgres) with an STS
//! stand-in that answers at once ([`InstantSts`]; moto tops out near 250 AssumeRole calls a
//! second, so with it the emulator would be measured, not the broker).
//!
//! Run with `tests/bench ceiling`. The cluster is made durable (fsync, synchronous_commit on) for
//! the run and reset afterwards. The load runs in this process, on the same 2 cores as the
//! server: the figure is what one machine does with both, client included.
//!
//! Knobs: BENCH_CEILING_SECS (default 15), BENCH_CEILING_TASKS (concurrent clients, default 64).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex,
};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use vault_e2e::bench::{durability, ms, pct, set_durable, InstantSts};
use vault_e2e::{app::TestApp, env::TestEnv, oauth::OAuthClient};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<()> {
    let secs = knob("BENCH_CEILING_SECS", 15);
    let tasks = knob("BENCH_CEILING_TASKS", 64) as usize;
    let env = TestEnv::get();
    set_durable(&env.database_url, true).await?;
    let result = run(secs, tasks).await;
    set_durable(&env.database_url, false).await?;
    result
}

async fn run(secs: u64, tasks: usize) -> Result<()> {
    // The harness's limits are far above this load: this measures capacity, not the limiter
    // (the limiter's checks still run on every request).
    let app = TestApp::builder().sts(Arc::new(InstantSts)).spawn().await;
    let (fsync, sync) = durability(&app.database.url).await?;
    println!("ceiling: {tasks} concurrent clients for {secs} s; Postgres fsync={fsync}, synchronous_commit={sync}; STS stand-in answers at once");
    let client = OAuthClient::new(&app.url);
    let users = [client.login("alice").await, client.login("bob").await];
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(tasks)
        .timeout(Duration::from_secs(30))
        .build()?;

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let warmup = Duration::from_secs(2);
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + Duration::from_secs(secs);
    let mut handles = Vec::new();
    for i in 0..tasks {
        let token = users[i % users.len()].access_token.clone();
        let (http, url) = (http.clone(), format!("{}/v1/credentials", app.url));
        let (ok, failed, latencies) = (ok.clone(), failed.clone(), latencies.clone());
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "profile": "dev" }))
                    .send()
                    .await;
                let good = match resp {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if t < measure_from {
                    continue;
                }
                if good {
                    ok.fetch_add(1, Ordering::Relaxed);
                    mine.push(t.elapsed());
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.lock().expect("latencies").extend(mine);
        }));
    }
    for h in handles {
        h.await?;
    }
    let elapsed = deadline - measure_from;
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let mut lat = std::mem::take(&mut *latencies.lock().expect("latencies"));
    lat.sort();
    println!(
        "audited issuances: {ok} in {:.1} s = {:.0}/s (target >= 3000); failures {failed}; latency p50 {:.2} ms p99 {:.2} ms",
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64(),
        ms(pct(&lat, 50.0)),
        ms(pct(&lat, 99.0)),
    );
    // Every answered issuance has its committed event (warm-up ones included).
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'credentials_issue' AND outcome = 'success'",
    )
    .fetch_one(&app.db)
    .await?;
    println!("committed credentials_issue events: {events} (>= {ok} answered in the window)");
    if (events as u64) < ok {
        bail!("fewer committed events ({events}) than answered issuances ({ok})");
    }
    Ok(())
}
