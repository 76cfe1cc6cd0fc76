//! `vault audit export [filters]`: every matching event as NDJSON, oldest first, copied to stdout
//! as it arrives so that an export of any size runs in constant memory.

use std::io::{ErrorKind, IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;

use super::filters::Filters;
use crate::auth::Authenticator;
use crate::error::UserError;
use crate::http::Http;

/// A whole export may take long; what must not happen is a stall, see [`IDLE_TIMEOUT`].
const EXPORT_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest wait for the next piece of the export (a narrow filter over a big log can leave
/// the server searching a while between matches).
const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Flags of `vault audit export`.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    #[command(flatten)]
    filters: Filters,
}

impl Cmd {
    pub async fn run(self, http: &Http, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        self.filters.check(crate::clock::now())?;
        let resp = auth
            .open("v1/audit/export", &self.filters.query(), EXPORT_TIMEOUT)
            .await
            .context("exporting the audit log")?;
        check_content_type(resp.headers().get(reqwest::header::CONTENT_TYPE))?;

        let mut out = std::io::stdout();
        let Some(events) = copy(http, resp, &mut out).await? else {
            return Ok(());
        };
        if !out.is_terminal() && std::io::stderr().is_terminal() {
            eprintln!("Exported {events} events.");
        }
        Ok(())
    }
}

/// Copies the answer's body to `out` piece by piece as it arrives; the number of events (lines)
/// copied, or `None` when `out`'s reader went away (`| head`). A body that breaks off or stalls
/// is an error: the output is incomplete.
async fn copy(
    http: &Http,
    mut resp: reqwest::Response,
    out: &mut impl Write,
) -> anyhow::Result<Option<u64>> {
    let mut events: u64 = 0;
    loop {
        let chunk = match tokio::time::timeout(IDLE_TIMEOUT, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                return Err(UserError::wrap(
                    format!("the export was cut off after {events} events"),
                    http.cut_off(e),
                )
                .hint("what was written is incomplete; run the export again")
                .into())
            }
            Err(_) => {
                return Err(UserError::new(format!(
                    "the export stalled after {events} events: nothing arrived for {} minutes",
                    IDLE_TIMEOUT.as_secs() / 60
                ))
                .hint("what was written is incomplete; run the export again, narrowed with --since/--until")
                .into())
            }
        };
        events += line_ends(&chunk);
        match out.write_all(&chunk) {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(None),
            other => other.context("writing the export")?,
        }
    }
    match out.flush() {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(None),
        other => other.context("writing the export").map(|()| Some(events)),
    }
}

fn line_ends(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Refuses an answer that is plainly not the export (an HTML page from a proxy, say) before any of
/// it lands in the output file. No content type at all is given the benefit of the doubt.
fn check_content_type(value: Option<&reqwest::header::HeaderValue>) -> anyhow::Result<()> {
    let Some(value) = value else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    if text.to_ascii_lowercase().contains("json") {
        return Ok(());
    }
    Err(UserError::new(format!(
        "the server answered with `{text}` instead of an NDJSON export"
    ))
    .hint("check that the server URL is the team-vault server's base URL")
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn an_ndjson_or_json_answer_is_accepted_and_a_web_page_is_not() {
        let ct = |s: &'static str| HeaderValue::from_static(s);
        assert!(check_content_type(Some(&ct("application/x-ndjson"))).is_ok());
        assert!(check_content_type(Some(&ct("application/json; charset=utf-8"))).is_ok());
        assert!(check_content_type(None).is_ok());
        let err = check_content_type(Some(&ct("text/html"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the server answered with `text/html` instead of an NDJSON export"
        );
    }

    /// Serves one request with `head` and then each of `pieces` after a pause, then closes.
    async fn trickling_server(head: &'static str, pieces: &'static [&'static str]) -> Http {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            for piece in pieces {
                tokio::time::sleep(Duration::from_millis(20)).await;
                stream.write_all(piece.as_bytes()).await.unwrap();
            }
        });
        Http::new(&crate::config::ServerUrl::parse(&url).unwrap()).unwrap()
    }

    async fn export_from(http: &Http) -> (anyhow::Result<Option<u64>>, Vec<u8>) {
        let url = http.server().join("v1/audit/export");
        let resp = http.open(url, "tok", EXPORT_TIMEOUT).await.unwrap();
        let mut out = Vec::new();
        (copy(http, resp, &mut out).await, out)
    }

    #[tokio::test]
    async fn an_export_is_copied_piece_by_piece_as_sent() {
        let http = trickling_server(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n",
            &["8\r\n{\"a\":1}\n\r\n", "8\r\n{\"a\":2}\n\r\n", "0\r\n\r\n"],
        )
        .await;
        let (copied, out) = export_from(&http).await;
        assert_eq!(copied.unwrap(), Some(2));
        assert_eq!(out, b"{\"a\":1}\n{\"a\":2}\n");
    }

    #[tokio::test]
    async fn an_export_that_breaks_off_is_an_error_naming_how_far_it_got() {
        let http = trickling_server(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n",
            &["8\r\n{\"a\":1}\n\r\n", "8\r\n{\"a\""],
        )
        .await;
        let (copied, out) = export_from(&http).await;
        let err = copied.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the export was cut off after 1 events"),
            "{err:#}"
        );
        assert!(crate::error::hint(&err, &[])
            .unwrap()
            .contains("incomplete"));
        assert!(out.starts_with(b"{\"a\":1}\n"));
    }

    #[test]
    fn events_are_counted_by_their_line_ends() {
        assert_eq!(line_ends(b"{}\n{}\n{"), 2);
    }
}
