//! A local CI OIDC issuer, as GitHub Actions runs one: a discovery document, a JWKS with one RSA
//! key, GitHub-style job tokens minted on demand (with any claim overridden or removed), raw
//! helpers for malformed tokens, a switch that takes the JWKS endpoint down, and the Actions
//! runner's token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`) for the real `vault` binary.

use crate::app::{TestApp, TestAppBuilder};
use crate::config::{default_profiles, ProfileSpec};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::Rng;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vault_api::{GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_JWT};

mod exchange;
mod forge;
mod keys;
pub use exchange::*;
pub use forge::*;
pub use keys::*;

/// The audience CI jobs ask their platform for (the server's `audiences`).
pub const AUDIENCE: &str = "team-vault";
/// The `[[ci_issuers]]` name the test configuration gives this issuer.
pub const ISSUER_NAME: &str = "github";
/// The repository, ref and event the `deploy` profile allows.
pub const REPOSITORY: &str = "acme/app";
pub const REF: &str = "refs/heads/main";

/// How the JWKS endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksMode {
    /// 200 with the key.
    Up,
    /// 500 Internal Server Error.
    Error500,
    /// 200 headers, then the connection breaks before any body.
    BrokenConnection,
}

/// One request to the Actions token endpoint.
#[derive(Debug, Clone)]
pub struct ActionsRequest {
    pub audience: Option<String>,
    pub query: HashMap<String, String>,
    pub authorization: Option<String>,
}

struct Shared {
    url: String,
    kid: String,
    run_id: String,
    jwks_mode: Mutex<JwksMode>,
    discovery_issuer: Mutex<Option<String>>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    request_token: String,
    actions_overrides: Mutex<Value>,
    actions_requests: Mutex<Vec<ActionsRequest>>,
}

/// A running local CI issuer. Dropping it stops the server.
pub struct CiIssuer {
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Applies `overrides` to `base`: each key replaces the claim, `null` removes it.
fn merge(base: &mut Map<String, Value>, overrides: Value) {
    match overrides {
        Value::Object(o) => {
            for (k, v) in o {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    base.insert(k, v);
                }
            }
        }
        Value::Null => {}
        other => panic!("claim overrides must be a JSON object, got {other}"),
    }
}

impl Shared {
    fn claims(&self, overrides: Value) -> Value {
        let now = now();
        let mut c = json!({
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": format!("repo:{REPOSITORY}:ref:{REF}"),
            "repository": REPOSITORY,
            "repository_owner": "acme",
            "repository_id": "123456",
            "ref": REF,
            "ref_type": "branch",
            "ref_protected": "true",
            "sha": "2c8d6e9f5b1f0a8c3e7d4b6a9f0e1d2c3b4a5f6e",
            "workflow": "deploy",
            "workflow_ref": format!("{REPOSITORY}/.github/workflows/deploy.yml@{REF}"),
            "job_workflow_ref": format!("{REPOSITORY}/.github/workflows/deploy.yml@{REF}"),
            "run_id": self.run_id,
            "run_number": "42",
            "run_attempt": "1",
            "actor": "octocat",
            "actor_id": "583231",
            "event_name": "push",
            "runner_environment": "github-hosted",
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
        });
        merge(c.as_object_mut().expect("object"), overrides);
        c
    }

    fn mint(&self, overrides: Value) -> String {
        keys().0.sign(Some(&self.kid), &self.claims(overrides))
    }
}

