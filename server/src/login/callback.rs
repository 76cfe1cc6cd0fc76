//! The end of a login at the IdP (`GET /oauth/callback`): the ID token is verified, the person
//! becomes a principal with a login session, and the login is handed to the CLI (a one-time code
//! on its loopback) or to the waiting device, all in one transaction with its audit event.

use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::{
    audit::{bounds::cut_str, AuditEvent, Outcome},
    clock,
    db::{
        self,
        logins::{LoginFlow, PendingLogin},
    },
    error::ApiError,
    oidc::{Identity, UpstreamError},
    principal::PrincipalKind,
    request_meta::RequestMeta,
    secrets,
    state::AppState,
};

/// How long the CLI has to redeem its code.
const CODE_LIFE: time::Duration = time::Duration::seconds(60);

/// What the IdP sent back with the browser.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// How a login ended, for the browser.
#[derive(Debug)]
pub enum Finished {
    /// Back to the CLI's loopback: with a one-time code, or with the IdP's refusal.
    Redirect(Url),
    /// A waiting device was approved for this person.
    DeviceApproved { display: String },
    /// The IdP refused a device login: the person reads why.
    Refused { reason: String },
    /// The browser is not the one that started the login (no binding cookie, or another's):
    /// the link was passed on. Nothing is approved; the person is told to start from their own
    /// terminal.
    OtherBrowser,
}

/// Finishes the pending login the callback's `state` names, if `browser` (the binding token the
/// browser presents) is the one of the browser that started it.
///
/// A refused browser still uses the pending login up: the IdP link was passed on, and the IdP
/// code in this callback belongs to whoever logged in with it. Kept, it could be replayed by the
/// login's starter with their own cookie (a victim asked to "send me the link that failed");
/// gone, the starter just runs `vault login` again.
pub async fn finish(
    state: &AppState,
    meta: &RequestMeta,
    p: Callback,
    browser: Option<&str>,
) -> Result<Finished, ApiError> {
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
    let same_browser = match (&pending.browser_hash, browser) {
        (Some(expected), Some(token)) => secrets::same(expected, &secrets::digest(token)),
        _ => false,
    };
    if !same_browser {
        let event = AuditEvent::new("login_refused", Outcome::Denied, meta, now)
            .reason("browser_mismatch: the login was finished in a browser that did not start it")
            .detail("flow", pending.flow.as_str())
            .detail(
                "cookie",
                if browser.is_some() {
                    "other"
                } else {
                    "missing"
                },
            );
        state.audit.write(event).await?;
        return Ok(Finished::OtherBrowser);
    }
    if let Some(error) = p.error {
        let reason = format!(
            "identity provider: {error}: {}",
            p.error_description.unwrap_or_default()
        );
        audit_failure(state, meta, &reason, now).await?;
        return Ok(refused(&pending, reason));
    }
    let code = p
        .code
        .ok_or_else(|| ApiError::BadRequest("the identity provider sent no code".into()))?;
    let session_id = Uuid::new_v4();
    let identity = match state
        .upstream
        .finish(
            &code,
            &pending.upstream_verifier,
            &pending.upstream_nonce,
            session_id,
        )
        .await
    {
        Ok(identity) => identity,
        Err(UpstreamError::Refused {
            code,
            subject,
            reason,
        }) => {
            let event = AuditEvent::new("login_refused", Outcome::Denied, meta, now)
                .reason(&reason)
                .detail("code", code)
                .detail("subject", cut_str(&subject, 256))
                .detail("flow", pending.flow.as_str());
            state.audit.write(event).await?;
            return Ok(refused(&pending, reason));
        }
        Err(e) => {
            let reason = e.to_string();
            audit_failure(state, meta, &reason, now).await?;
            return Err(ApiError::BadGateway(reason));
        }
    };
    complete(state, meta, &pending, &identity, session_id, now).await
}

/// Records the login and hands it to the CLI or the device, all in one transaction.
async fn complete(
    state: &AppState,
    meta: &RequestMeta,
    pending: &PendingLogin,
    who: &Identity,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<Finished, ApiError> {
    let mut tx = state.db.begin().await?;
    let principal = db::principals::upsert(
        &mut *tx,
        PrincipalKind::User,
        &who.issuer,
        &who.subject,
        &who.display,
        now,
    )
    .await?;
    let principal_id = principal.id;
    if principal.disabled {
        drop(tx);
        let reason = format!(
            "{} was disabled by an admin; ask an admin to run `vault admin enable`",
            who.display
        );
        let event = AuditEvent::new("login_refused", Outcome::Denied, meta, now)
            .principal(Some(principal_id), &who.display, PrincipalKind::User)
            .reason(&reason)
            .detail("code", "principal_disabled")
            .detail("flow", pending.flow.as_str());
        state.audit.write(event).await?;
        return Ok(refused(pending, reason));
    }
    // A login lives at most `login_max_age`, however long its refresh tokens would.
    let expires = now
        + state
            .config
            .refresh_token_ttl
            .min(state.config.oidc.login.login_max_age);
    db::sessions::create(
        &mut *tx,
        session_id,
        principal_id,
        &who.groups,
        &who.tokens,
        meta.origin(),
        &pending.client_id,
        now,
        expires,
    )
    .await?;
    let action = match pending.flow {
        LoginFlow::Device => "device_approve",
        LoginFlow::Browser => "login",
    };
    let event = AuditEvent::new(action, Outcome::Success, meta, now)
        .principal(Some(principal_id), &who.display, PrincipalKind::User)
        .detail("flow", pending.flow.as_str())
        .detail("client_id", &pending.client_id)
        .detail("groups", &who.groups)
        .detail("session_id", session_id);
    let finished = match (pending.device_id, pending.client_redirect_uri.as_deref()) {
        (Some(device_id), _) => {
            if !db::device::approve(&mut *tx, device_id, session_id, now).await? {
                return Err(ApiError::BadRequest(
                    "this device code has expired; run `vault login --device` again".into(),
                ));
            }
            Finished::DeviceApproved {
                display: who.display.clone(),
            }
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
            Finished::Redirect(target)
        }
        (None, None) => return Err(anyhow::anyhow!("pending login without a destination").into()),
    };
    db::audit::append(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(finished)
}

async fn audit_failure(
    state: &AppState,
    meta: &RequestMeta,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let event = AuditEvent::new("login_failed", Outcome::Failure, meta, now).reason(reason);
    Ok(state.audit.write(event).await?)
}

/// Tells the CLI (through its loopback) or the person (device flow) that the login failed.
fn refused(pending: &PendingLogin, reason: String) -> Finished {
    match pending
        .client_redirect_uri
        .as_deref()
        .and_then(|r| Url::parse(r).ok())
    {
        Some(mut target) => {
            target
                .query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("error_description", &reason);
            if let Some(s) = &pending.client_state {
                target.query_pairs_mut().append_pair("state", s);
            }
            Finished::Redirect(target)
        }
        None => Finished::Refused { reason },
    }
}
