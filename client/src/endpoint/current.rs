//! The session an endpoint serves: rendered once into the exact ECS and IMDS bodies, so that a
//! request only clones a buffer, and swapped whole when a refresh brings a new one.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde::Serialize;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::credentials::CachedCredentials;

/// One session, as the endpoints answer it.
#[derive(Debug)]
pub struct Session {
    /// `{"AccessKeyId","SecretAccessKey","Token","Expiration"}`.
    pub ecs: Bytes,
    /// The IMDS role document (`Code`, `LastUpdated`, `Type` and the same four fields).
    pub imds: Bytes,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Ecs<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Imds<'a> {
    code: &'a str,
    last_updated: &'a str,
    #[serde(rename = "Type")]
    kind: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: &'a str,
}

impl Session {
    /// Renders credentials obtained at `now` (Unix seconds).
    pub fn render(cached: &CachedCredentials, now: i64) -> Self {
        let c = &cached.credentials;
        let expiration = rfc3339_utc(cached.expires_at);
        let ecs = Ecs {
            access_key_id: &c.access_key_id,
            secret_access_key: &c.secret_access_key,
            token: &c.session_token,
            expiration: &expiration,
        };
        let imds = Imds {
            code: "Success",
            last_updated: &rfc3339_utc(now),
            kind: "AWS-HMAC",
            access_key_id: &c.access_key_id,
            secret_access_key: &c.secret_access_key,
            token: &c.session_token,
            expiration: &expiration,
        };
        Self {
            ecs: to_bytes(&ecs),
            imds: to_bytes(&imds),
            expires_at: cached.expires_at,
        }
    }
}

fn to_bytes(value: &impl Serialize) -> Bytes {
    // Serialising a struct of strings cannot fail.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// `2026-12-02T07:00:00Z`: the form every SDK parses.
pub fn rfc3339_utc(unix: i64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The session being served; readers take a reference, a refresh swaps it.
#[derive(Debug)]
pub struct Current(RwLock<Arc<Session>>);

impl Current {
    pub fn new(session: Session) -> Self {
        Self(RwLock::new(Arc::new(session)))
    }

    /// The session now.
    pub fn get(&self) -> Arc<Session> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Serves `session` from now on.
    pub fn replace(&self, session: Session) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::cache::test_credentials;

    #[test]
    fn a_session_renders_the_shapes_the_sdks_read() {
        let cached = test_credentials("dev", "2030-01-01T01:00:00+00:00");
        let session = Session::render(&cached, cached.expires_at - 3600);
        let ecs: serde_json::Value = serde_json::from_slice(&session.ecs).unwrap();
        assert_eq!(
            ecs,
            serde_json::json!({"AccessKeyId": "ASIATEST", "SecretAccessKey": "secret",
                "Token": "token", "Expiration": "2030-01-01T01:00:00Z"})
        );
        let imds: serde_json::Value = serde_json::from_slice(&session.imds).unwrap();
        assert_eq!(imds["Code"], "Success");
        assert_eq!(imds["Type"], "AWS-HMAC");
        assert_eq!(imds["LastUpdated"], "2030-01-01T00:00:00Z");
        assert_eq!(imds["Expiration"], "2030-01-01T01:00:00Z");
        assert_eq!(imds["AccessKeyId"], "ASIATEST");
    }
}
