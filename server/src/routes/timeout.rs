//! The whole-request bound: a request still unanswered after `[timeouts]` is dropped (and with
//! it any database call it waits on) and answered 503 with `Retry-After`. Server-side timeouts
//! cannot fire in a Postgres that is stopped, so this is what keeps every answer bounded.

use std::time::Duration;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{config::Timeouts, error::ApiError, state::AppState};

/// The bound of one path: the follow long poll has its own; the export and the verification,
/// which read the whole trail, share the export's.
pub fn limit_for(timeouts: &Timeouts, path: &str) -> Duration {
    match path {
        "/v1/audit/follow" => timeouts.follow,
        "/v1/audit/export" | "/v1/audit/verify" => timeouts.export,
        _ => timeouts.request,
    }
}

/// Middleware: runs the rest of the stack within the path's bound.
pub async fn bound(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = limit_for(&state.config.timeouts, request.uri().path());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit = ?limit, "request timed out");
            ApiError::TimedOut(format!(
                "the server could not answer within {}s (its database may be slow or down); try again shortly",
                limit.as_secs()
            ))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_export_and_verify_have_their_own_bounds_and_everything_else_the_request_bound() {
        let t = Timeouts {
            request: Duration::from_secs(1),
            follow: Duration::from_secs(2),
            export: Duration::from_secs(3),
        };
        assert_eq!(limit_for(&t, "/v1/credentials"), t.request);
        assert_eq!(limit_for(&t, "/v1/audit"), t.request);
        assert_eq!(limit_for(&t, "/v1/audit/follow"), t.follow);
        assert_eq!(limit_for(&t, "/v1/audit/export"), t.export);
        assert_eq!(limit_for(&t, "/v1/audit/verify"), t.export);
    }
}
