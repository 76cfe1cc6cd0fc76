//! Login sessions: one per login; revoking one invalidates every token derived from it.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    oidc::SealedTokens,
    principal::{Actor, Principal},
};

/// A live login session joined with its principal: what an access token stands for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveSession {
    pub session_id: Uuid,
    #[sqlx(flatten)]
    pub principal: Principal,
    pub groups: Vec<String>,
    pub expires_at: OffsetDateTime,
    /// For CI sessions: the `[[ci_issuers]]` name and the verified claims of the job.
    pub ci_issuer: Option<String>,
    pub ci_claims: Option<serde_json::Value>,
    /// An admin disabled the principal (`vault admin disable`): nothing it presents is honoured.
    pub disabled: bool,
}

impl ActiveSession {
    /// The session's principal acting through it, for audit events.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            principal: &self.principal,
            session_id: self.session_id,
        }
    }
}

/// Where a login came from: the client address and user agent of the request that opened it
/// (already bounded by `RequestMeta`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Opens login session `id` of OAuth client `client_id` for `principal_id` with the groups the
/// IdP vouched for (read `now`) and its sealed tokens.
#[tracing::instrument(skip_all)]
#[allow(clippy::too_many_arguments)]
pub async fn create(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    principal_id: Uuid,
    groups: &[String],
    tokens: &SealedTokens,
    from: Origin<'_>,
    client_id: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_sessions (id, principal_id, groups, created_at, expires_at,
             membership_checked_at, upstream_refresh_sealed, upstream_access_sealed,
             upstream_access_expires_at, client_addr, user_agent, client_id)
         VALUES ($1, $2, $3, $4, $5, $4, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(principal_id)
    .bind(groups)
    .bind(now)
    .bind(expires_at)
    .bind(&tokens.refresh)
    .bind(&tokens.access)
    .bind(tokens.access_expires_at)
    .bind(from.client_addr)
    .bind(from.user_agent)
    .bind(client_id)
    .execute(ex)
    .await?;
    Ok(id)
}

/// Notes that the session's tokens were refreshed at `now`.
#[tracing::instrument(skip_all)]
pub async fn touch_refreshed(
    ex: impl PgExecutor<'_>,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE login_sessions SET last_refresh_at = $2 WHERE id = $1")
        .bind(session_id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// What a refresh needs to know about a person's login: its age, when its groups were last
/// read, and the sealed tokens to read them again with.
#[derive(Debug, sqlx::FromRow)]
pub struct Membership {
    pub subject: String,
    pub created_at: OffsetDateTime,
    pub checked_at: OffsetDateTime,
    pub groups: Vec<String>,
    pub refresh: Option<String>,
    pub access: Option<String>,
    pub access_expires_at: Option<OffsetDateTime>,
}

impl Membership {
    pub fn tokens(&self) -> SealedTokens {
        SealedTokens {
            refresh: self.refresh.clone(),
            access: self.access.clone(),
            access_expires_at: self.access_expires_at,
        }
    }
}

/// The membership state of a person's live session (`None` for CI sessions and dead ones),
/// locked until the transaction ends so two refreshes never check at once.
#[tracing::instrument(skip_all)]
pub async fn membership(
    ex: impl PgExecutor<'_>,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<Membership>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.subject, s.created_at, COALESCE(s.membership_checked_at, s.created_at) AS checked_at,
                s.groups, s.upstream_refresh_sealed AS refresh, s.upstream_access_sealed AS access,
                s.upstream_access_expires_at AS access_expires_at
         FROM login_sessions s JOIN principals p ON p.id = s.principal_id
         WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
           AND s.ci_issuer IS NULL AND p.kind = 'user'
         FOR UPDATE OF s",
    )
    .bind(session_id)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Replaces the session's groups with those just read from the IdP, and its sealed tokens.
#[tracing::instrument(skip_all)]
pub async fn set_membership(
    ex: impl PgExecutor<'_>,
    session_id: Uuid,
    groups: &[String],
    tokens: &SealedTokens,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE login_sessions SET groups = $2, membership_checked_at = $3,
             upstream_refresh_sealed = $4, upstream_access_sealed = $5,
             upstream_access_expires_at = $6
         WHERE id = $1",
    )
    .bind(session_id)
    .bind(groups)
    .bind(now)
    .bind(&tokens.refresh)
    .bind(&tokens.access)
    .bind(tokens.access_expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The login session a refresh token belongs to (used or not, live or not): its OAuth client,
/// and when it was opened.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenOwner {
    pub client_id: String,
    pub created_at: OffsetDateTime,
}

/// The [`TokenOwner`] of the refresh token with this hash, if the token was ever issued.
#[tracing::instrument(skip_all)]
pub async fn owner_of_token(
    ex: impl PgExecutor<'_>,
    token_hash: &str,
) -> Result<Option<TokenOwner>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.client_id, s.created_at FROM refresh_tokens r
         JOIN login_sessions s ON s.id = r.session_id
         WHERE r.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(ex)
    .await
}

/// Opens a session for a CI job, remembering the issuer and claims its policy matches on.
#[tracing::instrument(skip_all)]
pub async fn create_ci(
    ex: impl PgExecutor<'_>,
    principal_id: Uuid,
    issuer: &str,
    claims: &serde_json::Value,
    from: Origin<'_>,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO login_sessions (id, principal_id, groups, created_at, expires_at, ci_issuer,
             ci_claims, client_addr, user_agent)
         VALUES ($1, $2, '{}', $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(principal_id)
    .bind(now)
    .bind(expires_at)
    .bind(issuer)
    .bind(claims)
    .bind(from.client_addr)
    .bind(from.user_agent)
    .execute(ex)
    .await?;
    Ok(id)
}

/// The session if it exists, is not revoked and has not expired at `now`.
#[tracing::instrument(skip_all)]
pub async fn find_active(
    ex: impl PgExecutor<'_>,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<ActiveSession>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS session_id, p.id, p.kind, p.display, s.groups, s.expires_at,
                s.ci_issuer, s.ci_claims,
                EXISTS (SELECT 1 FROM principals o
                         WHERE o.display = p.display AND (o.created_at, o.id) < (p.created_at, p.id))
                  AS display_shared,
                p.disabled_at IS NOT NULL AS disabled
         FROM login_sessions s JOIN principals p ON p.id = s.principal_id
         WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(session_id)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Revokes the session; returns whether it was live before.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    ex: impl PgExecutor<'_>,
    session_id: Uuid,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE login_sessions SET revoked_at = $2, revoke_reason = $3
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(now)
    .bind(reason)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
