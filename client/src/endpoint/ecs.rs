//! The container credential endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`): `GET <secret path>`
//! with `Authorization: <token>` answers the current session.

use std::sync::Arc;

use hyper::http::request::Parts;
use hyper::Method;
use subtle::ConstantTimeEq;

use super::current::Current;
use super::guard::{self, Hosts};
use super::reply::{self, Reply};

/// The header the SDKs send `AWS_CONTAINER_AUTHORIZATION_TOKEN` in.
const AUTHORIZATION: &str = "authorization";

/// One ECS endpoint's secrets and session.
pub struct Ecs {
    /// `/` + 64 hex characters.
    pub path: String,
    /// 64 hex characters.
    pub token: String,
    pub hosts: Hosts,
    pub current: Arc<Current>,
}

impl Ecs {
    /// The answer to one request at `now` (Unix seconds).
    pub fn answer(&self, request: &Parts, now: i64) -> Reply {
        if let Err(why) = guard::check(&request.headers, &self.hosts) {
            return reply::forbidden(why);
        }
        let path = request.uri.path().as_bytes();
        if !bool::from(path.ct_eq(self.path.as_bytes())) {
            return reply::not_found();
        }
        if request.method != Method::GET {
            return reply::wrong_method();
        }
        if !guard::token_matches(&request.headers, AUTHORIZATION, self.token.as_bytes()) {
            return reply::forbidden("a missing or wrong authorization token");
        }
        let session = self.current.get();
        if now >= session.expires_at {
            return reply::expired();
        }
        reply::json(session.ecs.clone())
    }
}
