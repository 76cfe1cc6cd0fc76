//! `[http]`: how long a connection may take to send a request head (and sit idle between
//! requests), how many connections are served at once, and how long a shutdown waits for
//! requests in flight.

use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;

/// Connection-level limits of the HTTP server (see `crate::serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// A connection must send a whole request head this long after it opens or after its last
    /// response (so this also bounds an idle keep-alive connection); otherwise it is closed.
    pub header_timeout: Duration,
    /// Connections served at once; further ones wait in the kernel's listen backlog.
    pub max_connections: usize,
    /// On SIGTERM, requests in flight get this long to finish before their connections are cut.
    pub shutdown_grace: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    header_timeout: Option<String>,
    max_connections: Option<usize>,
    shutdown_grace: Option<String>,
}

impl RawHttp {
    pub(super) fn validate(self, p: &mut Problems) -> HttpConfig {
        let default = HttpConfig::default();
        let header_timeout = match self.header_timeout.as_deref() {
            Some(t) => p
                .duration("http.header_timeout", t)
                .unwrap_or(default.header_timeout),
            None => default.header_timeout,
        };
        if header_timeout.is_zero() {
            p.push("http.header_timeout: must be longer than 0s".into());
        }
        let max_connections = self.max_connections.unwrap_or(default.max_connections);
        if max_connections == 0 {
            p.push("http.max_connections: must be at least 1".into());
        }
        let shutdown_grace = match self.shutdown_grace.as_deref() {
            Some(t) => p
                .duration("http.shutdown_grace", t)
                .unwrap_or(default.shutdown_grace),
            None => default.shutdown_grace,
        };
        HttpConfig {
            header_timeout,
            max_connections,
            shutdown_grace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> (HttpConfig, Vec<String>) {
        let raw: RawHttp = toml::from_str(toml_text).expect("valid TOML");
        let mut p = Problems::default();
        let http = raw.validate(&mut p);
        let problems = p.into_error().map(|e| e.problems).unwrap_or_default();
        (http, problems)
    }

    #[test]
    fn an_empty_http_table_gets_defaults_that_allow_a_thousand_connections() {
        let (http, problems) = parse("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(http, HttpConfig::default());
        assert!(http.max_connections >= 1000);
        assert_eq!(http.header_timeout, Duration::from_secs(10));
    }

    #[test]
    fn a_zero_header_timeout_or_connection_cap_is_refused_with_its_key() {
        let (_, problems) =
            parse("header_timeout = \"0s\"\nmax_connections = 0\nshutdown_grace = \"x\"");
        let all = problems.join("\n");
        assert!(all.contains("http.header_timeout"), "{all}");
        assert!(all.contains("http.max_connections"), "{all}");
        assert!(all.contains("http.shutdown_grace"), "{all}");
    }
}
