//! What can go wrong with the IdP, as the login and refresh flows tell it apart.

/// Failures talking to the IdP or checking what it said.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the identity provider is unreachable right now; try again in a minute ({0})")]
    Unreachable(String),
    #[error("the identity provider's answer was refused: {0}")]
    Rejected(String),
    /// The IdP vouched for someone this server will not log in (`code` names why, for the audit).
    #[error("{reason}")]
    Refused {
        code: &'static str,
        /// The ID token's subject (not a secret), for the audit trail.
        subject: String,
        reason: String,
    },
    /// The IdP no longer accepts the login (a disabled or removed person, a revoked grant).
    #[error("{0}")]
    Gone(String),
    /// Nothing is left to ask the IdP with (no refresh token, the access token expired).
    #[error("{0}")]
    NoTokens(String),
}

/// An error and its sources, for a log line or a reason.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
