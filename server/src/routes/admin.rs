//! `GET /v1/admin/keys` and `POST /v1/admin/rotate`: the server's own IAM keys, for admins.

use axum::{extract::State, Json};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use vault_api::admin::{KeyStatus, RotateResponse};

use crate::{
    audit::{AuditEvent, Outcome},
    auth::{Admin, Attempt},
    clock, db,
    error::ApiError,
    keys::{mask, OwnedKeys},
    request_meta::RequestMeta,
    routes::json::AppJson,
    state::AppState,
};

/// `GET /v1/admin/keys`.
pub struct SeeKeys;
impl Attempt for SeeKeys {
    const WHAT: &'static str = "see the server's keys";
}
/// `POST /v1/admin/rotate`.
pub struct RotateKeys;
impl Attempt for RotateKeys {
    const WHAT: &'static str = "rotate the server's keys";
}

fn owned(state: &AppState) -> Result<&OwnedKeys, ApiError> {
    state.owned.as_ref().ok_or_else(|| ApiError::NotFound {
        code: "no_owned_keys",
        message: "this server owns no IAM keys (no [[identities]] configured); it uses ambient credentials".into(),
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Each identity: active key (masked), its age, the last rotation and when the next is due.
pub async fn keys(
    State(state): State<AppState>,
    _admin: Admin<SeeKeys>,
) -> Result<Json<Vec<KeyStatus>>, ApiError> {
    let owned = owned(&state)?;
    let now = clock::now();
    let mut out = Vec::new();
    for r in &owned.rotators {
        let identity = &r.identity;
        let active = db::keys::active(&state.db, &identity.name).await?;
        let last = db::keys::last_rotation(&state.db, &identity.name).await?;
        let since = active
            .as_ref()
            .map(|k| k.activated_at.unwrap_or(k.created_at));
        out.push(KeyStatus {
            identity: identity.name.clone(),
            iam_user: identity.iam_user.clone(),
            active_key: active.as_ref().map(|k| mask(&k.access_key_id)),
            key_age_seconds: since.map(|s| (now - s).whole_seconds().max(0) as u64),
            rotation_enabled: identity.rotate,
            last_rotation_step: last.as_ref().map(|l| l.step.as_str().to_owned()),
            last_rotation_started: last.as_ref().map(|l| rfc3339(l.started_at)),
            last_rotation_finished: last.as_ref().and_then(|l| l.finished_at.map(rfc3339)),
            last_error: last.as_ref().and_then(|l| l.last_error.clone()),
            attempts: last.as_ref().map_or(0, |l| l.attempts.max(0) as u32),
            next_due: since
                .filter(|_| identity.rotate)
                .map(|s| rfc3339(s + identity.max_key_age)),
        });
    }
    Ok(Json(out))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    identity: Option<String>,
}

/// Opens a rotation now for one identity (or every one); the rotating replica runs it.
pub async fn rotate(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<RotateKeys>,
    AppJson(body): AppJson<RotateRequest>,
) -> Result<Json<RotateResponse>, ApiError> {
    let owned = owned(&state)?;
    let targets: Vec<_> = match &body.identity {
        Some(name) => vec![owned.rotator(name).ok_or_else(|| ApiError::NotFound {
            code: "unknown_identity",
            message: format!("no identity named `{name}`"),
        })?],
        None => owned.rotators.iter().collect(),
    };
    let now = clock::now();
    let mut started = Vec::new();
    for r in targets {
        // The rotation opens only together with its `key_rotate_requested` event.
        r.request_audited("manual", now, |rotation| {
            Some(
                AuditEvent::new("key_rotate_requested", Outcome::Success, &meta, now)
                    .by(caller.actor())
                    .detail("identity", &r.identity.name)
                    .detail("rotation", rotation.id),
            )
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot open a rotation");
            ApiError::Unavailable("the rotation could not be started; see the server log".into())
        })?;
        started.push(r.identity.name.clone());
    }
    owned.wake.notify_one();
    Ok(Json(RotateResponse {
        identities: started,
    }))
}
