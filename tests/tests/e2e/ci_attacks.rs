//! CI token exchange, attacked: every forged, stale, misaddressed, replayed or malformed token is
//! refused with 401/403 (503 when the issuer's keys cannot be had) and a reason, no access token
//! is issued, and the refusal is a `ci_exchange` audit event. This file: forged signatures and
//! algorithms, times, malformed tokens, and the shared assertions; `ci_attacks_claims`: issuer,
//! audience, claims, policy, replay, other kinds of tokens, the issuer's keys unavailable.

use jsonwebtoken::{Algorithm, Header};
use serde_json::{json, Value};
use vault_e2e::ci_issuer::{
    b64, foreign_key, hs256, now, raw_jwt, spawn_ci_app, tampered, unsigned, Exchange,
};
use vault_e2e::TestApp;

/// Presents `token`; asserts the refusal (`status`, an `error_description` containing `reason`,
/// no token), exactly one new `ci_exchange` audit row (denied, or failure for 503) carrying the
/// same reason, and that nothing was granted: no new CI session, no credentials.
pub(crate) async fn assert_refused(
    app: &TestApp,
    token: &str,
    status: u16,
    reason: &str,
) -> Exchange {
    let rows_before = app.audit_rows_for("ci_exchange").await;
    let sessions_before = app.ci_session_count().await;

    let ex = app.ci_exchange(token).await;

    assert_eq!(
        ex.status, status,
        "expected {status} ({reason}): {}",
        ex.text
    );
    let error = match status {
        401 => "invalid_grant",
        403 => "access_denied",
        503 => "temporarily_unavailable",
        _ => unreachable!("not a refusal status"),
    };
    assert_eq!(ex.body["error"], error, "{}", ex.text);
    let description = ex.description().to_owned();
    assert!(
        description.to_lowercase().contains(&reason.to_lowercase()),
        "error_description {description:?} does not say {reason:?}"
    );
    for field in ["access_token", "refresh_token", "issued_token_type"] {
        assert!(
            ex.body.get(field).is_none(),
            "{field} in a refusal: {}",
            ex.text
        );
    }
    if token.len() > 16 {
        assert!(!ex.text.contains(token), "the refusal echoes the token");
    }

    let rows = app.audit_rows_for("ci_exchange").await;
    assert_eq!(
        rows.len(),
        rows_before.len() + 1,
        "expected exactly one new ci_exchange audit row: {:#?}",
        &rows[rows_before.len()..]
    );
    let row = rows.last().expect("a row");
    let outcome = if status == 503 { "failure" } else { "denied" };
    assert_eq!(row["outcome"], outcome, "{row:#}");
    assert_eq!(row["reason"], description.as_str(), "{row:#}");
    assert!(row["principal_id"].is_null(), "{row:#}");
    let successes = |rows: &[Value]| rows.iter().filter(|r| r["outcome"] == "success").count();
    assert_eq!(successes(&rows), successes(&rows_before), "{row:#}");
    assert_eq!(app.ci_session_count().await, sessions_before);
    for action in ["credentials_issue", "credentials_reuse"] {
        assert!(app.audit_rows_for(action).await.is_empty(), "{action}");
    }
    ex
}

/// A 403: the token verified, no profile allows the job; the audit row names the job.
pub(crate) async fn assert_no_profile_allows(app: &TestApp, token: &str, subject: &str) {
    assert_refused(app, token, 403, "no profile allows this CI job").await;
    let rows = app.audit_rows_for("ci_exchange").await;
    let row = rows.last().expect("a row");
    assert_eq!(row["principal"], subject, "{row:#}");
    assert_eq!(row["principal_kind"], "ci", "{row:#}");
    assert_eq!(row["details"]["issuer"], "github", "{row:#}");
    assert!(row["details"]["claims"].is_object(), "{row:#}");
}

// ---- signature and algorithm ----

#[tokio::test]
async fn alg_none_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    // The canonical unsecured JWT: `alg: none` and an empty signature.
    let token = unsigned(&issuer.claims(json!({})));
    assert_refused(&app, &token, 401, "not a signed JWT").await;
}

