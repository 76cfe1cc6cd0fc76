//! The admin audit API: query, follow, export and verify the trail. Admins only; a refused
//! attempt is itself an event.

use std::time::Duration;

use axum::{
    body::Body,
    extract::{rejection::QueryRejection, Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use futures_util::StreamExt;
use serde::Deserialize;
use vault_api::audit::{AuditEventView, AuditPage, VerifyReport};

use crate::{
    audit::{
        chain::{format_time, AuditRow},
        filter::{Filter, FilterParams},
        AuditEvent, Outcome,
    },
    auth::{Admin, Attempt},
    clock, db,
    error::ApiError,
    request_meta::RequestMeta,
    serve::ShuttingDown,
    state::AppState,
    trail,
};

/// `GET /v1/audit`.
pub struct ReadAudit;
impl Attempt for ReadAudit {
    const WHAT: &'static str = "read the audit trail";
}
/// `GET /v1/audit/follow`.
pub struct FollowAudit;
impl Attempt for FollowAudit {
    const WHAT: &'static str = "follow the audit trail";
}
/// `GET /v1/audit/export`.
pub struct ExportAudit;
impl Attempt for ExportAudit {
    const WHAT: &'static str = "export the audit trail";
}
/// `GET /v1/audit/verify`.
pub struct VerifyAudit;
impl Attempt for VerifyAudit {
    const WHAT: &'static str = "verify the audit trail";
}

const MAX_LIMIT: i64 = 1000;
const FOLLOW_BATCH: i64 = 500;
const FOLLOW_MAX_WAIT: i64 = 60;

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(flatten)]
    filter: FilterParams,
    // Numbers arrive as strings: serde_urlencoded cannot type them next to a flattened struct.
    limit: Option<String>,
    cursor: Option<String>,
    after: Option<String>,
    wait: Option<String>,
    from_seq: Option<String>,
    to_seq: Option<String>,
}

/// An optional whole-number parameter; the error names it.
fn number(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    match value.as_deref().filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{name}: `{v}` is not a whole number"))),
    }
}

fn parse(
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<(ListParams, Filter), ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let filter = p.filter.parse(clock::now()).map_err(ApiError::BadRequest)?;
    Ok((p, filter))
}

/// `GET /v1/audit`: newest first, keyset pagination on the chain position.
pub async fn list(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<ReadAudit>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let (p, filter) = parse(params)?;
    let limit = number("limit", &p.limit)?.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let before = number("cursor", &p.cursor)?;
    let mut rows = {
        let mut conn = state.db.acquire().await?;
        db::audit::list(&mut conn, &filter, before, limit + 1).await?
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| r.chain_seq.to_string()))
        .flatten();
    let event = AuditEvent::new("audit_query", Outcome::Success, &meta, clock::now())
        .by(caller.actor())
        .detail("filter", &p.filter)
        .detail("returned", rows.len());
    state.audit.write(event).await?;
    Ok(Json(AuditPage {
        events: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// `GET /v1/audit/follow`: long poll for events after a position, oldest first.
pub async fn follow(
    State(state): State<AppState>,
    _admin: Admin<FollowAudit>,
    mut shutting_down: ShuttingDown,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let (p, filter) = parse(params)?;
    let after = match number("after", &p.after)? {
        Some(a) => a,
        None => db::audit::head(&state.db).await?.0,
    };
    let wait = number("wait", &p.wait)?
        .unwrap_or(25)
        .clamp(0, FOLLOW_MAX_WAIT);
    let wait = Duration::from_secs(wait as u64);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // The head is read first: every event up to it is committed (the head moves in the
        // inserting transaction), so skipping to it when nothing matched loses nothing.
        let head = db::audit::head(&state.db).await?.0;
        let rows = db::audit::after(&state.db, &filter, after, FOLLOW_BATCH).await?;
        // A shutting-down server answers at once rather than hold its shutdown for the wait.
        let done = tokio::time::Instant::now() >= deadline || shutting_down.now();
        if !rows.is_empty() || done {
            let next = rows.last().map_or(after.max(head), |r| r.chain_seq);
            return Ok(Json(AuditPage {
                events: rows.iter().map(view).collect(),
                next_cursor: Some(next.to_string()),
            }));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = shutting_down.begun() => {}
        }
    }
}

/// `GET /v1/audit/export`: JSON lines, oldest first, streamed.
pub async fn export(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<ExportAudit>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (p, filter) = parse(params)?;
    let event = AuditEvent::new("audit_export", Outcome::Success, &meta, clock::now())
        .by(caller.actor())
        .detail("filter", &p.filter);
    state.audit.write(event).await?;
    // The whole answer is bounded (`[timeouts] export`): past it the stream ends with an error,
    // so the client sees a broken transfer, never a silently short export.
    let limit = state.config.timeouts.export;
    let deadline = tokio::time::Instant::now() + limit;
    let lines = db::audit::stream_filtered(state.db.clone(), filter).map(move |row| {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(limit = ?limit, "audit export cut off at its time limit");
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the export took longer than its time limit",
            ));
        }
        row.map(|r| {
            let mut line = serde_json::to_vec(&view(&r)).expect("serialisable");
            line.push(b'\n');
            line
        })
        .map_err(std::io::Error::other)
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response())
}

/// `GET /v1/audit/verify`: recomputes the chain and reports the first broken link.
pub async fn verify(
    State(state): State<AppState>,
    meta: RequestMeta,
    Admin(caller, _): Admin<VerifyAudit>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<VerifyReport>, ApiError> {
    let (p, _) = parse(params)?;
    let (from, to) = (
        number("from_seq", &p.from_seq)?,
        number("to_seq", &p.to_seq)?,
    );
    let report = trail::verify::verify(&state.db, from, to).await?;
    let outcome = if report.ok {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let event = AuditEvent::new("audit_verify", outcome, &meta, clock::now())
        .by(caller.actor())
        .detail("checked", report.checked)
        .detail("broken", &report.broken);
    state.audit.write(event).await?;
    Ok(Json(report))
}

/// The API's view of a stored event.
pub fn view(r: &AuditRow) -> AuditEventView {
    AuditEventView {
        chain_seq: r.chain_seq,
        id: r.id.to_string(),
        time: format_time(r.occurred_at),
        action: r.action.clone(),
        outcome: r.outcome.clone(),
        principal: r.principal.clone(),
        principal_kind: r.principal_kind.clone(),
        principal_id: r.principal_id.map(|p| p.to_string()),
        profile: r.profile.clone(),
        role_arn: r.role_arn.clone(),
        session_name: r.session_name.clone(),
        source_identity: r.source_identity.clone(),
        access_key_id: r.access_key_id.clone(),
        expiration: r.expiration.map(format_time),
        duration_seconds: r.duration_seconds,
        reason: r.reason.clone(),
        client_addr: r.client_addr.clone(),
        user_agent: r.user_agent.clone(),
        request_id: r.request_id.clone(),
        details: r.details.clone(),
        hash: hex::encode(&r.hash),
    }
}
