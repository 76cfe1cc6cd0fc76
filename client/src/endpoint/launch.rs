//! Starting an endpoint: its secrets, its listener, its accept loop and its refresher; and the
//! [`Fetch`] that asks the server for new sessions.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hyper::http::request::Parts;
use tokio::task::JoinHandle;

use super::current::{Current, Session};
use super::ec2::Ec2;
use super::ecs::Ecs;
use super::guard::Hosts;
use super::refresh::{Clock, Fetch, Fetched, Refresher};
use super::reply::Reply;
use super::server::{self, Answer, Running};
use crate::credentials::{CachedCredentials, Source};

/// Which protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The container credential endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    Ecs,
    /// IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    Ec2,
}

/// The AWS account the IMDS identity document names when it is not known.
const UNKNOWN_ACCOUNT: &str = "000000000000";

/// A running endpoint; dropping it stops it (and its refresher).
pub struct Endpoint {
    pub kind: Kind,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// What clients are given: the full URI (ECS) or the endpoint's base URL (IMDS).
    pub url: String,
    /// The ECS authorization token (none for IMDS, whose clients cannot send one).
    pub token: Option<String>,
    server: Running,
    refresher: Aborted,
}

impl Endpoint {
    /// Stops serving and refreshing.
    pub async fn stop(self) {
        drop(self.refresher);
        self.server.stop().await;
    }
}

/// A task aborted when this is dropped.
struct Aborted(JoinHandle<()>);

impl Drop for Aborted {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Answer for Ecs {
    fn answer(&self, request: &Parts) -> Reply {
        Ecs::answer(self, request, crate::clock::now_unix())
    }
}

impl Answer for Ec2 {
    fn answer(&self, request: &Parts) -> Reply {
        Ec2::answer(self, request, crate::clock::now_unix(), Instant::now())
    }
}

/// Binds `listen`, serves `first` there as `kind` for `profile` in `region`, and keeps it fresh
/// with `fetch` (hints go to stderr). Runs on the current tokio runtime.
pub async fn launch(
    kind: Kind,
    listen: SocketAddr,
    profile: &str,
    region: &str,
    first: &CachedCredentials,
    fetch: impl Fetch,
) -> anyhow::Result<Endpoint> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let clock: Clock = Arc::new(crate::clock::now_millis);
    let obtained_ms = obtained_ms(first, clock());
    let current = Arc::new(Current::new(Session::render(first, obtained_ms / 1000)));
    let base = base_url(addr);
    let hosts = Hosts::new(addr);
    let (answer, url, token): (Arc<dyn Answer>, _, _) = match kind {
        Kind::Ecs => {
            let ecs = Ecs {
                path: format!("/{}", super::secret::random_hex()),
                token: super::secret::random_hex(),
                hosts,
                current: current.clone(),
            };
            let (url, token) = (format!("{base}{}", ecs.path), ecs.token.clone());
            (Arc::new(ecs), url, Some(token))
        }
        Kind::Ec2 => {
            let account = first.account_id.as_deref().unwrap_or(UNKNOWN_ACCOUNT);
            let ec2 = Ec2::new(hosts, current.clone(), profile, region, account);
            (Arc::new(ec2), format!("{base}/"), None)
        }
    };
    let server = server::start(listener, answer)?;
    let refresher = Refresher {
        fetch,
        current,
        profile: profile.to_owned(),
        clock,
        tell: Box::new(|line| eprintln!("{line}")),
    };
    let refresher = Aborted(tokio::spawn(refresher.run(obtained_ms)));
    Ok(Endpoint {
        kind,
        addr,
        url,
        token,
        server,
        refresher,
    })
}

/// When (Unix ms) `first` was obtained, for its refresh margin: its issue time when known (a
/// session from the cache has part of its life behind it), else `now_ms`.
fn obtained_ms(first: &CachedCredentials, now_ms: i64) -> i64 {
    first
        .issued_at
        .map(|secs| secs.saturating_mul(1000))
        .filter(|&issued| issued <= now_ms)
        .unwrap_or(now_ms)
}

/// `http://HOST:PORT` for clients on this machine: a listener on every address is reached on
/// 127.0.0.1.
fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// The region to serve: the profile's, else the inherited one, else us-east-1.
pub fn region_of(first: &CachedCredentials) -> String {
    first
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// The variables a child of `vault exec` gets for `endpoint`, and (ECS) the token file they name,
/// removed when dropped.
pub fn child_vars(
    endpoint: &Endpoint,
) -> anyhow::Result<(ChildVars, Option<tempfile::NamedTempFile>)> {
    match (&endpoint.kind, &endpoint.token) {
        (Kind::Ecs, Some(token)) => {
            let file = token_file(token)?;
            let path = file.path().to_string_lossy().into_owned();
            let vars = vec![
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url.clone()),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.clone()),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path),
            ];
            Ok((vars, Some(file)))
        }
        _ => Ok((
            vec![
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.url.clone()),
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv4".to_owned()),
            ],
            None,
        )),
    }
}

/// Variables for a child: name and value.
pub type ChildVars = Vec<(&'static str, String)>;

/// A file readable only by this user holding exactly the token.
fn token_file(token: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix("vault-ecs-token-")
        .tempfile()
        .context("cannot create the endpoint's token file")?;
    file.write_all(token.as_bytes())?;
    file.flush()?;
    Ok(file)
}

/// New sessions from the server, past the cache (see [`Source::fetch_fresh`]).
pub struct FromServer {
    pub source: Source,
    pub profile: String,
    pub duration: Option<u32>,
}

impl Fetch for FromServer {
    fn fetch(&self) -> Fetched<'_> {
        Box::pin(self.source.fetch_fresh(&self.profile, self.duration))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
