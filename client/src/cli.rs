//! The top-level command line: the subcommand table, how each command is run, and usage errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::command::{
    admin, audit, completion, console, credential_process, exec, export, list, login, logout,
    serve, status, whoami,
};
use crate::config::ServerUrl;
use crate::globals::Globals;
use crate::store::Store;

/// Short-lived AWS credentials from your team's team-vault server.
#[derive(Debug, Parser)]
#[command(name = "vault", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in to the server (browser, or --device for a code)
    Login(login::Cmd),
    /// Log out: revoke the login and remove local tokens and cached sessions
    Logout(logout::Cmd),
    /// Show who you are logged in as
    Whoami(whoami::Cmd),
    /// Show the server, whether it answers, your login and the cached sessions
    Status(status::Cmd),
    /// List the profiles you may use
    List(list::Cmd),
    /// Run a command (default: your shell) with a profile's AWS credentials
    Exec(exec::Cmd),
    /// Serve a profile's credentials on a local endpoint (ECS or IMDS) until interrupted
    Serve(serve::Cmd),
    /// Print a profile's AWS credentials as env, json or ini
    Export(export::Cmd),
    /// Print credentials for the AWS SDKs' `credential_process` setting
    CredentialProcess(credential_process::Cmd),
    /// Open the AWS console as a profile's role (or print its sign-in URL with --stdout)
    Console(console::Cmd),
    /// Search, follow, verify and export the audit log (admins)
    Audit(Box<audit::Cmd>),
    /// See and rotate the IAM keys the server signs with (admins)
    Admin(admin::Cmd),
    /// Print the shell code completing vault's commands and profile names
    Completion(completion::Cmd),
}

impl Cli {
    /// Runs the chosen command. Only commands that must talk to the server start a runtime up
    /// front; the credential commands start one only when the cache cannot answer.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let g = &self.globals;
        match self.command {
            Command::Exec(cmd) => cmd.run(g),
            Command::Serve(cmd) => cmd.run(g),
            Command::Export(cmd) => cmd.run(g).map(|()| ExitCode::SUCCESS),
            Command::CredentialProcess(cmd) => cmd.run(g).map(|()| ExitCode::SUCCESS),
            Command::Login(cmd) => with_runtime(g, |server, store| cmd.run(server, store)),
            Command::Logout(cmd) => with_runtime(g, |server, store| cmd.run(server, store)),
            Command::Whoami(cmd) => with_runtime(g, |server, store| cmd.run(server, store)),
            Command::List(cmd) => with_runtime(g, |server, store| cmd.run(server, store)),
            Command::Status(cmd) => with_runtime(g, |server, store| cmd.run(server, store)),
            Command::Console(cmd) => with_runtime(g, |server, store| cmd.run(server, store)),
            Command::Audit(cmd) => on_runtime(g, |server, store| cmd.run(server, store)),
            Command::Admin(cmd) => with_runtime(g, |server, store| cmd.run(server, store)),
            Command::Completion(cmd) => cmd.run().map(|()| ExitCode::SUCCESS),
        }
    }
}

/// Prints a command-line parsing error as `Error: …` / `hint: …` (help and version as usual).
pub fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
    }
    let (message, hint) = usage_text(&err.to_string());
    eprintln!("Error: {message}");
    eprintln!("hint: {hint}");
    ExitCode::from(2)
}

/// Splits clap's rendered error into one line and a hint (its tip, else its usage line).
fn usage_text(rendered: &str) -> (String, String) {
    let blocks: Vec<&str> = rendered.split("\n\n").map(str::trim).collect();
    let message = blocks
        .first()
        .unwrap_or(&"")
        .trim_start_matches("error: ")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let tip = blocks.iter().find_map(|b| b.strip_prefix("tip: "));
    let usage = blocks.iter().find_map(|b| b.strip_prefix("Usage: "));
    let hint = match (tip, usage) {
        (Some(tip), _) => tip.to_owned(),
        (None, Some(usage)) => format!("usage: {usage}"),
        (None, None) => "run `vault --help`".to_owned(),
    };
    (message, hint)
}

