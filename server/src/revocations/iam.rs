//! The three IAM calls the kill switch makes on a role's inline policy, behind a trait so the
//! steps can be tested alone. Each call has its own time limit.

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::timeout;

use super::policy::POLICY_NAME;
use crate::keys::iam::{sdk_error, IamError};

/// How long one IAM call may take.
const CALL_LIMIT: Duration = Duration::from_secs(15);

/// What the kill switch needs from IAM, on the policy named [`POLICY_NAME`].
#[async_trait]
pub trait RolePolicies: Send + Sync {
    /// The role's current document (decoded), or `None` when it has no such policy.
    async fn get(&self, role: &str) -> Result<Option<String>, IamError>;
    async fn put(&self, role: &str, document: &str) -> Result<(), IamError>;
    /// Deletes the policy; already absent counts as done.
    async fn delete(&self, role: &str) -> Result<(), IamError>;
}

/// The real IAM, with the server's own credentials.
pub struct AwsRolePolicies {
    pub iam: aws_sdk_iam::Client,
}

fn timed_out() -> IamError {
    IamError {
        code: "Timeout".into(),
        message: format!("IAM did not answer within {CALL_LIMIT:?}"),
    }
}

/// The role's name in an ARN (`arn:aws:iam::<account>:role/<path/>name`).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[async_trait]
impl RolePolicies for AwsRolePolicies {
    async fn get(&self, role: &str) -> Result<Option<String>, IamError> {
        let call = self
            .iam
            .get_role_policy()
            .role_name(role_name(role))
            .policy_name(POLICY_NAME)
            .send();
        match timeout(CALL_LIMIT, call).await.map_err(|_| timed_out())? {
            Ok(out) => {
                let decoded = percent_encoding::percent_decode_str(&out.policy_document)
                    .decode_utf8_lossy()
                    .into_owned();
                Ok(Some(decoded))
            }
            Err(e) => match sdk_error(e) {
                e if e.code == "NoSuchEntity" => Ok(None),
                e => Err(e),
            },
        }
    }

    async fn put(&self, role: &str, document: &str) -> Result<(), IamError> {
        let call = self
            .iam
            .put_role_policy()
            .role_name(role_name(role))
            .policy_name(POLICY_NAME)
            .policy_document(document)
            .send();
        timeout(CALL_LIMIT, call)
            .await
            .map_err(|_| timed_out())?
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn delete(&self, role: &str) -> Result<(), IamError> {
        let call = self
            .iam
            .delete_role_policy()
            .role_name(role_name(role))
            .policy_name(POLICY_NAME)
            .send();
        match timeout(CALL_LIMIT, call).await.map_err(|_| timed_out())? {
            Ok(_) => Ok(()),
            Err(e) => match sdk_error(e) {
                e if e.code == "NoSuchEntity" => Ok(()),
                e => Err(e),
            },
        }
    }
}
