//! How one step of applying revocations to a role fails.

use super::policy::PolicyError;
use crate::keys::iam::IamError;

/// IAM refused, the database did, the policy cannot be written, or someone else moved the role.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The role was no longer at the step and generation this writer read (a new revocation
    /// arrived, or another writer ran the step): nothing was written.
    #[error("role {0} moved on under this writer: its step was not recorded")]
    Moved(String),
}
