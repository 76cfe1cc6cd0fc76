//! `vault audit [filters] [--limit N] [--json] [--follow]`: the newest matching events as a table
//! or JSON lines, and with `--follow` every new one after them as it happens.

use std::time::Duration;

use anyhow::Context;
use vault_api::audit::{AuditEventView, AuditPage};

use super::filters::Filters;
use crate::auth::Authenticator;
use crate::error::one_line;
use crate::http::ApiError;
use crate::table::{self, cell, cell_or_dash, display_time, Columns};

/// The server's largest page (`limit` 1..=1000).
const MAX_PAGE: usize = 1000;
/// How long one follow request may wait on the server for new events (seconds).
const FOLLOW_WAIT_SECS: u64 = 25;
/// A follow request's whole budget: the wait plus the usual 30 s.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(FOLLOW_WAIT_SECS + 30);

const HEADER: [&str; 7] = [
    "TIME",
    "PRINCIPAL",
    "ACTION",
    "PROFILE",
    "OUTCOME",
    "ACCESS KEY",
    "REASON",
];
/// Column widths `--follow` starts from, so that most later rows line up with the first ones.
const FOLLOW_WIDTHS: [usize; 6] = [20, 24, 17, 10, 7, 20];
/// Longest cells shown in the table; `--json` has everything.
const MAX_PRINCIPAL: usize = 40;
const MAX_NAME: usize = 24;
const MAX_REASON: usize = 60;

/// Flags of the bare `vault audit` (no argument group of its own: it is flattened into
/// `audit::Cmd`, whose group would have the same name).
#[derive(Debug, clap::Args)]
#[group(skip)]
pub struct Cmd {
    /// How many events to show, newest first (more than one page is fetched page by page)
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// One JSON object (an audit event) per line instead of a table
    #[arg(long)]
    json: bool,
    /// Show the newest events oldest first, then keep printing new ones as they happen (Ctrl-C ends it)
    #[arg(long, conflicts_with = "until")]
    follow: bool,
    /// Last, so that the flags above are not listed under its heading.
    #[command(flatten)]
    pub(super) filters: Filters,
}

impl Cmd {
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        self.filters.check(crate::clock::now())?;
        if self.follow {
            return self.follow(auth).await;
        }
        let (events, more) = newest(auth, &self.filters, self.limit).await?;
        if events.is_empty() {
            let which = if self.filters.is_empty() {
                ""
            } else {
                " these filters"
            };
            eprintln!("No audit events match{which}.");
            return Ok(());
        }
        let text = if self.json {
            json_lines(&events)?
        } else {
            table(&events)
        };
        if crate::output::write_out(&text)? && more {
            eprintln!(
                "More events match than the {} shown: raise --limit, narrow the filters, or run `vault audit export` for all of them.",
                events.len()
            );
        }
        Ok(())
    }

    /// Prints the newest events oldest first, then long-polls for new ones until interrupted or
    /// until stdout's reader goes away. Transient failures are retried with a growing pause.
    async fn follow(&self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        let (mut backlog, _) = newest(auth, &self.filters, self.limit).await?;
        backlog.reverse();
        let mut rows = vec![header()];
        rows.extend(backlog.iter().map(cells));
        let printer = Printer {
            json: self.json,
            columns: Columns::fit(&rows).at_least(&FOLLOW_WIDTHS),
        };
        let mut text = printer.header();
        for event in &backlog {
            text.push_str(&printer.event(event)?);
        }
        if !crate::output::write_out(&text)? {
            return Ok(());
        }
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!("Following new events; Ctrl-C to stop.");
        }
        // With nothing seen yet, start from the beginning rather than the head: the filters are
        // the same, so only events that arrived since the first request can come back.
        let mut last = backlog.last().map_or(0, |e| e.chain_seq);
        let mut after = last.to_string();
        let mut backoff = Backoff::default();
        loop {
            let mut query = self.filters.query();
            query.push(("after", after.clone()));
            query.push(("wait", FOLLOW_WAIT_SECS.to_string()));
            let answer = auth
                .get_query::<AuditPage>("v1/audit/follow", &query, Some(FOLLOW_TIMEOUT))
                .await;
            let page = match answer {
                Ok(page) => page,
                Err(err) if is_transient(&err) => {
                    let pause = backoff.next_pause();
                    eprintln!(
                        "warning: following paused: {}; retrying in {}s",
                        one_line(&err),
                        pause.as_secs()
                    );
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Err(err) => return Err(err).context("following the audit log"),
            };
            if backoff.reset() {
                eprintln!("Reconnected; following again.");
            }
            let mut text = String::new();
            for event in &page.events {
                if event.chain_seq > last {
                    text.push_str(&printer.event(event)?);
                    last = event.chain_seq;
                }
            }
            if !text.is_empty() && !crate::output::write_out(&text)? {
                return Ok(());
            }
            after = match page.next_cursor {
                Some(next) => next,
                None if last > 0 => last.to_string(),
                None => after,
            };
        }
    }
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

