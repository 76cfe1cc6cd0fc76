//! The JSON body extractor whose rejections use the API's error format.

use axum::extract::FromRequest;

use crate::error::ApiError;

/// A JSON body; malformed input becomes a 400 with the API's JSON error.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);
