//! `[cleanup]`: how often expired short-lived rows (logins in flight, codes, device
//! authorizations, refresh tokens, retired signing keys, remembered CI token ids) are removed,
//! and how long one pass may take.

use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;

/// The periodic removal of expired rows (see `crate::upkeep`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupConfig {
    /// Time between two passes; the first runs at start.
    pub interval: Duration,
    /// One pass is abandoned (and retried at the next tick) after this long.
    pub timeout: Duration,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        CleanupConfig {
            interval: Duration::from_secs(600),
            timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCleanup {
    interval: Option<String>,
    timeout: Option<String>,
}

impl RawCleanup {
    pub(super) fn validate(self, p: &mut Problems) -> CleanupConfig {
        let default = CleanupConfig::default();
        let mut read = |key: &str, text: Option<&str>, fallback: Duration| {
            let value = text.and_then(|t| p.duration(key, t)).unwrap_or(fallback);
            if value < Duration::from_secs(1) {
                p.push(format!("{key}: must be at least 1s"));
            }
            value
        };
        let interval = read(
            "cleanup.interval",
            self.interval.as_deref(),
            default.interval,
        );
        let timeout = read("cleanup.timeout", self.timeout.as_deref(), default.timeout);
        CleanupConfig { interval, timeout }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> (CleanupConfig, Vec<String>) {
        let raw: RawCleanup = toml::from_str(toml_text).expect("valid TOML");
        let mut p = Problems::default();
        let cleanup = raw.validate(&mut p);
        let problems = p.into_error().map(|e| e.problems).unwrap_or_default();
        (cleanup, problems)
    }

    #[test]
    fn cleanup_runs_every_ten_minutes_for_at_most_a_minute_by_default() {
        assert_eq!(parse(""), (CleanupConfig::default(), vec![]));
        assert_eq!(CleanupConfig::default().interval, Duration::from_secs(600));
    }

    #[test]
    fn an_interval_or_timeout_under_a_second_is_refused_by_its_key() {
        let (cleanup, problems) = parse("interval = \"2s\"\ntimeout = \"500ms\"");
        assert_eq!(cleanup.interval, Duration::from_secs(2));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("cleanup.timeout:"), "{problems:?}");
        let (_, problems) = parse("interval = \"0s\"");
        assert!(problems[0].starts_with("cleanup.interval:"), "{problems:?}");
    }
}
