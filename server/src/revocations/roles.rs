//! The roles the profiles name, each with its revocation window.

use std::time::Duration;

use super::policy;
use crate::config::Config;

/// A role the profiles name, and how long its sessions may last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedRole {
    pub arn: String,
    /// The longest `max_duration` of the profiles naming it: a statement may go this long
    /// after its revocation.
    pub window: Duration,
}

/// The served roles of a configuration, each once.
pub fn served_roles(config: &Config) -> Vec<ServedRole> {
    let mut arns: Vec<&str> = config
        .profiles
        .iter()
        .map(|p| p.role_arn.as_str())
        .collect();
    arns.sort_unstable();
    arns.dedup();
    arns.into_iter()
        .map(|arn| ServedRole {
            arn: arn.to_owned(),
            window: policy::window_of(
                config
                    .profiles
                    .iter()
                    .filter(|p| p.role_arn == arn)
                    .map(|p| &p.max_duration),
            ),
        })
        .collect()
}
