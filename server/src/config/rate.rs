//! A request rate (`{ per_minute = 120, burst = 30 }`), as `[limits]` and its sub-tables write it.

use serde::Deserialize;

use super::problems::Problems;

/// Requests a source may make: `per_minute` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRate {
    per_minute: u32,
    burst: Option<u32>,
}

/// The most a limit may allow per minute (a million: far above what one replica serves).
const MAX_PER_MINUTE: u32 = 1_000_000;

impl RawRate {
    /// `per_minute = 0` turns the limit off; `burst` defaults to a quarter of `per_minute`.
    pub(super) fn validate(self, key: &str, p: &mut Problems) -> Option<Rate> {
        if self.per_minute == 0 {
            return None;
        }
        if self.per_minute > MAX_PER_MINUTE {
            p.push(format!(
                "{key}.per_minute: at most {MAX_PER_MINUTE} (0 turns the limit off)"
            ));
        }
        let burst = self.burst.unwrap_or((self.per_minute / 4).max(1));
        if burst == 0 {
            p.push(format!("{key}.burst: must be at least 1"));
        }
        if burst > MAX_PER_MINUTE {
            p.push(format!("{key}.burst: at most {MAX_PER_MINUTE}"));
        }
        Some(Rate {
            per_minute: self.per_minute,
            burst,
        })
    }
}
