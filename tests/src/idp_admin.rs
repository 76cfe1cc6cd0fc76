//! The dev IdP's test-only admin endpoints (loopback only): `POST /admin/users/:login` changes a
//! person's groups or disables them while their login lives on; `POST /admin/rotate-keys` makes
//! it sign with a new key (use an `OwnIdp` for that). Tests use logins of their own
//! (e.g. `m-<random>`), so parallel tests sharing the IdP never see each other's changes.

use crate::app::http_client;

/// A login nobody else uses, for a test that changes its user at the IdP.
pub fn unique_login(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        crate::oauth::random_b64(6)
            .to_lowercase()
            .replace(['-', '_'], "x")
    )
}

async fn change(issuer: &str, login: &str, body: serde_json::Value) {
    let resp = http_client()
        .post(format!("{issuer}/admin/users/{login}"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /admin/users/{login} at the dev IdP: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(
        status, 200,
        "the dev IdP's admin endpoint answered {status}: {text}"
    );
}

/// From now on the IdP says `login` is in exactly `groups`.
pub async fn set_groups(issuer: &str, login: &str, groups: &[&str]) {
    change(issuer, login, serde_json::json!({ "groups": groups })).await;
}

/// From now on the IdP no longer knows `login` (refreshes and userinfo fail).
pub async fn disable(issuer: &str, login: &str) {
    change(issuer, login, serde_json::json!({ "disabled": true })).await;
}

/// The IdP signs with a new key from now on (and forgets its sessions); returns the new `kid`.
pub async fn rotate_keys(issuer: &str) -> String {
    let resp = http_client()
        .post(format!("{issuer}/admin/rotate-keys"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /admin/rotate-keys at the dev IdP: {e}"));
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    assert_eq!(
        status, 200,
        "the dev IdP's key rotation answered {status}: {body}"
    );
    body["kid"].as_str().unwrap_or_default().to_owned()
}

/// From now on the IdP's userinfo answers for someone else (`sub` mallory); use an `OwnIdp`.
pub async fn make_userinfo_lie(issuer: &str) {
    let resp = http_client()
        .post(format!("{issuer}/admin/userinfo-lies"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /admin/userinfo-lies at the dev IdP: {e}"));
    assert_eq!(
        resp.status(),
        200,
        "the dev IdP refused to make userinfo lie"
    );
}
