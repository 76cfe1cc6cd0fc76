//! A warm `vault exec` reuses the cached session and never calls the server.

use vault_e2e::aws::{arn_of, assumed_role_prefix};
use vault_e2e::TestApp;

#[tokio::test]
async fn a_warm_exec_makes_no_request_to_the_server() {
    let mut app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let first = cli
        .run(&[
            "exec",
            "dev",
            "--",
            "sh",
            "-c",
            "echo KEY=$AWS_ACCESS_KEY_ID",
        ])
        .await;
    first.assert_success("first vault exec");

    app.stop_server().await;
    let down = app.http.get(app.endpoint("/healthz")).send().await;
    assert!(
        down.is_err(),
        "the server still answers after stop_server: {down:?}"
    );

    let moto = app.moto_url.clone();
    let script = format!(
        "echo KEY=$AWS_ACCESS_KEY_ID; aws sts get-caller-identity --endpoint-url {moto} --output json"
    );
    let second = cli.run(&["exec", "dev", "--", "sh", "-c", &script]).await;
    second.assert_success("warm vault exec with the server stopped");

    let key = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("KEY="))
            .map(str::to_owned)
    };
    let first_key = key(&first.stdout)
        .unwrap_or_else(|| panic!("the first exec's child printed no key:\n{first}"));
    assert!(
        first_key.starts_with("ASIA"),
        "the first exec's child got no session key: {first_key:?}"
    );
    let second_key = key(&second.stdout)
        .unwrap_or_else(|| panic!("the warm exec's child printed no key:\n{second}"));
    assert_eq!(first_key, second_key, "the warm exec used another session");
    let json: String = second
        .stdout
        .lines()
        .filter(|l| !l.starts_with("KEY="))
        .collect();
    let arn = arn_of(&json);
    let expected = format!(
        "{}alice",
        assumed_role_prefix(&app.account_id, &app.role_name("dev"))
    );
    assert!(
        arn.starts_with(&expected),
        "got {arn}, expected {expected}…"
    );
}
