//! Validation problems, collected rather than stopping at the first, each with its key path.

use std::time::Duration;

use url::Url;

use super::{parse_duration, ConfigError};

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
