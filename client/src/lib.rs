//! `vault`, the team-vault command line: logs a person in to the team-vault server and hands AWS
//! credentials to programs, with aws-vault's commands (`exec`, `export`, `credential-process`, …).
//!
//! The warm path (`vault exec` with cached credentials) reads one store entry and `exec`s: no async
//! runtime, HTTP client or token handling is set up unless the cache cannot answer.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod command;
pub mod completion;
pub mod config;
pub mod credentials;
pub mod duration;
pub mod endpoint;
pub mod env;
pub mod error;
pub mod globals;
pub mod http;
pub mod known_profiles;
pub mod opener;
pub mod output;
pub mod runtime;
pub mod store;
pub mod supervise;
pub mod table;
#[cfg(test)]
mod test_server;

use std::process::ExitCode;

use clap::Parser;

/// The error types of other layers whose hints [`main`] prints.
const HINTS: &[error::HintOf] = &[error::hint_of::<http::ApiError>];

/// Runs the command line and turns any error into `Error: …` / `hint: …` and an exit code.
pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("Error: vault crashed: {info}");
        eprintln!("hint: this is a bug in vault; please report it with the command you ran");
    }));
    // A Tab in a shell set up by `vault completion`: answer it and exit before anything else.
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command)
        .var(completion::VAR)
        .complete();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return cli::usage_error(err),
    };
    match cli.run() {
        Ok(code) => code,
        Err(err) => {
            error::report(&err, HINTS);
            ExitCode::from(error::exit_code(&err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn an_http_errors_hint_is_printed_under_added_context() {
        let err = Err::<(), _>(http::ApiError::Unauthorized {
            message: "token expired".into(),
        })
        .context("listing profiles")
        .unwrap_err();
        assert_eq!(error::hint(&err, HINTS), Some("run `vault login`"));
        assert_eq!(error::one_line(&err), "listing profiles: token expired");
    }

    #[test]
    fn the_outermost_hint_wins_and_an_http_errors_is_found_inside_a_user_error() {
        let err: anyhow::Error = error::UserError::wrap(
            "the export was cut off",
            http::ApiError::Unauthorized {
                message: "no".into(),
            },
        )
        .hint("run the export again")
        .into();
        assert_eq!(error::hint(&err, HINTS), Some("run the export again"));
        let bare: anyhow::Error = error::UserError::wrap(
            "fetching credentials",
            http::ApiError::Unauthorized {
                message: "no".into(),
            },
        )
        .into();
        assert_eq!(error::hint(&bare, HINTS), Some("run `vault login`"));
    }
}
