//! Filters of the admin audit API, parsed from the query string.

use serde::Deserialize;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Filters as they arrive (all optional strings).
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct FilterParams {
    pub principal: Option<String>,
    pub action: Option<String>,
    pub profile: Option<String>,
    pub outcome: Option<String>,
    pub source: Option<String>,
    pub access_key_id: Option<String>,
    pub session_name: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// A text match: exact, or a glob (`*`, `?`) turned into a SQL LIKE pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    Exact(String),
    Like(String),
}

/// Parsed filters, ready for the query.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub principal: Option<TextMatch>,
    pub action: Option<String>,
    pub profile: Option<String>,
    pub outcome: Option<String>,
    pub source: Option<String>,
    pub access_key_id: Option<String>,
    pub session_name: Option<TextMatch>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

impl FilterParams {
    /// Checks and converts; the error names the parameter.
    pub fn parse(&self, now: OffsetDateTime) -> Result<Filter, String> {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        if let Some(o) = non_empty(&self.outcome) {
            if !matches!(o.as_str(), "success" | "denied" | "failure") {
                return Err(format!(
                    "outcome: `{o}` is not one of success, denied, failure"
                ));
            }
        }
        let since = non_empty(&self.since)
            .map(|s| parse_time("since", &s, now))
            .transpose()?;
        let until = non_empty(&self.until)
            .map(|s| parse_time("until", &s, now))
            .transpose()?;
        Ok(Filter {
            principal: non_empty(&self.principal).map(|p| text_match(&p)),
            action: non_empty(&self.action),
            profile: non_empty(&self.profile),
            outcome: non_empty(&self.outcome),
            source: non_empty(&self.source),
            access_key_id: non_empty(&self.access_key_id),
            session_name: non_empty(&self.session_name).map(|p| text_match(&p)),
            since,
            until,
        })
    }
}

/// RFC 3339, or a duration back from `now` (`90s`, `15m`, `24h`, `7d`, `2w`).
pub fn parse_time(name: &str, text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        format!("{name}: `{text}` is neither an RFC 3339 time nor a duration such as 24h or 7d")
    })?;
    let ago =
        time::Duration::try_from(ago).map_err(|_| format!("{name}: `{text}` is too far back"))?;
    now.checked_sub(ago)
        .ok_or_else(|| format!("{name}: `{text}` is too far back"))
}

/// `*` and `?` make a glob; everything else is matched literally.
fn text_match(pattern: &str) -> TextMatch {
    if !pattern.contains(['*', '?']) {
        return TextMatch::Exact(pattern.to_owned());
    }
    let mut like = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' => like.push('%'),
            '?' => like.push('_'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c),
        }
    }
    TextMatch::Like(like)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn globs_become_like_patterns_with_literals_escaped() {
        assert_eq!(
            text_match("alice@example.com"),
            TextMatch::Exact("alice@example.com".into())
        );
        assert_eq!(
            text_match("*@example.com"),
            TextMatch::Like("%@example.com".into())
        );
        assert_eq!(text_match("a_b?*"), TextMatch::Like("a\\_b_%".into()));
    }

    #[test]
    fn since_accepts_relative_durations_and_rfc3339() {
        let now = datetime!(2026-11-28 12:00 UTC);
        assert_eq!(
            parse_time("since", "24h", now).unwrap(),
            datetime!(2026-11-27 12:00 UTC)
        );
        assert_eq!(
            parse_time("since", "7d", now).unwrap(),
            datetime!(2026-11-21 12:00 UTC)
        );
        assert_eq!(
            parse_time("since", "2026-01-02T03:04:05Z", now).unwrap(),
            datetime!(2026-01-02 03:04:05 UTC)
        );
        assert!(parse_time("since", "yesterday", now)
            .unwrap_err()
            .starts_with("since:"));
    }

    #[test]
    fn an_unknown_outcome_is_refused() {
        let p = FilterParams {
            outcome: Some("ok".into()),
            ..Default::default()
        };
        assert!(p
            .parse(datetime!(2026-11-28 12:00 UTC))
            .unwrap_err()
            .contains("outcome"));
    }
}
