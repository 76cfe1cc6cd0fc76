//! CI issuers (`[[ci_issuers]]`) and the per-profile rules saying which jobs may assume it
//! (`[[profiles.allow_ci]]`).

use std::collections::{BTreeMap, HashSet};

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::problems::Problems;

/// A CI provider whose OIDC tokens we accept.
#[derive(Debug, Clone)]
pub struct CiIssuer {
    pub name: String,
    /// The exact `iss` of its tokens (no trailing slash added or removed).
    pub issuer: String,
    pub audiences: Vec<String>,
    pub algorithms: Vec<Algorithm>,
}

/// Jobs of `issuer` whose claims all match: each claim names patterns (`*`, `?` globs), any of
/// which may match the claim's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiRule {
    pub issuer: String,
    pub claims: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCiIssuer {
    name: String,
    issuer: String,
    audiences: Vec<String>,
    #[serde(default)]
    algorithms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawClaim {
    One(String),
    Many(Vec<String>),
    Bool(bool),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCiRule {
    issuer: String,
    claims: BTreeMap<String, RawClaim>,
}

/// Only asymmetric algorithms: `none` and HS* would let anyone holding the (public) key sign.
fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

pub(super) fn validate_issuers(raw: Vec<RawCiIssuer>, p: &mut Problems) -> Vec<CiIssuer> {
    let mut names = HashSet::new();
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let key = format!("ci_issuers[{i}]");
            if !names.insert(r.name.clone()) {
                p.push(format!("{key}.name: `{}` is defined twice", r.name));
            }
            p.url(&format!("{key}.issuer"), &r.issuer);
            if r.audiences.is_empty() {
                p.push(format!("{key}.audiences: name at least one audience"));
            }
            let names = if r.algorithms.is_empty() { vec!["RS256".to_owned()] } else { r.algorithms };
            let algorithms = names
                .iter()
                .filter_map(|a| {
                    let found = algorithm(a);
                    if found.is_none() {
                        p.push(format!(
                            "{key}.algorithms: `{a}` is not allowed (RS256/384/512, PS256/384/512, ES256, ES384)"
                        ));
                    }
                    found
                })
                .collect();
            CiIssuer {
                name: r.name,
                issuer: r.issuer,
                audiences: r.audiences,
                algorithms,
            }
        })
        .collect()
}

pub(super) fn validate_rules(
    key: &str,
    raw: Vec<RawCiRule>,
    issuers: &[String],
    p: &mut Problems,
) -> Vec<CiRule> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let key = format!("{key}.allow_ci[{i}]");
            if !issuers.contains(&r.issuer) {
                p.push(format!("{key}.issuer: no [[ci_issuers]] entry is named `{}`", r.issuer));
            }
            if r.claims.is_empty() {
                p.push(format!("{key}.claims: name at least one claim, or every job of the issuer could assume this"));
            }
            let claims = r
                .claims
                .into_iter()
                .map(|(name, m)| {
                    let patterns = match m {
                        RawClaim::One(s) => vec![s],
                        RawClaim::Many(v) => v,
                        RawClaim::Bool(b) => vec![b.to_string()],
                    };
                    if patterns.is_empty() {
                        p.push(format!("{key}.claims.{name}: an empty list matches nothing"));
                    }
                    (name, patterns)
                })
                .collect();
            CiRule { issuer: r.issuer, claims }
        })
        .collect()
}
