//! `vault exec --ecs-server / --ec2-server` from the outside: the probes (Rust SDK, botocore)
//! run as its child, and a child that holds the endpoint open while the test sends it requests.

use crate::aws::parse_env;
use crate::cli::{vault_binary, Cli};
use crate::poll;
use crate::process::{Output, Running};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A binary of this crate (`sdk-probe`, `endpoint-probe`), next to the `vault` binary.
pub fn probe_binary(name: &str) -> PathBuf {
    let bin = vault_binary().with_file_name(name);
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first (tests/run does)",
        bin.display()
    );
    bin
}

/// `python tests/probes/botocore_probe.py`: the venv's Python (beside the AWS CLI) and the script.
pub fn botocore_probe(cli: &Cli) -> [String; 2] {
    let python = cli.aws_cli_path().with_file_name("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("probes/botocore_probe.py");
    [python, script].map(|p| p.to_string_lossy().into_owned())
}

/// Access keys of the probes' `ok <key> <arn>` lines, in order; panics on any other line.
pub fn probe_keys(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| {
            let mut words = line.split(' ');
            assert_eq!(
                words.next(),
                Some("ok"),
                "a probe call failed: {line}\n{stdout}"
            );
            words.next().expect("a key").to_owned()
        })
        .collect()
}

/// How many distinct keys follow one another (a key seen, then another: 2).
pub fn key_changes(keys: &[String]) -> usize {
    keys.windows(2).filter(|w| w[0] != w[1]).count()
}

/// A `vault exec … -- sh` whose child wrote its environment to a file and waits (at most
/// `HOLD_SECS`) until the test releases it, so the test can talk to the endpoint meanwhile.
pub struct HeldChild {
    pub vault: Running,
    /// The child's environment.
    pub env: BTreeMap<String, String>,
    dir: tempfile::TempDir,
}

/// The longest a held child waits for its release.
pub const HOLD_SECS: u32 = 120;

impl Cli {
    /// Path of the real AWS CLI.
    pub fn aws_cli_path(&self) -> PathBuf {
        crate::env::TestEnv::get().aws_cli.clone()
    }

    /// Starts `vault ARGS… -- sh -c <hold>` and waits until the child has written its environment.
    pub async fn exec_held(&self, args: &[&str], env: &[(&str, &str)]) -> HeldChild {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = format!(
            "env > \"$0/env.tmp\" && mv \"$0/env.tmp\" \"$0/env\"; i=0; \
             while [ ! -e \"$0/release\" ] && [ $i -lt {} ]; do sleep 0.1; i=$((i+1)); done; \
             [ -e \"$0/release\" ] && exit \"$(cat \"$0/release\")\"; exit 99",
            HOLD_SECS * 10
        );
        let mut all: Vec<&str> = args.to_vec();
        let dir_str = dir.path().to_str().expect("utf-8 temp dir").to_owned();
        all.extend(["--", "sh", "-c", &script, &dir_str]);
        let mut cmd = self.command(&all);
        cmd.envs(env.iter().copied());
        let vault = Running::spawn(cmd, &format!("vault {}", args.join(" "))).expect("spawn vault");
        let env_file = dir.path().join("env");
        let text = poll::until("the child's environment", Duration::from_secs(30), || {
            let f = env_file.clone();
            async move { std::fs::read_to_string(f).ok() }
        })
        .await;
        HeldChild {
            vault,
            env: parse_env(&text),
            dir,
        }
    }
}

impl HeldChild {
    /// A variable of the child's environment; panics naming it when absent.
    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("the child has no {name}: {:?}", self.env.keys()))
    }

    /// Lets the child exit with `code`, and waits for vault.
    pub async fn release(self, code: u8) -> Output {
        std::fs::write(self.dir.path().join("release"), code.to_string()).expect("release");
        self.vault
            .finish(Duration::from_secs(30))
            .await
            .expect("vault exits after its child")
    }
}

/// A running `vault serve …`, after it printed the lines to use.
pub struct Served {
    pub process: Running,
    /// The `export NAME=VALUE` lines, as variables.
    pub env: BTreeMap<String, String>,
    /// The `# docker run …` line.
    pub docker: String,
}

impl Cli {
    /// Starts `vault ARGS…` (a `serve`) and waits until it has printed its exports and its
    /// `docker run` line.
    pub async fn serve(&self, args: &[&str]) -> Served {
        let what = format!("vault {}", args.join(" "));
        let mut process = Running::spawn(self.command(args), &what).expect("spawn vault serve");
        let mut exports = Vec::new();
        let docker = loop {
            let line = process
                .wait_for_line(Duration::from_secs(30), |s, l| {
                    s == crate::process::Stream::Stdout
                        && (l.starts_with("export ") || l.starts_with("# docker run"))
                })
                .await
                .expect("vault serve prints the lines to use");
            match line.strip_prefix("export ") {
                Some(export) => exports.push(export.to_owned()),
                None => break line,
            }
        };
        Served {
            process,
            env: parse_env(&exports.join("\n")),
            docker,
        }
    }
}

impl Served {
    /// Stops it with SIGTERM and returns its output.
    pub async fn stop(self) -> Output {
        let pid = self.process.id().expect("vault serve runs");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid}");
        self.process
            .finish(Duration::from_secs(30))
            .await
            .expect("vault serve exits on SIGTERM")
    }
}

/// `GET` the container endpoint as an SDK would: (status, body; `Null` when it is not JSON).
pub async fn ecs_get(http: &reqwest::Client, uri: &str, token: &str) -> (u16, serde_json::Value) {
    let answer = http
        .get(uri)
        .header("Authorization", token)
        .send()
        .await
        .expect("the endpoint answers");
    let status = answer.status().as_u16();
    (
        status,
        answer.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// The `Expiration` of a credentials body.
pub fn expiration(body: &serde_json::Value) -> time::OffsetDateTime {
    let text = body["Expiration"].as_str().expect("an Expiration");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("Expiration {text} is not RFC 3339: {e}"))
}
