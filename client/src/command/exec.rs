//! `vault exec PROFILE [-d DURATION] [-- CMD ARGS…]`: run a command with a profile's credentials.

use std::ffi::OsString;
use std::process::{Command, ExitCode};

use clap::Parser;

use crate::credentials;
use crate::duration::parse_duration_seconds;
use crate::env::{self, AWS_VAULT};
use crate::globals::Globals;
use crate::supervise::cannot_run;

/// Run a command (default: your shell) with a profile's AWS credentials in its environment.
#[derive(Debug, Parser)]
pub struct Cmd {
    /// The profile to assume (see `vault list`)
    pub(crate) profile: String,
    /// Session length, e.g. 1h or 900s (default: the profile's default)
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration_seconds)]
    pub(crate) duration: Option<u32>,
    /// The command and its arguments, after `--` (default: $SHELL)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub(crate) command: Vec<OsString>,
}

impl Cmd {
    /// Replaces this process with the command (Unix), or runs it and returns its exit code.
    pub fn run(self, globals: &Globals) -> anyhow::Result<ExitCode> {
        env::refuse_nesting(std::env::var_os(AWS_VAULT))?;
        let credentials = credentials::obtain(globals, &self.profile, self.duration)?;

        let mut argv = self.command.into_iter();
        let program = argv.next().unwrap_or_else(default_shell);
        let mut command = Command::new(&program);
        command
            .args(argv)
            .env_clear()
            .envs(env::exec_env(std::env::vars_os(), &credentials));
        run_command(command, &program)
    }
}

/// `$SHELL`, or `/bin/sh` without one.
fn default_shell() -> OsString {
    std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into())
}

/// On Unix the command takes over this process, so its exit code and signals are its own.
#[cfg(unix)]
fn run_command(mut command: Command, program: &OsString) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let err = command.exec();
    Err(cannot_run(err, program))
}

#[cfg(not(unix))]
fn run_command(mut command: Command, program: &OsString) -> anyhow::Result<ExitCode> {
    let status = command.status().map_err(|e| cannot_run(e, program))?;
    let code = status.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
