//! A `[[profiles]]` entry as written, and its validation into a [`Profile`].

use std::time::Duration;

use serde::Deserialize;

use super::{
    ci::{validate_rules, RawCiRule},
    model::Profile,
    names::is_profile_name,
    problems::Problems,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    pub(super) name: String,
    role_arn: String,
    region: Option<String>,
    #[serde(default = "default_profile_duration")]
    default_duration: String,
    #[serde(default = "default_profile_max")]
    max_duration: String,
    #[serde(default)]
    allow_groups: Vec<String>,
    #[serde(default)]
    allow_ci: Vec<RawCiRule>,
    #[serde(default)]
    reuse_ci_sessions: bool,
}

fn default_profile_duration() -> String {
    "1h".into()
}
fn default_profile_max() -> String {
    "1h".into()
}

/// STS's limit for `DurationSeconds` on AssumeRole (the lower one is `[aws] min_session`).
const STS_MAX: Duration = Duration::from_secs(12 * 3600);

impl RawProfile {
    pub(super) fn validate(
        self,
        key: &str,
        default_region: &str,
        min_session: Duration,
        ci_issuers: &[String],
        p: &mut Problems,
    ) -> Option<Profile> {
        let allow_ci = validate_rules(key, self.allow_ci, ci_issuers, p);
        if !is_profile_name(&self.name) {
            p.push(format!(
                "{key}.name: `{}` must be 1-64 characters of letters, digits, `-`, `_` or `.`",
                self.name
            ));
        }
        if !is_role_arn(&self.role_arn) {
            p.push(format!(
                "{key}.role_arn: `{}` is not a role ARN (arn:aws:iam::<account>:role/<name>)",
                self.role_arn
            ));
        }
        let default = p.duration(&format!("{key}.default_duration"), &self.default_duration)?;
        let max = p.duration(&format!("{key}.max_duration"), &self.max_duration)?;
        if max > STS_MAX {
            p.push(format!("{key}.max_duration: STS allows at most 12h"));
        }
        if default > max {
            p.push(format!("{key}.default_duration: longer than max_duration"));
        }
        if default < min_session {
            p.push(format!(
                "{key}.default_duration: shorter than the shortest session, aws.min_session = {}",
                humantime::format_duration(min_session)
            ));
        }

        Some(Profile {
            name: self.name,
            role_arn: self.role_arn,
            region: self.region.unwrap_or_else(|| default_region.to_owned()),
            default_duration: default,
            max_duration: max,
            allow_groups: self.allow_groups,
            allow_ci,
            reuse_ci_sessions: self.reuse_ci_sessions,
        })
    }
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > 5
}
