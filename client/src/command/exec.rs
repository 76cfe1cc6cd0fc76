//! `vault exec PROFILE [-d DURATION] [--ecs-server | --ec2-server | --env-vars] [-- CMD ARGS…]`:
//! run a command with a profile's credentials, in its environment (the default; `exec_mode` in
//! the config file changes it) or from a local credential endpoint that vault serves and keeps
//! fresh while it supervises the command.

use std::ffi::OsString;
use std::process::{Command, ExitCode};

use clap::Parser;

use crate::config::{self, ExecMode};
use crate::credentials::{self, ProfileArgs, Source};
use crate::endpoint::{self, Kind};
use crate::env::{self, AWS_VAULT};
use crate::globals::Globals;
use crate::supervise::{cannot_run, supervise};

/// Run a command (default: your shell) with a profile's AWS credentials in its environment.
#[derive(Debug, Parser)]
#[command(group(clap::ArgGroup::new("mode").args(["ecs_server", "ec2_server", "env_vars"])))]
pub struct Cmd {
    #[command(flatten)]
    pub(crate) target: ProfileArgs,
    /// Serve the command a container credential endpoint, refreshed while it runs
    #[arg(long)]
    pub(crate) ecs_server: bool,
    /// Serve the command an IMDSv2 endpoint, refreshed while it runs
    #[arg(long)]
    pub(crate) ec2_server: bool,
    /// Put the credentials in the command's environment (the default unless `exec_mode` says
    /// otherwise)
    #[arg(long)]
    pub(crate) env_vars: bool,
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
        match self.mode()? {
            ExecMode::Env => {}
            ExecMode::Ecs => return self.run_served(globals, Kind::Ecs),
            ExecMode::Ec2 => return self.run_served(globals, Kind::Ec2),
        }
        let credentials = credentials::obtain(globals, &self.target)?;

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

impl Cmd {
    /// The flag's mode, else the config file's.
    fn mode(&self) -> anyhow::Result<ExecMode> {
        Ok(match (self.env_vars, self.ecs_server, self.ec2_server) {
            (true, _, _) => ExecMode::Env,
            (_, true, _) => ExecMode::Ecs,
            (_, _, true) => ExecMode::Ec2,
            _ => config::exec_mode()?,
        })
    }

    /// Serves an endpoint on a loopback port, runs the command as vault's child with the
    /// endpoint's variables, and stops serving (removing the token file) once it has exited.
    fn run_served(self, globals: &Globals, kind: Kind) -> anyhow::Result<ExitCode> {
        let source = Source::detect(globals, &self.target.ci)?;
        // Before the runtime: a cache miss starts a runtime of its own.
        let first = source.obtain(&self.target.profile, self.target.duration)?;
        let mut argv = self.command.into_iter();
        let program = argv.next().unwrap_or_else(default_shell);
        let fetch = endpoint::FromServer {
            source,
            profile: self.target.profile.clone(),
            duration: self.target.duration,
        };
        crate::runtime::single_threaded()?.block_on(async {
            let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let region = endpoint::region_of(&first);
            let served =
                endpoint::launch(kind, listen, &self.target.profile, &region, &first, fetch)
                    .await?;
            let (vars, token_file) = endpoint::child_vars(&served)?;
            let mut command = tokio::process::Command::new(&program);
            command.args(argv).env_clear().envs(env::endpoint_env(
                std::env::vars_os(),
                &first,
                &vars,
            ));
            let code = supervise(command, &program).await;
            served.stop().await;
            drop(token_file);
            code
        })
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
