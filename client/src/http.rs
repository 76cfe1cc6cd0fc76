//! The HTTP client: no redirects (credentials are attached), timeouts, `User-Agent: vault/<version>`,
//! and server answers turned into errors a person can act on.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;
use vault_api::{ErrorBody, OAuthErrorBody};

use crate::config::ServerUrl;
use crate::error::HasHint;

/// Why a request to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach team-vault server at {server}")]
    Unreachable {
        server: String,
        #[source]
        source: reqwest::Error,
    },
    /// 401: the bearer token was refused.
    #[error("{message}")]
    Unauthorized { message: String },
    /// 403: the server's reason.
    #[error("{message}")]
    Forbidden { message: String },
    /// 503: the server's reason.
    #[error("{message}")]
    Unavailable { message: String },
    /// An RFC 6749 error from an `/oauth/*` endpoint, with the HTTP status it came with.
    #[error("{}", oauth_text(.error, .description.as_deref()))]
    OAuth {
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("the server at {server} answered with a redirect to {location}; refusing to follow it with credentials attached")]
    Redirect { server: String, location: String },
    /// Any other failure; `code` is the `error` of the server's JSON body, when it sent one.
    #[error("the server answered {status}: {message}")]
    Status {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The answer's body was longer than the client reads (see [`MAX_BODY`]).
    #[error("the server's answer is larger than {} KiB; refusing to read it", .limit / 1024)]
    TooLarge { limit: usize },
    #[error("the server's answer ({status}) could not be understood")]
    Decode {
        status: u16,
        #[source]
        source: serde_json::Error,
    },
}

fn oauth_text(error: &str, description: Option<&str>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{d} ({error})"),
        _ => error.to_owned(),
    }
}

impl HasHint for ApiError {
    fn hint(&self) -> Option<&str> {
        match self {
            Self::Unreachable { .. } => Some(
                "check that the server is running and the URL is right (--server, VAULT_SERVER_URL or server_url in config.toml)",
            ),
            Self::Unauthorized { .. } => Some("run `vault login`"),
            Self::Redirect { .. } | Self::Decode { .. } | Self::TooLarge { .. } => {
                Some("check that the server URL is the team-vault server's base URL")
            }
            _ => None,
        }
    }
}

impl ApiError {
    /// The OAuth `error` code, if this is an OAuth error.
    pub fn oauth_code(&self) -> Option<&str> {
        match self {
            Self::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The most of one answer the CLI reads into memory: every JSON body and error page. (The audit
/// export is streamed to its output instead, bounded by time.)
pub const MAX_BODY: usize = 1024 * 1024;

/// Why [`read_limited`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    Cut(#[from] reqwest::Error),
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
}

/// Reads `resp`'s body, at most `limit` bytes: a longer one is refused, as soon as its declared
/// length or what has arrived says so, never read whole.
pub async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A client for one team-vault server.
pub struct Http {
    client: reqwest::Client,
    server: ServerUrl,
}

impl Http {
    /// Builds the client; cheap enough, but only done once the cache could not answer.
    pub fn new(server: &ServerUrl) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vault/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            server: server.clone(),
        })
    }

