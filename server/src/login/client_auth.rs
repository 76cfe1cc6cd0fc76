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
#[allow(clippy::too_many_arguments)]
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
