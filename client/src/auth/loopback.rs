//! The loopback redirect listener (RFC 8252 §7.3): an HTTP/1.1 endpoint on 127.0.0.1 that waits
//! for `/callback?code=…&state=…` from the browser. Any local process can reach the port, so a
//! request without this login's `state` is answered with 400 and ignored: it can neither end
//! nor steer the login.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::error::UserError;

/// Longest request head accepted from the browser.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener waiting for the login redirect.
pub struct Loopback {
    listener: TcpListener,
    port: u16,
}

impl Loopback {
    /// Binds an ephemeral port on 127.0.0.1.
    pub async fn bind() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("opening a local port for the login redirect")?;
        let port = listener.local_addr()?.port();
        Ok(Self { listener, port })
    }

    /// The redirect URI to register with this login request.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Serves requests until a `/callback` carrying this login's `state` arrives; returns its
    /// code, or the error it reports. Callbacks with another state or none are refused and
    /// ignored (the caller bounds the whole wait).
    pub async fn wait_for_code(self, state: &str) -> anyhow::Result<String> {
        loop {
            let (mut stream, _) = self.listener.accept().await?;
            let target = match tokio::time::timeout(READ_TIMEOUT, read_target(&mut stream)).await {
                Ok(Ok(target)) => target,
                _ => continue,
            };
            let Ok(url) = Url::parse("http://127.0.0.1/").and_then(|base| base.join(&target))
            else {
                respond(&mut stream, "400 Bad Request", "Bad request.").await;
                continue;
            };
            if url.path() != "/callback" {
                respond(&mut stream, "404 Not Found", "Not found.").await;
                continue;
            }
            let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
            if !state_matches(&params, state) {
                respond(
                    &mut stream,
                    "400 Bad Request",
                    "This answer does not belong to the login in progress; it was ignored.",
                )
                .await;
                continue;
            }
            let outcome = callback_outcome(&params, state);
            let page = match &outcome {
                Ok(_) => (
                    "200 OK",
                    "Logged in to team-vault. You can close this tab and return to the terminal.",
                ),
                Err(_) => (
                    "400 Bad Request",
                    "The login did not succeed. See the terminal for details.",
                ),
            };
            respond(&mut stream, page.0, page.1).await;
            return outcome;
        }
    }
}

/// Whether a callback carries this login's `state` (compared in constant time).
fn state_matches(params: &HashMap<String, String>, state: &str) -> bool {
    use subtle::ConstantTimeEq;
    params
        .get("state")
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(state.as_bytes())))
}

/// What a callback's parameters mean: the code, or why there is none.
fn callback_outcome(params: &HashMap<String, String>, state: &str) -> anyhow::Result<String> {
    if !state_matches(params, state) {
        return Err(UserError::new(
            "the login answer does not belong to this login (state mismatch); it was ignored",
        )
        .hint("run `vault login` again and use the URL it prints")
        .into());
    }
    if let Some(error) = params.get("error") {
        let detail = params
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(UserError::new(format!("the login failed ({error}){detail}")).into());
    }
    params
        .get("code")
        .filter(|c| !c.is_empty())
        .cloned()
        .ok_or_else(|| UserError::new("the login answer carried no code").into())
}

/// Reads the request head and returns the request target of a `GET`.
async fn read_target(stream: &mut TcpStream) -> anyhow::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        anyhow::ensure!(n > 0 && head.len() + n <= MAX_HEAD, "bad request");
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or_default().split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Ok(target.to_owned()),
        _ => anyhow::bail!("not a GET request"),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>team-vault</title></head>\
         <body><p>{text}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser going away does not change the outcome of the login.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_callback_with_the_right_state_yields_its_code() {
        let p = params(&[("code", "abc"), ("state", "s1")]);
        assert_eq!(callback_outcome(&p, "s1").unwrap(), "abc");
    }

    #[test]
    fn a_callback_with_another_state_is_refused_even_with_a_code() {
        let p = params(&[("code", "abc"), ("state", "forged")]);
        let err = callback_outcome(&p, "s1").unwrap_err();
        assert!(err.to_string().contains("state mismatch"));
        assert!(callback_outcome(&params(&[("code", "abc")]), "s1").is_err());
    }

    #[test]
    fn an_error_from_the_server_is_reported_with_its_description() {
        let p = params(&[
            ("state", "s1"),
            ("error", "access_denied"),
            ("error_description", "no"),
        ]);
        let err = callback_outcome(&p, "s1").unwrap_err();
        assert_eq!(err.to_string(), "the login failed (access_denied): no");
    }

    #[tokio::test]
    async fn the_listener_ignores_other_paths_and_answers_with_another_state_and_waits_for_the_callback(
    ) {
        let loopback = Loopback::bind().await.unwrap();
        let uri = loopback.redirect_uri();
        let port = uri
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let waiter = tokio::spawn(loopback.wait_for_code("st"));
        let get = |path: &str| {
            let (port, path) = (port.clone(), path.to_owned());
            async move {
                let mut s = TcpStream::connect(format!("127.0.0.1:{port}"))
                    .await
                    .unwrap();
                let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                s.write_all(req.as_bytes()).await.unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).await.unwrap();
                out
            }
        };
        assert!(get("/favicon.ico").await.starts_with("HTTP/1.1 404"));
        // Another state, or none, even with a code or an error: refused, and the login waits on.
        for forged in [
            "/callback?code=evil&state=forged",
            "/callback?code=evil",
            "/callback?error=access_denied&state=st2",
            "/callback",
        ] {
            let answer = get(forged).await;
            assert!(answer.starts_with("HTTP/1.1 400"), "{forged}: {answer}");
            assert!(answer.contains("ignored"), "{forged}: {answer}");
            assert!(!waiter.is_finished(), "{forged} ended the login");
        }
        assert!(get("/callback?code=c0de&state=st")
            .await
            .starts_with("HTTP/1.1 200"));
        assert_eq!(waiter.await.unwrap().unwrap(), "c0de");
    }
}
