//! Membership that stays fresh: at a refresh, a person's groups older than `membership_ttl`
//! are read again from the IdP (its refresh token, else userinfo) and replace the login's. A
//! person the IdP no longer knows loses the login there; an IdP that cannot be reached leaves
//! the groups as they are until twice `membership_ttl` since they were read, then the refresh is
//! refused (503) until it answers again.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    audit::{bounds::cut_str, AuditEvent, Outcome},
    db,
    error::{OAuthCode, OAuthError},
    oidc::UpstreamError,
    request_meta::RequestMeta,
    state::AppState,
};

/// What the refresh does after the check.
pub(super) enum Checked {
    /// Go on issuing tokens (the groups are fresh, were just replaced, or may still be used).
    Fresh,
    /// The login was revoked inside the transaction: commit it, then answer this.
    Revoked(OAuthError),
    /// Refuse without consuming anything: drop the transaction, then answer this.
    Unavailable(OAuthError),
}

/// Checks (and if due re-reads) the membership of session `session_id` inside the refresh's
/// transaction; CI sessions and dead ones pass unchanged (issuing handles the dead).
pub(super) async fn check(
    state: &AppState,
    tx: &mut PgConnection,
    meta: &RequestMeta,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<Checked, OAuthError> {
    let Some(m) = db::sessions::membership(&mut *tx, session_id, now).await? else {
        return Ok(Checked::Fresh);
    };
    let ttl = state.config.oidc.login.membership_ttl;
    if now < m.checked_at + ttl {
        return Ok(Checked::Fresh);
    }
    let Some(session) = db::sessions::find_active(&mut *tx, session_id, now).await? else {
        return Ok(Checked::Fresh);
    };
    let event = |action: &'static str, outcome: Outcome| {
        AuditEvent::new(action, outcome, meta, now)
            .by(session.actor())
            .detail("session_id", session_id)
            .detail("old_groups", &m.groups)
    };
    match state
        .upstream
        .reread(&m.tokens(), &m.subject, session_id, now)
        .await
    {
        Ok(fresh) => {
            db::sessions::set_membership(&mut *tx, session_id, &fresh.groups, &fresh.tokens, now)
                .await?;
            let e =
                event("membership_refresh", Outcome::Success).detail("new_groups", &fresh.groups);
            db::audit::append(tx, &[e]).await?;
            state.sessions.forget(session_id);
            Ok(Checked::Fresh)
        }
        Err(
            e @ (UpstreamError::Gone(_)
            | UpstreamError::NoTokens(_)
            | UpstreamError::Refused { .. }),
        ) => {
            let reason = cut_str(
                &format!("the identity provider no longer vouches for this login: {e}"),
                512,
            );
            db::sessions::revoke(&mut *tx, session_id, "membership check failed", now).await?;
            let e = event("membership_revoked", Outcome::Denied).reason(&reason);
            db::audit::append(tx, &[e]).await?;
            Ok(Checked::Revoked(OAuthError::new(
                OAuthCode::InvalidGrant,
                format!("{reason}; log in again with `vault login`"),
            )))
        }
        Err(e) => {
            let reason = cut_str(
                &format!("cannot read your groups at the identity provider: {e}"),
                512,
            );
            if now < m.checked_at + ttl * 2 {
                // Still within the grace: the groups read last stay, and the failure is on record.
                let e = event("membership_stale", Outcome::Failure).reason(&reason);
                db::audit::append(tx, &[e]).await?;
                return Ok(Checked::Fresh);
            }
            let e = event("membership_unverified", Outcome::Failure).reason(&reason);
            state.audit.write(e).await.map_err(OAuthError::from)?;
            Ok(Checked::Unavailable(OAuthError::new(
                OAuthCode::TemporarilyUnavailable,
                format!("{reason}; try again in a minute"),
            )))
        }
    }
}
