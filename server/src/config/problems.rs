//! Validation problems, collected rather than stopping at the first, each with its key path,
//! and the error that lists them.

use std::time::Duration;

use url::Url;

/// Collects problems instead of stopping at the first, so `check-config` reports them all.
#[derive(Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    pub(super) fn push(&mut self, problem: String) {
        self.0.push(problem);
    }
    /// The error listing every problem, if there was one.
    pub(super) fn into_error(self) -> Option<ConfigError> {
        (!self.0.is_empty()).then_some(ConfigError { problems: self.0 })
    }
    pub(super) fn take<T>(&mut self, result: Result<T, String>) -> Option<T> {
        result.map_err(|p| self.0.push(p)).ok()
    }
    pub(super) fn duration(&mut self, key: &str, text: &str) -> Option<Duration> {
        self.take(parse_duration(text).map_err(|e| format!("{key}: {e}")))
    }
    pub(super) fn url(&mut self, key: &str, text: &str) -> Option<Url> {
        let parsed = Url::parse(text).map_err(|e| format!("{key}: `{text}` is not a URL ({e})"));
        let url = self.take(parsed)?;
        if !matches!(url.scheme(), "http" | "https") {
            self.0.push(format!("{key}: must be an http or https URL"));
        }
        Some(url)
    }
}

/// Every problem found in a configuration, each prefixed with its key path.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .problems.join("\n  "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    pub(super) fn one(problem: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![problem.into()],
        }
    }
}

/// Parses `"1h"`, `"15m"`, `"30d"`, `"900s"` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); use e.g. \"15m\", \"1h\", \"30d\""))
}
