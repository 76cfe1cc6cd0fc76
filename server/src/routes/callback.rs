//! `GET /oauth/callback`: the IdP sends the browser back; we verify who it is and finish the
//! login for the CLI (a one-time code on its loopback) or for a waiting device.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use url::Url;

use crate::{
    audit::{AuditEvent, Outcome},
    clock, db,
    db::logins::PendingLogin,
    error::ApiError,
    oidc::Identity,
    request_meta::RequestMeta,
    routes::pages::{error_page, page},
    secrets,
    state::AppState,
};

/// How long the CLI has to redeem its code.
const CODE_LIFE: time::Duration = time::Duration::seconds(60);

#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    meta: RequestMeta,
    params: Result<Query<CallbackParams>, QueryRejection>,
) -> Response {
    let p = params.map(|Query(p)| p).unwrap_or_default();
    match finish(&state, &meta, p).await {
        Ok(response) => response,
        Err(e) => {
            let status = match &e {
                ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
                ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            if let ApiError::Internal(cause) = &e {
                tracing::error!(error = ?cause, "login callback failed");
            }
            error_page(status, &e.to_string())
        }
    }
}

async fn finish(
    state: &AppState,
    meta: &RequestMeta,
    p: CallbackParams,
) -> Result<Response, ApiError> {
    let now = clock::now();
    let upstream_state = p
        .state
        .ok_or_else(|| ApiError::BadRequest("the identity provider sent no state".into()))?;
    let pending = db::logins::take_pending(&state.db, &secrets::digest(&upstream_state), now)
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest(
                "this login link has expired or was already used; start again with `vault login`"
                    .into(),
            )
        })?;
    if let Some(error) = p.error {
        let reason = format!(
            "identity provider: {error}: {}",
            p.error_description.unwrap_or_default()
        );
        audit_failure(state, meta, &reason, now).await?;
        return Ok(refuse(&pending, &reason));
    }
    let code = p
        .code
        .ok_or_else(|| ApiError::BadRequest("the identity provider sent no code".into()))?;
    let identity = match state
        .upstream
        .finish(&code, &pending.upstream_verifier, &pending.upstream_nonce)
        .await
    {
        Ok(identity) => identity,
        Err(e) => {
            let reason = e.to_string();
            audit_failure(state, meta, &reason, now).await?;
            return Err(ApiError::BadGateway(reason));
        }
    };
    complete(state, meta, &pending, &identity, now).await
}

/// Records the login and hands it to the CLI or the device, all in one transaction.
async fn complete(
    state: &AppState,
    meta: &RequestMeta,
    pending: &PendingLogin,
    who: &Identity,
    now: time::OffsetDateTime,
) -> Result<Response, ApiError> {
    let mut tx = state.db.begin().await?;
    let principal_id = db::principals::upsert(
        &mut *tx,
        "user",
        &who.issuer,
        &who.subject,
        &who.display,
        now,
    )
    .await?;
    let expires = now + state.config.refresh_token_ttl;
    let session_id =
        db::sessions::create(&mut *tx, principal_id, &who.groups, now, expires).await?;
    let action = if pending.flow == "device" {
        "device_approve"
    } else {
        "login"
    };
    let event = AuditEvent::new(action, Outcome::Success, meta, now)
        .principal(Some(principal_id), &who.display, "user")
        .detail("flow", &pending.flow)
        .detail("groups", &who.groups)
        .detail("session_id", session_id);
    let response = match (pending.device_id, pending.client_redirect_uri.as_deref()) {
        (Some(device_id), _) => {
            if !db::device::approve(&mut *tx, device_id, session_id, now).await? {
                return Err(ApiError::BadRequest(
                    "this device code has expired; run `vault login --device` again".into(),
                ));
            }
            page(
                StatusCode::OK,
                "Device approved",
                &format!(
                    "<p>Logged in as {}. Return to your terminal; you can close this page.</p>",
                    super::pages::escape(&who.display)
                ),
            )
        }
        (None, Some(redirect)) => {
            let code = secrets::random_token("tvc_");
            let challenge = pending.code_challenge.as_deref().unwrap_or_default();
            db::logins::insert_code(
                &mut *tx,
                &secrets::digest(&code),
                session_id,
                redirect,
                challenge,
                now,
                now + CODE_LIFE,
            )
            .await?;
            let mut target =
                Url::parse(redirect).map_err(|e| anyhow::anyhow!("stored redirect_uri: {e}"))?;
            target.query_pairs_mut().append_pair("code", &code);
            if let Some(s) = &pending.client_state {
                target.query_pairs_mut().append_pair("state", s);
            }
            Redirect::to(target.as_str()).into_response()
        }
        (None, None) => return Err(anyhow::anyhow!("pending login without a destination").into()),
    };
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(response)
}

async fn audit_failure(
    state: &AppState,
    meta: &RequestMeta,
    reason: &str,
    now: time::OffsetDateTime,
) -> Result<(), ApiError> {
    let event = AuditEvent::new("login_failed", Outcome::Failure, meta, now).reason(reason);
    state.audit.write(event).await.map_err(ApiError::from)
}

/// Tells the CLI (through its loopback) or the person (device flow) that the login failed.
fn refuse(pending: &PendingLogin, reason: &str) -> Response {
    match pending
        .client_redirect_uri
        .as_deref()
        .and_then(|r| Url::parse(r).ok())
    {
        Some(mut target) => {
            target
                .query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("error_description", reason);
            if let Some(s) = &pending.client_state {
                target.query_pairs_mut().append_pair("state", s);
            }
            Redirect::to(target.as_str()).into_response()
        }
        None => error_page(StatusCode::FORBIDDEN, reason),
    }
}
