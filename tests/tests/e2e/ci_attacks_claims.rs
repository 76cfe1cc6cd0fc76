//! CI token exchange, attacked (continued from `ci_attacks`): tokens for another issuer or
//! audience, without required claims, of jobs no profile allows, replayed, of another kind, and
//! the issuer's keys unavailable. Each is refused with a reason and audited.

use serde_json::{json, Value};
use vault_e2e::ci_issuer::{foreign_key, idp_id_token, spawn_ci_app, JwksMode, AUDIENCE};

use super::ci_attacks::{assert_no_profile_allows, assert_refused};

// ---- issuer and audience ----

#[tokio::test]
async fn the_configured_issuer_with_another_path_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"iss": format!("{}/evil", issuer.url())}));
    assert_refused(&app, &token, 401, "is not a configured CI issuer").await;
}

#[tokio::test]
async fn the_configured_issuer_with_a_trailing_slash_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"iss": format!("{}/", issuer.url())}));
    assert_refused(&app, &token, 401, "is not a configured CI issuer").await;
}

#[tokio::test]
async fn an_unconfigured_issuer_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"iss": "https://token.actions.githubusercontent.com"}));
    assert_refused(&app, &token, 401, "is not a configured CI issuer").await;
}

#[tokio::test]
async fn a_token_without_an_issuer_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"iss": null}));
    assert_refused(&app, &token, 401, "no `iss` claim").await;
}

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"aud": "sts.amazonaws.com"}));
    assert_refused(&app, &token, 401, "audience").await;
}

#[tokio::test]
async fn an_audience_list_without_ours_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"aud": ["sts.amazonaws.com", "https://github.com/acme"]}));
    assert_refused(&app, &token, 401, "audience").await;
}

#[tokio::test]
async fn an_audience_list_with_ours_is_accepted() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"aud": ["sts.amazonaws.com", AUDIENCE]}));
    app.ci_exchange(&token).await.access_token();
}

// ---- required claims ----

#[tokio::test]
async fn a_token_without_jti_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"jti": null}));
    assert_refused(&app, &token, 401, "no `jti` claim").await;
}

#[tokio::test]
async fn a_token_without_sub_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"sub": null}));
    assert_refused(&app, &token, 401, "no `sub` claim").await;
}

#[tokio::test]
async fn a_token_without_exp_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"exp": null}));
    assert_refused(&app, &token, 401, "no `exp` claim").await;
}

#[tokio::test]
async fn a_token_without_iat_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({"iat": null}));
    assert_refused(&app, &token, 401, "no `iat` claim").await;
}

// ---- policy: verified tokens of jobs no profile allows ----

#[tokio::test]
async fn another_repository_is_denied() {
    let (issuer, app) = spawn_ci_app().await;
    let sub = "repo:acme/other:ref:refs/heads/main";
    let token = issuer.mint(json!({"repository": "acme/other", "sub": sub}));
    assert_no_profile_allows(&app, &token, sub).await;
}

#[tokio::test]
async fn another_branch_is_denied() {
    let (issuer, app) = spawn_ci_app().await;
    let sub = "repo:acme/app:ref:refs/heads/feature";
    let token = issuer.mint(json!({"ref": "refs/heads/feature", "sub": sub}));
    assert_no_profile_allows(&app, &token, sub).await;
}

#[tokio::test]
async fn a_pull_request_event_where_only_push_is_allowed_is_denied() {
    let (issuer, app) = spawn_ci_app().await;
    let sub = "repo:acme/app:pull_request";
    let token = issuer.mint(json!({"event_name": "pull_request", "sub": sub}));
    assert_no_profile_allows(&app, &token, sub).await;
}

#[tokio::test]
async fn a_claim_value_with_glob_characters_does_not_match_as_a_pattern() {
    let (issuer, app) = spawn_ci_app().await;
    let sub = "repo:acme/*:ref:refs/heads/main";
    let token = issuer.mint(json!({"repository": "acme/*", "sub": sub}));
    assert_no_profile_allows(&app, &token, sub).await;
}

#[tokio::test]
async fn a_claim_given_as_a_list_does_not_match() {
    let (issuer, app) = spawn_ci_app().await;
    let sub = "repo:acme/app:ref:refs/heads/main";
    let token = issuer.mint(json!({"repository": ["acme/app"]}));
    assert_no_profile_allows(&app, &token, sub).await;
}

