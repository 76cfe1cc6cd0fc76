//! `vault`, the team-vault command line: logs a person in to the team-vault server and hands AWS
//! sessions to programs, with aws-vault's commands (`exec`, `export`, `credential-process`, …).
//!
//! The warm path (`vault exec` with a cached session) reads one store entry and `exec`s: no async
//! runtime, HTTP client or token handling is set up unless the cache cannot answer.

pub mod auth;
pub mod cli;
pub mod command;
pub mod config;
pub mod duration;
pub mod env;
pub mod error;
pub mod http;
pub mod session;
pub mod store;
pub mod table;
#[cfg(test)]
mod test_server;

use std::process::ExitCode;

use clap::Parser;

/// Runs the command line and turns any error into `Error: …` / `hint: …` and an exit code.
pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("Error: vault crashed: {info}");
        eprintln!("hint: this is a bug in vault; please report it with the command you ran");
    }));
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return cli::usage_error(err),
    };
    match cli.run() {
        Ok(code) => code,
        Err(err) => {
            error::report(&err);
            ExitCode::from(error::exit_code(&err))
        }
    }
}

/// Writes command output to stdout; a reader that went away (`vault list | head -1`) is not an error.
pub fn print_out(text: &str) -> anyhow::Result<()> {
    write_out(text).map(drop)
}

/// Like [`print_out`], telling whether the reader is still there (`false` once it went away), so
/// that a command printing without end (`vault audit --follow | head`) can stop.
pub fn write_out(text: &str) -> anyhow::Result<bool> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A single-threaded async runtime, built only for commands that talk to the server.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Whether we run in CI (`CI=true`): never open a browser, never prompt.
pub fn in_ci() -> bool {
    auth::ci::in_ci(&auth::ci::process_env)
}

/// The one clock: everything else takes the time as a parameter.
pub mod clock {
    /// Now, in Unix seconds.
    pub fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}