#[tokio::test]
async fn alg_none_in_capitals_with_a_known_kid_and_a_signature_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let claims = issuer.claims(json!({}));
    // A real signature of the issuer's, pasted behind a header claiming no signing at all.
    let genuine = issuer.mint(json!({}));
    let signature = genuine.rsplit('.').next().expect("signature");
    let token = raw_jwt(
        &json!({"alg": "NONE", "typ": "JWT", "kid": issuer.kid()}),
        claims.to_string().as_bytes(),
        signature,
    );
    assert_refused(&app, &token, 401, "alg: none").await;
}

#[tokio::test]
async fn hs256_signed_with_the_issuers_public_key_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let claims = issuer.claims(json!({}));
    let token = hs256(
        Some(issuer.kid()),
        &claims,
        issuer.public_key_pem().as_bytes(),
    );
    assert_refused(&app, &token, 401, "algorithm HS256 is not accepted").await;
}

#[tokio::test]
async fn an_rsa_algorithm_the_issuer_is_not_configured_for_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some(issuer.kid().to_owned());
    let token = issuer.sign_with(&header, &issuer.claims(json!({})));
    assert_refused(&app, &token, 401, "algorithm RS512 is not accepted").await;
}

#[tokio::test]
async fn a_foreign_key_reusing_the_issuers_kid_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = foreign_key().sign(Some(issuer.kid()), &issuer.claims(json!({})));
    assert_refused(&app, &token, 401, "signature does not verify").await;
}

#[tokio::test]
async fn an_unknown_kid_is_refused_and_a_flood_of_them_does_not_refetch_the_keys() {
    let (issuer, app) = spawn_ci_app().await;
    let genuine = issuer.mint(json!({}));
    let ok = app.ci_exchange(&genuine).await;
    ok.access_token();
    let fetches = issuer.jwks_fetches();
    assert_eq!(fetches, 1, "the first exchange fetches the JWKS once");

    for i in 0..10 {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(format!("rotated-away-{i}"));
        let token = issuer.sign_with(&header, &issuer.claims(json!({})));
        assert_refused(
            &app,
            &token,
            401,
            &format!("publishes no key `rotated-away-{i}`"),
        )
        .await;
    }
    // The keys were fetched moments ago: an unknown kid refetches at most once a minute.
    assert_eq!(
        issuer.jwks_fetches(),
        fetches,
        "unknown kids made the server hammer the issuer's JWKS"
    );
}

#[tokio::test]
async fn a_foreign_key_under_an_unknown_kid_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = foreign_key().sign(Some("attacker-key"), &issuer.claims(json!({})));
    assert_refused(&app, &token, 401, "publishes no key `attacker-key`").await;
}

#[tokio::test]
async fn a_key_embedded_in_the_header_is_not_trusted() {
    let (issuer, app) = spawn_ci_app().await;
    // CVE-2018-0114 style: the attacker's public key in the header's `jwk`, signed with it.
    let attacker_jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(foreign_key().jwk("attacker")).expect("a JWK");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("attacker".into());
    header.jwk = Some(attacker_jwk.clone());
    let token = foreign_key().sign_with(&header, &issuer.claims(json!({})));
    assert_refused(&app, &token, 401, "publishes no key `attacker`").await;

    // The same under the issuer's own kid: the published key decides, not the embedded one.
    header.kid = Some(issuer.kid().to_owned());
    let token = foreign_key().sign_with(&header, &issuer.claims(json!({})));
    assert_refused(&app, &token, 401, "signature does not verify").await;
}

#[tokio::test]
async fn a_jku_header_pointing_at_another_jwks_is_not_followed() {
    let (issuer, app) = spawn_ci_app().await;
    // Another issuer's JWKS publishes a key under a kid of its own; the token points there.
    let elsewhere = vault_e2e::ci_issuer::CiIssuer::start().await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(elsewhere.kid().to_owned());
    header.jku = Some(format!("{}/.well-known/jwks", elsewhere.url()));
    let token = elsewhere.sign_with(&header, &issuer.claims(json!({})));
    assert_refused(
        &app,
        &token,
        401,
        &format!("publishes no key `{}`", elsewhere.kid()),
    )
    .await;
    assert_eq!(elsewhere.jwks_fetches(), 0, "the server followed jku");
    assert_eq!(elsewhere.discovery_fetches(), 0);
}