// ---- replay ----

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let (issuer, app) = spawn_ci_app().await;
    let token = issuer.mint(json!({}));
    app.ci_exchange(&token).await.access_token();

    assert_refused(&app, &token, 401, "already used").await;

    // A different token reusing the jti (freshly signed) is a replay too.
    let (_, claims) = vault_e2e::jwt::decode_unverified(&token);
    let again = issuer.mint(json!({"jti": claims["jti"], "run_attempt": "2"}));
    assert_ne!(again, token);
    assert_refused(&app, &again, 401, "already used").await;
    let rows = app.audit_rows_for("ci_exchange").await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert_eq!(rows[0]["outcome"], "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_presented_twenty_times_at_once_is_granted_once() {
    let (issuer, app) = spawn_ci_app().await;
    // Warm the key cache, so the race is on the jti alone.
    app.ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();
    let token = issuer.mint(json!({}));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let resp = http
                    .post(format!("{url}/oauth/token"))
                    .form(&[
                        ("grant_type", vault_api::GRANT_TOKEN_EXCHANGE),
                        ("subject_token", token.as_str()),
                        ("subject_token_type", vault_api::TOKEN_TYPE_JWT),
                    ])
                    .send()
                    .await
                    .expect("exchange");
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.expect("JSON");
                (status, body)
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        let (status, body) = t.await.expect("task");
        match status {
            200 => granted += 1,
            401 => {
                assert_eq!(body["error"], "invalid_grant", "{body}");
                assert!(
                    body["error_description"]
                        .as_str()
                        .is_some_and(|d| d.contains("already used")),
                    "{body}"
                );
                assert!(body.get("access_token").is_none(), "{body}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(granted, 1, "a replayed token was granted more than once");
    let rows = app.audit_rows_for("ci_exchange").await;
    let count = |o: &str| rows.iter().filter(|r| r["outcome"] == o).count();
    assert_eq!((count("success"), count("denied")), (2, 19), "{rows:#?}");
    assert_eq!(app.ci_session_count().await, 2);
}

// ---- other kinds of tokens ----

#[tokio::test]
async fn a_persons_id_token_from_the_human_idp_is_refused() {
    let (_issuer, app) = spawn_ci_app().await;
    let id_token = idp_id_token("alice").await;
    let (header, claims) = vault_e2e::jwt::decode_unverified(&id_token);
    assert_eq!(claims["iss"], app.env.idp_issuer.as_str(), "{claims}");
    assert_eq!(header["alg"], "RS256", "{header}");
    // Same audience string as our CI issuer: only the issuer tells them apart.
    assert_eq!(claims["aud"], AUDIENCE, "{claims}");
    assert_refused(&app, &id_token, 401, "is not a configured CI issuer").await;
}

#[tokio::test]
async fn a_broker_access_token_is_refused() {
    let (_issuer, app) = spawn_ci_app().await;
    let tokens = app.oauth().login("alice").await;
    assert_refused(
        &app,
        &tokens.access_token,
        401,
        "is not a configured CI issuer",
    )
    .await;
}

#[tokio::test]
async fn a_refresh_token_is_refused() {
    let (_issuer, app) = spawn_ci_app().await;
    let tokens = app.oauth().login("alice").await;
    assert_refused(&app, &tokens.refresh_token, 401, "not a signed JWT").await;
}

// ---- the issuer's keys unavailable: fail closed ----

async fn jwks_down_fails_closed(mode: JwksMode) {
    let (issuer, app) = spawn_ci_app().await;
    issuer.set_jwks(mode);
    let token = issuer.mint(json!({}));
    let ex = assert_refused(&app, &token, 503, "cannot fetch the signing keys").await;
    assert!(ex.description().contains("github"), "{}", ex.text);
    assert!(issuer.jwks_fetches() >= 1, "the JWKS was never asked for");

    // The keys come back, but the last attempt failed moments ago: still closed, still no token.
    issuer.set_jwks(JwksMode::Up);
    let token = issuer.mint(json!({}));
    assert_refused(&app, &token, 503, "cannot fetch the signing keys").await;
}

#[tokio::test]
async fn the_jwks_answering_500_fails_closed_with_503() {
    jwks_down_fails_closed(JwksMode::Error500).await;
}

#[tokio::test]
async fn the_jwks_connection_breaking_fails_closed_with_503() {
    jwks_down_fails_closed(JwksMode::BrokenConnection).await;
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_fails_closed() {
    let (issuer, app) = spawn_ci_app().await;
    issuer.set_discovery_issuer("https://token.actions.githubusercontent.com");
    let token = issuer.mint(json!({}));
    let ex = assert_refused(&app, &token, 503, "cannot fetch the signing keys").await;
    assert!(ex.description().contains("names issuer"), "{}", ex.text);
    assert_eq!(
        issuer.jwks_fetches(),
        0,
        "keys of a mixed-up issuer were fetched"
    );
}

#[tokio::test]
async fn known_keys_keep_working_while_the_jwks_is_down() {
    let (issuer, app) = spawn_ci_app().await;
    app.ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();
    issuer.set_jwks(JwksMode::Error500);
    app.ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();
    // A forged token is still refused on signature, not let through because keys are stale.
    let forged = foreign_key().sign(Some(issuer.kid()), &issuer.claims(json!({})));
    let ex = app.ci_exchange(&forged).await;
    assert_eq!(ex.status, 401, "{}", ex.text);
}
