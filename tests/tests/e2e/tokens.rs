//! Refresh-token rotation and reuse detection; access tokens the server must refuse.

use vault_api::{ErrorBody, OAuthErrorBody};
use vault_e2e::jwt;
use vault_e2e::TestApp;

/// Asserts a 401 with `WWW-Authenticate: Bearer …` and an `ErrorBody`.
async fn assert_unauthorized(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status(), 401, "{what}");
    let challenge = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer"),
        "{what}: WWW-Authenticate is {challenge:?}"
    );
    let body = resp.text().await.unwrap_or_default();
    let parsed: ErrorBody = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{what}: the 401 body is not an ErrorBody ({e}): {body}"));
    assert!(!parsed.message.is_empty(), "{what}: empty message");
}

/// Asserts the server refuses `token` on a read and on a credential request.
async fn assert_token_refused(app: &TestApp, token: &str, what: &str) {
    let oauth = app.oauth();
    assert_unauthorized(
        oauth.get(token, "/v1/whoami").await,
        &format!("{what} on /v1/whoami"),
    )
    .await;
    let resp = oauth
        .post_json(
            token,
            "/v1/credentials",
            &serde_json::json!({"profile": "dev"}),
        )
        .await;
    assert_unauthorized(resp, &format!("{what} on /v1/credentials")).await;
}

/// Alice's access token, which the server accepts: the control for a refused copy of it.
async fn accepted_token(app: &TestApp) -> String {
    let genuine = app.oauth().login("alice").await.access_token;
    assert_eq!(
        app.oauth().get(&genuine, "/v1/whoami").await.status(),
        200,
        "precondition: the genuine token is accepted"
    );
    genuine
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_session() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let first = oauth.login("alice").await;
    let second = oauth.refresh_ok(&first.refresh_token).await;
    assert_ne!(
        second.refresh_token, first.refresh_token,
        "the refresh token was not rotated"
    );
    assert!(second.refresh_token.starts_with("tvr_"));
    assert_eq!(
        oauth.get(&second.access_token, "/v1/whoami").await.status(),
        200
    );

    let reuse = oauth.refresh(&first.refresh_token).await;
    assert_eq!(reuse.status(), 400);
    let body: OAuthErrorBody = reuse.json().await.expect("OAuth error body");
    assert_eq!(body.error, "invalid_grant");

    let after = oauth.refresh(&second.refresh_token).await;
    assert_eq!(
        after.status(),
        400,
        "the newest refresh token survived the reuse"
    );
    let body: OAuthErrorBody = after.json().await.expect("OAuth error body");
    assert_eq!(body.error, "invalid_grant");
    assert_token_refused(
        &app,
        &second.access_token,
        "access token of a revoked session",
    )
    .await;
    assert_token_refused(
        &app,
        &first.access_token,
        "first access token of a revoked session",
    )
    .await;

    let reuse_rows = app.audit_rows_for("refresh_token_reuse").await;
    assert_eq!(reuse_rows.len(), 1, "{reuse_rows:#?}");
    assert_eq!(reuse_rows[0]["principal"], "alice@example.com");
    app.assert_no_secret_in_audit(&[
        &first.refresh_token,
        &second.refresh_token,
        &first.access_token,
        &second.access_token,
    ])
    .await;
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_successor_works_too() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let first = oauth.login("alice").await;

    let second = oauth.refresh_ok(&first.refresh_token).await;
    let third = oauth.refresh_ok(&second.refresh_token).await;

    assert_eq!(
        oauth.get(&third.access_token, "/v1/whoami").await.status(),
        200
    );
    assert_eq!(app.audit_rows_for("token_refresh").await.len(), 2);
}

#[tokio::test]
async fn an_access_token_signed_by_another_key_is_refused() {
    let app = TestApp::spawn().await;
    let genuine = accepted_token(&app).await;

    assert_token_refused(&app, &jwt::forged_copy(&genuine), "forged token").await;
}

