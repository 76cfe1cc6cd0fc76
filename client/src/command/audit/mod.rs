//! `vault audit …`: the admin audit API (`/v1/audit*`). Listing and following live in `list`,
//! the hash-chain check in `verify`, the NDJSON dump in `export`; the filters they share, the
//! errors they explain alike and the retry rule of long-running requests live here.

pub mod export;
pub mod list;
pub mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::Authenticator;
use crate::config::ServerUrl;
use crate::error::UserError;
use crate::http::{ApiError, Http};
use crate::store::Store;

/// Search the audit log (admins only): the newest events as a table, or --json lines; --follow
/// keeps printing new ones. `verify` checks the hash chain, `export` dumps events as NDJSON.
#[derive(Debug, Parser)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cmd {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    list: list::Cmd,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Check the audit log's hash chain: exit 0 when intact, 1 at the first broken link
    Verify(verify::Cmd),
    /// Print every matching event as NDJSON, oldest first, e.g. `--since 7d > events.jsonl`
    Export(export::Cmd),
}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<ExitCode> {
        let http = Http::new(&server)?;
        let auth = Authenticator::new(&http, &store);
        let result = match self.action {
            Some(Action::Verify(cmd)) => cmd.run(&auth).await,
            Some(Action::Export(cmd)) => cmd.run(&http, &auth).await.map(|()| ExitCode::SUCCESS),
            None => self.list.run(&auth).await.map(|()| ExitCode::SUCCESS),
        };
        result.map_err(|err| explain(err, &server))
    }
}

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

/// Whether retrying later may help: the server unreachable, overloaded or restarting.
pub fn is_transient(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<ApiError>(),
            Some(
                ApiError::Unreachable { .. }
                    | ApiError::Unavailable { .. }
                    | ApiError::Status {
                        status: 500 | 502 | 504,
                        ..
                    }
            )
        )
    })
}

/// Says why an audit request was refused in terms of what to do about it.
fn explain(err: anyhow::Error, server: &ServerUrl) -> anyhow::Error {
    match err.downcast_ref::<ApiError>() {
        Some(ApiError::Forbidden { message }) => UserError::new(message.clone())
            .hint("audit commands need membership in one of the server's admin groups (`admin_groups` in its config); `vault whoami` shows your groups")
            .into(),
        Some(ApiError::Status { status: 404, .. }) => {
            UserError::new(format!("the server at {server} has no audit API"))
                .hint("`vault audit` needs a team-vault server with the admin audit API; ask for the server to be upgraded")
                .into()
        }
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn parse(args: &[&str]) -> Cmd {
        Cmd::try_parse_from(std::iter::once("audit").chain(args.iter().copied())).unwrap()
    }

    fn server() -> ServerUrl {
        ServerUrl::parse("https://vault.example.com").unwrap()
    }

    /// The URL a request to `path` with `query` goes to (as `Authenticator::get_query` builds it).
    fn endpoint(path: &str, query: &[(&str, String)]) -> url::Url {
        crate::http::with_query(server().join(path), query)
    }

    #[test]
    fn every_filter_flag_becomes_the_query_parameter_the_server_expects() {
        let cmd = parse(&[
            "--principal",
            "alice@example.com",
            "--action",
            "credentials_issue",
            "--profile",
            "prod",
            "--outcome",
            "denied",
            "--source",
            "10.0.0.7",
            "--access-key",
            "ASIAEXAMPLE1234",
            "--session-name",
            "ci-*",
            "--since",
            "7d",
            "--until",
            "24h",
        ]);
        let url = endpoint("v1/audit", &cmd.list.filters.query());
        assert_eq!(
            url.as_str(),
            "https://vault.example.com/v1/audit?principal=alice%40example.com&action=credentials_issue\
             &profile=prod&outcome=denied&source=10.0.0.7&access_key_id=ASIAEXAMPLE1234\
             &session_name=ci-*&since=7d&until=24h"
        );
    }

    #[test]
    fn filters_not_given_are_left_out_of_the_query() {
        let cmd = parse(&["--profile", "dev"]);
        assert_eq!(cmd.list.filters.query(), [("profile", "dev".to_owned())]);
        assert!(parse(&[]).list.filters.is_empty());
        assert_eq!(
            endpoint("v1/audit/export", &[]).as_str(),
            "https://vault.example.com/v1/audit/export"
        );
    }

    #[test]
    fn a_time_with_a_plus_offset_survives_the_query_string() {
        let cmd = parse(&["--since", "2024-05-01T09:00:00+02:00"]);
        let url = endpoint("v1/audit", &cmd.list.filters.query());
        assert!(url
            .as_str()
            .ends_with("since=2024-05-01T09%3A00%3A00%2B02%3A00"));
        let (_, since) = url.query_pairs().next().unwrap();
        assert_eq!(since, "2024-05-01T09:00:00+02:00");
    }

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
    fn an_unreadable_time_is_refused_with_an_example_built_from_what_was_typed() {
        let err = parse_when("2024-05-01").unwrap_err();
        assert!(
            err.contains("write e.g. 2024-05-01T00:00:00Z, 24h or 7d"),
            "{err}"
        );
        let err = parse_when("yesterday").unwrap_err();
        assert!(
            err.starts_with("`yesterday` is neither an RFC 3339 time"),
            "{err}"
        );
        assert!(Cmd::try_parse_from(["audit", "--until", "soon"]).is_err());
    }

    #[test]
    fn an_unknown_outcome_is_refused_before_asking_the_server() {
        assert!(Cmd::try_parse_from(["audit", "--outcome", "ok"]).is_err());
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

    #[test]
    fn verify_and_export_are_subcommands_and_bare_flags_list_events() {
        assert!(matches!(
            parse(&["verify", "--from-seq", "3"]).action,
            Some(Action::Verify(_))
        ));
        assert!(matches!(
            parse(&["export", "--since", "7d"]).action,
            Some(Action::Export(_))
        ));
        let list = parse(&["--json", "--limit", "5"]);
        assert!(list.action.is_none());
        assert!(Cmd::try_parse_from(["audit", "--json", "verify"]).is_err());
    }

    #[test]
    fn a_refusal_reads_as_the_servers_message_with_a_hint_about_admin_groups() {
        let err: anyhow::Error = ApiError::Forbidden {
            message: "only admins may read the audit log".into(),
        }
        .into();
        let err = explain(err, &server());
        assert_eq!(err.to_string(), "only admins may read the audit log");
        let hint = crate::error::hint(&err, &[]).unwrap();
        assert!(hint.contains("admin groups"), "{hint}");
    }

    #[test]
    fn a_server_without_the_audit_api_is_named_as_such() {
        let err: anyhow::Error = ApiError::Status {
            status: 404,
            code: None,
            message: "not found".into(),
        }
        .into();
        let err = explain(err, &server());
        assert_eq!(
            err.to_string(),
            "the server at https://vault.example.com has no audit API"
        );
    }

    #[test]
    fn only_an_unreachable_or_overloaded_server_is_worth_retrying() {
        let status = |status| -> anyhow::Error {
            ApiError::Status {
                status,
                code: None,
                message: String::new(),
            }
            .into()
        };
        assert!(is_transient(&status(502)));
        assert!(is_transient(
            &ApiError::Unavailable {
                message: "audit store down".into()
            }
            .into()
        ));
        assert!(!is_transient(&status(400)));
        assert!(!is_transient(
            &ApiError::Forbidden {
                message: "no".into()
            }
            .into()
        ));
    }
}
