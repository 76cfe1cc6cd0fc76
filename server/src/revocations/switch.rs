//! This replica's kill switch: its served roles, the applier, and the worker's wake-up.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use super::{
    apply, iam,
    roles::{served_roles, ServedRole},
};
use crate::{config::Config, keys::OwnedKeys};

/// This replica's kill switch: the served roles, the applier and the worker's wake-up.
pub struct Revocations {
    pub(super) pool: PgPool,
    pub roles: Vec<ServedRole>,
    pub applier: Arc<apply::Applier>,
    pub wake: Arc<Notify>,
}

impl Revocations {
    /// The kill switch of `config`, calling IAM through `iam`.
    pub fn new(config: &Config, pool: &PgPool, iam: Arc<dyn iam::RolePolicies>) -> Self {
        let roles = served_roles(config);
        Revocations {
            pool: pool.clone(),
            applier: Arc::new(apply::Applier::new(pool.clone(), iam, roles.clone())),
            roles,
            wake: Arc::new(Notify::new()),
        }
    }
}

/// The kill switch of `config`, calling IAM with the server's own credentials: the key of the
/// identity STS issues with when the server owns keys, else the configured or default ones.
pub async fn start(config: &Config, pool: &PgPool, owned: Option<&OwnedKeys>) -> Revocations {
    let provider = config
        .sts_identity()
        .zip(owned)
        .map(|(identity, owned)| owned.active.provider(&identity.name));
    let sdk = crate::aws::sdk_config(&config.aws, provider).await;
    let iam = iam::AwsRolePolicies {
        iam: aws_sdk_iam::Client::new(&sdk),
    };
    Revocations::new(config, pool, Arc::new(iam))
}
