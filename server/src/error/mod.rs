//! The server's answers to failures: one error type for the JSON API (`api`) and one for the
//! OAuth endpoints (`oauth`), each with the one mapping of every lower failure into it.

mod api;
mod oauth;

pub use api::{ApiError, BODY_LIMIT};
pub use oauth::{OAuthCode, OAuthError};