/// Up to `limit` matching events, newest first, fetched page by page; and whether more match.
async fn newest(
    auth: &Authenticator<'_>,
    filters: &Filters,
    limit: u32,
) -> anyhow::Result<(Vec<AuditEventView>, bool)> {
    let limit = limit as usize;
    let mut events: Vec<AuditEventView> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let want = (limit - events.len()).min(MAX_PAGE);
        let query = page_query(filters, want, cursor.as_deref());
        let page: AuditPage = auth
            .get_query("v1/audit", &query, None)
            .await
            .context("reading the audit log")?;
        let got = page.events.len();
        let room = limit - events.len();
        events.extend(page.events.into_iter().take(room));
        match page.next_cursor {
            // A page that brings nothing or the same cursor again would loop for ever.
            Some(next) if got > 0 && cursor.as_ref() != Some(&next) => {
                if events.len() >= limit {
                    return Ok((events, true));
                }
                cursor = Some(next);
            }
            _ => return Ok((events, false)),
        }
    }
}

/// The query of one `GET /v1/audit` page.
fn page_query(
    filters: &Filters,
    limit: usize,
    cursor: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut query = filters.query();
    query.push(("limit", limit.to_string()));
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    query
}

/// Prints `--follow`'s events one at a time in the columns chosen at the start.
struct Printer {
    json: bool,
    columns: Columns,
}

impl Printer {
    fn header(&self) -> String {
        if self.json {
            String::new()
        } else {
            self.columns.line(&header())
        }
    }

    fn event(&self, event: &AuditEventView) -> anyhow::Result<String> {
        if self.json {
            json_lines(std::slice::from_ref(event))
        } else {
            Ok(self.columns.line(&cells(event)))
        }
    }
}

/// One JSON document per event, one per line.
fn json_lines(events: &[AuditEventView]) -> anyhow::Result<String> {
    let mut out = String::new();
    for event in events {
        out.push_str(&serde_json::to_string(event)?);
        out.push('\n');
    }
    Ok(out)
}

/// The events under a header row, in aligned columns.
fn table(events: &[AuditEventView]) -> String {
    let mut rows = vec![header()];
    rows.extend(events.iter().map(cells));
    table::render(&rows)
}

fn header() -> Vec<String> {
    table::header(&HEADER)
}

/// An event's table cells: missing values as `-` (a missing reason left blank), long ones cut
/// short, and nothing that could move a terminal's cursor or reorder its text.
fn cells(e: &AuditEventView) -> Vec<String> {
    let principal = match (&e.principal, &e.principal_id, e.principal_kind.as_deref()) {
        (Some(p), _, _) | (None, Some(p), _) => cell(p, MAX_PRINCIPAL),
        (None, None, Some("system")) => "(system)".into(),
        (None, None, _) => "-".into(),
    };
    vec![
        display_time(&e.time),
        principal,
        cell(&e.action, MAX_NAME),
        cell_or_dash(e.profile.as_deref(), MAX_NAME),
        cell(&e.outcome, MAX_NAME),
        cell_or_dash(e.access_key_id.as_deref(), MAX_NAME),
        e.reason
            .as_deref()
            .map_or(String::new(), |r| cell(r, MAX_REASON)),
    ]
}

/// Pauses between retries: 1 s, doubling up to 30 s, back to 1 s after a success.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next_pause(&mut self) -> Duration {
        let secs = 1u64 << self.failures.min(5);
        self.failures += 1;
        Duration::from_secs(secs.min(30))
    }

    /// Starts over; tells whether there had been failures.
    fn reset(&mut self) -> bool {
        std::mem::take(&mut self.failures) > 0
    }
}

#[cfg(test)]
mod tests;
