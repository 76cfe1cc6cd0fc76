//! Issuance under a steady load of 50 requests/s goes on through a whole key rotation without a
//! single failed request, and the longest wait for a successful answer stays short.

use std::time::{Duration, Instant};
use vault_e2e::owned_keys::load::Load;
use vault_e2e::owned_keys::KeyBed;

const RATE: u32 = 50;
/// Longest tolerated time without a successful answer during the rotation.
const GAP_LIMIT: Duration = Duration::from_secs(1);

#[tokio::test]
async fn issuance_at_50_per_second_never_fails_during_a_rotation() {
    let bed = KeyBed::builder().grace("1s", "1s").start().await;
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    let alice = bed.token(&server, "alice").await;

    let load = Load::start(&server.url, &alice, "dev", RATE);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rotation_started = Instant::now();
    let id = bed.request_rotation(&server, &admin).await;
    let done = bed.wait_finished(id, Duration::from_secs(60)).await;
    let rotation_done = Instant::now();
    // Keep going a little after the old key is deleted: a late use of it would fail here.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.stop().await;

    assert_eq!(done.step, "done", "{done:#?}");
    let listed = bed.iam().broker_keys().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(Some(&listed[0].id), done.new_key_id.as_ref(), "{listed:?}");

    let failures = report.failures();
    let during = report.sent_between(rotation_started, rotation_done);
    let gap = report.longest_gap(rotation_started, rotation_done);
    eprintln!(
        "MEASURE load {RATE}/s: {} requests, {} failed, {during} sent during the rotation ({:?}); \
         longest gap between successes during the rotation {gap:?}; slowest answer {:?}",
        report.samples.len(),
        failures.len(),
        rotation_done - rotation_started,
        report.max_latency()
    );
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the rotation, first: {:?}",
        failures.len(),
        report.samples.len(),
        failures.first()
    );
    // The load really ran across the rotation (at least 80 % of the planned rate).
    let planned = (rotation_done - rotation_started).as_secs_f64() * f64::from(RATE);
    assert!(
        during as f64 >= planned * 0.8,
        "only {during} requests during the rotation, planned about {planned:.0}"
    );
    assert!(
        gap < GAP_LIMIT,
        "no successful issuance for {gap:?} during the rotation"
    );
}