#[tokio::test]
async fn a_token_naming_no_kid_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.sign_with(&Header::new(Algorithm::RS256), &issuer.claims(json!({})));
    assert_refused(&app, &token, 401, "names no key").await;
}

#[tokio::test]
async fn a_tampered_payload_with_the_original_signature_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    // Genuinely signed for another repository, then edited to look like acme/app's main.
    let genuine = issuer.mint(json!({
        "repository": "evil/fork",
        "sub": "repo:evil/fork:ref:refs/heads/main",
    }));
    let token = tampered(&genuine, |c| {
        c["repository"] = json!("acme/app");
        c["sub"] = json!("repo:acme/app:ref:refs/heads/main");
    });
    assert_refused(&app, &token, 401, "signature does not verify").await;
}

// ---- time ----

#[tokio::test]
async fn an_expired_token_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let t = now();
    let token = issuer.mint(json!({"iat": t - 900, "nbf": t - 900, "exp": t - 120}));
    assert_refused(&app, &token, 401, "expired").await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let t = now();
    let token = issuer.mint(json!({"nbf": t + 600, "exp": t + 900}));
    assert_refused(&app, &token, 401, "not valid yet").await;
}

#[tokio::test]
async fn a_token_issued_far_in_the_future_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let t = now();
    let token = issuer.mint(json!({"iat": t + 3600, "nbf": null, "exp": t + 7200}));
    assert_refused(&app, &token, 401, "issued in the future").await;
}

// ---- malformed ----

#[tokio::test]
async fn a_token_with_its_signature_cut_short_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({}));
    let (signed, signature) = token.rsplit_once('.').expect("a dot");
    let mut bytes = vault_e2e::jwt::b64url_decode(signature);
    bytes.truncate(bytes.len() - 16);
    let cut = format!("{signed}.{}", b64(&bytes));
    assert_refused(&app, &cut, 401, "signature does not verify").await;
}

#[tokio::test]
async fn a_token_cut_mid_character_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({}));
    // 342 base64url characters of signature cut to 329: not a whole number of bytes.
    let cut = &token[..token.len() - 13];
    assert_refused(&app, cut, 401, "signature").await;
}

#[tokio::test]
async fn a_token_cut_to_two_parts_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({}));
    let two = &token[..token.rfind('.').expect("a dot")];
    assert_refused(&app, two, 401, "not a signed JWT").await;
}

#[tokio::test]
async fn a_token_over_16_kb_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"padding": "x".repeat(17 * 1024)}));
    assert!(token.len() > 16 * 1024);
    assert_refused(&app, &token, 401, "larger than 16 KB").await;
}

#[tokio::test]
async fn a_header_that_is_not_base64url_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({}));
    let rest = &token[token.find('.').expect("a dot")..];
    let bad = format!("eyJ!!not*base64%%{rest}");
    assert_refused(&app, &bad, 401, "header is not base64url").await;
}

#[tokio::test]
async fn a_payload_that_is_not_base64url_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({}));
    let parts: Vec<&str> = token.split('.').collect();
    let bad = format!("{}.{}$$.{}", parts[0], parts[1], parts[2]);
    assert_refused(&app, &bad, 401, "payload is not base64url").await;
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = raw_jwt(
        &json!({"alg": "RS256", "kid": issuer.kid()}),
        b"repository=acme/app",
        &b64(b"sig"),
    );
    assert_refused(&app, &token, 401, "payload is not JSON").await;
}

#[tokio::test]
async fn a_signed_json_payload_that_is_not_an_object_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let array = json!([issuer.claims(json!({}))]);
    let token = issuer.sign(&array);
    assert_refused(&app, &token, 401, "payload is not a JSON object").await;
}

#[tokio::test]
async fn an_empty_subject_token_is_refused() {
    let (_issuer, app) = spawn_ci_app().await;
    let resp = app
        .ci_exchange_raw(&[
            ("grant_type", vault_api::GRANT_TOKEN_EXCHANGE),
            ("subject_token", ""),
            ("subject_token_type", vault_api::TOKEN_TYPE_JWT),
        ])
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body.get("access_token").is_none());
}
