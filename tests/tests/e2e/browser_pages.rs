//! The server's pages in a real browser: Debian's Chromium driven by Playwright
//! (`tests/browser/`), which enforces the Content-Security-Policy as people's browsers do,
//! redirects after a form included (`form-action`). Screenshots go to the run's scratch
//! directory (kept with `VAULT_TEST_KEEP_DIR=1`).

use std::time::Duration;

use tokio::process::Command;
use vault_e2e::browser::{poll_device, start_device};
use vault_e2e::env::TestEnv;
use vault_e2e::process;
use vault_e2e::TestApp;

/// A browser scenario may take this long (it starts Chromium and logs in at the IdP).
const SCENARIO_LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_device_login_approved_in_chromium_passes_the_csp_and_logs_the_device_in() {
    let app = TestApp::spawn().await;
    let env = TestEnv::get();
    let device = start_device(&app.url, "vault/test").await;
    let shots = env.scratch_dir.join("screenshots/device-approve");

    let mut cmd = Command::new(env.python());
    cmd.arg(env.browser_script("device_approve.py"))
        .arg("--url")
        .arg(format!("{}/device?user_code={}", app.url, device.user_code))
        .args(["--user", "alice"])
        .arg("--shots")
        .arg(&shots);
    let out = process::run(cmd, "device_approve.py", SCENARIO_LIMIT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    assert!(out.status.success(), "the browser scenario failed:\n{out}");
    let seen: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
    // The server's pages log nothing (a CSP violation would); the dev IdP's pages ask for web
    // fonts off the machine, which the scenario cuts off, and are not the server's.
    let ours = |v: &serde_json::Value| {
        v["page"]
            .as_str()
            .is_some_and(|page| page.starts_with(&app.url))
    };
    let errors: Vec<_> = seen["console_errors"]
        .as_array()
        .expect("console_errors")
        .iter()
        .filter(|e| ours(e))
        .collect();
    assert!(
        errors.is_empty(),
        "the server's pages logged errors: {seen:#}"
    );
    let local_failures: Vec<_> = seen["failed_requests"]
        .as_array()
        .expect("failed_requests")
        .iter()
        .filter(|r| {
            r["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http://127.0.0.1"))
        })
        .collect();
    assert!(
        local_failures.is_empty(),
        "requests on the machine failed: {seen:#}"
    );
    let final_url = seen["final_url"].as_str().unwrap_or_default();
    assert!(
        final_url.starts_with(&format!("{}/oauth/callback", app.url)),
        "{seen:#}"
    );
    for shot in ["device-review.png", "idp-login.png", "device-approved.png"] {
        assert!(shots.join(shot).is_file(), "no screenshot {shot}");
    }
    let (status, body) = poll_device(&app.url, &device.device_code, "vault/test").await;
    assert_eq!(status, 200, "the device got no tokens: {body}");
    assert!(body["access_token"].is_string(), "{body}");
}
