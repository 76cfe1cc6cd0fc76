//! Runs a command as vault's child while vault keeps working for it (serving its credential
//! endpoint): a signal another process sends vault reaches the child once, the child's exit
//! code becomes vault's, and a child whose supervisor was told to stop is not left behind.
//!
//! The child shares vault's terminal and process group, so a signal the terminal raises
//! (Ctrl-C, Ctrl-\, a window resize) already reaches it from the kernel; forwarding those too
//! would deliver them twice (a second Ctrl-C makes terraform abandon its state lock). Only
//! signals sent by a process (`kill`, a service manager) are forwarded, which the kernel tells
//! apart in the signal's origin.

use std::ffi::OsStr;
use std::io;
use std::process::ExitCode;

use crate::error::UserError;

/// Signals passed on to the child when another process sends them to vault.
#[cfg(unix)]
pub const FORWARDED: [i32; 7] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
    signal_hook::consts::SIGWINCH,
    signal_hook::consts::SIGUSR1,
    signal_hook::consts::SIGUSR2,
];

/// Spawns `command` (killed if this future is dropped), forwards signals to it until it exits,
/// and returns its exit code (128 + N when signal N ended it, as shells report it).
pub async fn supervise(
    mut command: tokio::process::Command,
    program: &OsStr,
) -> anyhow::Result<ExitCode> {
    command.kill_on_drop(true);
    #[cfg(unix)]
    let forwarding = unix::Forwarding::register()?;
    let mut child = command.spawn().map_err(|e| cannot_run(e, program))?;
    #[cfg(unix)]
    let forwarding = forwarding.to(child.id());
    let status = child.wait().await;
    #[cfg(unix)]
    forwarding.stop();
    let status = status.map_err(|e| UserError::wrap("lost track of the command", e))?;
    Ok(ExitCode::from(exit_code(status)))
}

/// The shell's number for how the child ended.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(255);
        }
    }
    1
}

/// Shell conventions: 127 when the command does not exist, 126 when it cannot be run.
pub fn cannot_run(err: io::Error, program: &OsStr) -> anyhow::Error {
    let name = program.to_string_lossy();
    let error = if err.kind() == io::ErrorKind::NotFound {
        UserError::wrap(format!("command not found: {name}"), err)
            .exit_code(127)
            .hint("check the command's name and your PATH")
    } else {
        UserError::wrap(format!("cannot run {name}"), err).exit_code(126)
    };
    error.into()
}

#[cfg(unix)]
mod unix {
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;

    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use signal_hook::iterator::exfiltrator::WithOrigin;
    use signal_hook::iterator::{Handle, SignalsInfo};
    use signal_hook::low_level::siginfo::Cause;

    use super::FORWARDED;

    /// Signals caught from before the child starts (none is lost in between), forwarded by a
    /// thread of their own once the child's pid is known.
    pub struct Forwarding {
        signals: Option<SignalsInfo<WithOrigin>>,
        handle: Handle,
        /// The child's pid while it runs; `None` before it starts and once it has exited (so a
        /// late signal never reaches a process that reused the pid).
        target: Arc<Mutex<Option<Pid>>>,
        thread: Option<JoinHandle<()>>,
    }

    impl Forwarding {
        pub fn register() -> std::io::Result<Self> {
            let signals = SignalsInfo::<WithOrigin>::new(FORWARDED)?;
            Ok(Forwarding {
                handle: signals.handle(),
                signals: Some(signals),
                target: Arc::new(Mutex::new(None)),
                thread: None,
            })
        }

        /// Starts forwarding to `pid` (none if the child has no pid: it already exited).
        pub fn to(mut self, pid: Option<u32>) -> Self {
            let pid = pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw);
            *self.target.lock().unwrap_or_else(|e| e.into_inner()) = pid;
            let (Some(mut signals), target) = (self.signals.take(), self.target.clone()) else {
                return self;
            };
            self.thread = Some(std::thread::spawn(move || {
                for info in &mut signals {
                    if matches!(info.cause, Cause::Kernel) {
                        // Raised by the terminal for its whole foreground group: the child has it.
                        continue;
                    }
                    let Ok(signal) = Signal::try_from(info.signal) else {
                        continue;
                    };
                    if let Some(pid) = *target.lock().unwrap_or_else(|e| e.into_inner()) {
                        let _ = kill(pid, signal);
                    }
                }
            }));
            self
        }

        /// The child has exited: forward nothing more, and end the thread.
        pub fn stop(mut self) {
            *self.target.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.handle.close();
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// One test at a time: a signal sent to this process reaches every supervised child.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    fn sh(script: &str) -> tokio::process::Command {
        let mut c = tokio::process::Command::new("/bin/sh");
        c.args(["-c", script]);
        c
    }

    async fn code_of(script: &str) -> ExitCode {
        supervise(sh(script), OsStr::new("sh")).await.unwrap()
    }

    #[tokio::test]
    async fn the_childs_exit_code_is_returned_and_a_signal_death_is_128_plus_the_signal() {
        let _one = SERIAL.lock().await;
        assert_eq!(code_of("exit 3").await, ExitCode::from(3));
        assert_eq!(code_of("exit 0").await, ExitCode::SUCCESS);
        assert_eq!(code_of("kill -TERM $$").await, ExitCode::from(143));
    }

    #[tokio::test]
    async fn a_missing_command_exits_127_and_a_forbidden_one_126() {
        let _one = SERIAL.lock().await;
        let missing = supervise(
            tokio::process::Command::new("no-such-tool-anywhere"),
            OsStr::new("no-such-tool-anywhere"),
        )
        .await
        .unwrap_err();
        assert_eq!(crate::error::exit_code(&missing), 127);
        assert!(missing
            .to_string()
            .starts_with("command not found: no-such-tool-anywhere"));
        let denied = cannot_run(
            io::Error::from(io::ErrorKind::PermissionDenied),
            OsStr::new("x"),
        );
        assert_eq!(crate::error::exit_code(&denied), 126);
    }

    #[tokio::test]
    async fn a_term_another_process_sends_vault_reaches_the_child_once() {
        let _one = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready");
        let count = dir.path().join("count");
        let script = format!(
            "trap 'echo term >> {count}; exit 42' TERM; : > {ready}; while :; do sleep 0.02; done",
            count = count.display(),
            ready = ready.display()
        );
        let running = tokio::spawn(async move { supervise(sh(&script), OsStr::new("sh")).await });
        for _ in 0..500 {
            if ready.exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(ready.exists(), "the child never started");
        nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGTERM).unwrap();
        let code = tokio::time::timeout(std::time::Duration::from_secs(10), running)
            .await
            .expect("the child to exit")
            .unwrap()
            .unwrap();
        assert_eq!(code, ExitCode::from(42));
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "term\n");
    }
}
