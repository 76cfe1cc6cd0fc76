//! Client authentication at `/oauth/token`, `/oauth/revoke` and `/oauth/device` (RFC 6749
//! §2.3.1): a confidential client proves itself with its secret, in an `Authorization: Basic`
//! header (`client_secret_basic`) or in the form (`client_secret_post`), never both; a public
//! client names itself with `client_id` alone (`none`). Every failure is `invalid_client` (401),
//! except a request that mixes methods (`invalid_request`).

use axum::http::{header, HeaderMap};
use vault_api::GRANT_TOKEN_EXCHANGE;

use super::refusal::{self, Attempt};
use crate::{
    clients::{basic, Client, ClientKind, Registry},
    error::{OAuthCode, OAuthError},
    request_meta::RequestMeta,
    state::AppState,
};

/// The client a request to `endpoint` (for `grant`, if it names one) comes from, after
/// [`authenticate`]; a refusal is audited (with the client id claimed and the method, never the
/// secret). Only a CI token exchange may come from no client at all.
pub async fn identify<'s>(
    state: &'s AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    endpoint: &'static str,
    grant: Option<&str>,
) -> Result<Option<&'s Client>, OAuthError> {
    let header = match basic_header(headers) {
        Ok(h) => h,
        Err(e) => {
            let attempt = Attempt {
                endpoint,
                grant,
                client_id,
                client_auth: Some("client_secret_basic"),
                ..Attempt::default()
            };
            return Err(refusal::refused(state, meta, attempt, e).await);
        }
    };
    let p = Presented {
        header,
        client_id,
        client_secret,
    };
    let outcome = authenticate(&state.config.clients, &p).and_then(|client| match client {
        None if grant != Some(GRANT_TOKEN_EXCHANGE) => Err(invalid("client_id is required")),
        found => Ok(found),
    });
    match outcome {
        Ok(client) => Ok(client),
        Err(e) => {
            let claimed = p.claimed_id();
            let attempt = Attempt {
                endpoint,
                grant,
                client_id: claimed.as_deref(),
                client_auth: Some(p.method()),
                ..Attempt::default()
            };
            Err(refusal::refused(state, meta, attempt, e).await)
        }
    }
}

/// The `Authorization` header if it is HTTP Basic (other schemes are not client
/// authentication here and are ignored); a header that is not text is refused.
fn basic_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| invalid("the Authorization header is not printable ASCII"))?;
    let scheme = text.trim_start().split(' ').next().unwrap_or_default();
    Ok(scheme.eq_ignore_ascii_case("basic").then_some(text))
}

/// What a request presented to identify its client.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The `Authorization` header, if any.
    pub header: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
}

impl Presented<'_> {
    /// The RFC 7591 name of the method the request used, for its audit event.
    pub fn method(&self) -> &'static str {
        match (self.header.is_some(), self.client_secret.is_some()) {
            (true, false) => "client_secret_basic",
            (false, true) => "client_secret_post",
            (true, true) => "several",
            (false, false) => "none",
        }
    }

    /// The client id the request names (the header's, else the form's), for its audit event.
    pub fn claimed_id(&self) -> Option<String> {
        match self.header.map(basic::parse) {
            Some(Ok(Some(c))) => Some(c.client_id),
            _ => self.client_id.map(str::to_owned),
        }
    }
}

/// The registered client `p` authenticates as; `Ok(None)` when it presents nothing at all (the
/// caller decides whether a request may come from no client: only a CI token exchange may).
pub fn authenticate<'r>(
    registry: &'r Registry,
    p: &Presented<'_>,
) -> Result<Option<&'r Client>, OAuthError> {
    let from_header = match p.header.map(basic::parse).transpose() {
        Ok(found) => found.flatten(),
        Err(why) => return Err(invalid(why)),
    };
    let (id, secret) = match (from_header, p.client_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::new(
                OAuthCode::InvalidRequest,
                "use one client authentication method: the Authorization header or client_secret, not both",
            ))
        }
        (Some(basic), None) => {
            if p.client_id.is_some_and(|form| form != basic.client_id) {
                return Err(OAuthError::new(
                    OAuthCode::InvalidRequest,
                    "client_id differs from the client the Authorization header names",
                ));
            }
            (basic.client_id, Some(basic.secret))
        }
        (None, secret) => match p.client_id {
            Some(id) => (id.to_owned(), secret.map(str::to_owned)),
            None if secret.is_some() => return Err(OAuthError::missing("client_id")),
            None => return Ok(None),
        },
    };
    let client = registry
        .get(&id)
        .ok_or_else(|| invalid("unknown client_id; register the client in [[clients]]"))?;
    match (client.kind, &client.secret, secret) {
        (ClientKind::Public, _, None) => Ok(Some(client)),
        (ClientKind::Public, _, Some(_)) => Err(invalid(
            "this client is public: send client_id alone, without a secret",
        )),
        (ClientKind::Confidential, Some(hash), Some(s)) if hash.matches(&s) => Ok(Some(client)),
        (ClientKind::Confidential, _, Some(_)) => Err(invalid("client authentication failed")),
        (ClientKind::Confidential, _, None) => Err(invalid(
            "this client is confidential: authenticate with HTTP Basic or client_secret",
        )),
    }
}

