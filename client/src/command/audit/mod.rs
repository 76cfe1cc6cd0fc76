//! `vault audit …`: the admin audit API (`/v1/audit*`). Listing and following live in `list`,
//! the hash-chain check in `verify`, the NDJSON dump in `export`, the filters they share in
//! `filters`; the errors they explain alike live here.

pub mod export;
pub mod filters;
pub mod list;
pub mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    use super::filters::parse_when;
    use super::*;

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
}
