//! `[[identities]]`: the IAM users whose access keys the server owns and rotates.

use std::{collections::HashSet, time::Duration};

use serde::Deserialize;

use super::problems::Problems;

/// An IAM user whose keys the server holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub iam_user: String,
    pub account: String,
    /// Rotate automatically (off: the imported key is used until replaced by hand).
    pub rotate: bool,
    /// A key older than this is rotated.
    pub max_key_age: Duration,
    /// After the new key is active everywhere, the old one stays usable this long.
    pub deactivate_after: Duration,
    /// After deactivation, the old key is deleted this much later.
    pub delete_after: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdentity {
    name: String,
    iam_user: String,
    account: String,
    #[serde(default = "yes")]
    rotate: bool,
    #[serde(default = "default_max_age")]
    max_key_age: String,
    #[serde(default = "default_deactivate")]
    deactivate_after: String,
    #[serde(default = "default_delete")]
    delete_after: String,
}

fn yes() -> bool {
    true
}
fn default_max_age() -> String {
    "30d".into()
}
fn default_deactivate() -> String {
    "15m".into()
}
fn default_delete() -> String {
    "1h".into()
}

pub(super) fn validate(raw: Vec<RawIdentity>, p: &mut Problems) -> Vec<Identity> {
    let mut names = HashSet::new();
    raw.into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let key = format!("identities[{i}]");
            if !names.insert(r.name.clone()) {
                p.push(format!("{key}.name: `{}` is defined twice", r.name));
            }
            if r.account.len() != 12 || !r.account.chars().all(|c| c.is_ascii_digit()) {
                p.push(format!(
                    "{key}.account: `{}` is not a 12-digit AWS account id",
                    r.account
                ));
            }
            if r.iam_user.is_empty() {
                p.push(format!("{key}.iam_user: must not be empty"));
            }
            let max_key_age = p.duration(&format!("{key}.max_key_age"), &r.max_key_age)?;
            let deactivate_after =
                p.duration(&format!("{key}.deactivate_after"), &r.deactivate_after)?;
            let delete_after = p.duration(&format!("{key}.delete_after"), &r.delete_after)?;
            Some(Identity {
                name: r.name,
                iam_user: r.iam_user,
                account: r.account,
                rotate: r.rotate,
                max_key_age,
                deactivate_after,
                delete_after,
            })
        })
        .collect()
}
