//! User-facing errors: one `Error: …` line with the cause chain, an optional `hint: …`, an exit code.

use std::error::Error as StdError;
use std::fmt;

/// An error meant to be read by a person: a sentence, what to do about it, and the exit code.
///
/// Built with [`UserError::new`] or [`UserError::wrap`] and carried inside `anyhow::Error`;
/// [`report`] finds it anywhere in the chain to print its hint.
#[derive(Debug)]
pub struct UserError {
    message: String,
    hint: Option<String>,
    exit_code: u8,
    source: Option<anyhow::Error>,
}

impl UserError {
    /// An error with no underlying cause.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            exit_code: 1,
            source: None,
        }
    }

    /// An error explaining `source`, whose own message follows after `: `.
    pub fn wrap(message: impl Into<String>, source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(message)
        }
    }

    /// Adds the `hint: …` line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the process exit code (default 1).
    pub fn exit_code(mut self, code: u8) -> Self {
        self.exit_code = code;
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for UserError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_ref()
            .map(|e| e.as_ref() as &(dyn StdError + 'static))
    }
}

/// The one-line rendering of an error chain: every distinct cause joined by `": "`.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        // Some libraries repeat their source's text in their own message; print it once.
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// An error type of another layer (the HTTP client's, say) that knows what the person can do about
/// it. This module does not know those types; whoever reports an error names them (see [`hint_of`]).
pub trait HasHint: StdError + 'static {
    /// What the person can do about it.
    fn hint(&self) -> Option<&str>;
}

/// Asks one cause of an error for its hint, if the cause is of a type this function knows.
pub type HintOf = for<'a> fn(&'a (dyn StdError + 'static)) -> Option<&'a str>;

/// The [`HintOf`] for errors of type `E`.
pub fn hint_of<'a, E: HasHint>(cause: &'a (dyn StdError + 'static)) -> Option<&'a str> {
    cause.downcast_ref::<E>().and_then(E::hint)
}

/// The first hint found in the chain, outermost first: a [`UserError`]'s, or one that `layers`
/// find for the error types of other layers.
pub fn hint<'a>(err: &'a anyhow::Error, layers: &[HintOf]) -> Option<&'a str> {
    err.chain()
        .find_map(|cause| match cause.downcast_ref::<UserError>() {
            Some(user) => user.hint.as_deref(),
            None => layers.iter().find_map(|hint_of| hint_of(cause)),
        })
}

/// The exit code the process should end with for this error.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<UserError>().map(|u| u.exit_code))
        .unwrap_or(1)
}

/// Prints `Error: …` and, when there is one, `hint: …` on stderr; `layers` as for [`hint`].
pub fn report(err: &anyhow::Error, layers: &[HintOf]) {
    eprintln!("Error: {}", one_line(err));
    if let Some(hint) = hint(err, layers) {
        eprintln!("hint: {hint}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn an_error_prints_its_whole_cause_chain_on_one_line() {
        let err = Err::<(), _>(std::io::Error::other("disk on fire"))
            .context("writing tokens")
            .unwrap_err();
        assert_eq!(one_line(&err), "writing tokens: disk on fire");
    }

    #[test]
    fn a_hint_is_found_under_added_context() {
        let err = Err::<(), _>(UserError::new("not logged in").hint("run `vault login`"))
            .context("fetching credentials")
            .unwrap_err();
        assert_eq!(hint(&err, &[]), Some("run `vault login`"));
        assert_eq!(one_line(&err), "fetching credentials: not logged in");
    }

    #[test]
    fn a_wrapped_cause_follows_the_message_and_the_exit_code_is_kept() {
        let err: anyhow::Error = UserError::wrap(
            "command not found: nope",
            std::io::Error::other("os error 2"),
        )
        .exit_code(127)
        .into();
        assert_eq!(one_line(&err), "command not found: nope: os error 2");
        assert_eq!(exit_code(&err), 127);
    }
}
