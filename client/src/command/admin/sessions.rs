//! `vault admin sessions [--principal P] [--json]`: the live logins, newest first, as a table or
//! as the server's JSON answer.

use anyhow::Context;
use vault_api::admin::{LoginSessionView, SessionsResponse};

use crate::auth::Authenticator;
use crate::table::{self, cell, cell_or_dash, display_time};

const HEADER: [&str; 7] = [
    "PRINCIPAL",
    "KIND",
    "STARTED",
    "LAST REFRESH",
    "CLIENT ADDRESS",
    "USER AGENT",
    "SESSION",
];
/// Longest cells shown in the table; `--json` has everything.
const MAX_NAME: usize = 48;
const MAX_AGENT: usize = 40;

/// Show the live logins: principal, kind, started, last refresh, client address, user agent and
/// login session id.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Only this principal's logins (a person's email, a CI job's subject)
    #[arg(long)]
    principal: Option<String>,
    /// Print the server's answer as JSON instead of a table
    #[arg(long)]
    json: bool,
}

impl Cmd {
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        let query: Vec<(&str, String)> = self
            .principal
            .iter()
            .map(|p| ("principal", p.clone()))
            .collect();
        let answer: SessionsResponse = auth
            .get_query("v1/admin/sessions", &query, None)
            .await
            .context("reading the live login sessions")?;
        if self.json {
            let mut text = serde_json::to_string_pretty(&answer)?;
            text.push('\n');
            return crate::output::print_out(&text);
        }
        if answer.sessions.is_empty() {
            eprintln!("No live login sessions.");
            return Ok(());
        }
        crate::output::print_out(&table(&answer.sessions))?;
        if answer.truncated {
            eprintln!("(more sessions exist than shown; narrow them with --principal)");
        }
        Ok(())
    }
}

/// The sessions under a header row, in aligned columns.
fn table(sessions: &[LoginSessionView]) -> String {
    let mut rows = vec![table::header(&HEADER)];
    rows.extend(sessions.iter().map(cells));
    table::render(&rows)
}

/// One session's cells: missing values as `-`, long ones cut short, all safe to print.
fn cells(s: &LoginSessionView) -> Vec<String> {
    vec![
        cell(&s.principal, MAX_NAME),
        cell(&s.kind, 8),
        display_time(&s.started),
        s.last_refresh.as_deref().map_or("-".into(), display_time),
        cell_or_dash(s.client_addr.as_deref(), MAX_NAME),
        cell_or_dash(s.user_agent.as_deref(), MAX_AGENT),
        cell(&s.session_id, 36),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_without_refresh_or_agent_shows_dashes_and_its_id() {
        let s = LoginSessionView {
            session_id: "0b6c1f0e-0000-4000-8000-000000000001".into(),
            principal: "alice@example.com".into(),
            kind: "user".into(),
            started: "2026-12-02T10:00:00Z".into(),
            last_refresh: None,
            expires: "2026-12-03T10:00:00Z".into(),
            client_addr: Some("127.0.0.1".into()),
            user_agent: None,
        };
        let text = table(&[s]);
        let line = text.lines().nth(1).unwrap();
        assert!(line.starts_with("alice@example.com"), "{text}");
        assert!(line.contains("2026-12-02T10:00:00Z"), "{text}");
        assert!(line.contains("127.0.0.1"), "{text}");
        assert!(
            line.contains("0b6c1f0e-0000-4000-8000-000000000001"),
            "{text}"
        );
        assert_eq!(
            line.matches(" - ").count() + usize::from(line.ends_with(" -")),
            2,
            "{text}"
        );
    }
}
