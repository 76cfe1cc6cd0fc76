//! The environment credentials are handed over in: what `vault exec` sets, removes and refuses.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::credentials::CachedCredentials;
use crate::error::UserError;

/// Set by `vault exec` to the profile name; its presence means we are inside one.
pub const AWS_VAULT: &str = "AWS_VAULT";

/// Inherited variables that would make AWS clients pick other credentials or another profile.
pub const REMOVED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_SESSION_EXPIRATION",
];

/// The credential variables, in the order people expect to read them.
pub fn credential_vars(cached: &CachedCredentials) -> Vec<(&'static str, String)> {
    let c = &cached.credentials;
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", c.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.clone()),
        ("AWS_SESSION_TOKEN", c.session_token.clone()),
        ("AWS_CREDENTIAL_EXPIRATION", c.expiration.clone()),
    ];
    if let Some(region) = &cached.region {
        vars.push(("AWS_REGION", region.clone()));
        vars.push(("AWS_DEFAULT_REGION", region.clone()));
    }
    vars
}

/// Refuses to run inside another `vault exec`, whose credentials would otherwise be mixed in.
pub fn refuse_nesting(aws_vault: Option<OsString>) -> anyhow::Result<()> {
    match aws_vault.filter(|v| !v.is_empty()) {
        None => Ok(()),
        Some(outer) => Err(UserError::new(format!(
            "already inside `vault exec` for profile {}",
            outer.to_string_lossy()
        ))
        .hint("exit that shell first (or unset AWS_VAULT if you really mean to nest)")
        .into()),
    }
}

/// The full environment for the command: the inherited one, minus conflicting variables, plus the
/// credentials, their region and `AWS_VAULT=<profile>`.
pub fn exec_env(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
    cached: &CachedCredentials,
) -> BTreeMap<OsString, OsString> {
    let mut env: BTreeMap<OsString, OsString> = inherited
        .into_iter()
        .filter(|(k, _)| !REMOVED.iter().any(|r| k == r))
        .collect();
    for (key, value) in credential_vars(cached) {
        env.insert(key.into(), value.into());
    }
    env.insert(AWS_VAULT.into(), cached.profile.clone().into());
    env
}

/// What a command given a credential endpoint must not inherit besides [`REMOVED`]: static keys,
/// and settings pointing the SDKs at another (or no) metadata service.
const REMOVED_FOR_ENDPOINTS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
];

/// The environment for a command served by a credential endpoint: the inherited one minus
/// conflicting variables and any static keys, the region and `AWS_VAULT` as [`exec_env`] sets
/// them, and the endpoint's `vars`.
pub fn endpoint_env(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
    cached: &CachedCredentials,
    vars: &[(&str, String)],
) -> BTreeMap<OsString, OsString> {
    let mut env: BTreeMap<OsString, OsString> = inherited
        .into_iter()
        .filter(|(k, _)| !REMOVED.iter().chain(REMOVED_FOR_ENDPOINTS).any(|r| k == r))
        .collect();
    if let Some(region) = &cached.region {
        env.insert("AWS_REGION".into(), region.into());
        env.insert("AWS_DEFAULT_REGION".into(), region.into());
    }
    env.insert(AWS_VAULT.into(), cached.profile.clone().into());
    for (key, value) in vars {
        env.insert(key.into(), value.into());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::cache::test_credentials;

    fn inherited(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn get<'a>(env: &'a BTreeMap<OsString, OsString>, key: &str) -> Option<&'a str> {
        env.get(&OsString::from(key)).and_then(|v| v.to_str())
    }

    #[test]
    fn exec_sets_the_credentials_region_and_profile_marker() {
        let credentials = test_credentials("dev", "2030-01-01T00:00:00Z");
        let env = exec_env(inherited(&[("PATH", "/bin")]), &credentials);
        assert_eq!(get(&env, "AWS_ACCESS_KEY_ID"), Some("ASIATEST"));
        assert_eq!(get(&env, "AWS_SECRET_ACCESS_KEY"), Some("secret"));
        assert_eq!(get(&env, "AWS_SESSION_TOKEN"), Some("token"));
        assert_eq!(
            get(&env, "AWS_CREDENTIAL_EXPIRATION"),
            Some("2030-01-01T00:00:00Z")
        );
        assert_eq!(get(&env, "AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get(&env, "AWS_DEFAULT_REGION"), Some("eu-west-1"));
        assert_eq!(get(&env, "AWS_VAULT"), Some("dev"));
        assert_eq!(get(&env, "PATH"), Some("/bin"));
    }

    #[test]
    fn exec_removes_inherited_profiles_and_other_credential_sources() {
        let credentials = test_credentials("dev", "2030-01-01T00:00:00Z");
        let env = exec_env(
            inherited(&[
                ("AWS_PROFILE", "prod"),
                ("AWS_DEFAULT_PROFILE", "prod"),
                ("AWS_SECURITY_TOKEN", "old"),
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://169.254.170.2/creds",
                ),
                ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "x"),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/token"),
                ("AWS_ROLE_ARN", "arn:aws:iam::1:role/x"),
                ("AWS_ACCESS_KEY_ID", "AKIAOLD"),
                ("AWS_SHARED_CREDENTIALS_FILE", "/home/me/.aws/credentials"),
            ]),
            &credentials,
        );
        for removed in REMOVED {
            assert_eq!(get(&env, removed), None, "{removed} should be removed");
        }
        assert_eq!(get(&env, "AWS_ACCESS_KEY_ID"), Some("ASIATEST"));
        assert_eq!(
            get(&env, "AWS_SHARED_CREDENTIALS_FILE"),
            Some("/home/me/.aws/credentials")
        );
    }

    #[test]
    fn an_unknown_region_leaves_the_inherited_one() {
        let mut credentials = test_credentials("dev", "2030-01-01T00:00:00Z");
        credentials.region = None;
        let env = exec_env(inherited(&[("AWS_REGION", "us-east-2")]), &credentials);
        assert_eq!(get(&env, "AWS_REGION"), Some("us-east-2"));
    }

    #[test]
    fn a_command_with_an_endpoint_gets_its_variables_and_no_static_keys() {
        let credentials = test_credentials("dev", "2030-01-01T00:00:00Z");
        let env = endpoint_env(
            inherited(&[
                ("PATH", "/bin"),
                ("AWS_ACCESS_KEY_ID", "AKIAOLD"),
                ("AWS_SECRET_ACCESS_KEY", "old"),
                ("AWS_SESSION_TOKEN", "old"),
                ("AWS_SECURITY_TOKEN", "old"),
                ("AWS_PROFILE", "prod"),
                ("AWS_CREDENTIAL_EXPIRATION", "2000-01-01T00:00:00Z"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ]),
            &credentials,
            &[(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:1/x".into(),
            )],
        );
        let keys: Vec<&str> = env.keys().filter_map(|k| k.to_str()).collect();
        assert_eq!(
            keys,
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "AWS_VAULT",
                "PATH"
            ]
        );
        assert_eq!(get(&env, "AWS_VAULT"), Some("dev"));
        assert_eq!(get(&env, "AWS_REGION"), Some("eu-west-1"));
    }

    #[test]
    fn exec_refuses_to_run_inside_another_vault_exec() {
        assert!(refuse_nesting(None).is_ok());
        assert!(refuse_nesting(Some("".into())).is_ok());
        let err = refuse_nesting(Some("prod".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "already inside `vault exec` for profile prod"
        );
        assert!(crate::error::hint(&err, &[]).is_some_and(|h| h.contains("AWS_VAULT")));
    }
}
