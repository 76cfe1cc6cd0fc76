//! `[limits]` (rate limits per client address and per principal, the `rate_limited` summary)
//! and the top-level `trusted_proxies`.

use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

pub use super::rate::Rate;
use super::{
    problems::Problems,
    rate::RawRate,
    user_codes::{RawUserCodeLimits, UserCodeLimits},
};

/// Validated `[limits]`. A limit of `None` is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Per client address, for everything reached without a valid bearer token.
    pub unauthenticated: Option<Rate>,
    /// Per principal, for requests with a valid bearer token.
    pub authenticated: Option<Rate>,
    /// How often the refusals of each source are summed into one `rate_limited` event.
    pub summary_interval: Duration,
    /// `[limits.user_codes]`: lookups of user codes on the device page.
    pub user_codes: UserCodeLimits,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            unauthenticated: Some(Rate {
                per_minute: 120,
                burst: 30,
            }),
            authenticated: Some(Rate {
                per_minute: 600,
                burst: 120,
            }),
            summary_interval: Duration::from_secs(60),
            user_codes: UserCodeLimits::default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    unauthenticated: Option<RawRate>,
    authenticated: Option<RawRate>,
    summary_interval: Option<String>,
    user_codes: Option<RawUserCodeLimits>,
}

impl RawLimits {
    pub(super) fn validate(self, p: &mut Problems) -> LimitsConfig {
        let defaults = LimitsConfig::default();
        let unauthenticated = match self.unauthenticated {
            None => defaults.unauthenticated,
            Some(raw) => raw.validate("limits.unauthenticated", p),
        };
        let authenticated = match self.authenticated {
            None => defaults.authenticated,
            Some(raw) => raw.validate("limits.authenticated", p),
        };
        let summary_interval = match self.summary_interval {
            None => defaults.summary_interval,
            Some(text) => match p.duration("limits.summary_interval", &text) {
                Some(d) if d < Duration::from_secs(1) => {
                    p.push("limits.summary_interval: must be at least 1s".into());
                    d
                }
                Some(d) => d,
                None => defaults.summary_interval,
            },
        };
        LimitsConfig {
            unauthenticated,
            authenticated,
            summary_interval,
            user_codes: self.user_codes.unwrap_or_default().validate(p),
        }
    }
}

/// The most `trusted_proxies` entries (a list of load balancers, not of clients).
const MAX_TRUSTED_PROXIES: usize = 256;

/// `trusted_proxies = ["10.0.0.0/8", "192.0.2.7"]`: CIDRs, or single addresses.
pub(super) fn validate_proxies(raw: Vec<String>, p: &mut Problems) -> Vec<IpNet> {
    if raw.len() > MAX_TRUSTED_PROXIES {
        p.push(format!(
            "trusted_proxies: at most {MAX_TRUSTED_PROXIES} entries"
        ));
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let parsed = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
            p.take(parsed.map(|net| net.trunc()).map_err(|_| {
                format!(
                    "trusted_proxies[{i}]: `{text}` is not an address or CIDR such as 10.0.0.0/8"
                )
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(toml_text: &str) -> (LimitsConfig, Vec<String>) {
        let raw: RawLimits = toml::from_str(toml_text).unwrap();
        let mut p = Problems::default();
        let c = raw.validate(&mut p);
        let problems = p.into_error().map(|e| e.problems).unwrap_or_default();
        (c, problems)
    }

    #[test]
    fn no_limits_section_means_the_documented_defaults() {
        let (c, problems) = limits("");
        assert!(problems.is_empty());
        assert_eq!(c, LimitsConfig::default());
    }

    #[test]
    fn zero_per_minute_turns_a_limit_off_and_burst_defaults_to_a_quarter() {
        let (c, problems) = limits(
            "unauthenticated = { per_minute = 0 }\nauthenticated = { per_minute = 100 }\nsummary_interval = \"1s\"",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c.unauthenticated, None);
        assert_eq!(
            c.authenticated,
            Some(Rate {
                per_minute: 100,
                burst: 25
            })
        );
        assert_eq!(c.summary_interval, Duration::from_secs(1));
    }

    #[test]
    fn bad_limits_are_named_by_their_key_path() {
        let (_, problems) = limits(
            "unauthenticated = { per_minute = 10, burst = 0 }\nauthenticated = { per_minute = 2000000 }\nsummary_interval = \"100ms\"",
        );
        assert_eq!(
            problems,
            [
                "limits.unauthenticated.burst: must be at least 1",
                "limits.authenticated.per_minute: at most 1000000 (0 turns the limit off)",
                "limits.summary_interval: must be at least 1s",
            ]
        );
    }

    #[test]
    fn trusted_proxies_accept_cidrs_and_addresses_and_name_a_bad_entry() {
        let mut p = Problems::default();
        let nets = validate_proxies(
            vec!["10.1.2.3/8".into(), "192.0.2.7".into(), "fd00::/8".into()],
            &mut p,
        );
        assert!(p.into_error().is_none());
        assert_eq!(
            nets,
            ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"].map(|n| n.parse::<IpNet>().unwrap())
        );
        let mut p = Problems::default();
        validate_proxies(vec!["10.0.0.0/8".into(), "proxy.internal".into()], &mut p);
        assert_eq!(
            p.into_error().unwrap().problems,
            ["trusted_proxies[1]: `proxy.internal` is not an address or CIDR such as 10.0.0.0/8"]
        );
    }
}
