//! Helpers for the tests of registered OAuth clients (`[[clients]]`) and of the credential-server
//! API third-party clients call: a server with three clients, requests authenticated each way,
//! and `POST /assume-role`.

use std::io::Write as _;

use base64::{engine::general_purpose::STANDARD, Engine};
use vault_api::{Credentials, RoleList, TokenResponse};

use crate::oauth::{AuthCode, OAuthClient};
use crate::TestApp;

pub const BOT: &str = "deploy-bot";
pub const BOT_REDIRECT: &str = "http://127.0.0.1:9/bot/callback";
pub const MAIRU: &str = "mairu";
/// Where mairu's loopback listener takes the code.
pub const MAIRU_REDIRECT: &str = "http://127.0.0.1:9/oauth2callback";
pub const BROWSER_ONLY: &str = "browser-only";
pub const SECRET: &str = "bot-secret-0123456789abcdef0123456789";

/// A server with three registered clients: the confidential `deploy-bot` (secret in a file only
/// its owner reads), the public `mairu` (loopback, every grant), and the public `browser-only`
/// (the code grant alone).
pub async fn spawn() -> TestApp {
    let mut file = tempfile::NamedTempFile::new().expect("a secret file");
    writeln!(file, "{SECRET}").expect("writing the secret");
    let clients = format!(
        "[[clients]]\nid = \"{BOT}\"\nname = \"Deploy bot\"\nkind = \"confidential\"\n\
         secret_file = {path:?}\nredirect_uris = [\"{BOT_REDIRECT}\"]\n\
         [[clients]]\nid = \"{MAIRU}\"\nname = \"mairu\"\nkind = \"public\"\nredirect = \"loopback\"\n\
         grants = [\"authorization_code\", \"refresh_token\", \"device_code\"]\n\
         [[clients]]\nid = \"{BROWSER_ONLY}\"\nname = \"Browser only\"\nkind = \"public\"\n\
         redirect = \"loopback\"\ngrants = [\"authorization_code\"]\n",
        path = file.path(),
    );
    // NamedTempFile is created 0600; the server reads it while it starts.
    TestApp::builder().extra_toml(&clients).spawn().await
}

/// How a request authenticates its client.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    Basic(&'a str, &'a str),
    Post(&'a str, &'a str),
    Public(&'a str),
}

/// `POST {path}` with `form` and the client authentication `auth`.
pub async fn post(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    auth: Auth<'_>,
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut req = app.http.post(app.endpoint(path));
    match auth {
        Auth::Basic(id, secret) => {
            let pair = STANDARD.encode(format!("{id}:{secret}"));
            req = req.header("authorization", format!("Basic {pair}"));
        }
        Auth::Post(id, secret) => form.extend([("client_id", id), ("client_secret", secret)]),
        Auth::Public(id) => form.push(("client_id", id)),
    }
    req.form(&form).send().await.expect("POST")
}

pub async fn redeem(app: &TestApp, code: &AuthCode, auth: Auth<'_>) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", code.redirect_uri.as_str()),
        ("code_verifier", code.verifier.as_str()),
    ];
    post(app, "/oauth/token", &form, auth).await
}

pub async fn refresh(app: &TestApp, token: &str, auth: Auth<'_>) -> reqwest::Response {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    post(app, "/oauth/token", &form, auth).await
}

pub async fn tokens(resp: reqwest::Response) -> TokenResponse {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Asserts an OAuth error answer and returns its `WWW-Authenticate`, if any.
pub async fn oauth_error(resp: reqwest::Response, status: u16, error: &str) -> Option<String> {
    let www = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let got = resp.status();
    let body: serde_json::Value = resp.json().await.expect("a JSON error");
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    www
}

pub async fn bot_code(app: &TestApp) -> AuthCode {
    app.oauth()
        .as_client(BOT)
        .authorize_to("alice", BOT_REDIRECT)
        .await
        .expect("the bot's browser login")
}

pub fn mairu(app: &TestApp) -> OAuthClient {
    app.oauth().as_client(MAIRU)
}

pub async fn role_names(app: &TestApp, access_token: &str) -> Vec<String> {
    let resp = app.oauth().get(access_token, "/roles").await;
    assert_eq!(resp.status(), 200);
    let roles: RoleList = resp.json().await.expect("Roles shape");
    roles.roles.into_iter().map(|r| r.name).collect()
}

/// `POST /assume-role {"Role":"dev"}` with `token`, and with `content_type` when given (mairu
/// sends none).
pub async fn assume_dev(
    app: &TestApp,
    token: &str,
    content_type: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.endpoint("/assume-role"))
        .bearer_auth(token)
        .body(r#"{"Role":"dev"}"#.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.expect("assume-role")
}

/// Asserts that `resp` carries `dev`'s credentials and that STS (moto) takes them.
pub async fn assert_dev_credentials_work(app: &TestApp, resp: reqwest::Response) {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    let creds: Credentials = serde_json::from_str(&body).expect("credential_process shape");
    let arn = app.cli().caller_identity_with(&creds).await;
    assert!(arn.contains(&app.role_name("dev")), "got {arn}");
}
