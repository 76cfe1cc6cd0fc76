//! `[aws] min_session` through the whole broker: with an emulator, sessions of seconds are
//! issued, and a request below the minimum is refused naming it.

use vault_e2e::aws::credentials_from_env;
use vault_e2e::config::{default_profiles, short_profile, SHORT_SESSION_SECS};
use vault_e2e::TestApp;

#[tokio::test]
async fn the_short_profile_issues_sessions_of_seconds_and_refuses_one_below_min_session() {
    let mut profiles = default_profiles();
    profiles.push(short_profile());
    let app = TestApp::builder().profiles(profiles).spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let env = cli.exec_env("short").await;
    let creds = credentials_from_env(&env);
    let expires = time::OffsetDateTime::parse(
        &creds.expiration,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = (expires - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!(
        (1..=SHORT_SESSION_SECS as i64).contains(&left),
        "a {SHORT_SESSION_SECS} s session expires in {left} s"
    );

    let out = cli.run(&["exec", "short", "-d", "4s", "--", "true"]).await;
    out.assert_failure("vault exec short -d 4s");
    assert!(
        out.stderr.contains("at least 5s") && out.stderr.contains("5 seconds"),
        "{out}"
    );
}
