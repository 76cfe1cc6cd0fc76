//! `vault status` and the cached-session column of `vault list`.

use vault_e2e::cli::Cli;
use vault_e2e::TestApp;

/// The `dev` row of `vault list`.
fn dev_row(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("dev "))
        .unwrap_or_else(|| panic!("no dev row in:\n{stdout}"))
        .to_owned()
}

#[tokio::test]
async fn list_shows_whether_each_profile_has_a_cached_session_and_its_time_left() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let before = cli.run(&["list"]).await;
    before.assert_success("vault list");
    assert!(
        before
            .stdout
            .lines()
            .next()
            .unwrap_or("")
            .ends_with("CACHED"),
        "{before}"
    );
    assert!(dev_row(&before.stdout).ends_with(" -"), "{before}");

    cli.run(&["exec", "dev", "--", "true"])
        .await
        .assert_success("vault exec");
    let after = cli.run(&["list"]).await;

    after.assert_success("vault list");
    let row = dev_row(&after.stdout);
    // The default session is an hour, just issued.
    assert!(
        [" 1h left", " 59m left", " 58m left"]
            .iter()
            .any(|l| row.ends_with(l)),
        "{after}"
    );
}

#[tokio::test]
async fn status_shows_the_server_the_login_the_token_and_the_cached_sessions() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    cli.run(&["exec", "dev", "-d", "30m", "--", "true"])
        .await
        .assert_success("vault exec");

    let out = cli.run(&["status"]).await;

    out.assert_success("vault status");
    let text = &out.stdout;
    assert!(
        text.contains(&format!("Server:   {} (answers)", app.url)),
        "{out}"
    );
    assert!(text.contains("Login:    alice@example.com (user)"), "{out}");
    assert!(text.contains("Session:  "), "{out}");
    assert!(text.contains("Token:    access token expires in "), "{out}");
    assert!(text.contains("renewed automatically"), "{out}");
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("dev "))
        .unwrap_or_else(|| panic!("no cached dev session in:\n{out}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..2], ["dev", "30m"], "{out}");
    assert!(["30m", "29m", "28m"].contains(&cells[2]), "{out}");
}

#[tokio::test]
async fn status_without_a_login_exits_1_with_a_hint_and_still_shows_the_server() {
    let app = TestApp::spawn().await;
    let cli = app.cli();

    let out = cli.run(&["status"]).await;

    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stdout.contains("(answers)"), "{out}");
    assert!(out.stdout.contains("Login:    not logged in"), "{out}");
    assert!(out.stdout.contains("Cached sessions: none"), "{out}");
    assert!(
        out.stderr.contains("Error: not logged in") && out.stderr.contains("hint:"),
        "{out}"
    );
}

#[tokio::test]
async fn status_with_a_server_that_does_not_answer_says_so_and_exits_1() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let cli = Cli::new(&format!("http://127.0.0.1:{port}"));

    let out = cli.run(&["status"]).await;

    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stdout.contains("(does not answer)"), "{out}");
    assert!(
        out.stderr.contains("Error: cannot reach team-vault server")
            && out.stderr.contains("hint:"),
        "{out}"
    );
    assert!(!out.stderr.contains("panicked"), "{out}");
}
