//! Registered OAuth clients (`[[clients]]`): a confidential client authenticating with HTTP Basic
//! or in the form, a public third-party client (mairu's shape) on its own loopback path, and
//! codes, device codes and refresh tokens bound to the client they were issued to.

use std::io::Write as _;

use base64::{engine::general_purpose::STANDARD, Engine};
use vault_api::{AuthorizationServerMetadata, Credentials, RoleList, TokenResponse, CLI_CLIENT_ID};
use vault_e2e::{
    browser,
    oauth::{AuthCode, OAuthClient},
    TestApp,
};

const BOT: &str = "deploy-bot";
const BOT_REDIRECT: &str = "http://127.0.0.1:9/bot/callback";
const MAIRU: &str = "mairu";
/// Where mairu's loopback listener takes the code.
const MAIRU_REDIRECT: &str = "http://127.0.0.1:9/oauth2callback";
const BROWSER_ONLY: &str = "browser-only";
const SECRET: &str = "bot-secret-0123456789abcdef0123456789";

/// A server with three registered clients: the confidential `deploy-bot` (secret in a file only
/// its owner reads), the public `mairu` (loopback, every grant), and the public `browser-only`
/// (the code grant alone).
async fn spawn() -> TestApp {
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
enum Auth<'a> {
    Basic(&'a str, &'a str),
    Post(&'a str, &'a str),
    Public(&'a str),
}

/// `POST {path}` with `form` and the client authentication `auth`.
async fn post(
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

async fn redeem(app: &TestApp, code: &AuthCode, auth: Auth<'_>) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", code.redirect_uri.as_str()),
        ("code_verifier", code.verifier.as_str()),
    ];
    post(app, "/oauth/token", &form, auth).await
}

async fn refresh(app: &TestApp, token: &str, auth: Auth<'_>) -> reqwest::Response {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    post(app, "/oauth/token", &form, auth).await
}

async fn tokens(resp: reqwest::Response) -> TokenResponse {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Asserts an OAuth error answer and returns its `WWW-Authenticate`, if any.
async fn oauth_error(resp: reqwest::Response, status: u16, error: &str) -> Option<String> {
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

async fn bot_code(app: &TestApp) -> AuthCode {
    app.oauth()
        .as_client(BOT)
        .authorize_to("alice", BOT_REDIRECT)
        .await
        .expect("the bot's browser login")
}

fn mairu(app: &TestApp) -> OAuthClient {
    app.oauth().as_client(MAIRU)
}

async fn role_names(app: &TestApp, access_token: &str) -> Vec<String> {
    let resp = app.oauth().get(access_token, "/roles").await;
    assert_eq!(resp.status(), 200);
    let roles: RoleList = resp.json().await.expect("Roles shape");
    roles.roles.into_iter().map(|r| r.name).collect()
}

#[tokio::test]
async fn a_confidential_client_redeems_its_code_with_http_basic_and_its_token_lists_roles() {
    let app = spawn().await;
    let code = bot_code(&app).await;
    let t = tokens(redeem(&app, &code, Auth::Basic(BOT, SECRET)).await).await;
    assert_eq!(role_names(&app, &t.access_token).await, ["dev"]);
    let redeemed = app.audit_rows_for("code_redeem").await;
    assert_eq!(redeemed[0]["details"]["client_id"], BOT, "{redeemed:?}");
    let login = app.audit_rows_for("login").await;
    assert_eq!(login[0]["details"]["client_id"], BOT, "{login:?}");
}

#[tokio::test]
async fn a_confidential_client_redeems_its_code_with_client_secret_post_and_refreshes() {
    let app = spawn().await;
    let code = bot_code(&app).await;
    let t = tokens(redeem(&app, &code, Auth::Post(BOT, SECRET)).await).await;
    assert_eq!(role_names(&app, &t.access_token).await, ["dev"]);
    let refresh_token = t.refresh_token.expect("the bot may refresh");
    let renewed = tokens(refresh(&app, &refresh_token, Auth::Post(BOT, SECRET)).await).await;
    assert_eq!(role_names(&app, &renewed.access_token).await, ["dev"]);
}

#[tokio::test]
async fn a_wrong_or_missing_client_secret_is_an_audited_401_invalid_client() {
    let app = spawn().await;
    let code = bot_code(&app).await;
    let wrong = "not-the-bot-secret-at-all-0123456789";
    let www = oauth_error(
        redeem(&app, &code, Auth::Basic(BOT, wrong)).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(
        www.is_some_and(|w| w.starts_with("Basic ")),
        "no WWW-Authenticate: Basic"
    );
    oauth_error(
        redeem(&app, &code, Auth::Post(BOT, wrong)).await,
        401,
        "invalid_client",
    )
    .await;
    oauth_error(
        redeem(&app, &code, Auth::Public(BOT)).await,
        401,
        "invalid_client",
    )
    .await;

    let refused: Vec<_> = app
        .audit_rows_for("oauth_refused")
        .await
        .into_iter()
        .filter(|e| e["details"]["code"] == "invalid_client")
        .collect();
    let methods: Vec<_> = refused
        .iter()
        .map(|e| e["details"]["client_auth"].clone())
        .collect();
    assert_eq!(
        methods,
        ["client_secret_basic", "client_secret_post", "none"],
        "{refused:#?}"
    );
    for event in &refused {
        assert_eq!(event["details"]["client_id"], BOT, "{event:#}");
        assert!(
            !event.to_string().contains(wrong),
            "the secret is in {event:#}"
        );
    }
    // The refusals did not use the code up: the bot, authenticated, still redeems it.
    tokens(redeem(&app, &code, Auth::Basic(BOT, SECRET)).await).await;
}

#[tokio::test]
async fn a_public_third_party_client_logs_in_with_pkce_on_its_loopback_path_and_assumes_a_role() {
    let app = spawn().await;
    let client = mairu(&app);
    let code = client
        .authorize_to("alice", MAIRU_REDIRECT)
        .await
        .expect("mairu's login");
    let t = tokens(redeem(&app, &code, Auth::Public(MAIRU)).await).await;

    let resp = app
        .http
        .post(app.endpoint("/assume-role"))
        .bearer_auth(&t.access_token)
        .body(r#"{"Role":"dev"}"#)
        .send()
        .await
        .expect("assume-role");
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    let creds: Credentials = serde_json::from_str(&body).expect("credential_process shape");
    let arn = app.cli().caller_identity_with(&creds).await;
    assert!(arn.contains(&app.role_name("dev")), "got {arn}");
    assert_eq!(role_names(&app, &t.access_token).await, ["dev"]);

    let renewed = client
        .refresh_ok(&t.refresh_token.expect("mairu may refresh"))
        .await;
    assert_eq!(role_names(&app, &renewed.access_token).await, ["dev"]);
}

#[tokio::test]
async fn a_code_issued_to_one_client_is_refused_to_another() {
    let app = spawn().await;
    let code = mairu(&app)
        .authorize_to("alice", MAIRU_REDIRECT)
        .await
        .expect("login");
    oauth_error(
        redeem(&app, &code, Auth::Public(CLI_CLIENT_ID)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(app.audit_rows_for("code_redeem").await.is_empty());
}

#[tokio::test]
async fn a_refresh_token_of_one_client_is_refused_to_another_and_still_works_for_its_own() {
    let app = spawn().await;
    let t = mairu(&app).login("alice").await;
    let by_cli = refresh(&app, &t.refresh_token, Auth::Public(CLI_CLIENT_ID)).await;
    oauth_error(by_cli, 400, "invalid_grant").await;
    let by_bot = refresh(&app, &t.refresh_token, Auth::Basic(BOT, SECRET)).await;
    oauth_error(by_bot, 400, "invalid_grant").await;
    mairu(&app).refresh_ok(&t.refresh_token).await;
}

#[tokio::test]
async fn a_device_code_of_one_client_is_refused_to_another_and_stays_pending_for_its_own() {
    let app = spawn().await;
    let device = browser::start_device(&app.url, "vault/test").await;
    let form = [
        ("grant_type", vault_api::GRANT_DEVICE_CODE),
        ("device_code", device.device_code.as_str()),
    ];
    let by_mairu = post(&app, "/oauth/token", &form, Auth::Public(MAIRU)).await;
    oauth_error(by_mairu, 400, "invalid_grant").await;
    let (status, body) = browser::poll_device(&app.url, &device.device_code, "vault/test").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending")),
        "{body}"
    );
}

#[tokio::test]
async fn a_grant_the_client_is_not_allowed_is_refused_as_unauthorized_client() {
    let app = spawn().await;
    let client = app.oauth().as_client(BROWSER_ONLY);
    let code = client
        .authorize_to("alice", MAIRU_REDIRECT)
        .await
        .expect("login");
    let t = tokens(redeem(&app, &code, Auth::Public(BROWSER_ONLY)).await).await;
    assert!(
        t.refresh_token.is_none(),
        "a client without the refresh grant got a refresh token"
    );
    assert_eq!(role_names(&app, &t.access_token).await, ["dev"]);

    let other = mairu(&app).login("alice").await;
    let resp = refresh(&app, &other.refresh_token, Auth::Public(BROWSER_ONLY)).await;
    oauth_error(resp, 400, "unauthorized_client").await;
    let resp = post(&app, "/oauth/device", &[], Auth::Public(BROWSER_ONLY)).await;
    oauth_error(resp, 400, "unauthorized_client").await;
    let refused = app.audit_rows_for("oauth_refused").await;
    let codes: Vec<_> = refused
        .iter()
        .map(|e| e["details"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        ["unauthorized_client", "unauthorized_client"],
        "{refused:#?}"
    );
}

#[tokio::test]
async fn revoking_with_a_wrong_client_secret_is_401_and_the_login_goes_on() {
    let app = spawn().await;
    let code = bot_code(&app).await;
    let t = tokens(redeem(&app, &code, Auth::Basic(BOT, SECRET)).await).await;
    let refresh_token = t.refresh_token.expect("a refresh token");
    let form = [("token", refresh_token.as_str())];
    let wrong = Auth::Basic(BOT, "wrong-wrong-wrong-wrong-wrong-wrong");
    oauth_error(
        post(&app, "/oauth/revoke", &form, wrong).await,
        401,
        "invalid_client",
    )
    .await;
    let by_other = post(&app, "/oauth/revoke", &form, Auth::Public(MAIRU)).await;
    oauth_error(by_other, 400, "unauthorized_client").await;
    assert!(app.audit_rows_for("logout").await.is_empty());

    let renewed = tokens(refresh(&app, &refresh_token, Auth::Basic(BOT, SECRET)).await).await;
    let latest = renewed.refresh_token.expect("rotated");
    let form = [("token", latest.as_str())];
    let resp = post(&app, "/oauth/revoke", &form, Auth::Basic(BOT, SECRET)).await;
    assert_eq!(resp.status(), 200);
    oauth_error(
        refresh(&app, &latest, Auth::Basic(BOT, SECRET)).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn authorize_refuses_an_unknown_client_and_an_unregistered_redirect_without_redirecting() {
    let app = spawn().await;
    for (client, redirect) in [
        ("stranger", MAIRU_REDIRECT),
        (BOT, "http://127.0.0.1:9/elsewhere"),
        (BOT, "https://evil.example/bot/callback"),
        (MAIRU, "https://evil.example/oauth2callback"),
    ] {
        let url = app
            .oauth()
            .as_client(client)
            .authorize_url(&"c".repeat(43), "s", redirect);
        let resp = app.http.get(url).send().await.expect("authorize");
        assert_eq!(resp.status(), 400, "{client} {redirect}");
        assert!(
            resp.headers().get("location").is_none(),
            "{client} {redirect}"
        );
    }
}

#[tokio::test]
async fn the_metadata_lists_every_grant_and_client_authentication_method() {
    let app = spawn().await;
    let meta: AuthorizationServerMetadata = app
        .http
        .get(app.endpoint("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("RFC 8414 JSON");
    for grant in [
        "authorization_code",
        "refresh_token",
        vault_api::GRANT_DEVICE_CODE,
        vault_api::GRANT_TOKEN_EXCHANGE,
    ] {
        assert!(
            meta.grant_types_supported.iter().any(|g| g == grant),
            "{grant}"
        );
    }
    let methods = ["none", "client_secret_basic", "client_secret_post"];
    assert_eq!(meta.token_endpoint_auth_methods_supported, methods);
    assert_eq!(meta.revocation_endpoint_auth_methods_supported, methods);
    assert_eq!(
        meta.device_authorization_endpoint,
        app.endpoint("/oauth/device")
    );
    assert_eq!(meta.revocation_endpoint, app.endpoint("/oauth/revoke"));
}

#[tokio::test]
async fn the_device_confirm_page_names_the_client_that_asked() {
    let app = spawn().await;
    let started = post(&app, "/oauth/device", &[], Auth::Public(MAIRU)).await;
    assert_eq!(started.status(), 200);
    let body: serde_json::Value = started.json().await.expect("device authorization JSON");
    let user_code = body["user_code"].as_str().expect("user_code");
    let cli_code = browser::start_device(&app.url, "vault/test")
        .await
        .user_code;

    let review = |code: String| {
        let url = format!("{}?user_code={code}", app.endpoint("/device"));
        let http = app.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .expect("GET /device")
                .text()
                .await
                .unwrap_or_default()
        }
    };
    let mairus = review(user_code.to_owned()).await;
    let clis = review(cli_code).await;

    assert!(
        mairus.contains("<dt>Client</dt><dd>mairu (mairu)</dd>"),
        "{mairus}"
    );
    assert!(
        clis.contains("<dt>Client</dt><dd>vault CLI (vault-cli)</dd>"),
        "{clis}"
    );
}
