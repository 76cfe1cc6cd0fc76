//! Matching a CI job's claims against the profiles' `allow_ci` rules.

use serde_json::{Map, Value};
use wildmatch::WildMatch;

use crate::config::{CiRule, Config, Profile};

/// A claim as text: strings as they are, booleans and numbers as JSON writes them.
fn claim_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The claims that matched, if every claim of the rule matches.
pub fn rule_matches(
    rule: &CiRule,
    issuer: &str,
    claims: &Map<String, Value>,
) -> Option<Vec<(String, String)>> {
    if rule.issuer != issuer {
        return None;
    }
    rule.claims
        .iter()
        .map(|(name, patterns)| {
            let value = claims.get(name).and_then(claim_text)?;
            patterns
                .iter()
                .any(|p| WildMatch::new(p).matches(&value))
                .then(|| (name.clone(), value))
        })
        .collect()
}

/// Whether a job may assume `profile`: any of its rules matches.
pub fn may_assume(profile: &Profile, issuer: &str, claims: &Map<String, Value>) -> bool {
    profile
        .allow_ci
        .iter()
        .any(|r| rule_matches(r, issuer, claims).is_some())
}

/// Every profile the job may assume, with the claims that matched.
pub fn allowed_profiles<'a>(
    config: &'a Config,
    issuer: &str,
    claims: &Map<String, Value>,
) -> Vec<(&'a Profile, Vec<(String, String)>)> {
    config
        .profiles
        .iter()
        .filter_map(|p| {
            p.allow_ci
                .iter()
                .find_map(|r| rule_matches(r, issuer, claims))
                .map(|matched| (p, matched))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rule(claims: &[(&str, &[&str])]) -> CiRule {
        CiRule {
            issuer: "github".into(),
            claims: claims
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_claim_of_a_rule_must_match() {
        let r = rule(&[("repository", &["acme/app"]), ("ref", &["refs/heads/main"])]);
        let main = claims(serde_json::json!({"repository": "acme/app", "ref": "refs/heads/main"}));
        let other = claims(serde_json::json!({"repository": "acme/app", "ref": "refs/heads/dev"}));
        assert!(rule_matches(&r, "github", &main).is_some());
        assert!(rule_matches(&r, "github", &other).is_none());
        assert!(rule_matches(&r, "gitlab", &main).is_none());
    }

    #[test]
    fn globs_and_lists_match_whole_values_only() {
        let r = rule(&[("ref", &["refs/heads/main", "refs/tags/v*"])]);
        for (value, ok) in [
            ("refs/tags/v1.2", true),
            ("refs/heads/main", true),
            ("refs/heads/mainline", false),
            ("refs/tags/x", false),
        ] {
            let c = claims(serde_json::json!({ "ref": value }));
            assert_eq!(rule_matches(&r, "github", &c).is_some(), ok, "{value}");
        }
    }

    #[test]
    fn a_missing_claim_never_matches_and_booleans_compare_as_text() {
        let r = rule(&[("ref_protected", &["true"])]);
        assert!(rule_matches(&r, "github", &claims(serde_json::json!({}))).is_none());
        assert!(rule_matches(
            &r,
            "github",
            &claims(serde_json::json!({"ref_protected": true}))
        )
        .is_some());
        assert!(rule_matches(
            &r,
            "github",
            &claims(serde_json::json!({"ref_protected": "true"}))
        )
        .is_some());
    }
}
