//! Child processes whose output is read line by line while they run, with bounded waits.

use anyhow::{bail, Context, Result};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a finished process left behind.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics with both streams unless the process exited 0.
    #[track_caller]
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.status.success(),
            "{what} failed ({}):\n{self}",
            self.status
        );
        self
    }

    /// Panics unless the process exited non-zero.
    #[track_caller]
    pub fn assert_failure(&self, what: &str) -> &Self {
        assert!(
            !self.status.success(),
            "{what} was expected to fail but exited 0:\n{self}"
        );
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- status: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A running child process.
pub struct Running {
    child: Child,
    lines: mpsc::UnboundedReceiver<(Stream, String)>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    what: String,
}

fn pump<R: AsyncRead + Unpin + Send + 'static>(
    reader: R,
    stream: Stream,
    sink: Arc<Mutex<String>>,
    tx: mpsc::UnboundedSender<(Stream, String)>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            {
                let mut all = sink.lock().unwrap_or_else(|e| e.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
            let _ = tx.send((stream, line));
        }
    })
}

impl Running {
    /// Spawns `cmd` with piped stdout/stderr and no stdin; the child dies with this value.
    pub fn spawn(mut cmd: Command, what: &str) -> Result<Running> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("starting {what}"))?;
        let (tx, lines) = mpsc::unbounded_channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            pump(
                child.stdout.take().expect("piped"),
                Stream::Stdout,
                stdout.clone(),
                tx.clone(),
            ),
            pump(
                child.stderr.take().expect("piped"),
                Stream::Stderr,
                stderr.clone(),
                tx,
            ),
        ];
        Ok(Running {
            child,
            lines,
            stdout,
            stderr,
            readers,
            what: what.to_owned(),
        })
    }

    /// The child's process id (None once it has been reaped).
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    fn seen(&self) -> String {
        format!(
            "--- stdout so far:\n{}\n--- stderr so far:\n{}",
            self.stdout.lock().unwrap_or_else(|e| e.into_inner()),
            self.stderr.lock().unwrap_or_else(|e| e.into_inner())
        )
    }

    /// Waits (at most `limit`) for the first line satisfying `pred`; returns it.
    pub async fn wait_for_line(
        &mut self,
        limit: Duration,
        mut pred: impl FnMut(Stream, &str) -> bool,
    ) -> Result<String> {
        let found = tokio::time::timeout(limit, async {
            while let Some((stream, line)) = self.lines.recv().await {
                if pred(stream, &line) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => Ok(line),
            Ok(None) => bail!(
                "{} closed its output before the expected line\n{}",
                self.what,
                self.seen()
            ),
            Err(_) => bail!(
                "{} printed no expected line within {limit:?}\n{}",
                self.what,
                self.seen()
            ),
        }
    }

    /// Waits (at most `limit`) for exit and collects the output; kills the child on timeout.
    pub async fn finish(mut self, limit: Duration) -> Result<Output> {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                let _ = self.child.kill().await;
                bail!(
                    "{} did not exit within {limit:?}\n{}",
                    self.what,
                    self.seen()
                );
            }
        };
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        let stdout = self
            .stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// Runs `cmd` to completion (at most `limit`).
pub async fn run(cmd: Command, what: &str, limit: Duration) -> Result<Output> {
    Running::spawn(cmd, what)?.finish(limit).await
}