impl CiIssuer {
    /// Binds 127.0.0.1:0 and serves discovery, JWKS and the Actions token endpoint.
    pub async fn start() -> CiIssuer {
        let _ = keys();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the CI issuer");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let shared = Arc::new(Shared {
            url,
            kid: format!("ci-{}", uuid::Uuid::new_v4().simple()),
            run_id: rand::thread_rng()
                .gen_range(1_000_000_000u64..10_000_000_000)
                .to_string(),
            jwks_mode: Mutex::new(JwksMode::Up),
            discovery_issuer: Mutex::new(None),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            request_token: format!("actions-request-{}", uuid::Uuid::new_v4().simple()),
            actions_overrides: Mutex::new(json!({})),
            actions_requests: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks", get(jwks))
            .route("/_apis/actions/idtoken", get(actions_token))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    rx.await.ok();
                })
                .await;
        });
        CiIssuer {
            shared,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// The issuer URL, exactly as its tokens' `iss` and its discovery document say it.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The `kid` of the published key.
    pub fn kid(&self) -> &str {
        &self.shared.kid
    }

    /// The `run_id` tokens carry unless overridden.
    pub fn run_id(&self) -> &str {
        &self.shared.run_id
    }

    /// The issuer's public key as PEM.
    pub fn public_key_pem(&self) -> &str {
        &keys().0.public_pem
    }

    /// GitHub-style claims (valid now for 5 minutes, fresh `jti`) with `overrides` applied
    /// (`null` removes a claim).
    pub fn claims(&self, overrides: Value) -> Value {
        self.shared.claims(overrides)
    }

    /// A valid job token (RS256, the published `kid`) with `overrides` applied.
    pub fn mint(&self, overrides: Value) -> String {
        self.shared.mint(overrides)
    }

    /// `claims` as given, signed by the issuer's key under the published `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        keys().0.sign(Some(self.kid()), claims)
    }

    /// `claims` signed by the issuer's key with a header of the caller's making.
    pub fn sign_with(&self, header: &Header, claims: &Value) -> String {
        keys().0.sign_with(header, claims)
    }

    /// `[[ci_issuers]]` for this issuer, named `github`.
    pub fn config_toml(&self) -> String {
        let mut t = String::new();
        writeln!(t, "\n[[ci_issuers]]").unwrap();
        writeln!(t, "name = \"{ISSUER_NAME}\"").unwrap();
        writeln!(t, "issuer = \"{}\"", self.url()).unwrap();
        writeln!(t, "audiences = [\"{AUDIENCE}\"]").unwrap();
        writeln!(t, "algorithms = [\"RS256\"]").unwrap();
        t
    }

    /// A server with the default (human) profiles plus `deploy` for CI jobs of acme/app's main
    /// branch on push, trusting this issuer.
    pub fn app_builder(&self) -> TestAppBuilder {
        let mut profiles = default_profiles();
        profiles.push(deploy_profile());
        TestApp::builder()
            .profiles(profiles)
            .extra_toml(&self.config_toml())
    }

    /// Switches the JWKS endpoint up or down.
    pub fn set_jwks(&self, mode: JwksMode) {
        *self.shared.jwks_mode.lock().expect("lock") = mode;
    }

    /// Makes the discovery document name `issuer` instead of this issuer's own URL (a mix-up).
    pub fn set_discovery_issuer(&self, issuer: &str) {
        *self.shared.discovery_issuer.lock().expect("lock") = Some(issuer.to_owned());
    }

    /// How often the JWKS was requested.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How often the discovery document was requested.
    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL`: already carries a query, as GitHub's does, so the
    /// client appends `&audience=…`.
    pub fn actions_request_url(&self) -> String {
        format!("{}/_apis/actions/idtoken?api-version=2.0", self.url())
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: the bearer token the endpoint requires.
    pub fn actions_request_token(&self) -> &str {
        &self.shared.request_token
    }

    /// Claim overrides for tokens the Actions endpoint hands out.
    pub fn set_actions_claims(&self, overrides: Value) {
        *self.shared.actions_overrides.lock().expect("lock") = overrides;
    }

    /// Requests the Actions endpoint received so far.
    pub fn actions_requests(&self) -> Vec<ActionsRequest> {
        self.shared.actions_requests.lock().expect("lock").clone()
    }
}

impl Drop for CiIssuer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn discovery(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let issuer = s
        .discovery_issuer
        .lock()
        .expect("lock")
        .clone()
        .unwrap_or_else(|| s.url.clone());
    // GitHub's document: no authorization endpoint (which is why the openidconnect crate's
    // discovery type rejects it).
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/.well-known/jwks", s.url),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository",
            "repository_owner", "run_id", "run_number", "run_attempt", "actor", "workflow",
            "event_name", "ref_type", "job_workflow_ref"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
    }))
}

async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let mode = *s.jwks_mode.lock().expect("lock");
    match mode {
        JwksMode::Up => Json(json!({ "keys": [keys().0.jwk(&s.kid)] })).into_response(),
        JwksMode::Error500 => (StatusCode::INTERNAL_SERVER_ERROR, "jwks down").into_response(),
        JwksMode::BrokenConnection => {
            let broken = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
            });
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(broken))
                .expect("response")
        }
    }
}

async fn actions_token(
    State(s): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let audience = query.get("audience").cloned();
    s.actions_requests
        .lock()
        .expect("lock")
        .push(ActionsRequest {
            audience: audience.clone(),
            query: query.clone(),
            authorization: authorization.clone(),
        });
    let expected = format!("bearer {}", s.request_token);
    if !authorization.is_some_and(|a| a.eq_ignore_ascii_case(&expected)) {
        return (StatusCode::UNAUTHORIZED, "bad request token").into_response();
    }
    let mut overrides = s.actions_overrides.lock().expect("lock").clone();
    if let (Some(aud), Value::Object(o)) = (audience, &mut overrides) {
        o.entry("aud").or_insert(Value::String(aud));
    }
    Json(json!({ "count": 1, "value": s.mint(overrides) })).into_response()
}
