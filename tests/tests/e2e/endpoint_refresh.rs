//! Sessions of seconds (the `short` profile): the endpoint refreshes them in the background, so
//! a long-running child never fails, and when the server goes away it serves what it has until
//! expiry and says so once.

use std::time::{Duration, Instant};

use vault_e2e::config::{default_profiles, short_profile, SHORT_SESSION_SECS};
use vault_e2e::endpoints::{
    botocore_probe, ecs_get as get, expiration, key_changes, probe_binary, probe_keys,
};
use vault_e2e::process::Running;
use vault_e2e::{Cli, Output, TestApp};

/// One call a second for three session lifetimes.
const CALLS: u64 = 3 * SHORT_SESSION_SECS;

async fn short_app() -> TestApp {
    let mut profiles = default_profiles();
    profiles.push(short_profile());
    TestApp::builder().profiles(profiles).spawn().await
}

/// `vault exec short FLAG -- CHILD…`, running.
fn spawn_short(cli: &Cli, flag: &str, child: &[&str]) -> Running {
    let mut args = vec!["exec", "short", flag, "--"];
    args.extend_from_slice(child);
    let mut cmd = cli.command(&args);
    cmd.env_remove("AWS_EC2_METADATA_DISABLED");
    Running::spawn(cmd, &args.join(" ")).expect("spawn vault exec")
}

async fn finish(run: Running) -> Output {
    run.finish(Duration::from_secs(CALLS * 3 + 60))
        .await
        .expect("the probe finishes")
}

/// Every call succeeded with a live key, and the key changed at least twice.
fn assert_refreshed(what: &str, out: &Output) {
    out.assert_success(what);
    let keys = probe_keys(&out.stdout);
    assert_eq!(keys.len() as u64, CALLS, "{what}: {out}");
    assert!(
        key_changes(&keys) >= 2,
        "{what}: the key changed fewer than twice: {keys:?}"
    );
}

#[tokio::test]
async fn a_child_of_the_ecs_endpoint_calling_sts_for_three_session_lifetimes_never_fails_and_sees_the_key_change(
) {
    let app = short_app().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let calls = CALLS.to_string();
    let sdk = probe_binary("sdk-probe");
    let [python, script] = botocore_probe(&cli);

    let rust = spawn_short(
        &cli,
        "--ecs-server",
        &[sdk.to_str().unwrap(), &calls, "1000"],
    );
    let boto = spawn_short(&cli, "--ecs-server", &[&python, &script, &calls, "1000"]);
    let (rust, boto) = tokio::join!(finish(rust), finish(boto));

    assert_refreshed("the Rust SDK", &rust);
    assert_refreshed("botocore", &boto);
}

#[tokio::test]
async fn a_child_of_the_imds_endpoint_calling_sts_for_three_session_lifetimes_never_fails_and_sees_the_key_change(
) {
    let app = short_app().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let sdk = probe_binary("sdk-probe");

    let rust = spawn_short(
        &cli,
        "--ec2-server",
        &[sdk.to_str().unwrap(), &CALLS.to_string(), "1000"],
    );

    assert_refreshed("the Rust SDK over IMDS", &finish(rust).await);
}

#[tokio::test]
async fn with_the_server_stopped_mid_run_the_endpoint_serves_until_expiry_then_503_and_hints_once()
{
    let mut app = short_app().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let held = cli.exec_held(&["exec", "short", "--ecs-server"], &[]).await;
    let uri = held.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").to_owned();
    let token = held.var("AWS_CONTAINER_AUTHORIZATION_TOKEN").to_owned();
    let http = reqwest::Client::new();
    let (status, body) = get(&http, &uri, &token).await;
    assert_eq!(status, 200, "{body}");

    app.stop_server().await;

    // Until the last session it holds expires, every answer is that live session.
    let limit = Instant::now() + Duration::from_secs(2 * SHORT_SESSION_SECS + 20);
    let mut served_after_stop = 0;
    let expired = loop {
        assert!(Instant::now() < limit, "the endpoint never said `expired`");
        let (status, body) = get(&http, &uri, &token).await;
        let now = time::OffsetDateTime::now_utc();
        match status {
            200 => {
                assert!(
                    expiration(&body) > now,
                    "an expired session was served: {body}"
                );
                served_after_stop += 1;
            }
            503 => break body,
            other => panic!("unexpected answer {other}: {body}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(expired["code"], "expired", "{expired}");
    assert!(
        served_after_stop > 0,
        "nothing was served after the server stopped"
    );

    let out = held.release(0).await;
    assert_eq!(
        out.stderr.matches("could not refresh").count(),
        1,
        "the hint must be printed exactly once: {out}"
    );
    assert!(out.stderr.contains("vault login"), "{out}");
}
