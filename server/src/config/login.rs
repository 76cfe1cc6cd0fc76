//! `[oidc]` keys that decide whom a login names and how long it may follow the IdP without
//! asking again: `display_claim`, `membership_ttl`, `login_max_age`, `allow_insecure_http`.

use std::{net::IpAddr, time::Duration};

use url::{Host, Url};

use super::problems::Problems;

/// How logins through the upstream IdP are named and kept fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRules {
    /// The claim that names a person instead of a verified email (e.g. `preferred_username`).
    pub display_claim: Option<String>,
    /// Groups are re-read from the IdP at a refresh once they are this old.
    pub membership_ttl: Duration,
    /// No refresh after a login is this old, whatever the refresh token's lifetime.
    pub login_max_age: Duration,
}

/// The raw keys, as `[oidc]` spells them.
pub(super) struct RawLoginRules<'a> {
    pub issuer: Option<&'a Url>,
    pub display_claim: Option<String>,
    pub membership_ttl: Option<&'a str>,
    pub login_max_age: Option<&'a str>,
    pub allow_insecure_http: bool,
}

pub(super) fn validate(raw: RawLoginRules<'_>, p: &mut Problems) -> Option<LoginRules> {
    if let Some(issuer) = raw.issuer {
        if let Err(problem) = issuer_allowed(issuer, raw.allow_insecure_http) {
            p.push(format!("oidc.issuer: {problem}"));
        }
    }
    if raw
        .display_claim
        .as_deref()
        .is_some_and(|c| c.is_empty() || c.len() > 64)
    {
        p.push("oidc.display_claim: must be a claim name of 1 to 64 characters".into());
    }
    let membership_ttl = p.duration("oidc.membership_ttl", raw.membership_ttl.unwrap_or("1h"));
    let login_max_age = p.duration("oidc.login_max_age", raw.login_max_age.unwrap_or("30d"));
    if membership_ttl.is_some_and(|d| d.is_zero()) {
        p.push("oidc.membership_ttl: must be longer than 0s".into());
    }
    Some(LoginRules {
        display_claim: raw.display_claim,
        membership_ttl: membership_ttl?,
        login_max_age: login_max_age?,
    })
}

/// Issuers are https; plain http only on a loopback address, or anywhere with
/// `allow_insecure_http = true` (development).
pub fn issuer_allowed(issuer: &Url, allow_insecure_http: bool) -> Result<(), String> {
    match issuer.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(issuer) => Ok(()),
        "http" => Err(format!(
            "`{issuer}` is plain http on a non-loopback host; use https (or set \
             oidc.allow_insecure_http = true for development)"
        )),
        other => Err(format!("`{other}` is not https")),
    }
}

/// Whether `url`'s host is a loopback address or `localhost`.
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(url: &str, insecure: bool) -> bool {
        issuer_allowed(&Url::parse(url).unwrap(), insecure).is_ok()
    }

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert!(allowed("https://login.example.com", false));
        assert!(allowed("http://127.0.0.1:4010", false));
        assert!(allowed("http://[::1]:4010", false));
        assert!(allowed("http://localhost:4010", false));
        assert!(!allowed("http://login.example.com", false));
        assert!(!allowed("http://10.0.0.5:4010", false));
        assert!(!allowed("ftp://login.example.com", false));
    }

    #[test]
    fn plain_http_elsewhere_needs_the_explicit_setting() {
        assert!(allowed("http://idp.internal:8080", true));
        assert!(!allowed("ftp://idp.internal", true));
    }
}

#[cfg(test)]
mod file_tests {
    use std::time::Duration;

    use crate::config::Config;

    fn with_oidc(issuer: &str, extra: &str) -> String {
        format!(
            "database_url = \"postgres://localhost/vault\"\n\
             [oidc]\nissuer = \"{issuer}\"\nclient_id = \"c\"\nclient_secret = \"s\"\n{extra}\n\
             [aws]\nregion = \"us-east-1\"\n"
        )
    }

    #[test]
    fn membership_ttl_and_login_max_age_default_to_an_hour_and_30_days() {
        let c = Config::from_toml(&with_oidc("http://127.0.0.1:4010", "")).unwrap();
        assert_eq!(c.oidc.login.membership_ttl, Duration::from_secs(3600));
        assert_eq!(c.oidc.login.login_max_age, Duration::from_secs(30 * 86400));
        assert_eq!(c.oidc.login.display_claim, None);
    }

    #[test]
    fn a_plain_http_issuer_off_loopback_is_refused_unless_explicitly_allowed() {
        let e = Config::from_toml(&with_oidc("http://idp.example.com", ""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("oidc.issuer") && e.contains("allow_insecure_http"),
            "{e}"
        );
        let c = Config::from_toml(&with_oidc(
            "http://idp.example.com",
            "allow_insecure_http = true",
        ));
        assert!(c.is_ok(), "{:?}", c.err().map(|e| e.to_string()));
    }
}
