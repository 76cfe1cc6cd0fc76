//! Registered OAuth clients (`[[clients]]`): a confidential client authenticating with HTTP Basic
//! or in the form, a public third-party client (mairu's shape) on its own loopback path, revoke,
//! authorize, the metadata and the device page. Binding to the client: `oauth_client_binding`.

use vault_api::AuthorizationServerMetadata;
use vault_e2e::browser;
use vault_e2e::clients::*;

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

    let resp = assume_dev(&app, &t.access_token, None).await;
    assert_dev_credentials_work(&app, resp).await;
    assert_eq!(role_names(&app, &t.access_token).await, ["dev"]);

    let renewed = client
        .refresh_ok(&t.refresh_token.expect("mairu may refresh"))
        .await;
    assert_eq!(role_names(&app, &renewed.access_token).await, ["dev"]);
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
