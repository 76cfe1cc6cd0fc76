//! The IAM and STS calls rotation makes, behind a trait so the state machine can be tested alone.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::StatusType;
use secrecy::{ExposeSecret, SecretString};

use super::active::ActiveKeys;
use crate::config::AwsConfig;

/// An IAM access key as IAM lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub access_key_id: String,
    pub active: bool,
}

/// A failed IAM/STS call, classified for retry and reporting (never containing a secret).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct IamError {
    pub code: String,
    pub message: String,
}

/// What rotation needs from AWS.
#[async_trait]
pub trait KeyAdmin: Send + Sync {
    async fn list_keys(&self, user: &str) -> Result<Vec<ListedKey>, IamError>;
    async fn create_key(&self, user: &str) -> Result<(String, SecretString), IamError>;
    async fn deactivate_key(&self, user: &str, access_key_id: &str) -> Result<(), IamError>;
    async fn delete_key(&self, user: &str, access_key_id: &str) -> Result<(), IamError>;
    /// `sts:GetCallerIdentity` signed with the given key: proves IAM accepts it.
    async fn check_key(
        &self,
        access_key_id: &str,
        secret: &SecretString,
    ) -> Result<String, IamError>;
}

/// The real IAM and STS, signed with the identity's current active key.
pub struct AwsKeyAdmin {
    iam: aws_sdk_iam::Client,
    aws: AwsConfig,
}

/// An SDK failure as an `IamError` (code and message, never a secret).
pub fn sdk_error<E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static>(
    e: aws_sdk_iam::error::SdkError<E>,
) -> IamError {
    match e.as_service_error() {
        Some(s) if s.code().is_some() => IamError {
            code: s.code().unwrap_or("Error").to_owned(),
            message: s.message().unwrap_or("no message").to_owned(),
        },
        // An answer the SDK could not classify (moto nests auth failures in <Errors>):
        // read the code from the body rather than report a bare "Error".
        Some(_) => unclassified(e.raw_response()),
        None => IamError {
            code: "NetworkError".into(),
            message: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
        },
    }
}

/// The `<Code>` and `<Message>` of an error body the SDK did not parse, else the HTTP status.
fn unclassified(raw: Option<&aws_sdk_iam::config::http::HttpResponse>) -> IamError {
    let status = raw.map_or(0, |r| r.status().as_u16());
    let body = raw
        .and_then(|r| r.body().bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let tag = |name: &str| {
        let (_, rest) = body.split_once(&format!("<{name}>"))?;
        let (value, _) = rest.split_once(&format!("</{name}>"))?;
        Some(value.trim().to_owned())
    };
    IamError {
        code: tag("Code").unwrap_or_else(|| format!("HTTP{status}")),
        message: tag("Message").unwrap_or_else(|| format!("unrecognised error (HTTP {status})")),
    }
}

impl AwsKeyAdmin {
    pub async fn new(aws: &AwsConfig, keys: &Arc<ActiveKeys>, identity: &str) -> Self {
        let config = crate::aws::sdk_config(aws, Some(keys.provider(identity))).await;
        AwsKeyAdmin {
            iam: aws_sdk_iam::Client::new(&config),
            aws: aws.clone(),
        }
    }
}

#[async_trait]
impl KeyAdmin for AwsKeyAdmin {
    async fn list_keys(&self, user: &str) -> Result<Vec<ListedKey>, IamError> {
        let out = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .access_key_metadata
            .into_iter()
            .filter_map(|k| {
                Some(ListedKey {
                    access_key_id: k.access_key_id?,
                    active: k.status == Some(StatusType::Active),
                })
            })
            .collect())
    }

    async fn create_key(&self, user: &str) -> Result<(String, SecretString), IamError> {
        let out = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(sdk_error)?;
        let key = out.access_key.ok_or_else(|| IamError {
            code: "NoKey".into(),
            message: "CreateAccessKey returned no key".into(),
        })?;
        Ok((key.access_key_id, SecretString::from(key.secret_access_key)))
    }

    async fn deactivate_key(&self, user: &str, access_key_id: &str) -> Result<(), IamError> {
        self.iam
            .update_access_key()
            .user_name(user)
            .access_key_id(access_key_id)
            .status(StatusType::Inactive)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn delete_key(&self, user: &str, access_key_id: &str) -> Result<(), IamError> {
        let deleted = self
            .iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(access_key_id)
            .send()
            .await;
        match deleted.map_err(sdk_error) {
            Ok(_) => Ok(()),
            // Already gone (a step repeated after a crash): done.
            Err(e) if e.code == "NoSuchEntity" => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn check_key(
        &self,
        access_key_id: &str,
        secret: &SecretString,
    ) -> Result<String, IamError> {
        let creds = aws_credential_types::Credentials::new(
            access_key_id,
            secret.expose_secret(),
            None,
            None,
            "rotation-check",
        );
        let config = crate::aws::sdk_config(&self.aws, Some(creds)).await;
        let out = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.arn.unwrap_or_default())
    }
}