#[tokio::test]
async fn an_unsigned_access_token_is_refused() {
    let app = TestApp::spawn().await;
    let genuine = accepted_token(&app).await;

    assert_token_refused(&app, &jwt::unsigned_copy(&genuine), "alg none token").await;
}

#[tokio::test]
async fn an_access_token_with_altered_claims_is_refused() {
    let app = TestApp::spawn().await;
    let genuine = accepted_token(&app).await;

    let tampered = jwt::tampered_copy(&genuine, |c| c["name"] = "admin@example.com".into());
    assert_token_refused(&app, &tampered, "tampered token").await;
}

#[tokio::test]
async fn garbage_and_missing_bearer_tokens_are_refused() {
    let app = TestApp::spawn().await;

    for garbage in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        "tvr_notanaccesstoken",
    ] {
        assert_token_refused(&app, garbage, &format!("token {garbage:?}")).await;
    }
    let resp = app
        .http
        .get(app.endpoint("/v1/whoami"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(resp, "no Authorization header").await;
    let resp = app
        .http
        .post(app.endpoint("/v1/credentials"))
        .header("authorization", "Basic YWxpY2U6cHc=")
        .json(&serde_json::json!({"profile": "dev"}))
        .send()
        .await
        .unwrap();
    assert_unauthorized(resp, "Basic credentials").await;
}

/// Mints, with a key the server trusts, a control token (must be accepted) and the same token
/// with `change` applied (must be refused): only the changed claim can explain the refusal.
async fn assert_refused_only_for(change: impl FnOnce(&mut serde_json::Value), what: &str) {
    let app = TestApp::spawn().await;
    let genuine = app.oauth().login("alice").await.access_token;
    let key = app.trust_test_signing_key().await;
    let (_, mut claims) = jwt::decode_unverified(&genuine);
    claims["jti"] = uuid::Uuid::new_v4().to_string().into();

    let control = key.sign(&claims);
    let resp = app.oauth().get(&control, "/v1/whoami").await;
    assert_eq!(
        resp.status(),
        200,
        "control token with every claim right was refused: {}",
        resp.text().await.unwrap_or_default()
    );

    change(&mut claims);
    claims["jti"] = uuid::Uuid::new_v4().to_string().into();
    assert_token_refused(&app, &key.sign(&claims), what).await;
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    assert_refused_only_for(
        |c| {
            let now = jwt::now();
            c["iat"] = (now - 3600).into();
            c["nbf"] = (now - 3600).into();
            c["exp"] = (now - 60).into();
        },
        "expired token",
    )
    .await;
}

#[tokio::test]
async fn an_access_token_not_valid_yet_is_refused() {
    assert_refused_only_for(
        |c| c["nbf"] = (jwt::now() + 600).into(),
        "token with nbf in the future",
    )
    .await;
}

#[tokio::test]
async fn an_access_token_for_another_audience_is_refused() {
    assert_refused_only_for(|c| c["aud"] = "another-api".into(), "wrong-audience token").await;
}

#[tokio::test]
async fn an_access_token_from_another_issuer_is_refused() {
    assert_refused_only_for(
        |c| c["iss"] = "http://127.0.0.1:1".into(),
        "wrong-issuer token",
    )
    .await;
}

#[tokio::test]
async fn an_access_token_without_an_expiry_is_refused() {
    assert_refused_only_for(
        |c| {
            c.as_object_mut().expect("claims object").remove("exp");
        },
        "token without exp",
    )
    .await;
}

#[tokio::test]
async fn an_access_token_hmac_signed_with_the_public_key_is_refused() {
    let app = TestApp::spawn().await;
    let genuine = accepted_token(&app).await;
    let (header, claims) = jwt::decode_unverified(&genuine);
    let jwks = jwks_of(&app).await;
    let kid = header["kid"].as_str().expect("kid");
    let x = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .and_then(|k| k["x"].as_str())
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS {jwks}"));

    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some(kid.to_owned());
    for secret in [x.as_bytes().to_vec(), jwt::b64url_decode(x)] {
        let token = jsonwebtoken::encode(
            &hs,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .expect("HS256");
        assert_token_refused(&app, &token, "HS256 token keyed with the public key").await;
    }
}

#[tokio::test]
async fn an_access_token_stops_working_when_its_lifetime_ends() {
    let app = TestApp::builder().access_token_ttl("1s").spawn().await;
    let token = app.oauth().login("alice").await.access_token;
    let (_, claims) = jwt::decode_unverified(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1
    );

    vault_e2e::poll::until(
        "the 1 s access token to expire",
        std::time::Duration::from_secs(30),
        || async { (app.oauth().get(&token, "/v1/whoami").await.status() == 401).then_some(()) },
    )
    .await;
    assert_token_refused(&app, &token, "expired token").await;
}

#[tokio::test]
async fn a_token_of_another_deployment_sharing_the_database_is_refused() {
    let app = TestApp::builder().explicit_public_url().spawn().await;
    let other = TestApp::builder()
        .explicit_public_url()
        .sharing_database_of(&app)
        .spawn()
        .await;
    let token = app.oauth().login("alice").await.access_token;
    let (header, _) = jwt::decode_unverified(&token);
    let jwks = other
        .http
        .get(other.endpoint("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        jwks.contains(header["kid"].as_str().expect("kid")),
        "precondition: the other deployment publishes (so verifies) the signing key: {jwks}"
    );
    assert_eq!(app.oauth().get(&token, "/v1/whoami").await.status(), 200);

    assert_token_refused(&other, &token, "token issued for another public URL").await;
}

/// The JWKS `app` publishes.
async fn jwks_of(app: &TestApp) -> serde_json::Value {
    app.http
        .get(app.endpoint("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("JWKS")
}

/// The kids the JWKS of `app` publishes.
async fn published_kids(app: &TestApp) -> Vec<String> {
    jwks_of(app).await["keys"]
        .as_array()
        .expect("a key list")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

#[tokio::test]
async fn a_stopped_replica_publishes_its_signing_key_only_as_long_as_its_last_token_lives() {
    let mut app = TestApp::builder().access_token_ttl("2s").spawn().await;
    let other = TestApp::builder()
        .access_token_ttl("2s")
        .sharing_database_of(&app)
        .spawn()
        .await;
    let token = app.oauth().login("alice").await.access_token;
    let (header, _) = jwt::decode_unverified(&token);
    let kid = header["kid"].as_str().expect("kid").to_owned();
    assert!(
        published_kids(&other).await.contains(&kid),
        "precondition: the other replica publishes the key"
    );
    let retire_at = |pool: sqlx::PgPool, kid: String| async move {
        sqlx::query_scalar::<_, time::OffsetDateTime>(
            "SELECT retire_at FROM signing_keys WHERE kid = $1",
        )
        .bind(kid)
        .fetch_one(&pool)
        .await
        .expect("the key's row")
    };
    let planned = retire_at(app.db.clone(), kid.clone()).await;

    let stopped_at = time::OffsetDateTime::now_utc();
    app.stop_server().await;

    let retired = retire_at(app.db.clone(), kid.clone()).await;
    assert!(
        retired < planned - time::Duration::hours(23),
        "a key retired at shutdown keeps its day-long life: {retired} (was {planned})"
    );
    assert!(
        retired <= stopped_at + time::Duration::seconds(2 + 5 + 5),
        "the key outlives its last token (2 s) and the leeway (5 s): {retired}, stopped {stopped_at}"
    );
    vault_e2e::poll::until(
        "the other replica to stop publishing the retired key",
        std::time::Duration::from_secs(30),
        || async { (!published_kids(&other).await.contains(&kid)).then_some(()) },
    )
    .await;
    assert!(
        !published_kids(&other).await.is_empty(),
        "the other replica still publishes its own key"
    );
}
