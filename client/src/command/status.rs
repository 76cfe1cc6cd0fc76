//! `vault status`: the server and whether it answers, who is logged in and until when, and the
//! sessions cached on this machine. Everything known locally is printed even when the server
//! does not answer; the exit code is 1 unless the server answers and accepts the login.

use clap::Parser;
use vault_api::WhoAmI;

use crate::auth::{self, Authenticator, Tokens};
use crate::config::ServerUrl;
use crate::credentials::cache::{self, Entry};
use crate::duration::{display_left, display_seconds};
use crate::error::UserError;
use crate::http::{ApiError, Http};
use crate::store::Store;
use crate::table::cell;

/// Show the server, whether it answers, who is logged in, and the cached sessions.
#[derive(Debug, Parser)]
pub struct Cmd {}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let http = Http::new(&server)?;
        let ready = http.get::<serde_json::Value>("readyz", None).await;
        let who = match (&ready, auth::load(&store).await?) {
            (_, None) => None,
            (Err(ApiError::Unreachable { .. }), Some(_)) => None,
            (_, Some(_)) => Some(
                Authenticator::new(&http, &store)
                    .get::<WhoAmI>("v1/whoami")
                    .await,
            ),
        };
        // After `whoami`, which may have refreshed the access token.
        let tokens = auth::load(&store).await?;
        let cached = store.blocking(cache::entries).await?;
        let now = crate::clock::now_unix();
        let mut out = format!("Server:   {server} ({})\n", answers(&ready));
        out.push_str(&login_lines(tokens.as_ref(), who.as_ref(), now));
        out.push_str(&sessions(&cached, now));
        crate::output::print_out(&out)?;
        verdict(&server, ready, tokens.is_some(), who)
    }
}

/// Whether the server answers, and is ready.
fn answers(ready: &Result<serde_json::Value, ApiError>) -> String {
    match ready {
        Ok(_) => "answers".to_owned(),
        Err(ApiError::Unavailable { message }) => {
            format!("answers, not ready: {}", cell(message, 120))
        }
        Err(ApiError::Unreachable { .. }) => "does not answer".to_owned(),
        Err(e) => format!("answers oddly: {}", cell(&e.to_string(), 120)),
    }
}

/// The login: who (when the server said), its session, and the access token's time left.
fn login_lines(
    tokens: Option<&Tokens>,
    who: Option<&Result<WhoAmI, anyhow::Error>>,
    now: i64,
) -> String {
    let Some(tokens) = tokens else {
        return "Login:    not logged in\n".to_owned();
    };
    let mut out = match who {
        Some(Ok(w)) => {
            let admin = if w.is_admin { ", admin" } else { "" };
            format!(
                "Login:    {} ({}{admin})\nSession:  {}\n",
                cell(&w.display, 128),
                cell(&w.kind, 16),
                cell(&w.session_id, 64)
            )
        }
        Some(Err(e)) => format!("Login:    refused: {}\n", crate::error::one_line(e)),
        None => "Login:    stored (the server was not asked)\n".to_owned(),
    };
    let left = tokens.access_expires_at - now;
    let renewal = if tokens.refresh_token.is_some() {
        "renewed automatically while the login lasts"
    } else {
        "no refresh token: log in again when it expires"
    };
    out.push_str(&format!(
        "Token:    access token {}; {renewal}\n",
        if left > 0 {
            format!("expires in {}", display_left(left))
        } else {
            "expired".to_owned()
        }
    ));
    out
}

/// The cached sessions still usable, as a table, or a line saying there are none.
fn sessions(cached: &[Entry], now: i64) -> String {
    let fresh: Vec<&Entry> = cached
        .iter()
        .filter(|e| e.credentials.is_fresh(now))
        .collect();
    if fresh.is_empty() {
        return "Cached sessions: none\n".to_owned();
    }
    let mut rows = vec![["PROFILE", "DURATION", "EXPIRES IN"].map(String::from)];
    for e in fresh {
        rows.push([
            cell(&e.credentials.profile, 64),
            e.duration
                .map_or_else(|| "default".to_owned(), display_seconds),
            display_left(e.credentials.expires_at - now),
        ]);
    }
    let table = crate::table::render(&rows);
    let indented: String = table.lines().map(|l| format!("  {l}\n")).collect();
    format!("Cached sessions:\n{indented}")
}

/// Success only when the server answers and accepts the login; else the reason, with a hint.
fn verdict(
    server: &ServerUrl,
    ready: Result<serde_json::Value, ApiError>,
    logged_in: bool,
    who: Option<anyhow::Result<WhoAmI>>,
) -> anyhow::Result<()> {
    if let Err(e @ ApiError::Unreachable { .. }) = ready {
        return Err(e.into());
    }
    if !logged_in {
        return Err(auth::not_logged_in(server));
    }
    match who {
        Some(Err(e)) => Err(UserError::wrap("the server refused this login", e)
            .hint("run `vault login`")
            .into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::cache::test_credentials;

    #[test]
    fn only_usable_cached_sessions_are_listed_with_their_duration_and_time_left() {
        let dev = test_credentials("dev", "2030-01-01T01:00:00Z");
        let now = dev.expires_at - 3600;
        let stale = test_credentials("prod", "2030-01-01T00:03:00Z");
        let cached = [
            Entry {
                duration: None,
                credentials: dev.clone(),
            },
            Entry {
                duration: Some(900),
                credentials: stale,
            },
            Entry {
                duration: Some(7200),
                credentials: dev,
            },
        ];
        let out = sessions(&cached, now);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Cached sessions:");
        assert_eq!(lines[1], "  PROFILE  DURATION  EXPIRES IN");
        assert_eq!(lines[2], "  dev      default   1h");
        assert_eq!(lines[3], "  dev      2h        1h");
        assert_eq!(lines.len(), 4, "{out}");
        assert_eq!(sessions(&[], now), "Cached sessions: none\n");
    }

    #[test]
    fn without_a_stored_login_status_says_so() {
        assert_eq!(login_lines(None, None, 0), "Login:    not logged in\n");
    }
}
