//! Calling `sts:AssumeRole` with the person's identity stamped on the session.

use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::types::Tag;
use time::OffsetDateTime;

use crate::config::AwsConfig;

mod session_name;
pub use session_name::{sanitise, session_name, session_name_of, MAX_LEN as SESSION_NAME_MAX};

/// One AssumeRole call as the broker makes it.
#[derive(Debug, Clone)]
pub struct AssumeRequest {
    pub role_arn: String,
    pub session_name: String,
    pub source_identity: String,
    pub duration: Duration,
    pub tags: Vec<(String, String)>,
}

/// Temporary credentials from STS.
#[derive(Clone)]
pub struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: OffsetDateTime,
}

/// STS refused or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StsError(pub String);

/// The AWS side of issuance, behind a trait so unit tests can swap it.
#[async_trait]
pub trait RoleIssuer: Send + Sync {
    async fn assume_role(&self, request: AssumeRequest) -> Result<IssuedCredentials, StsError>;
}

/// The real STS client.
pub struct AwsSts {
    client: aws_sdk_sts::Client,
}

impl AwsSts {
    /// STS signed with `provider` (an owned identity's active key), else the configured static
    /// keys or the default chain.
    pub async fn new(
        config: &AwsConfig,
        provider: Option<impl ProvideCredentials + 'static>,
    ) -> Self {
        AwsSts {
            client: aws_sdk_sts::Client::new(&crate::aws::sdk_config(config, provider).await),
        }
    }
}

#[async_trait]
impl RoleIssuer for AwsSts {
    async fn assume_role(&self, r: AssumeRequest) -> Result<IssuedCredentials, StsError> {
        let tags = r
            .tags
            .iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("key and value are set")
            })
            .collect();
        let out = self
            .client
            .assume_role()
            .role_arn(&r.role_arn)
            .role_session_name(&r.session_name)
            .source_identity(&r.source_identity)
            .duration_seconds(r.duration.as_secs() as i32)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| StsError(aws_error_text(&e)))?;
        let c = out
            .credentials
            .ok_or_else(|| StsError("STS returned no credentials".into()))?;
        let expiration = OffsetDateTime::from_unix_timestamp(c.expiration.secs())
            .map_err(|_| StsError("STS returned an impossible expiration".into()))?;
        Ok(IssuedCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expiration,
        })
    }
}

fn aws_error_text<E: std::error::Error + aws_sdk_sts::error::ProvideErrorMetadata + 'static>(
    e: &aws_sdk_sts::error::SdkError<E>,
) -> String {
    match e.as_service_error() {
        Some(service) if service.code().is_some() => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        ),
        // An answer the SDK could not classify: say what came back.
        Some(_) => format!(
            "unrecognised error from STS (HTTP {})",
            e.raw_response().map_or(0, |r| r.status().as_u16())
        ),
        None => format!(
            "cannot reach STS: {}",
            aws_smithy_types::error::display::DisplayErrorContext(e)
        ),
    }
}
