//! The `Admin` extractor: a caller in one of the admin groups. Anyone else is refused with 403,
//! and the attempt is an `admin_denied` event naming what they tried.

use std::marker::PhantomData;

use axum::{extract::FromRequestParts, http::request::Parts};

use super::caller::Caller;
use crate::{
    audit::{AuditEvent, Outcome},
    clock,
    error::ApiError,
    request_meta::RequestMeta,
    state::AppState,
};

/// What an admin-only handler does, in words that complete "only admins may …"; a marker
/// type per handler implements it beside the handler.
pub trait Attempt {
    const WHAT: &'static str;
}

/// An authenticated caller who is an admin, extracted for the action `A`.
#[derive(Debug, Clone)]
pub struct Admin<A>(pub Caller, pub PhantomData<A>);

impl<A: Attempt + Send> FromRequestParts<AppState> for Admin<A> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.is_admin(&state.config) {
            return Ok(Admin(caller, PhantomData));
        }
        let what = A::WHAT;
        let message = format!(
            "only members of the admin groups [{}] may {what}",
            state.config.admin_groups.join(", ")
        );
        let meta = RequestMeta::from_parts(parts);
        let event = AuditEvent::new("admin_denied", Outcome::Denied, &meta, clock::now())
            .by(caller.actor())
            .reason(&message)
            .detail("attempted", what);
        state.audit.write(event).await?;
        Err(ApiError::Forbidden {
            code: "not_admin",
            message,
        })
    }
}
