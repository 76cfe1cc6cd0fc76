//! How one rotation step fails.

use crate::{db::keys::RotationStep, keys::iam::IamError};

/// Failure of one step: IAM refused or the database did.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
    /// The rotation was no longer at the step this writer ran (another writer moved it on, or
    /// it was ended by hand): nothing was written.
    #[error("rotation {id} is at step {found}, not {expected}: its step was not recorded")]
    Moved {
        id: uuid::Uuid,
        expected: RotationStep,
        found: String,
    },
}
