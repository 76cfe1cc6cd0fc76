//! A Postgres cluster of a test's own, for tests that break the database itself: `kill -9` of
//! the postmaster, a restart on the same port, SIGSTOP/SIGCONT of every process of the cluster.
//! Durable (`fsync`, `synchronous_commit` on), on a free 127.0.0.1 port, no Unix socket, trust
//! auth. As root the Postgres tools run as `VAULT_TEST_PG_USER` (tests/run sets it and
//! `VAULT_TEST_PG_BIN`). Dropping it kills every process it started and removes its directory.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::Command;

use crate::process::{run, Output};

/// How long starting (crash recovery included) may take.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running private cluster.
pub struct OwnPostgres {
    /// `postgres://postgres@127.0.0.1:PORT/postgres` (superuser, trust auth).
    pub url: String,
    pub port: u16,
    bin: PathBuf,
    run_as: Option<String>,
    /// Removed on drop; holds `data/`.
    dir: tempfile::TempDir,
}

impl OwnPostgres {
    /// `initdb`, then starts the cluster and waits until it accepts connections.
    pub async fn start() -> OwnPostgres {
        Self::try_start()
            .await
            .unwrap_or_else(|e| panic!("starting a private Postgres: {e:#}"))
    }

    async fn try_start() -> Result<OwnPostgres> {
        let bin: PathBuf = std::env::var("VAULT_TEST_PG_BIN")
            .context("VAULT_TEST_PG_BIN is not set; run tests/run")?
            .into();
        let run_as = std::env::var("VAULT_TEST_PG_USER")
            .ok()
            .filter(|u| !u.is_empty());
        let dir = tempfile::Builder::new()
            .prefix("vault-own-pg-")
            .tempdir_in(std::env::temp_dir())?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data)?;
        if let Some(user) = &run_as {
            // The cluster's user must own its data directory and pass through its parent.
            set_mode(dir.path(), 0o711)?;
            let mut chown = Command::new("chown");
            chown.arg(user).arg(&data);
            run(chown, "chown", Duration::from_secs(10))
                .await?
                .assert_success("chown of the data directory");
        }
        let port = crate::owned_keys::server::free_port();
        let pg = OwnPostgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            port,
            bin,
            run_as,
            dir,
        };
        let data = pg.data().to_string_lossy().into_owned();
        pg.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--no-locale",
            ],
        )
        .await?;
        let conf = "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
                    fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n\
                    max_connections = 100\nshared_buffers = 16MB\n";
        let path = pg.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path)?;
        text.push_str(conf);
        std::fs::write(&path, text)?;
        pg.start_server().await?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a Postgres tool from `VAULT_TEST_PG_BIN`, as the cluster's user.
    async fn tool(&self, name: &str, args: &[&str]) -> Result<Output> {
        let program = self.bin.join(name);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        cmd.args(args);
        let out = run(cmd, name, START_LIMIT).await?;
        if out.code() != Some(0) {
            bail!("{name} failed: {out}");
        }
        Ok(out)
    }

    /// `pg_ctl start` on the cluster's port (crash recovery first, after a kill), waiting until
    /// it accepts connections; retried while processes of the killed cluster still go away.
    async fn start_server(&self) -> Result<()> {
        let data = self.data().to_string_lossy().into_owned();
        let log = self
            .data()
            .join("postgres.log")
            .to_string_lossy()
            .into_owned();
        let port = format!("-p {}", self.port);
        let started = Instant::now();
        loop {
            let tried = self
                .tool(
                    "pg_ctl",
                    &[
                        "start", "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &port,
                    ],
                )
                .await;
            match tried {
                Ok(_) => return Ok(()),
                Err(e) if started.elapsed() > START_LIMIT => {
                    let log = std::fs::read_to_string(self.data().join("postgres.log"))
                        .unwrap_or_default();
                    return Err(e.context(format!("Postgres log:\n{log}")));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// The postmaster's process id (first line of `postmaster.pid`).
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The postmaster and every process it started (backends, checkpointer, WAL writer, …).
    pub fn processes(&self) -> Vec<u32> {
        let Some(root) = self.postmaster_pid() else {
            return Vec::new();
        };
        if !Path::new(&format!("/proc/{root}")).exists() {
            return Vec::new();
        }
        let mut pids = vec![root];
        pids.extend(children_of(root));
        pids
    }

    /// `kill -9` of the postmaster alone, as a crash would; its children notice and exit.
    pub async fn kill9_postmaster(&self) {
        let pids = self.processes();
        assert!(!pids.is_empty(), "Postgres is not running");
        signal("KILL", &pids[..1]).await;
        crate::poll::until(
            "the killed cluster's processes to exit",
            Duration::from_secs(30),
            || async { pids.iter().all(|p| !alive(*p)).then_some(()) },
        )
        .await;
    }

    /// Starts the cluster again on the same port (after `kill9_postmaster`).
    pub async fn restart(&self) {
        self.start_server()
            .await
            .unwrap_or_else(|e| panic!("restarting the private Postgres: {e:#}"));
    }

    /// SIGSTOP to every process of the cluster: connections stay open, nothing answers. The
    /// cluster runs again when the guard is resumed or dropped (so a failing test does not leave
    /// the server's shutdown waiting on a stopped database).
    pub async fn stop_all(&self) -> Stopped<'_> {
        let pids = self.processes();
        assert!(!pids.is_empty(), "no Postgres process to stop");
        signal("STOP", &pids).await;
        Stopped {
            pids,
            resumed: false,
            _cluster: self,
        }
    }
}

/// A stopped cluster; see [`OwnPostgres::stop_all`].
pub struct Stopped<'a> {
    pids: Vec<u32>,
    resumed: bool,
    _cluster: &'a OwnPostgres,
}

impl Stopped<'_> {
    /// SIGCONT to every process that was stopped.
    pub async fn resume(mut self) {
        signal("CONT", &self.pids).await;
        self.resumed = true;
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if !self.resumed {
            let _ = std::process::Command::new("kill")
                .arg("-CONT")
                .args(self.pids.iter().map(u32::to_string))
                .status();
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        // Drop cannot await: plain std processes. A stopped cluster is continued first so the
        // kill is not left pending; then every process goes, and the directory with the TempDir.
        let pids = self.processes();
        if pids.is_empty() {
            return;
        }
        let args: Vec<String> = pids.iter().map(u32::to_string).collect();
        for sig in ["-CONT", "-KILL"] {
            let _ = std::process::Command::new("kill")
                .arg(sig)
                .args(&args)
                .status();
        }
        let until = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|p| alive(*p)) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Processes whose parent is `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| parent_of(*p) == Some(pid))
        .collect()
}

/// The parent of `pid` (field 4 of /proc/PID/stat, after the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

async fn signal(name: &str, pids: &[u32]) {
    let mut cmd = Command::new("kill");
    cmd.arg(format!("-{name}"))
        .args(pids.iter().map(u32::to_string));
    run(cmd, "kill", Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("kill -{name}: {e:#}"))
        .assert_success(&format!("kill -{name} {pids:?}"));
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}
