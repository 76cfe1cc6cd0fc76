//! The JSON body extractors whose rejections use the API's error format.

use axum::{
    extract::{FromRequest, Request},
    http::{header::CONTENT_TYPE, HeaderValue},
};

use crate::error::ApiError;

/// `axum::Json`, rejected with [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

/// [`AppJson`] for third-party clients that send their JSON without a `Content-Type`: a missing
/// header means JSON; any other media type is still refused (415), as are malformed or
/// oversized bodies.
pub struct LenientJson<T>(pub T);

impl<T, S> FromRequest<S> for LenientJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(mut req: Request, state: &S) -> Result<Self, Self::Rejection> {
        req.headers_mut()
            .entry(CONTENT_TYPE)
            .or_insert(HeaderValue::from_static("application/json"));
        let AppJson(value) = AppJson::from_request(req, state).await?;
        Ok(LenientJson(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    async fn read(content_type: Option<&str>) -> Result<serde_json::Value, ApiError> {
        let mut req = Request::builder().method("POST");
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        let req = req.body(Body::from(r#"{"Role":"dev"}"#)).unwrap();
        LenientJson::from_request(req, &())
            .await
            .map(|LenientJson(v)| v)
    }

    #[tokio::test]
    async fn json_media_types_are_recognised_with_or_without_parameters() {
        for ct in [
            None,
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/vnd.api+json"),
        ] {
            let value = read(ct).await.unwrap_or_else(|e| panic!("{ct:?}: {e}"));
            assert_eq!(value["Role"], "dev", "{ct:?}");
        }
    }

    #[tokio::test]
    async fn other_media_types_are_not_json() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "",
        ] {
            let err = read(Some(ct)).await.unwrap_err();
            assert!(
                matches!(err, ApiError::UnsupportedMediaType(_)),
                "{ct}: {err:?}"
            );
        }
    }
}
