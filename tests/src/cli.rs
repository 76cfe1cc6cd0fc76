//! `Cli`: the real `vault` binary in an isolated home, as a developer would run it.

use crate::env::TestEnv;
use crate::process::{self, Output};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use tempfile::TempDir;
use tokio::process::Command;

/// How long one CLI command may take before the test gives up on it.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// One developer's machine: a private HOME and XDG dirs, pointed at one server.
pub struct Cli {
    dir: TempDir,
    pub server_url: String,
    /// The moto the AWS CLI is pointed at (`AWS_ENDPOINT_URL`, `--endpoint-url`).
    pub moto_url: String,
    env: &'static TestEnv,
}

/// Variables removed from every child: CI detection, the developer's AWS and vault settings.
fn is_scrubbed(name: &str) -> bool {
    name == "CI"
        || [
            "GITHUB_", "GITLAB_", "CI_", "ACTIONS_", "AWS_", "VAULT_", "XDG_", "DBUS_",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// `target/debug/vault`, next to the test executable's `deps` directory; checked once to be
/// present and newer than the CLI's sources (`cargo test` builds only a test copy of it).
/// `VAULT_TEST_VAULT_BIN` names another binary instead.
pub fn vault_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("VAULT_TEST_VAULT_BIN") {
            // An explicit binary (a release build, another checkout): used as given.
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "VAULT_TEST_VAULT_BIN={} is not a file",
                bin.display()
            );
            return bin;
        }
        let exe = std::env::current_exe().expect("current_exe");
        let mut dir = exe
            .parent()
            .expect("test executable has a directory")
            .to_path_buf();
        if dir.ends_with("deps") {
            dir.pop();
        }
        let bin = dir.join(format!("vault{}", std::env::consts::EXE_SUFFIX));
        assert!(
            bin.is_file(),
            "the vault binary is missing at {}: run `cargo build --bins` first (tests/run should)",
            bin.display()
        );
        if let Some(newer) = newest_source_after(&bin) {
            panic!(
                "{} is older than {}: run `cargo build --bins` first (tests/run should)",
                bin.display(),
                newer.display()
            );
        }
        bin
    })
    .clone()
}

/// A source file of the CLI (or the wire types it uses) modified after `bin` was built.
fn newest_source_after(bin: &Path) -> Option<PathBuf> {
    fn walk(path: &Path, built: std::time::SystemTime, found: &mut Option<PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                walk(&entry.path(), built, found);
            }
        } else if let Ok(modified) = path.metadata().and_then(|m| m.modified()) {
            if modified > built && found.is_none() {
                *found = Some(path.to_path_buf());
            }
        }
    }
    let built = bin.metadata().and_then(|m| m.modified()).ok()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let mut found = None;
    for part in [
        "client/src",
        "client/Cargo.toml",
        "api/src",
        "api/Cargo.toml",
    ] {
        walk(&root.join(part), built, &mut found);
    }
    found
}

impl Cli {
    /// A fresh machine for `server_url`.
    pub fn new(server_url: &str) -> Cli {
        let dir = tempfile::Builder::new()
            .prefix("vault-e2e-home-")
            .tempdir()
            .expect("tempdir");
        for sub in ["config", "state", "cache", "data", ".aws"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        let env = TestEnv::get();
        Cli {
            dir,
            server_url: server_url.to_owned(),
            moto_url: env.moto_url.clone(),
            env,
        }
    }

    /// The isolated HOME.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The AWS CLI config file path inside HOME (`AWS_CONFIG_FILE`).
    pub fn aws_config_file(&self) -> PathBuf {
        self.home().join(".aws/config")
    }

    /// Environment every child gets (after scrubbing the inherited one).
    pub fn base_env(&self) -> Vec<(String, OsString)> {
        let home = self.home();
        let aws_dir = self.env.aws_cli.parent().unwrap_or(Path::new("/"));
        let mut path = OsString::from(aws_dir);
        if let Some(inherited) = std::env::var_os("PATH") {
            path.push(":");
            path.push(inherited);
        }
        vec![
            ("HOME".into(), home.into()),
            ("XDG_CONFIG_HOME".into(), home.join("config").into()),
            ("XDG_STATE_HOME".into(), home.join("state").into()),
            ("XDG_CACHE_HOME".into(), home.join("cache").into()),
            ("XDG_DATA_HOME".into(), home.join("data").into()),
            ("VAULT_KEYRING".into(), "file".into()),
            ("VAULT_SERVER_URL".into(), self.server_url.clone().into()),
            ("PATH".into(), path),
            // The AWS CLI must never look for the EC2 metadata service or a real endpoint.
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_ENDPOINT_URL".into(), self.moto_url.clone().into()),
            ("AWS_CONFIG_FILE".into(), self.aws_config_file().into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                home.join(".aws/credentials").into(),
            ),
            ("NO_COLOR".into(), "1".into()),
        ]
    }

    /// A command for `program` with this machine's environment.
    pub fn command_for(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for (name, _) in std::env::vars_os() {
            if let Some(name) = name.to_str() {
                if is_scrubbed(name) {
                    cmd.env_remove(name);
                }
            }
        }
        cmd.envs(self.base_env());
        cmd.current_dir(self.home());
        cmd
    }

    /// `vault ARGS…` ready to spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.command_for(vault_binary());
        cmd.args(args);
        cmd
    }

    /// Runs `vault ARGS…` to completion.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[]).await
    }

    /// Runs `vault ARGS…` with extra environment variables.
    pub async fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        process::run(cmd, &format!("vault {}", args.join(" ")), COMMAND_LIMIT)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Runs the real AWS CLI (`aws ARGS…`) on this machine.
    pub async fn aws(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command_for(&self.env.aws_cli);
        cmd.args(args);
        cmd.envs(env.iter().copied());
        process::run(cmd, &format!("aws {}", args.join(" ")), COMMAND_LIMIT)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Every file under HOME, concatenated (to find what the CLI stored).
    pub fn stored_text(&self) -> String {
        fn walk(dir: &Path, out: &mut String) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                    out.push('\n');
                }
            }
        }
        let mut out = String::new();
        walk(self.home(), &mut out);
        out
    }
}

/// Every distinct refresh token (`tvr_…`) found in `text`.
pub fn refresh_tokens_in(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .match_indices("tvr_")
        .map(|(i, _)| {
            text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
        })
        .filter(|t| t.len() > 20)
        .collect();
    found.sort();
    found.dedup();
    found
}
