//! The AWS SDK configuration every AWS client of the server (STS for issuance, IAM and STS for
//! key rotation) is built from: our endpoint, region and credentials.

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::config::{IdentityCache, Region};
use secrecy::ExposeSecret;

use crate::config::AwsConfig;

/// SDK configuration for our AWS endpoint and region. With `provider`, credentials come from it
/// at every call (no caching: a rotated key must take effect at once); without, the static keys
/// of the configuration or the default chain.
pub async fn sdk_config(
    aws: &AwsConfig,
    provider: Option<impl ProvideCredentials + 'static>,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new(aws.region.clone()));
    if let Some(endpoint) = &aws.endpoint_url {
        loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    match provider {
        Some(p) => {
            loader = loader
                .credentials_provider(p)
                .identity_cache(IdentityCache::no_cache())
        }
        None => {
            if let Some((id, secret)) = &aws.static_credentials {
                loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                    id,
                    secret.expose_secret(),
                    None,
                    None,
                    "vault-server-config",
                ));
            }
        }
    }
    loader.load().await
}
