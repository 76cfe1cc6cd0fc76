//! `endpoint-probe REQUESTS`: run as the child of `vault exec --ecs-server`, it times REQUESTS
//! sequential GETs of the container credential endpoint (one kept-alive connection, the token
//! from the environment, as an SDK sends it) and reads its parent's (the supervisor's) memory
//! from /proc. Prints one JSON line: `{"requests","p50_us","p99_us","max_us","supervisor_rss_kb",
//! "supervisor_hwm_kb"}`. Exits 1 if a request fails. (tests/bench exec runs it.)

use std::time::{Duration, Instant};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("endpoint-probe: {name} is not set (run it under vault exec --ecs-server)");
        std::process::exit(2)
    })
}

/// `VmRSS` and `VmHWM` of a process, in kB.
fn memory_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], p: f64) -> u128 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_micros()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let requests: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=1_000_000).contains(n))
        .unwrap_or(1000);
    let url = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client");
    let mut times = Vec::with_capacity(requests);
    // The first request opens the connection; it is not timed.
    for i in 0..=requests {
        let start = Instant::now();
        let answer = http.get(&url).header("Authorization", &token).send().await;
        let ok = match answer {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            Ok(r) => {
                eprintln!("endpoint-probe: request {i} answered {}", r.status());
                false
            }
            Err(e) => {
                eprintln!("endpoint-probe: request {i} failed: {e}");
                false
            }
        };
        if !ok {
            std::process::exit(1);
        }
        if i > 0 {
            times.push(start.elapsed());
        }
    }
    times.sort();
    let (rss, hwm) = memory_kb(std::os::unix::process::parent_id());
    println!(
        "{}",
        serde_json::json!({
            "requests": requests,
            "p50_us": percentile(&times, 0.50),
            "p99_us": percentile(&times, 0.99),
            "max_us": times.last().map_or(0, |t| t.as_micros()),
            "supervisor_rss_kb": rss,
            "supervisor_hwm_kb": hwm,
        })
    );
}
