//! A CI token's id is remembered for as long as the token is accepted (its expiry plus the 30 s
//! clock leeway and one second of rounding), in Postgres, so a replay is refused even by a restarted server; expired ids are
//! removed by the periodic cleanup while the server runs.

use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;
use vault_e2e::ci_issuer::{now, CiIssuer};
use vault_e2e::{poll, TestApp};

/// Cleanup passes a second apart, so a test sees one happen.
const CLEANUP_EVERY_SECOND: &str = "[cleanup]\ninterval = \"1s\"\ntimeout = \"5s\"";

/// When `jti` is remembered until (unix seconds), if it is.
async fn remembered_until(db: &PgPool, jti: &str) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at)::bigint FROM ci_token_uses WHERE jti = $1",
    )
    .bind(jti)
    .fetch_optional(db)
    .await
    .expect("reading ci_token_uses")
}

/// A token of the `deploy` job with this `jti` and `exp`.
fn token(issuer: &CiIssuer, jti: &str, exp: i64) -> String {
    issuer.mint(json!({ "jti": jti, "exp": exp, "iat": exp - 120, "nbf": exp - 120 }))
}

async fn assert_replay_refused_and_audited(app: &TestApp, token: &str) {
    let replay = app.ci_exchange(token).await;
    assert_eq!(replay.status, 401, "{}", replay.text);
    assert!(
        replay.description().contains("already used"),
        "refused for another reason: {}",
        replay.text
    );
    let refused = app
        .audit_rows_for("ci_exchange")
        .await
        .into_iter()
        .filter(|r| r["outcome"] == "denied")
        .collect::<Vec<_>>();
    assert!(
        refused.iter().any(|r| r["reason"]
            .as_str()
            .is_some_and(|s| s.contains("already used"))
            && r["principal"] == "repo:acme/app:ref:refs/heads/main"),
        "the replay is not audited: {refused:#?}"
    );
}

#[tokio::test]
async fn a_ci_token_replayed_after_a_server_restart_is_refused_and_audited() {
    let issuer = CiIssuer::start().await;
    let mut first = issuer
        .app_builder()
        .extra_toml(CLEANUP_EVERY_SECOND)
        .spawn()
        .await;
    // Just past its expiry but within the leeway: still accepted, so its id must outlive the
    // cleanup that runs when the server starts again.
    let jti = format!("restart-{}", uuid::Uuid::new_v4());
    let token = token(&issuer, &jti, now() - 5);
    first.ci_exchange(&token).await.access_token();
    first.stop_server().await;

    // An id whose window closed long ago: gone once the restarted server has cleaned up.
    sqlx::query(
        "INSERT INTO ci_token_uses (issuer, jti, used_at, expires_at) \
         VALUES ('sentinel', 'long-expired', now() - interval '1 hour', now() - interval '1 hour')",
    )
    .execute(&first.db)
    .await
    .unwrap();
    let second = issuer
        .app_builder()
        .extra_toml(CLEANUP_EVERY_SECOND)
        .sharing_database_of(&first)
        .spawn()
        .await;
    poll::until(
        "the restarted server's cleanup to remove an expired id",
        Duration::from_secs(15),
        || async {
            remembered_until(&second.db, "long-expired")
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        remembered_until(&second.db, &jti).await.is_some(),
        "the cleanup forgot the id of a token that is still accepted"
    );
    assert_replay_refused_and_audited(&second, &token).await;
}

#[tokio::test]
async fn an_expired_ci_token_id_is_removed_by_the_periodic_cleanup_while_the_server_runs() {
    let issuer = CiIssuer::start().await;
    let app = issuer
        .app_builder()
        .extra_toml(CLEANUP_EVERY_SECOND)
        .spawn()
        .await;
    let jti = format!("periodic-{}", uuid::Uuid::new_v4());
    let exp = now() - 25;
    let token = token(&issuer, &jti, exp);
    app.ci_exchange(&token).await.access_token();
    assert_eq!(
        remembered_until(&app.db, &jti).await,
        Some(exp + 31),
        "the id is remembered while the token is accepted: its expiry, the 30 s leeway and the \
         second of jsonwebtoken's whole-second clock"
    );
    assert_replay_refused_and_audited(&app, &token).await;

    poll::until(
        "the periodic cleanup to remove the expired id",
        Duration::from_secs(30),
        || async {
            remembered_until(&app.db, &jti)
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    // Forgotten only once the token itself is refused: a replay now is an expired token.
    let late = app.ci_exchange(&token).await;
    assert_eq!(late.status, 401, "{}", late.text);
    assert!(
        late.description().contains("expired"),
        "a token whose id was forgotten was not refused as expired: {}",
        late.text
    );
}
