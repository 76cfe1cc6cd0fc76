//! The instance metadata endpoint (`AWS_EC2_METADATA_SERVICE_ENDPOINT`), IMDSv2 only: a session
//! token from `PUT /latest/api/token` must accompany every read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use sha2::{Digest, Sha256};

use super::current::Current;
use super::guard::{self, Hosts};
use super::reply::{self, Reply};

/// The most session tokens alive at once; a new one beyond it replaces the one nearest expiry.
pub const MAX_TOKENS: usize = 1024;
/// IMDS's bounds for a session token's lifetime, in seconds.
const TTL_RANGE: std::ops::RangeInclusive<u64> = 1..=21_600;
const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
const ROLES: &str = "/latest/meta-data/iam/security-credentials";

/// Live IMDS session tokens, kept only as their SHA-256 (so a lookup's timing tells nothing of a
/// token) with their expiry.
#[derive(Debug, Default)]
pub struct Tokens(Mutex<HashMap<[u8; 32], Instant>>);

impl Tokens {
    /// A new token living `ttl` from `now`.
    pub fn issue(&self, ttl: Duration, now: Instant) -> String {
        let token = super::secret::random_hex();
        let mut live = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if live.len() >= MAX_TOKENS {
            live.retain(|_, expiry| *expiry > now);
        }
        if live.len() >= MAX_TOKENS {
            let nearest = live.iter().min_by_key(|(_, e)| **e).map(|(k, _)| *k);
            if let Some(nearest) = nearest {
                live.remove(&nearest);
            }
        }
        live.insert(digest(token.as_bytes()), now + ttl);
        token
    }

    /// Whether `token` was issued and has not expired at `now`.
    pub fn is_live(&self, token: &[u8], now: Instant) -> bool {
        let live = self.0.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&digest(token)).is_some_and(|expiry| *expiry > now)
    }

    /// How many tokens are kept.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// One IMDS endpoint: its tokens, the role (the profile's name) and the session.
pub struct Ec2 {
    pub hosts: Hosts,
    pub current: Arc<Current>,
    pub tokens: Tokens,
    role: Bytes,
    region: Bytes,
    identity: Bytes,
}

impl Ec2 {
    /// An endpoint naming `profile` as its role, in `region` (account: `account_id`).
    pub fn new(
        hosts: Hosts,
        current: Arc<Current>,
        profile: &str,
        region: &str,
        account_id: &str,
    ) -> Self {
        let identity = serde_json::json!({
            "accountId": account_id,
            "availabilityZone": format!("{region}a"),
            "instanceId": "i-0000000000000vault",
            "instanceType": "t3.micro",
            "region": region,
            "version": "2017-09-30",
        });
        Self {
            hosts,
            current,
            tokens: Tokens::default(),
            role: Bytes::from(profile.to_owned()),
            region: Bytes::from(region.to_owned()),
            identity: Bytes::from(identity.to_string()),
        }
    }

    /// The answer to one request at `now` (Unix seconds) and `instant` (for token lifetimes).
    pub fn answer(&self, request: &Parts, now: i64, instant: Instant) -> Reply {
        if let Err(why) = guard::check(&request.headers, &self.hosts) {
            return reply::forbidden(why);
        }
        let path = request.uri.path();
        if path == "/latest/api/token" {
            return match request.method {
                Method::PUT => self.issue(request, instant),
                _ => reply::wrong_method(),
            };
        }
        if request.method != Method::GET {
            return reply::wrong_method();
        }
        let token = request.headers.get(TOKEN_HEADER).map(|t| t.as_bytes());
        if !token.is_some_and(|t| self.tokens.is_live(t, instant)) {
            return reply::error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a live session token from PUT /latest/api/token is required (IMDSv2)",
            );
        }
        match path.strip_prefix(ROLES) {
            Some("" | "/") => return reply::text(self.role.clone()),
            Some(role) if role.strip_prefix('/') == Some(self.role_name()) => {
                let session = self.current.get();
                if now >= session.expires_at {
                    return reply::expired();
                }
                return reply::json(session.imds.clone());
            }
            _ => {}
        }
        match path {
            "/latest/meta-data/placement/region" => reply::text(self.region.clone()),
            "/latest/dynamic/instance-identity/document" => reply::json(self.identity.clone()),
            _ => reply::not_found(),
        }
    }

    fn role_name(&self) -> &str {
        std::str::from_utf8(&self.role).unwrap_or_default()
    }

    fn issue(&self, request: &Parts, instant: Instant) -> Reply {
        // As IMDS does: a PUT relayed by a proxy is an SSRF, not a local tool.
        if request.headers.contains_key("x-forwarded-for") {
            return reply::forbidden("token requests through a proxy are refused");
        }
        let ttl = request
            .headers
            .get(TTL_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ttl| TTL_RANGE.contains(ttl));
        let Some(ttl) = ttl else {
            return reply::error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "X-aws-ec2-metadata-token-ttl-seconds must be between 1 and 21600",
            );
        };
        let token = self.tokens.issue(Duration::from_secs(ttl), instant);
        let mut answer = reply::text(Bytes::from(token));
        if let Ok(value) = ttl.to_string().parse() {
            answer.headers_mut().insert(TTL_HEADER, value);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_lives_for_its_ttl_only() {
        let tokens = Tokens::default();
        let start = Instant::now();
        let token = tokens.issue(Duration::from_secs(10), start);
        assert!(tokens.is_live(token.as_bytes(), start + Duration::from_secs(9)));
        assert!(!tokens.is_live(token.as_bytes(), start + Duration::from_secs(10)));
        assert!(!tokens.is_live(b"made-up", start));
    }

    #[test]
    fn at_most_1024_tokens_are_kept_and_the_one_nearest_expiry_goes_first() {
        let tokens = Tokens::default();
        let start = Instant::now();
        let first = tokens.issue(Duration::from_secs(1), start);
        for _ in 0..MAX_TOKENS + 10 {
            tokens.issue(Duration::from_secs(600), start);
        }
        assert_eq!(tokens.count(), MAX_TOKENS);
        assert!(!tokens.is_live(first.as_bytes(), start));
    }
}
