//! The filters `vault audit`, `--follow` and `export` share (`GET /v1/audit`, `/v1/audit/follow`
//! and `/v1/audit/export`), and how `--since`/`--until` are read.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::UserError;

/// The filters of `GET /v1/audit`, `/v1/audit/follow` and `/v1/audit/export`.
#[derive(Debug, Default, Clone, clap::Args)]
#[command(next_help_heading = "Filters")]
pub struct Filters {
    /// Who acted: exact, or a glob with * and ? (e.g. '*@example.com')
    #[arg(long, value_name = "P")]
    principal: Option<String>,
    /// What happened, e.g. credentials_issue, credentials_deny, login, admin_denied
    #[arg(long, value_name = "A")]
    action: Option<String>,
    /// The profile asked for
    #[arg(long, value_name = "N")]
    profile: Option<String>,
    /// How it ended
    #[arg(long, value_name = "O", value_parser = ["success", "denied", "failure"])]
    outcome: Option<String>,
    /// The client address the request came from
    #[arg(long, value_name = "ADDR")]
    source: Option<String>,
    /// The AWS access key id handed out (finds who got a key seen in CloudTrail)
    #[arg(long = "access-key", value_name = "ASIA…")]
    access_key_id: Option<String>,
    /// The AWS role session name: exact, or a glob with * and ?
    #[arg(long, value_name = "S")]
    session_name: Option<String>,
    /// Only events at or after D: an RFC 3339 time or a span back from now (90s, 15m, 24h, 7d, 2w)
    #[arg(long, value_name = "D", value_parser = parse_when)]
    since: Option<String>,
    /// Only events at or before D: an RFC 3339 time or a span back from now (90s, 15m, 24h, 7d, 2w)
    #[arg(long, value_name = "D", value_parser = parse_when)]
    until: Option<String>,
}

impl Filters {
    /// The query-string pairs of the filters given, named as the server expects, values as typed.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        [
            ("principal", &self.principal),
            ("action", &self.action),
            ("profile", &self.profile),
            ("outcome", &self.outcome),
            ("source", &self.source),
            ("access_key_id", &self.access_key_id),
            ("session_name", &self.session_name),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }

    /// Whether no filter was given.
    pub fn is_empty(&self) -> bool {
        self.query().is_empty()
    }

    /// Refuses a window no event can fall into (`--since` after `--until`), judged at `now`.
    pub fn check(&self, now: OffsetDateTime) -> anyhow::Result<()> {
        let (Some(since), Some(until)) = (&self.since, &self.until) else {
            return Ok(());
        };
        if let (Some(from), Some(to)) = (resolve(since, now), resolve(until, now)) {
            if from > to {
                return Err(UserError::new(format!(
                    "--since {since} is later than --until {until}, so no event can match"
                ))
                .hint("--since is the start of the window and --until its end; spans count back from now, e.g. --since 7d --until 1d")
                .into());
            }
        }
        Ok(())
    }
}

/// Checks a `--since`/`--until` value the way the server reads it (RFC 3339, or a span back from
/// now) and hands it back unchanged: the server resolves it (clap value parser).
pub fn parse_when(text: &str) -> Result<String, String> {
    if resolve(text, crate::clock::now()).is_some() {
        return Ok(text.to_owned());
    }
    let example = if looks_like_a_date(text) {
        format!("{text}T00:00:00Z")
    } else {
        "2024-05-01T00:00:00Z".to_owned()
    };
    Err(format!(
        "`{text}` is neither an RFC 3339 time nor a span back from now; write e.g. {example}, 24h or 7d"
    ))
}

/// `text` as an instant: an RFC 3339 time, or a span (`24h`, `7d`, `1h30m`) before `now`.
fn resolve(text: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let ago = humantime::parse_duration(text).ok()?;
    now.checked_sub(time::Duration::try_from(ago).ok()?)
}

/// `2024-05-01`: a date without the time RFC 3339 wants.
fn looks_like_a_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn since_and_until_take_rfc3339_times_and_spans_back_from_now_as_typed() {
        for ok in [
            "2024-05-01T00:00:00Z",
            "2024-05-01T09:00:00.5+02:00",
            "90s",
            "15m",
            "24h",
            "7d",
            "2w",
            "1h30m",
        ] {
            assert_eq!(parse_when(ok).as_deref(), Ok(ok));
        }
    }

    #[test]
    fn a_window_that_ends_before_it_starts_is_refused() {
        let now = datetime!(2026-11-28 12:00 UTC);
        let window = |since: &str, until: &str| Filters {
            since: Some(since.into()),
            until: Some(until.into()),
            ..Filters::default()
        };
        assert!(window("7d", "1d").check(now).is_ok());
        assert!(window("2026-11-01T00:00:00Z", "1h").check(now).is_ok());
        let err = window("1d", "7d").check(now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--since 1d is later than --until 7d, so no event can match"
        );
        assert!(window("2026-11-28T11:00:00Z", "2h").check(now).is_err());
    }
}
