//! The real `vault-server` binary as a child process: `serve` (killable with SIGKILL and
//! restartable on the same port, so tokens stay valid), and the `keys` subcommands.

use crate::process::{self, Output};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// How long a server may take from spawn to `listening on`.
const START_LIMIT: Duration = Duration::from_secs(60);

/// `target/debug/vault-server` (next to the test executable's `deps`), checked once to be newer
/// than the server's sources; `VAULT_TEST_SERVER_BIN` names another binary.
pub fn server_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("VAULT_TEST_SERVER_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("current_exe");
        let mut dir = exe.parent().expect("test executable has a directory").to_path_buf();
        if dir.ends_with("deps") {
            dir.pop();
        }
        let bin = dir.join(format!("vault-server{}", std::env::consts::EXE_SUFFIX));
        assert!(
            bin.is_file(),
            "the vault-server binary is missing at {}: run `cargo build --bins` first (tests/run does)",
            bin.display()
        );
        if let Some(newer) = newest_source_after(&bin) {
            panic!(
                "{} is older than {}: run `cargo build --bins` first (tests/run does)",
                bin.display(),
                newer.display()
            );
        }
        bin
    })
    .clone()
}

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
    for part in ["server/src", "server/Cargo.toml", "migrations", "api/src"] {
        walk(&root.join(part), built, &mut found);
    }
    found
}

/// A `vault-server` command with a clean environment: nothing inherited that names a master
/// key, AWS credentials or a log filter; `env` added.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(server_binary());
    for (name, _) in std::env::vars_os() {
        if let Some(name) = name.to_str() {
            if name.starts_with("VAULT_") || name.starts_with("AWS_") || name == "RUST_LOG" {
                cmd.env_remove(name);
            }
        }
    }
    cmd.env("NO_COLOR", "1")
        .args(args)
        .envs(env.iter().copied());
    cmd
}

/// Runs a `vault-server` subcommand to completion.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    process::run(
        command(args, env),
        &format!("vault-server {}", args.join(" ")),
        Duration::from_secs(60),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// `RUST_LOG` of a replica that also logs every SQL statement it runs (sqlx's `summary="…"` lines
/// at debug), on top of the server's own default filter.
pub const LOG_STATEMENTS: &str =
    "info,sqlx=warn,sqlx::query=debug,aws_config=warn,aws_smithy_runtime=warn";

/// In the statement a replica runs each time it tries for the rotation lock (`keys::leader`).
const LOCK_TRY: &str = "pg_try_advisory_lock";

/// A free port on 127.0.0.1 (bound, then let go).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One `vault-server serve` replica. Killed when dropped.
pub struct ServerProcess {
    /// Also its Postgres `application_name`.
    pub name: String,
    pub url: String,
    config: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
    /// Runs so far (restarts + 1).
    pub starts: u32,
}

impl ServerProcess {
    /// Starts `vault-server serve --config CONFIG` (which listens on `port`), logging to `log`,
    /// and waits until it listens.
    pub async fn start(
        name: &str,
        port: u16,
        config: PathBuf,
        log: PathBuf,
        env: Vec<(String, String)>,
    ) -> ServerProcess {
        let mut server = ServerProcess {
            name: name.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            config,
            log,
            env,
            child: None,
            starts: 0,
        };
        server.spawn().await.unwrap_or_else(|e| panic!("{e:#}"));
        server
    }

    async fn spawn(&mut self) -> Result<()> {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let offset = std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let config = self.config.to_string_lossy().into_owned();
        let mut cmd = command(&["serve", "--config", &config], &env);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .kill_on_drop(true);
        let child = cmd.spawn().context("starting vault-server serve")?;
        self.child = Some(child);
        self.starts += 1;
        let started = Instant::now();
        let marker = format!("listening on {}", self.url);
        loop {
            let text = self.log_since(offset);
            if text.contains(&marker) {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!("{} exited ({status}) before listening:\n{text}", self.name);
            }
            if started.elapsed() > START_LIMIT {
                bail!(
                    "{} did not listen within {START_LIMIT:?}:\n{text}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The OS process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// SIGKILL, then reaps the process: no shutdown code runs.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("sending SIGKILL");
            tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .expect("the killed server did not exit within 10 s")
                .expect("waiting for the killed server");
        }
    }

    /// SIGTERM: the server shuts down gracefully.
    pub fn terminate(&self) {
        let pid = self.pid().expect("the server is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits (at most `limit`) for it to exit by itself; its exit status.
    pub async fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the server is running");
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status.expect("waiting for the server"),
            Err(_) => {
                let _ = child.start_kill();
                panic!(
                    "{} did not exit within {limit:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
        }
    }

    /// Starts it again on the same port, with the same configuration and environment.
    pub async fn restart(&mut self) {
        self.spawn().await.unwrap_or_else(|e| panic!("{e:#}"));
    }

    /// Everything it logged (all runs).
    pub fn log_text(&self) -> String {
        self.log_since(0)
    }

    fn log_since(&self, offset: u64) -> String {
        let bytes = std::fs::read(&self.log)
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.log.display()));
        let from = usize::try_from(offset).unwrap_or(0).min(bytes.len());
        String::from_utf8_lossy(&bytes[from..]).into_owned()
    }

    /// How often a log line containing `needle` appears (all runs).
    pub fn log_count(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// How often it has tried for the rotation lock, all runs. Needs a bed built with
    /// [`log_statements`](super::KeyBedBuilder::log_statements).
    pub fn lock_tries(&self) -> usize {
        assert!(
            self.env
                .iter()
                .any(|(k, v)| k == "RUST_LOG" && v == LOG_STATEMENTS),
            "{} does not log its statements: build the bed with .log_statements()",
            self.name
        );
        self.log_count(LOCK_TRY)
    }

    /// Waits until it has tried for the rotation lock `n` more times than `since` (a count from
    /// [`lock_tries`](Self::lock_tries)). Only a replica without the lock tries again, so each
    /// try but the last was refused, and a replica that has tried `n > 1` times since a moment
    /// has had a rotation tick's chance since then and did not get the lock.
    pub async fn wait_lock_tries(&self, since: usize, n: usize, limit: Duration) {
        let what = format!("{} to try for the rotation lock {n} more times", self.name);
        crate::poll::until(&what, limit, || async {
            (self.lock_tries() >= since + n).then_some(())
        })
        .await;
    }
}

/// What no server log may contain: the prefixes of the server's refresh tokens, authorization
/// codes and device codes, and the OIDC client secret every test config carries. The in-process
/// servers' logs are searched for the same by `secrets_at_rest`; this covers the real binaries.
const SECRET_MARKERS: [&str; 4] = ["tvr_", "tvc_", "tvd_", "dev-secret"];

impl Drop for ServerProcess {
    /// Stops the process, then fails the test that ran it if its log holds a secret.
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if std::thread::panicking() {
            return;
        }
        let Ok(log) = std::fs::read_to_string(&self.log) else {
            return;
        };
        for (n, line) in log.lines().enumerate() {
            if let Some(marker) = SECRET_MARKERS.iter().find(|m| line.contains(*m)) {
                panic!(
                    "{}'s log ({}) line {} holds `{marker}`: a secret was logged",
                    self.name,
                    self.log.display(),
                    n + 1
                );
            }
        }
    }
}
