//! Shell completion, answered by `vault` itself: the script `vault completion SHELL` prints makes
//! the shell run `VAULT_COMPLETE=SHELL vault -- WORDS…` on each Tab (clap_complete's dynamic
//! engine), so subcommands and flags are always those of the installed binary, and profile names
//! come from the list the CLI last fetched ([`crate::known_profiles`]), with no network call.

use std::ffi::OsStr;

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::known_profiles;

/// The variable that turns a run of `vault` into a completion request.
pub const VAR: &str = "VAULT_COMPLETE";

/// Completes a profile name from the names the server last listed (for the server in
/// `VAULT_SERVER_URL` or the config file; `--server` on the line being completed is not read).
pub fn profile_names() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| {
        let Some(prefix) = current.to_str() else {
            return Vec::new();
        };
        // `--server` has the variable as its default, which the config file does not see.
        let from_env = std::env::var("VAULT_SERVER_URL").ok();
        let Ok(files) = crate::config::server_url(from_env.as_deref())
            .and_then(|server| crate::store::local_files(&server))
        else {
            return Vec::new();
        };
        matching(known_profiles::read(&files), prefix)
    })
}

/// The names starting with `prefix`, as candidates.
fn matching(names: Vec<String>, prefix: &str) -> Vec<CompletionCandidate> {
    names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_with_the_typed_prefix_are_offered() {
        let names = vec!["dev".to_owned(), "deploy".to_owned(), "prod".to_owned()];
        let got: Vec<String> = matching(names, "de")
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["dev", "deploy"]);
    }
}