    /// The server this client talks to.
    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    /// `GET {server}/{path}` with an optional bearer token.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
    ) -> Result<T, ApiError> {
        let req = self.client.get(self.server.join(path));
        self.json(with_bearer(req, bearer)).await
    }

    /// `POST {server}/{path}` with a JSON body and a bearer token.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let req = self.client.post(self.server.join(path)).json(body);
        self.json(with_bearer(req, Some(bearer))).await
    }

    /// `POST` of a form to an absolute OAuth endpoint, decoding the JSON answer.
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        url: &Url,
        form: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        self.json(self.client.post(url.clone()).form(form)).await
    }

    /// `POST` of a form whose answer has no body worth reading (e.g. revocation).
    pub async fn post_form_empty(&self, url: &Url, form: &[(&str, &str)]) -> Result<(), ApiError> {
        self.send(self.client.post(url.clone()).form(form))
            .await
            .map(drop)
    }

    /// `GET` of a full URL (a query attached, see [`with_query`]) with a bearer token; `timeout`
    /// replaces the usual 30 s for slow answers (long polls, verifying a long chain).
    pub async fn get_url<T: DeserializeOwned>(
        &self,
        url: Url,
        bearer: &str,
        timeout: Option<Duration>,
    ) -> Result<T, ApiError> {
        let mut req = self.client.get(url).bearer_auth(bearer);
        if let Some(timeout) = timeout {
            req = req.timeout(timeout);
        }
        self.json(req).await
    }

    /// `GET` of a full URL whose successful answer the caller reads itself, e.g. chunk by chunk.
    /// `timeout` bounds the whole exchange, body included.
    pub async fn open(
        &self,
        url: Url,
        bearer: &str,
        timeout: Duration,
    ) -> Result<reqwest::Response, ApiError> {
        let req = self.client.get(url).bearer_auth(bearer).timeout(timeout);
        self.respond(req).await
    }

    /// The error for a body that stopped arriving: the server is as good as unreachable.
    pub fn cut_off(&self, source: reqwest::Error) -> ApiError {
        ApiError::Unreachable {
            server: self.server.to_string(),
            source: source.without_url(),
        }
    }

    async fn json<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, ApiError> {
        let (status, body) = self.send(req).await?;
        serde_json::from_str(&body).map_err(|source| ApiError::Decode {
            status: status.as_u16(),
            source,
        })
    }

    async fn send(&self, req: RequestBuilder) -> Result<(StatusCode, String), ApiError> {
        let resp = self.respond(req).await?;
        let status = resp.status();
        let body = self.body(resp).await?;
        Ok((status, body))
    }

    /// The answer's body as text, at most [`MAX_BODY`] bytes.
    async fn body(&self, resp: reqwest::Response) -> Result<String, ApiError> {
        match read_limited(resp, MAX_BODY).await {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(BodyError::Cut(e)) => Err(self.cut_off(e)),
            Err(BodyError::TooLarge { limit }) => Err(ApiError::TooLarge { limit }),
        }
    }

    /// Sends `req`; a redirect or an unsuccessful status becomes an error (its body read for the
    /// server's message), a success is handed back unread.
    async fn respond(&self, req: RequestBuilder) -> Result<reqwest::Response, ApiError> {
        let resp = req.send().await.map_err(|e| self.cut_off(e))?;
        let status = resp.status();
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no location)")
                .to_owned();
            return Err(ApiError::Redirect {
                server: self.server.to_string(),
                location,
            });
        }
        if status.is_success() {
            return Ok(resp);
        }
        let body = self.body(resp).await?;
        Err(error_from(status, &body))
    }
}

/// `url` with `query` appended, each pair form-encoded; an empty query adds nothing (not even `?`).
pub fn with_query(mut url: Url, query: &[(&str, String)]) -> Url {
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

fn with_bearer(req: RequestBuilder, bearer: Option<&str>) -> RequestBuilder {
    match bearer {
        Some(token) => req.bearer_auth(token),
        None => req,
    }
}

/// Maps a failed answer: the server's `message` when it sent one, else the OAuth error, else the text.
fn error_from(status: StatusCode, body: &str) -> ApiError {
    let mut code = None;
    let message = if let Ok(err) = serde_json::from_str::<ErrorBody>(body) {
        code = Some(err.error);
        err.message
    } else if let Ok(err) = serde_json::from_str::<OAuthErrorBody>(body) {
        return ApiError::OAuth {
            status: status.as_u16(),
            error: err.error,
            description: err.error_description,
        };
    } else {
        let text: String = body.trim().chars().take(200).collect();
        if text.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_owned()
        } else {
            text
        }
    };
    match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized { message },
        StatusCode::FORBIDDEN => ApiError::Forbidden { message },
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable { message },
        _ => ApiError::Status {
            status: status.as_u16(),
            code,
            message,
        },
    }
}

#[cfg(test)]
mod tests;
