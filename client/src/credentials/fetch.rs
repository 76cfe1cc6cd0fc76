//! Asking the server for a profile's credentials, with the stored login or a CI job's token.

use vault_api::{Credentials, CredentialsRequest, ProfileList};

use super::cache::CachedCredentials;
use crate::auth::ci::{self, CiFlags, CiSource};
use crate::auth::Authenticator;
use crate::config::ServerUrl;
use crate::error::UserError;
use crate::http::Http;
use crate::store::Store;

/// Credentials from the server with the stored login.
pub async fn with_login(
    server: &ServerUrl,
    store: &Store,
    profile: &str,
    duration: Option<u32>,
) -> anyhow::Result<CachedCredentials> {
    let http = Http::new(server)?;
    let auth = Authenticator::new(&http, store);
    fetch(&http, &auth, profile, duration, Some(store)).await
}

/// A CI job's credentials: the job's OIDC token is exchanged for a broker access token, which
/// asks for the credentials.
///
/// In CI mode neither the access token nor the AWS credentials are ever written to disk or the
/// keyring, and the warm cache is not consulted: the store is not even opened. A job's identity
/// lasts one run, CI machines are shared or reused, and a burst of jobs asking for the same
/// profile is the server's to absorb (`reuse_ci_sessions` reuses fresh credentials server-side).
pub async fn for_ci(
    server: &ServerUrl,
    flags: &CiFlags,
    source: &CiSource,
    profile: &str,
    duration: Option<u32>,
) -> anyhow::Result<CachedCredentials> {
    let http = Http::new(server)?;
    let access = ci::access_token(&http, source, flags).await?;
    fetch(
        &http,
        &Authenticator::ci(&http, access),
        profile,
        duration,
        None,
    )
    .await
}

/// Asks the server for credentials and, alongside, for the profile's region. For a CI job the
/// region is best effort: a failed profile list leaves the inherited region alone. With a login's
/// `store`, the profile names are kept for shell completion.
async fn fetch(
    http: &Http,
    auth: &Authenticator<'_>,
    profile: &str,
    duration: Option<u32>,
    store: Option<&Store>,
) -> anyhow::Result<CachedCredentials> {
    let lenient_region = auth.is_ci();
    let request = CredentialsRequest {
        profile: profile.to_owned(),
        duration_seconds: duration,
    };
    let (credentials, profiles) = auth
        .call(|token| {
            let request = &request;
            async move {
                let credentials =
                    http.post_json::<_, Credentials>("v1/credentials", &token, request);
                let profiles = http.get::<ProfileList>("v1/profiles", Some(&token));
                let (credentials, profiles) = tokio::join!(credentials, profiles);
                let credentials = credentials?;
                let profiles = match profiles {
                    Err(_) if lenient_region => None,
                    other => Some(other?),
                };
                Ok((credentials, profiles))
            }
        })
        .await?;
    if credentials.version != 1 {
        return Err(UserError::new(format!(
            "the server sent credentials of unknown version {}",
            credentials.version
        ))
        .into());
    }
    if let (Some(store), Some(list)) = (store, &profiles) {
        crate::known_profiles::remember(store, list);
    }
    let info = profiles
        .into_iter()
        .flat_map(|list| list.profiles)
        .find(|p| p.name == profile);
    let account_id = info.as_ref().and_then(|p| account_of(&p.role_arn));
    let mut cached = CachedCredentials::new(profile, credentials, info.map(|p| p.region))?;
    cached.account_id = account_id;
    Ok(cached)
}

/// The account of `arn:aws:iam::ACCOUNT:role/NAME`.
fn account_of(role_arn: &str) -> Option<String> {
    let account = role_arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(|| account.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_account_is_read_from_a_role_arn() {
        use super::account_of;
        assert_eq!(
            account_of("arn:aws:iam::123456789012:role/dev").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:iam::x:role/dev"), None);
        assert_eq!(account_of("dev"), None);
    }
}
