//! Who may assume which profile for how long. Deny by default; every denial says why.

use std::time::Duration;

use crate::{
    audit::bounds::cut_str,
    config::{Config, Profile},
};

/// A decision to issue.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub profile: &'a Profile,
    pub duration: Duration,
}

/// A refusal, each kind with a sentence the person can act on (its `Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("there is no profile named `{profile}`; `vault list` shows the profiles you may use")]
    UnknownProfile { profile: String },
    /// A name no profile can have (see [`crate::config::is_profile_name`]): answered like an
    /// unknown profile, without echoing the whole name.
    #[error(
        "there is no profile named `{profile}`: profile names are 1-{} characters of letters, digits, `-`, `_` or `.`; `vault list` shows the profiles you may use",
        crate::config::PROFILE_NAME_MAX
    )]
    MalformedProfile { profile: String },
    /// The principal matches none of the profile's groups or CI rules.
    #[error("{message}")]
    NotAllowed { message: String },
    #[error(
        "{} is longer than the maximum for `{profile}`, which is {} ({} seconds)",
        humantime::format_duration(*.requested),
        humantime::format_duration(*.max),
        .max.as_secs()
    )]
    DurationTooLong {
        profile: String,
        requested: Duration,
        max: Duration,
    },
    #[error(
        "sessions last at least {} ({} seconds); asked for {}s",
        humantime::format_duration(*.min),
        .min.as_secs(),
        .requested.as_secs()
    )]
    DurationTooShort { requested: Duration, min: Duration },
}

impl Denial {
    /// The machine code clients and the audit trail see.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::UnknownProfile { .. } | Denial::MalformedProfile { .. } => "unknown_profile",
            Denial::NotAllowed { .. } => "not_allowed",
            Denial::DurationTooLong { .. } => "duration_too_long",
            Denial::DurationTooShort { .. } => "duration_too_short",
        }
    }
}

/// What a principal is judged by: a person's groups, or a CI job's verified claims.
#[derive(Debug, Clone, Copy)]
pub enum Membership<'a> {
    Groups(&'a [String]),
    Ci {
        issuer: &'a str,
        claims: &'a serde_json::Map<String, serde_json::Value>,
    },
}

/// Whether a principal may assume `profile` for `requested` seconds.
pub fn authorize<'a>(
    config: &'a Config,
    display: &str,
    who: Membership<'_>,
    profile: &str,
    requested: Option<u32>,
) -> Result<Grant<'a>, Denial> {
    if !crate::config::is_profile_name(profile) {
        return Err(Denial::MalformedProfile {
            profile: cut_str(profile, crate::config::PROFILE_NAME_MAX),
        });
    }
    let Some(p) = config.profile(profile) else {
        return Err(Denial::UnknownProfile {
            profile: profile.to_owned(),
        });
    };
    if !may_assume(p, who) {
        let message = match who {
            Membership::Groups(groups) => format!(
                "{display} may not assume `{}`: it is open to the groups [{}] and you are in [{}]",
                p.name,
                p.allow_groups.join(", "),
                groups.join(", ")
            ),
            Membership::Ci { issuer, .. } => format!(
                "CI job {display} (issuer `{issuer}`) matches none of the allow_ci rules of `{}`",
                p.name
            ),
        };
        return Err(Denial::NotAllowed { message });
    }
    let duration = requested
        .map(|s| Duration::from_secs(s.into()))
        .unwrap_or(p.default_duration);
    if duration > p.max_duration {
        return Err(Denial::DurationTooLong {
            profile: p.name.clone(),
            requested: duration,
            max: p.max_duration,
        });
    }
    if duration < config.aws.min_session {
        return Err(Denial::DurationTooShort {
            requested: duration,
            min: config.aws.min_session,
        });
    }
    Ok(Grant {
        profile: p,
        duration,
    })
}

/// Profiles this principal may assume, in configuration order.
pub fn assumable<'a>(config: &'a Config, who: Membership<'a>) -> impl Iterator<Item = &'a Profile> {
    config.profiles.iter().filter(move |p| may_assume(p, who))
}

fn may_assume(profile: &Profile, who: Membership<'_>) -> bool {
    match who {
        Membership::Groups(groups) => profile.allow_groups.iter().any(|g| groups.contains(g)),
        Membership::Ci { issuer, claims } => crate::ci::rules::may_assume(profile, issuer, claims),
    }
}

#[cfg(test)]
mod tests;