fn invalid(why: &str) -> OAuthError {
    OAuthError::new(OAuthCode::InvalidClient, why)
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine};

    use super::*;
    use crate::clients::{Grant, RedirectRule, SecretHash};

    const SECRET: &str = "s3cret-s3cret-s3cret-s3cret-s3cret";

    fn registry() -> Registry {
        let client = |id: &str, kind, secret: Option<SecretHash>| Client {
            id: id.into(),
            name: id.into(),
            kind,
            secret,
            redirect: RedirectRule::Loopback,
            grants: vec![Grant::AuthorizationCode],
        };
        Registry::new(vec![
            client(
                "bot",
                ClientKind::Confidential,
                Some(SecretHash::of(SECRET)),
            ),
            client("mairu", ClientKind::Public, None),
        ])
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn code(p: Presented<'_>) -> Option<&'static str> {
        authenticate(&registry(), &p).err().map(|e| e.code.as_str())
    }

    #[test]
    fn a_confidential_client_authenticates_with_basic_or_post() {
        let r = registry();
        let header = basic("bot", SECRET);
        let by_basic = Presented {
            header: Some(&header),
            ..Presented::default()
        };
        assert_eq!(authenticate(&r, &by_basic).unwrap().unwrap().id, "bot");
        assert_eq!(by_basic.method(), "client_secret_basic");
        let by_post = Presented {
            client_id: Some("bot"),
            client_secret: Some(SECRET),
            ..Presented::default()
        };
        assert_eq!(authenticate(&r, &by_post).unwrap().unwrap().id, "bot");
        assert_eq!(by_post.method(), "client_secret_post");
    }

    #[test]
    fn a_wrong_or_missing_secret_and_an_unknown_client_are_invalid_client() {
        let wrong = basic("bot", "not-the-secret");
        let wrong = Presented {
            header: Some(&wrong),
            ..Presented::default()
        };
        assert_eq!(code(wrong), Some("invalid_client"));
        let missing = Presented {
            client_id: Some("bot"),
            ..Presented::default()
        };
        assert_eq!(code(missing), Some("invalid_client"));
        let unknown = Presented {
            client_id: Some("stranger"),
            ..Presented::default()
        };
        assert_eq!(code(unknown), Some("invalid_client"));
    }

    #[test]
    fn a_public_client_sends_its_id_alone() {
        let alone = Presented {
            client_id: Some("mairu"),
            ..Presented::default()
        };
        assert_eq!(
            authenticate(&registry(), &alone).unwrap().unwrap().id,
            "mairu"
        );
        let with_secret = Presented {
            client_secret: Some("anything"),
            ..alone
        };
        assert_eq!(code(with_secret), Some("invalid_client"));
        let header = basic("mairu", "");
        let by_header = Presented {
            header: Some(&header),
            ..Presented::default()
        };
        assert_eq!(code(by_header), Some("invalid_client"));
    }

    #[test]
    fn two_methods_at_once_or_two_different_ids_are_invalid_requests() {
        let header = basic("bot", SECRET);
        let both = Presented {
            header: Some(&header),
            client_id: Some("bot"),
            client_secret: Some(SECRET),
        };
        assert_eq!(code(both), Some("invalid_request"));
        let other_id = Presented {
            header: Some(&header),
            client_id: Some("mairu"),
            client_secret: None,
        };
        assert_eq!(code(other_id), Some("invalid_request"));
        assert_eq!(other_id.claimed_id().as_deref(), Some("bot"));
    }

    #[test]
    fn nothing_presented_is_no_client_and_a_malformed_header_is_refused() {
        assert!(authenticate(&registry(), &Presented::default())
            .unwrap()
            .is_none());
        let junk = Presented {
            header: Some("Basic %%%"),
            ..Presented::default()
        };
        assert_eq!(code(junk), Some("invalid_client"));
    }
}
