//! Wire types of `POST /v1/console`: a sign-in URL for the AWS Management Console.

use serde::{Deserialize, Serialize};

/// `POST /v1/console` body. `service` and `destination` exclude each other; without either the
/// URL lands on the console home of `region` (default: the profile's region).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleRequest {
    pub profile: String,
    /// Session length in seconds (default: the profile's `default_duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A console by name (`s3`, `ec2`, `iam`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// An `https` URL on the partition's console domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// Answer of `POST /v1/console`. The URL is a credential: whoever opens it within 15 minutes is
/// signed in to the console as the session, so it is never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleLogin {
    pub url: String,
    /// RFC 3339 time the console session ends.
    pub expires_at: String,
}

impl std::fmt::Debug for ConsoleLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleLogin")
            .field("url", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_login_hides_its_url_from_debug_output() {
        let login = ConsoleLogin {
            url: "https://signin.aws.amazon.com/federation?SigninToken=very-secret".into(),
            expires_at: "2026-01-01T00:00:00Z".into(),
        };
        assert!(!format!("{login:?}").contains("very-secret"));
    }
}
