//! Logins in flight: the upstream round trip (pending logins) and the one-time codes handed to
//! the CLI's loopback listener afterwards.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// Which flow a pending login finishes (stored as text in `pending_logins.flow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum LoginFlow {
    /// The CLI's browser login: a one-time code goes to its loopback redirect.
    Browser,
    /// A device code: the waiting device is approved.
    Device,
}

impl LoginFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginFlow::Browser => "browser",
            LoginFlow::Device => "device",
        }
    }
}

/// A login waiting for the IdP to send the browser back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingLogin {
    pub id: Uuid,
    pub upstream_verifier: String,
    pub upstream_nonce: String,
    pub flow: LoginFlow,
    pub client_redirect_uri: Option<String>,
    pub client_state: Option<String>,
    pub code_challenge: Option<String>,
    pub device_id: Option<Uuid>,
    /// SHA-256 of the binding cookie of the browser that started it (NULL: none).
    pub browser_hash: Option<String>,
    /// The OAuth client the login is for; its login session belongs to that client.
    pub client_id: String,
}

/// Where a login goes once the IdP sends the browser back.
pub struct LoginDestination<'a> {
    pub flow: LoginFlow,
    pub client_id: &'a str,
    pub client_redirect_uri: Option<&'a str>,
    pub client_state: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub device_id: Option<Uuid>,
}

/// What to remember while the person is at the IdP: our request to it, and the destination.
pub struct NewPendingLogin<'a> {
    pub upstream_state_hash: &'a str,
    pub upstream_verifier: &'a str,
    pub upstream_nonce: &'a str,
    pub to: &'a LoginDestination<'a>,
    /// SHA-256 of the binding cookie set in the browser that starts the login.
    pub browser_hash: &'a str,
}

#[tracing::instrument(skip_all)]
pub async fn insert_pending(
    ex: impl PgExecutor<'_>,
    p: &NewPendingLogin<'_>,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pending_logins (id, upstream_state_hash, upstream_verifier, upstream_nonce, flow,
            client_redirect_uri, client_state, code_challenge, device_id, created_at, expires_at,
            browser_hash, client_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(Uuid::new_v4())
    .bind(p.upstream_state_hash)
    .bind(p.upstream_verifier)
    .bind(p.upstream_nonce)
    .bind(p.to.flow)
    .bind(p.to.client_redirect_uri)
    .bind(p.to.client_state)
    .bind(p.to.code_challenge)
    .bind(p.to.device_id)
    .bind(now)
    .bind(expires_at)
    .bind(p.browser_hash)
    .bind(p.to.client_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Removes and returns the pending login with this state, if it has not expired: one use only,
/// whichever browser presents it (the caller checks the binding).
#[tracing::instrument(skip_all)]
pub async fn take_pending(
    ex: impl PgExecutor<'_>,
    upstream_state_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<PendingLogin>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM pending_logins WHERE upstream_state_hash = $1 AND expires_at > $2
         RETURNING id, upstream_verifier, upstream_nonce, flow, client_redirect_uri, client_state,
                   code_challenge, device_id, browser_hash, client_id",
    )
    .bind(upstream_state_hash)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// A code the CLI may redeem once at the token endpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RedeemedCode {
    pub session_id: Uuid,
    pub redirect_uri: String,
    pub code_challenge: String,
    /// The client the code was issued to (its login session's).
    pub client_id: String,
}

#[tracing::instrument(skip_all)]
pub async fn insert_code(
    ex: impl PgExecutor<'_>,
    code_hash: &str,
    session_id: Uuid,
    redirect_uri: &str,
    code_challenge: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO authorization_codes (code_hash, session_id, redirect_uri, code_challenge, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(code_hash)
    .bind(session_id)
    .bind(redirect_uri)
    .bind(code_challenge)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The outcome of presenting a code.
pub enum CodeRedemption {
    Fresh(RedeemedCode),
    /// Presented before: per RFC 6749 §4.1.2 the login it produced is revoked.
    Reused {
        session_id: Uuid,
    },
    Unknown,
}

/// Marks the code used and returns what it grants; a second use reports `Reused`.
#[tracing::instrument(skip_all)]
pub async fn redeem_code(
    ex: &mut sqlx::PgConnection,
    code_hash: &str,
    now: OffsetDateTime,
) -> Result<CodeRedemption, sqlx::Error> {
    let fresh: Option<RedeemedCode> = sqlx::query_as(
        "UPDATE authorization_codes c SET used_at = $2
         FROM login_sessions s
         WHERE c.code_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2 AND s.id = c.session_id
         RETURNING c.session_id, c.redirect_uri, c.code_challenge, s.client_id",
    )
    .bind(code_hash)
    .bind(now)
    .fetch_optional(&mut *ex)
    .await?;
    if let Some(code) = fresh {
        return Ok(CodeRedemption::Fresh(code));
    }
    let used: Option<Uuid> = sqlx::query_scalar(
        "SELECT session_id FROM authorization_codes WHERE code_hash = $1 AND used_at IS NOT NULL",
    )
    .bind(code_hash)
    .fetch_optional(&mut *ex)
    .await?;
    Ok(match used {
        Some(session_id) => CodeRedemption::Reused { session_id },
        None => CodeRedemption::Unknown,
    })
}
