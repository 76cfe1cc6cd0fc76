//! No refresh token, authorization code, access token or OIDC client secret is at rest in the
//! database (a `pg_dump` of it) or in a server log, in text, hex or base64 form, after a full
//! round of logins, refreshes, credentials, a CLI login and a CI exchange.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use tokio::process::Command;
use vault_e2e::ci_issuer::CiIssuer;
use vault_e2e::cli::refresh_tokens_in;
use vault_e2e::{logs, process};

/// The client secret the test configuration gives the server for the dev IdP.
const OIDC_CLIENT_SECRET: &str = "dev-secret";

/// Every form in which `secret` could be written down: as is, hex (both cases), base64 (padded,
/// unpadded, URL-safe).
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    let hex = hex::encode(secret.as_bytes());
    vec![
        ("text", secret.to_owned()),
        ("hex", hex.clone()),
        ("HEX", hex.to_ascii_uppercase()),
        ("base64", STANDARD.encode(secret)),
        ("base64 unpadded", STANDARD_NO_PAD.encode(secret)),
        ("base64url", URL_SAFE_NO_PAD.encode(secret)),
    ]
}

/// The test database as `pg_dump` writes it (schema and data, plain SQL).
async fn pg_dump(url: &str) -> String {
    let bin = std::env::var("VAULT_TEST_PG_BIN").expect("VAULT_TEST_PG_BIN (set by tests/run)");
    let mut cmd = Command::new(std::path::Path::new(&bin).join("pg_dump"));
    cmd.args(["--no-owner", "--dbname", url]);
    let out = process::run(cmd, "pg_dump", std::time::Duration::from_secs(60))
        .await
        .expect("running pg_dump");
    out.assert_success("pg_dump");
    out.stdout
}

fn assert_absent(what: &str, text: &str, secrets: &[(String, String)]) {
    for (name, secret) in secrets {
        for (form, encoded) in forms(secret) {
            assert!(
                !text.contains(&encoded),
                "{name} appears in {what} ({form})"
            );
        }
    }
}

#[tokio::test]
async fn no_token_code_or_client_secret_is_in_a_pg_dump_or_a_server_log_in_any_encoding() {
    let issuer = CiIssuer::start().await;
    let app = issuer.app_builder().spawn().await;
    let oauth = app.oauth();
    let mut secrets: Vec<(String, String)> =
        vec![("the OIDC client secret".into(), OIDC_CLIENT_SECRET.into())];

    // An authorization code, held before it is exchanged; its tokens, refreshed twice.
    let code = oauth.authorize("alice").await.expect("authorize");
    let resp = oauth.exchange(&code).await.expect("exchange");
    assert_eq!(resp.status(), 200);
    let first: vault_e2e::Tokens = resp
        .json::<vault_api::TokenResponse>()
        .await
        .unwrap()
        .try_into()
        .unwrap();
    let second = oauth.refresh_ok(&first.refresh_token).await;
    let third = oauth.refresh_ok(&second.refresh_token).await;
    oauth.credentials(&third.access_token, "dev").await;
    secrets.push(("an authorization code".into(), code.code.clone()));
    for (i, t) in [&first, &second, &third].into_iter().enumerate() {
        assert!(
            t.refresh_token.starts_with("tvr_"),
            "precondition: a refresh token"
        );
        secrets.push((format!("refresh token #{i}"), t.refresh_token.clone()));
        secrets.push((format!("access token #{i}"), t.access_token.clone()));
    }
    // The CLI's own login (device flow) and a credential-process call.
    let cli = app.cli();
    cli.login_device("bob").await;
    cli.run(&["credential-process", "ops"])
        .await
        .assert_success("vault credential-process ops");
    let cli_tokens = refresh_tokens_in(&cli.stored_text());
    assert!(
        !cli_tokens.is_empty(),
        "precondition: the CLI holds a refresh token"
    );
    for t in cli_tokens {
        secrets.push(("the CLI's refresh token".into(), t));
    }
    // A CI job's token and the broker token it gets.
    let job = issuer.mint(json!({}));
    let access = app.ci_exchange(&job).await.access_token();
    secrets.push(("a CI job token".into(), job));
    secrets.push(("a CI access token".into(), access));

    // Precondition: the database does hold what these secrets became (their hashes), so the
    // dump is the right one and complete.
    let dump = pg_dump(&app.database.url).await;
    for table in [
        "refresh_tokens",
        "authorization_codes",
        "ci_token_uses",
        "audit_events",
    ] {
        assert!(
            dump.contains(&format!("COPY public.{table} ")),
            "{table} missing from the dump"
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM refresh_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        stored >= 4,
        "precondition: refresh tokens are stored (as hashes): {stored}"
    );
    assert_absent("the pg_dump", &dump, &secrets);
    assert!(
        !dump.contains("tvr_"),
        "something like a refresh token is in the pg_dump"
    );

    // Every line any in-process test server has logged so far, this one's included.
    let log = logs::captured();
    assert!(
        !log.is_empty(),
        "precondition: the servers' logs were captured"
    );
    assert_absent("the server log", &log, &secrets);
    for marker in ["tvr_", OIDC_CLIENT_SECRET] {
        assert!(!log.contains(marker), "`{marker}` appears in a server log");
    }
}
