//! Issuance through the broker against a direct `sts:AssumeRole` to the same moto, from Rust.
//!
//! Run with `tests/bench issuance` (it starts Postgres, moto and the dev IdP). The two paths are
//! interleaved call by call so drift in moto's speed hits both equally. Reports p50/p90/p99.

use std::time::{Duration, Instant};

use aws_sdk_sts::{config::Region, types::Tag};
use vault_e2e::{app::TestApp, oauth::OAuthClient};

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let app = TestApp::spawn().await;
    let client = OAuthClient::new(&app.url);
    let tokens = client.login("alice").await;
    let role_arn = app.role_arn("dev");

    let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(app.env.moto_url.trim_end_matches('/'))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&sdk_config);
    let direct = || async {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().expect("tag");
        sts.assume_role()
            .role_arn(&role_arn)
            .role_session_name("alice@example.com")
            .source_identity("alice@example.com")
            .duration_seconds(3600)
            .tags(tag("vault-principal", "alice@example.com"))
            .tags(tag("vault-principal-kind", "user"))
            .tags(tag(
                "vault-request-id",
                "00000000-0000-0000-0000-000000000000",
            ))
            .send()
            .await
            .expect("direct AssumeRole");
    };
    let broker = || async {
        let creds = client.credentials(&tokens.access_token, "dev").await;
        assert!(creds.access_key_id.starts_with("ASIA"));
    };

    for _ in 0..20 {
        direct().await;
        broker().await;
    }
    let (mut d, mut b) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    for _ in 0..calls {
        let t = Instant::now();
        direct().await;
        d.push(t.elapsed());
        let t = Instant::now();
        broker().await;
        b.push(t.elapsed());
    }
    report("direct AssumeRole (aws-sdk-sts → moto)", &mut d);
    report("through the broker (POST /v1/credentials)", &mut b);
    let (pd, pb) = (pct(&d, 50.0), pct(&b, 50.0));
    println!(
        "broker overhead at p50: {:.2} ms ({:+.1}%), calls per path: {calls}",
        (pb.as_secs_f64() - pd.as_secs_f64()) * 1e3,
        (pb.as_secs_f64() / pd.as_secs_f64() - 1.0) * 100.0
    );
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i]
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<45} p50 {:7.2} ms  p90 {:7.2} ms  p99 {:7.2} ms",
        ms(pct(samples, 50.0)),
        ms(pct(samples, 90.0)),
        ms(pct(samples, 99.0))
    );
}
