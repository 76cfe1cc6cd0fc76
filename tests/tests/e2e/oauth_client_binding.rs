//! Codes, device codes and refresh tokens are bound to the registered client they were issued
//! to, and a client gets only the grants it is allowed.

use vault_api::CLI_CLIENT_ID;
use vault_e2e::browser;
use vault_e2e::clients::*;

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
