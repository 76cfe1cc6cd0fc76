//! `[console]`: how `POST /v1/console` reaches the AWS federation endpoint (`getSigninToken`).
//! By default the endpoint follows each profile's role ARN partition (aws, aws-cn, aws-us-gov);
//! `federation_url` replaces it for every profile (a proxy, or a local stand-in in tests and the
//! demo, since the real one is reachable only on the internet).

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::{login::is_loopback, problems::Problems};

/// Console sign-in settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Replaces the partition's federation endpoint; `None`: AWS's own for the role's partition.
    pub federation_url: Option<Url>,
    /// Bound on one `getSigninToken` call, connecting included.
    pub timeout: Duration,
}

/// The longest `timeout` accepted: the call happens inside a request bounded by `[timeouts]`.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            federation_url: None,
            timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConsole {
    federation_url: Option<String>,
    timeout: Option<String>,
}

impl RawConsole {
    pub(super) fn validate(self, p: &mut Problems) -> ConsoleConfig {
        let default = ConsoleConfig::default();
        let federation_url = self.federation_url.as_deref().and_then(|text| {
            let url = p.url("console.federation_url", text)?;
            // The session's secret key travels to it: https, or plain http on loopback only.
            if url.scheme() == "https" || is_loopback(&url) {
                return Some(url);
            }
            p.push(format!(
                "console.federation_url: `{url}` is plain http on a non-loopback host; use https"
            ));
            None
        });
        let timeout = match self.timeout.as_deref() {
            Some(t) => p.duration("console.timeout", t).unwrap_or(default.timeout),
            None => default.timeout,
        };
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            p.push("console.timeout: must be longer than 0s and at most 60s".into());
        }
        ConsoleConfig {
            federation_url,
            timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> (ConsoleConfig, Vec<String>) {
        let raw: RawConsole = toml::from_str(toml_text).expect("valid TOML");
        let mut p = Problems::default();
        let console = raw.validate(&mut p);
        let problems = p.into_error().map(|e| e.problems).unwrap_or_default();
        (console, problems)
    }

    #[test]
    fn without_a_section_the_partitions_own_endpoints_are_used() {
        let (console, problems) = parse("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(console, ConsoleConfig::default());
        assert_eq!(console.federation_url, None);
    }

    #[test]
    fn a_federation_url_must_be_https_or_loopback_http() {
        let (console, problems) =
            parse("federation_url = \"http://127.0.0.1:5100/federation\"\ntimeout = \"2s\"");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(console.timeout, Duration::from_secs(2));
        assert_eq!(
            console.federation_url.map(String::from).as_deref(),
            Some("http://127.0.0.1:5100/federation")
        );
        let (_, problems) = parse("federation_url = \"http://proxy.example.com/federation\"");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("console.federation_url: "),
            "{problems:?}"
        );
    }

    #[test]
    fn a_timeout_of_zero_or_above_a_minute_is_refused() {
        for t in ["0s", "2m"] {
            let (_, problems) = parse(&format!("timeout = \"{t}\""));
            assert_eq!(problems.len(), 1, "{t}: {problems:?}");
            assert!(problems[0].starts_with("console.timeout: "), "{problems:?}");
        }
    }
}
