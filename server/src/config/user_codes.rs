//! `[limits.user_codes]`: how many user codes the device page looks up, per client address and
//! across all of them. Every lookup counts (right or wrong): once over, every lookup is refused,
//! so guessing past the limit learns nothing.

use serde::Deserialize;

use super::{
    problems::Problems,
    rate::{Rate, RawRate},
};

/// Validated `[limits.user_codes]`. A limit of `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCodeLimits {
    /// Lookups one client address may make.
    pub per_address: Option<Rate>,
    /// Lookups all addresses together may make (a guesser with many addresses).
    pub total: Option<Rate>,
}

impl Default for UserCodeLimits {
    fn default() -> Self {
        UserCodeLimits {
            per_address: Some(Rate {
                per_minute: 10,
                burst: 10,
            }),
            total: Some(Rate {
                per_minute: 600,
                burst: 100,
            }),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUserCodeLimits {
    per_address: Option<RawRate>,
    total: Option<RawRate>,
}

impl RawUserCodeLimits {
    pub(super) fn validate(self, p: &mut Problems) -> UserCodeLimits {
        let defaults = UserCodeLimits::default();
        UserCodeLimits {
            per_address: match self.per_address {
                None => defaults.per_address,
                Some(raw) => raw.validate("limits.user_codes.per_address", p),
            },
            total: match self.total {
                None => defaults.total,
                Some(raw) => raw.validate("limits.user_codes.total", p),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_codes(toml_text: &str) -> (UserCodeLimits, Vec<String>) {
        let raw: RawUserCodeLimits = toml::from_str(toml_text).unwrap();
        let mut p = Problems::default();
        let c = raw.validate(&mut p);
        (c, p.into_error().map(|e| e.problems).unwrap_or_default())
    }

    #[test]
    fn absent_limits_are_the_defaults_and_zero_turns_one_off() {
        assert_eq!(user_codes("").0, UserCodeLimits::default());
        let (c, problems) =
            user_codes("per_address = { per_minute = 0 }\ntotal = { per_minute = 40 }");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c.per_address, None);
        assert_eq!(
            c.total,
            Some(Rate {
                per_minute: 40,
                burst: 10
            })
        );
    }

    #[test]
    fn a_bad_limit_is_named_by_its_key_path() {
        let (_, problems) = user_codes("total = { per_minute = 5, burst = 0 }");
        assert_eq!(
            problems,
            ["limits.user_codes.total.burst: must be at least 1"]
        );
    }
}
