//! The JSON body extractors whose rejections use the API's error format.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};

use crate::error::ApiError;

/// A JSON body; malformed input becomes a 400 with the API's JSON error.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

/// A JSON body for third-party clients that send none or a JSON `Content-Type`: a missing
/// header means JSON, any other media type is a 415. The body limit and the 400 for malformed
/// JSON are those of [`AppJson`].
pub struct LenientJson<T>(pub T);

impl<T, S> FromRequest<S> for LenientJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
            let media = value.to_str().unwrap_or_default();
            if !is_json(media) {
                return Err(ApiError::UnsupportedMediaType(
                    "the request body must be JSON: send Content-Type application/json or none"
                        .into(),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large()
            } else {
                ApiError::BadRequest(format!("unreadable request body: {}", e.body_text()))
            }
        })?;
        let axum::Json(value) = axum::Json::from_bytes(&bytes)?;
        Ok(LenientJson(value))
    }
}

/// `application/json` or a `+json` type, parameters (`; charset=utf-8`) ignored.
fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_media_types_are_recognised_with_or_without_parameters() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
    }

    #[test]
    fn other_media_types_are_not_json() {
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("json"));
        assert!(!is_json(""));
    }
}