/// Runs a command on a fresh runtime (see [`on_runtime`]); it succeeds with exit code 0.
fn with_runtime<F, Fut>(globals: &Globals, command: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(ServerUrl, Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    on_runtime(globals, command).map(|()| ExitCode::SUCCESS)
}

/// Opens the server's store, then runs `command` on a fresh runtime. The store is opened first
/// because choosing the keyring may talk to the Secret Service, which must not run inside one.
fn on_runtime<T, F, Fut>(globals: &Globals, command: F) -> anyhow::Result<T>
where
    F: FnOnce(ServerUrl, Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let (server, store) = globals.open()?;
    crate::runtime::single_threaded()?.block_on(command(server, store))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exec_takes_the_command_after_a_double_dash_with_its_own_flags() {
        let cli =
            Cli::try_parse_from(["vault", "exec", "dev", "-d", "1h", "--", "aws", "--version"])
                .unwrap();
        let Command::Exec(cmd) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(cmd.target.profile, "dev");
        assert_eq!(cmd.target.duration, Some(3600));
        assert_eq!(cmd.command, ["aws", "--version"]);
    }

    #[test]
    fn the_exec_modes_exclude_each_other() {
        let ecs =
            Cli::try_parse_from(["vault", "exec", "dev", "--ecs-server", "--", "true"]).unwrap();
        let Command::Exec(cmd) = ecs.command else {
            panic!("not exec")
        };
        assert!(cmd.ecs_server && !cmd.ec2_server && !cmd.env_vars);
        for pair in [
            ["--ecs-server", "--ec2-server"],
            ["--ecs-server", "--env-vars"],
            ["--ec2-server", "--env-vars"],
        ] {
            let err = Cli::try_parse_from(["vault", "exec", "dev", pair[0], pair[1]]).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{pair:?}"
            );
        }
    }

    #[test]
    fn serve_is_ecs_on_loopback_by_default_and_takes_one_kind() {
        let cli = Cli::try_parse_from(["vault", "serve", "dev"]).unwrap();
        let Command::Serve(cmd) = cli.command else {
            panic!("not serve")
        };
        assert!(!cmd.ecs && !cmd.ec2);
        assert_eq!(cmd.listen, "127.0.0.1:0".parse().unwrap());
        let err = Cli::try_parse_from(["vault", "serve", "dev", "--ecs", "--ec2"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn ci_flags_are_taken_by_the_credential_commands_after_their_name() {
        let exec = Cli::try_parse_from([
            "vault",
            "exec",
            "--ci-token-file",
            "/run/jwt",
            "deploy",
            "--",
            "./deploy.sh",
        ])
        .unwrap();
        let Command::Exec(cmd) = exec.command else {
            panic!("not exec")
        };
        assert_eq!(
            cmd.target.ci.ci_token_file.as_deref(),
            Some(std::path::Path::new("/run/jwt"))
        );
        assert_eq!(cmd.command, ["./deploy.sh"]);
        let export = Cli::try_parse_from([
            "vault",
            "export",
            "deploy",
            "--ci-token-env",
            "MY_JWT",
            "--ci-audience",
            "aud",
        ])
        .unwrap();
        let Command::Export(cmd) = export.command else {
            panic!("not export")
        };
        assert_eq!(cmd.target.ci.ci_token_env.as_deref(), Some("MY_JWT"));
        assert_eq!(cmd.target.ci.audience(), "aud");
        for command in ["credential-process", "serve"] {
            assert!(
                Cli::try_parse_from(["vault", command, "dev", "--ci-token-env", "V"]).is_ok(),
                "{command}"
            );
        }
    }

    #[test]
    fn ci_flags_appear_only_in_the_help_of_the_commands_that_hand_out_credentials() {
        let mut cli = Cli::command();
        cli.build();
        let help_of = |name: &str| {
            let mut sub = cli.find_subcommand(name).unwrap().clone();
            sub.render_long_help().to_string()
        };
        for name in ["exec", "export", "credential-process", "serve"] {
            assert!(help_of(name).contains("--ci-token-file"), "{name}");
        }
        for name in [
            "login", "logout", "whoami", "status", "list", "audit", "admin",
        ] {
            assert!(!help_of(name).contains("--ci-"), "{name}");
        }
        assert!(!Cli::command()
            .render_long_help()
            .to_string()
            .contains("--ci-"));
        let err = Cli::try_parse_from(["vault", "list", "--ci-token-env", "V"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn a_token_file_and_a_token_variable_are_not_taken_together() {
        let err = Cli::try_parse_from([
            "vault",
            "credential-process",
            "dev",
            "--ci-token-file",
            "f",
            "--ci-token-env",
            "V",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn an_unparseable_duration_is_refused_before_anything_runs() {
        let err = Cli::try_parse_from(["vault", "exec", "dev", "-d", "soon"]).unwrap_err();
        let (message, _) = usage_text(&err.to_string());
        assert!(
            message.starts_with("invalid value 'soon' for '--duration"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_argument_reads_as_one_line_with_the_usage_as_hint() {
        let err = Cli::try_parse_from(["vault", "exec"]).unwrap_err();
        let (message, hint) = usage_text(&err.to_string());
        assert_eq!(
            message,
            "the following required arguments were not provided: <PROFILE>"
        );
        assert!(hint.starts_with("usage: vault exec"), "{hint}");
    }
}
