//! The revocation policy of one role, as pure code: which statements it holds, how a new
//! revocation merges into it, when a statement may go, and whether it still fits IAM's limit.
//!
//! One statement per person, `Deny *` on `*` when `aws:SourceIdentity` is their session name and
//! `aws:TokenIssueTime` is earlier than the revocation. A statement may go once every session
//! issued before its time has expired: the revocation time plus the role's longest session.

use std::{collections::BTreeMap, time::Duration};

use serde::Serialize;
use serde_json::Value;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

#[cfg(test)]
mod tests;

/// The name of the inline policy the server owns on every served role.
pub const POLICY_NAME: &str = "team-vault-revocations";
/// IAM's limit on one role's inline policies, in characters, whitespace not counted.
pub const POLICY_LIMIT: usize = 10_240;
/// The longest session STS issues: the window when the role's own is not known.
pub const LONGEST_SESSION: Duration = Duration::from_secs(12 * 3600);
/// Every statement this server writes has a Sid with this prefix (Sids are alphanumeric).
const SID_PREFIX: &str = "TeamVaultRevoked";

/// One person's revocation as the policy carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The session name every session of theirs carries (`sts::session_name_of`).
    pub source_identity: String,
    /// Sessions issued before this are denied.
    pub revoked_at: OffsetDateTime,
}

/// Why a policy cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "the `{POLICY_NAME}` policy would hold {statements} revocations in {chars} characters, \
         over IAM's limit of {POLICY_LIMIT} for a role's inline policies: the newest revocations \
         are not enforced in AWS until older ones expire (shorten the profiles' max_duration, or \
         remove the person's access to the role in AWS by hand)"
    )]
    TooLarge { statements: usize, chars: usize },
    #[error("the role's `{POLICY_NAME}` policy is not a JSON policy document: {0}")]
    Unreadable(String),
}

/// The Sid of a person's statement: stable, so writing the same revocations again is a no-op.
pub fn sid_of(principal_id: Uuid) -> String {
    format!("{SID_PREFIX}{}", principal_id.simple())
}

/// When a statement may go: every session issued before it has expired by then.
pub fn expires_at(revoked_at: OffsetDateTime, window: Duration) -> OffsetDateTime {
    revoked_at + window
}

/// The revocation time as the condition states it: RFC 3339 UTC, whole seconds, rounded up so
/// that a session issued in the same second as the revocation is denied too.
pub fn condition_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    let up = if whole == at {
        whole
    } else {
        whole + time::Duration::SECOND
    };
    up.format(&Rfc3339).unwrap_or_default()
}

/// What the role's policy should become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    /// Write this document (compact JSON).
    Put(String),
    /// No statement is left: delete the policy (or leave it absent).
    Absent,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Document<'a> {
    version: &'static str,
    statement: &'a [Value],
}

/// The statement denying one person's sessions issued before `revoked_at`.
pub fn statement(sid: &str, r: &Revoked) -> Value {
    serde_json::json!({
        "Sid": sid,
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringEquals": { "aws:SourceIdentity": r.source_identity },
            "DateLessThan": { "aws:TokenIssueTime": condition_time(r.revoked_at) },
        },
    })
}

/// A statement of ours read back from the role: its person and time.
fn read_ours(s: &Value) -> Option<(String, Revoked)> {
    let sid = s.get("Sid")?.as_str()?;
    if !sid.starts_with(SID_PREFIX) {
        return None;
    }
    let cond = s.get("Condition")?;
    let source_identity = cond
        .get("StringEquals")?
        .get("aws:SourceIdentity")?
        .as_str()?
        .to_owned();
    let time = cond
        .get("DateLessThan")?
        .get("aws:TokenIssueTime")?
        .as_str()?;
    let revoked_at = OffsetDateTime::parse(time, &Rfc3339).ok()?;
    Some((
        sid.to_owned(),
        Revoked {
            source_identity,
            revoked_at,
        },
    ))
}

/// Merges the revocations in force (`wanted`, by Sid) into the role's current document
/// (`current`, as IAM returned it, decoded), dropping every statement of ours whose window has
/// passed at `now`. Statements someone else added to the policy are kept as they are. For each
/// person the later revocation time wins, so a second revocation moves it later and a document
/// written before a crash is never weakened.
pub fn merge(
    current: Option<&str>,
    wanted: &BTreeMap<String, Revoked>,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Desired, PolicyError> {
    let mut ours: BTreeMap<String, Revoked> = BTreeMap::new();
    let mut foreign: Vec<Value> = Vec::new();
    if let Some(text) = current.filter(|t| !t.trim().is_empty()) {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| PolicyError::Unreadable(e.to_string()))?;
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) => list.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => Vec::new(),
        };
        for s in statements {
            match read_ours(&s) {
                Some((sid, r)) => {
                    ours.insert(sid, r);
                }
                None => foreign.push(s),
            }
        }
    }
    for (sid, r) in wanted {
        match ours.get(sid) {
            Some(old) if old.revoked_at >= r.revoked_at => {}
            _ => {
                ours.insert(sid.clone(), r.clone());
            }
        }
    }
    ours.retain(|_, r| expires_at(r.revoked_at, window) > now);
    let statements: Vec<Value> = foreign
        .into_iter()
        .chain(ours.iter().map(|(sid, r)| statement(sid, r)))
        .collect();
    if statements.is_empty() {
        return Ok(Desired::Absent);
    }
    let text = serde_json::to_string(&Document {
        version: "2012-10-17",
        statement: &statements,
    })
    .map_err(|e| PolicyError::Unreadable(e.to_string()))?;
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    if chars > POLICY_LIMIT {
        return Err(PolicyError::TooLarge {
            statements: statements.len(),
            chars,
        });
    }
    Ok(Desired::Put(text))
}

/// The statements of ours in a document, by Sid (what `vault admin revocations` shows per role).
pub fn statements_of(current: &str) -> BTreeMap<String, Revoked> {
    let Ok(doc) = serde_json::from_str::<Value>(current) else {
        return BTreeMap::new();
    };
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().filter_map(read_ours).collect(),
        Some(one @ Value::Object(_)) => read_ours(one).into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

/// The role's window: the longest session any profile naming it may issue, or STS's longest
/// when no profile names it.
pub fn window_of<'a>(max_durations: impl IntoIterator<Item = &'a Duration>) -> Duration {
    max_durations
        .into_iter()
        .copied()
        .max()
        .unwrap_or(LONGEST_SESSION)
}
