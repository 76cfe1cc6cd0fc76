//! `vault exec --ecs-server` as its child's supervisor (exit codes, signals, no process left
//! behind, the endpoint ends with the child), `vault serve`, and `exec_mode` in the client config.

use std::path::Path;
use std::time::Duration;

use vault_e2e::aws::parse_env;
use vault_e2e::poll;
use vault_e2e::process::Running;
use vault_e2e::TestApp;

fn kill(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits (bounded) for `path` to exist and returns its text.
async fn file(what: &str, path: &Path) -> String {
    poll::until(what, Duration::from_secs(30), || {
        let path = path.to_path_buf();
        async move {
            std::fs::read_to_string(path)
                .ok()
                .filter(|t| t.ends_with('\n'))
        }
    })
    .await
}

#[tokio::test]
async fn the_childs_exit_code_comes_back_through_the_endpoint_supervisor() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = cli
        .run(&["exec", "dev", "--ecs-server", "--", "sh", "-c", "exit 7"])
        .await;

    assert_eq!(out.code(), Some(7), "{out}");
}

#[tokio::test]
async fn a_term_sent_to_vault_reaches_the_child_once_and_no_process_remains() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // Counts each TERM, stays half a second more to catch a second one, then exits 42.
    let script = format!(
        "got=0; trap 'echo term >> {d}/terms; got=1' TERM; echo $$ > {d}/pid; i=0; \
         while [ $got = 0 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
         sleep 0.5; [ $got = 1 ] && exit 42; exit 99"
    );
    let cmd = cli.command(&["exec", "dev", "--ecs-server", "--", "sh", "-c", &script]);
    let vault = Running::spawn(cmd, "vault exec dev --ecs-server").unwrap();
    let child: u32 = file("the child's pid", &dir.path().join("pid"))
        .await
        .trim()
        .parse()
        .unwrap();

    kill("TERM", vault.id().expect("vault runs"));
    let out = vault.finish(Duration::from_secs(30)).await.unwrap();

    assert_eq!(out.code(), Some(42), "{out}");
    let terms = std::fs::read_to_string(dir.path().join("terms")).unwrap_or_default();
    assert_eq!(terms.lines().count(), 1, "TERMs the child saw: {terms:?}");
    assert!(
        !Path::new(&format!("/proc/{child}")).exists(),
        "the child {child} outlived vault"
    );
}

#[tokio::test]
async fn a_child_that_exits_first_ends_vault_and_its_endpoint() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let held = cli.exec_held(&["exec", "dev", "--ecs-server"], &[]).await;
    let uri = held.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").to_owned();
    let token = held.var("AWS_CONTAINER_AUTHORIZATION_TOKEN").to_owned();
    let http = reqwest::Client::new();
    let before = http.get(&uri).header("Authorization", &token).send().await;
    assert_eq!(before.unwrap().status(), 200);

    let out = held.release(3).await;

    assert_eq!(out.code(), Some(3), "{out}");
    let after = http.get(&uri).header("Authorization", &token).send().await;
    assert!(
        after.as_ref().is_err_and(|e| e.is_connect()),
        "the endpoint outlived vault: {after:?}"
    );
}

#[tokio::test]
async fn vault_serve_prints_the_lines_to_use_and_serves_until_term() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let served = cli.serve(&["serve", "dev"]).await;
    let uri = &served.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let token = &served.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
    assert!(
        served.docker.contains("--network host") && served.docker.contains(uri.as_str()),
        "{}",
        served.docker
    );
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");

    let answer = reqwest::Client::new()
        .get(uri)
        .header("Authorization", token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let out = served.stop().await;
    assert_eq!(out.code(), Some(0), "{out}");
}

#[tokio::test]
async fn exec_mode_ecs_in_the_client_config_serves_the_endpoint_and_env_vars_overrides_it() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let config = cli.home().join("config/team-vault/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let existing = std::fs::read_to_string(&config).unwrap_or_default();
    std::fs::write(&config, format!("exec_mode = \"ecs\"\n{existing}")).unwrap();

    let served = cli.run(&["exec", "dev", "--", "env"]).await;
    served.assert_success("vault exec dev with exec_mode = ecs");
    let env = parse_env(&served.stdout);
    assert!(
        env.contains_key("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        "{env:?}"
    );
    assert!(!env.contains_key("AWS_ACCESS_KEY_ID"), "{env:?}");

    let plain = cli.run(&["exec", "dev", "--env-vars", "--", "env"]).await;
    plain.assert_success("vault exec dev --env-vars");
    let env = parse_env(&plain.stdout);
    assert!(env["AWS_ACCESS_KEY_ID"].starts_with("ASIA"), "{env:?}");
    assert!(
        !env.contains_key("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        "{env:?}"
    );
}
