//! `[database]` (the pool and its timeouts) and `[timeouts]` (how long one request may take):
//! together they turn a database that hangs into a 503 within a known time.

use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;

/// The longest long poll `GET /v1/audit/follow` accepts (`wait=60`).
const FOLLOW_LONGEST_WAIT: Duration = Duration::from_secs(60);

/// `[database]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    max_connections: Option<u32>,
    acquire_timeout: Option<String>,
    statement_timeout: Option<String>,
    readiness_timeout: Option<String>,
}

/// `[timeouts]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeouts {
    request: Option<String>,
    follow: Option<String>,
    export: Option<String>,
}

/// The pool the server runs on.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Connections the pool opens at most (per replica).
    pub max_connections: u32,
    /// How long a request waits for a pooled connection, connecting and testing it included.
    pub acquire_timeout: Duration,
    /// Postgres's `statement_timeout` for every connection of the pool.
    pub statement_timeout: Duration,
    /// How long `/readyz` waits for the database before answering 503.
    pub readiness_timeout: Duration,
}

/// Whole-request bounds: past them the request is dropped and answered with 503.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// Every route but the two below.
    pub request: Duration,
    /// `GET /v1/audit/follow` (a long poll of up to 60 s).
    pub follow: Duration,
    /// `GET /v1/audit/export`, the whole streamed answer.
    pub export: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 20,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
            readiness_timeout: Duration::from_secs(2),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: Duration::from_secs(10),
            follow: Duration::from_secs(75),
            export: Duration::from_secs(3600),
        }
    }
}

/// `text` parsed as a duration above zero, else `default`; a problem names `key`.
fn positive(p: &mut Problems, key: &str, text: Option<&str>, default: Duration) -> Duration {
    let Some(text) = text else { return default };
    match p.duration(key, text) {
        Some(d) if d.is_zero() => {
            p.push(format!("{key}: must be more than zero"));
            default
        }
        Some(d) => d,
        None => default,
    }
}

impl RawDatabase {
    pub(super) fn validate(self, p: &mut Problems) -> DatabaseConfig {
        let d = DatabaseConfig::default();
        let max_connections = match self.max_connections {
            Some(n) if !(1..=1000).contains(&n) => {
                p.push("database.max_connections: must be between 1 and 1000".into());
                d.max_connections
            }
            Some(n) => n,
            None => d.max_connections,
        };
        DatabaseConfig {
            max_connections,
            acquire_timeout: positive(
                p,
                "database.acquire_timeout",
                self.acquire_timeout.as_deref(),
                d.acquire_timeout,
            ),
            statement_timeout: positive(
                p,
                "database.statement_timeout",
                self.statement_timeout.as_deref(),
                d.statement_timeout,
            ),
            readiness_timeout: positive(
                p,
                "database.readiness_timeout",
                self.readiness_timeout.as_deref(),
                d.readiness_timeout,
            ),
        }
    }
}

impl RawTimeouts {
    pub(super) fn validate(self, p: &mut Problems) -> Timeouts {
        let d = Timeouts::default();
        let request = positive(p, "timeouts.request", self.request.as_deref(), d.request);
        let mut follow = positive(p, "timeouts.follow", self.follow.as_deref(), d.follow);
        if follow <= FOLLOW_LONGEST_WAIT {
            p.push(
                "timeouts.follow: must be more than 60s, the longest wait of a follow request"
                    .into(),
            );
            follow = d.follow;
        }
        let export = positive(p, "timeouts.export", self.export.as_deref(), d.export);
        Timeouts {
            request,
            follow,
            export,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(database: &str, timeouts: &str) -> (DatabaseConfig, Timeouts, Vec<String>) {
        let mut p = Problems::default();
        let db = toml::from_str::<RawDatabase>(database)
            .unwrap()
            .validate(&mut p);
        let t = toml::from_str::<RawTimeouts>(timeouts)
            .unwrap()
            .validate(&mut p);
        let problems = p.into_error().map(|e| e.problems).unwrap_or_default();
        (db, t, problems)
    }

    #[test]
    fn missing_sections_give_the_documented_defaults() {
        let (db, t, problems) = parse("", "");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(db.max_connections, 20);
        assert_eq!(db.acquire_timeout, Duration::from_secs(3));
        assert_eq!(db.statement_timeout, Duration::from_secs(5));
        assert_eq!(db.readiness_timeout, Duration::from_secs(2));
        assert_eq!(t.request, Duration::from_secs(10));
        assert_eq!(t.follow, Duration::from_secs(75));
        assert_eq!(t.export, Duration::from_secs(3600));
    }

    #[test]
    fn zero_bounds_an_empty_pool_and_a_follow_bound_below_its_longest_wait_are_refused() {
        let (_, _, problems) = parse(
            "max_connections = 0\nstatement_timeout = \"0s\"",
            "request = \"0s\"\nfollow = \"30s\"",
        );
        let all = problems.join("\n");
        for key in [
            "database.max_connections",
            "database.statement_timeout",
            "timeouts.request",
            "timeouts.follow",
        ] {
            assert!(all.contains(key), "{key} not reported: {all}");
        }
        assert_eq!(problems.len(), 4, "{all}");
    }

    #[test]
    fn set_values_are_taken() {
        let (db, t, problems) = parse(
            "max_connections = 5\nacquire_timeout = \"1s\"",
            "request = \"4s\"\nexport = \"10m\"",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(db.max_connections, 5);
        assert_eq!(db.acquire_timeout, Duration::from_secs(1));
        assert_eq!(t.request, Duration::from_secs(4));
        assert_eq!(t.export, Duration::from_secs(600));
    }
}
