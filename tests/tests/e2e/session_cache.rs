//! Replicas remember live login sessions, and a revocation anywhere (logout on another replica,
//! or an UPDATE by hand) still ends a session on every replica at once: the notice, not the
//! memory's time limit, is what makes them forget.

use std::time::Duration;
use vault_e2e::{jwt, poll, OAuthClient, TestApp};

/// Two replicas on one database that remember a session for an hour, unless told otherwise.
pub(crate) async fn two_replicas() -> (TestApp, TestApp) {
    let a = TestApp::builder()
        .extra_toml("session_cache_ttl = \"1h\"")
        .spawn()
        .await;
    // One deployment: B serves under A's public URL, so A's tokens are B's too.
    let b = TestApp::builder()
        .extra_toml("session_cache_ttl = \"1h\"")
        .extra_toml(&format!("public_url = \"{}\"", a.url))
        .sharing_database_of(&a)
        .spawn()
        .await;
    (a, b)
}

/// `GET /v1/whoami` on this very replica (its own address, not the shared public URL).
async fn whoami(app: &TestApp, token: &str) -> u16 {
    OAuthClient::new(&app.bound_url)
        .get(token, "/v1/whoami")
        .await
        .status()
        .as_u16()
}

async fn refused_soon(app: &TestApp, token: &str, what: &str) {
    poll::until(what, Duration::from_secs(10), || async {
        (whoami(app, token).await == 401).then_some(())
    })
    .await;
}

fn session_of(token: &str) -> String {
    let (_, claims) = jwt::decode_unverified(token);
    claims["sid"].as_str().expect("sid claim").to_owned()
}

async fn revoke_by_hand(app: &TestApp, token: &str) {
    let done = sqlx::query(
        "UPDATE login_sessions SET revoked_at = now(), revoke_reason = 'by hand' WHERE id = $1::uuid",
    )
    .bind(session_of(token))
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

/// Revokes a login session as a superuser who first switched off the trigger that tells
/// replicas about it: no replica hears of this revocation.
async fn revoke_silently(app: &TestApp, session_id: &str) {
    let mut tx = app.db.begin().await.unwrap();
    for sql in [
        "ALTER TABLE login_sessions DISABLE TRIGGER login_sessions_changed".to_owned(),
        format!(
            "UPDATE login_sessions SET revoked_at = now(), revoke_reason = 'silently' WHERE id = '{session_id}'"
        ),
        "ALTER TABLE login_sessions ENABLE TRIGGER login_sessions_changed".to_owned(),
    ] {
        sqlx::raw_sql(&sql)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_session_revoked_anywhere_is_refused_by_every_replica_although_they_remember_it() {
    let (a, b) = two_replicas().await;

    // Logout on replica A: A refuses at once, B as soon as the notice arrives.
    let tokens = a.oauth().login("alice").await;
    assert_eq!(whoami(&a, &tokens.access_token).await, 200);
    assert_eq!(whoami(&b, &tokens.access_token).await, 200);
    assert!(a
        .oauth()
        .revoke(&tokens.refresh_token)
        .await
        .status()
        .is_success());
    assert_eq!(
        whoami(&a, &tokens.access_token).await,
        401,
        "the replica that revoked still honours the session"
    );
    refused_soon(
        &b,
        &tokens.access_token,
        "replica B to refuse a session logged out on A",
    )
    .await;

    // A revocation by hand, with no server involved, reaches both.
    let tokens = a.oauth().login("bob").await;
    assert_eq!(whoami(&a, &tokens.access_token).await, 200);
    assert_eq!(whoami(&b, &tokens.access_token).await, 200);
    revoke_by_hand(&a, &tokens.access_token).await;
    refused_soon(
        &a,
        &tokens.access_token,
        "replica A to refuse a session revoked by hand",
    )
    .await;
    refused_soon(
        &b,
        &tokens.access_token,
        "replica B to refuse a session revoked by hand",
    )
    .await;
}

#[tokio::test]
async fn without_the_revocation_notice_a_replica_would_keep_answering_from_memory() {
    // Shows that the memory is really used (so the test above is not passing by luck), and
    // that the trigger is what keeps it honest.
    let (a, b) = two_replicas().await;
    let tokens = a.oauth().login("alice").await;
    assert_eq!(whoami(&b, &tokens.access_token).await, 200);
    revoke_silently(&a, &session_of(&tokens.access_token)).await;
    assert_eq!(
        whoami(&b, &tokens.access_token).await,
        200,
        "B looked the session up again: the cache is not in use"
    );
    // A fresh replica, which never saw the session, asks the database and refuses.
    let c = TestApp::builder()
        .extra_toml(&format!("public_url = \"{}\"", a.url))
        .sharing_database_of(&a)
        .spawn()
        .await;
    assert_eq!(whoami(&c, &tokens.access_token).await, 401);
}
