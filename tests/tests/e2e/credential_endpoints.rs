//! `vault exec --ecs-server` / `--ec2-server`: the real AWS CLI, botocore and the Rust SDK read
//! their credentials from the endpoint vault serves, and the child holds no static keys.

use vault_e2e::aws::{arn_of, assumed_role_prefix, parse_env};
use vault_e2e::endpoints::{botocore_probe, probe_binary, probe_keys};
use vault_e2e::{Cli, TestApp};

/// Variables that would hand the child credentials that cannot be refreshed.
pub const STATIC: [&str; 6] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// `vault exec dev FLAG -- ARGS…` with the IMDS guard of the test machine lifted for `--ec2-server`.
pub async fn exec_served(cli: &Cli, flag: &str, child: &[&str]) -> vault_e2e::Output {
    let mut args = vec!["exec", "dev", flag, "--"];
    args.extend_from_slice(child);
    let mut cmd = cli.command(&args);
    cmd.env_remove("AWS_EC2_METADATA_DISABLED");
    vault_e2e::process::run(cmd, &args.join(" "), vault_e2e::cli::COMMAND_LIMIT)
        .await
        .expect("vault exec runs")
}

/// Each of the three clients, run under `vault exec dev FLAG`, reaches moto as the dev role.
async fn three_clients_read_the_endpoint(flag: &str) {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let prefix = assumed_role_prefix(&app.account_id, &app.role_name("dev"));

    let aws = cli.aws_cli_path();
    let aws = aws.to_str().unwrap();
    let out = exec_served(
        &cli,
        flag,
        &[aws, "sts", "get-caller-identity", "--output", "json"],
    )
    .await;
    out.assert_success("the AWS CLI under the endpoint");
    assert!(arn_of(&out.stdout).starts_with(&prefix), "{out}");

    let [python, script] = botocore_probe(&cli);
    let out = exec_served(&cli, flag, &[&python, &script, "1", "0"]).await;
    out.assert_success("botocore under the endpoint");
    assert!(probe_keys(&out.stdout)[0].starts_with("ASIA"), "{out}");
    assert!(out.stdout.contains(&prefix), "{out}");

    let sdk = probe_binary("sdk-probe");
    let out = exec_served(&cli, flag, &[sdk.to_str().unwrap(), "1", "0"]).await;
    out.assert_success("the Rust SDK under the endpoint");
    assert!(probe_keys(&out.stdout)[0].starts_with("ASIA"), "{out}");
    assert!(out.stdout.contains(&prefix), "{out}");
}

#[tokio::test]
async fn the_aws_cli_botocore_and_the_rust_sdk_read_credentials_from_the_ecs_endpoint() {
    three_clients_read_the_endpoint("--ecs-server").await;
}

#[tokio::test]
async fn the_aws_cli_botocore_and_the_rust_sdk_read_credentials_from_the_imds_endpoint() {
    three_clients_read_the_endpoint("--ec2-server").await;
}

#[tokio::test]
async fn the_ecs_child_gets_the_endpoint_a_token_and_its_file_but_no_static_keys() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("token-copy");
    let script = format!(
        "env; stat -c %a \"$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\"; cp \"$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\" {}",
        copy.display()
    );
    let out = exec_served(&cli, "--ecs-server", &["sh", "-c", &script]).await;
    out.assert_success("vault exec dev --ecs-server -- env");
    let env = parse_env(&out.stdout);

    for name in STATIC {
        assert!(!env.contains_key(name), "the child has {name}: {env:?}");
    }
    assert_eq!(env.get("AWS_VAULT").map(String::as_str), Some("dev"));
    assert_eq!(env.get("AWS_REGION").map(String::as_str), Some("us-east-1"));
    let uri = &env["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let path = uri
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, path)| path)
        .unwrap_or_else(|| panic!("not a loopback URL: {uri}"));
    assert!(
        path.len() == 64 && path.chars().all(|c| c.is_ascii_hexdigit()),
        "the path is not 32 random bytes in hex: {uri}"
    );
    let token = &env["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
    assert!(
        token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "the token is not 256 bits in hex"
    );
    assert_eq!(
        &std::fs::read_to_string(&copy).unwrap(),
        token,
        "token file"
    );
    assert!(
        out.stdout.lines().any(|l| l == "600"),
        "token file mode: {out}"
    );
    let file = &env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"];
    assert!(
        !std::path::Path::new(file).exists(),
        "the token file outlived vault: {file}"
    );
}

#[tokio::test]
async fn the_ec2_child_gets_the_metadata_endpoint_and_no_static_keys() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;

    let out = exec_served(&cli, "--ec2-server", &["env"]).await;
    out.assert_success("vault exec dev --ec2-server -- env");
    let env = parse_env(&out.stdout);

    for name in STATIC {
        assert!(!env.contains_key(name), "the child has {name}: {env:?}");
    }
    assert!(
        !env.keys().any(|k| k.starts_with("AWS_CONTAINER_")),
        "{env:?}"
    );
    let endpoint = &env["AWS_EC2_METADATA_SERVICE_ENDPOINT"];
    assert!(
        endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with('/'),
        "{endpoint}"
    );
    assert_eq!(
        env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
            .map(String::as_str),
        Some("IPv4")
    );
    assert_eq!(env.get("AWS_VAULT").map(String::as_str), Some("dev"));
}
