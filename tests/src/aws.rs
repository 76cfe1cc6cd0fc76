//! The real AWS CLI, pointed at moto, reading credentials the way a developer's tools would.

use crate::cli::Cli;
use serde_json::Value;
use vault_api::Credentials;

impl Cli {
    /// `aws sts get-caller-identity` with `creds` in the environment; returns the `Arn`.
    pub async fn caller_identity_with(&self, creds: &Credentials) -> String {
        let moto = &self.moto_url;
        let out = self
            .aws(
                &[
                    "sts",
                    "get-caller-identity",
                    "--endpoint-url",
                    moto,
                    "--output",
                    "json",
                ],
                &[
                    ("AWS_ACCESS_KEY_ID", &creds.access_key_id),
                    ("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key),
                    ("AWS_SESSION_TOKEN", &creds.session_token),
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_DEFAULT_REGION", "us-east-1"),
                ],
            )
            .await;
        out.assert_success("aws sts get-caller-identity");
        arn_of(&out.stdout)
    }
}

/// The `Arn` of a `get-caller-identity` JSON answer.
pub fn arn_of(stdout: &str) -> String {
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("get-caller-identity printed no JSON ({e}):\n{stdout}"));
    v["Arn"]
        .as_str()
        .unwrap_or_else(|| panic!("no Arn in {v}"))
        .to_owned()
}

/// `arn:aws:sts::<account>:assumed-role/<role>/` — the prefix of a session's ARN.
pub fn assumed_role_prefix(account_id: &str, role: &str) -> String {
    format!("arn:aws:sts::{account_id}:assumed-role/{role}/")
}

/// Parses `env` output (`NAME=value` lines) into pairs.
pub fn parse_env(stdout: &str) -> std::collections::BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The session a `vault exec` child saw, from its `env` output.
pub fn credentials_from_env(env: &std::collections::BTreeMap<String, String>) -> Credentials {
    let get = |k: &str| {
        env.get(k)
            .unwrap_or_else(|| panic!("{k} is not set in the child's environment: {env:?}"))
            .clone()
    };
    Credentials {
        version: 1,
        access_key_id: get("AWS_ACCESS_KEY_ID"),
        secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
        session_token: get("AWS_SESSION_TOKEN"),
        expiration: env
            .get("AWS_CREDENTIAL_EXPIRATION")
            .cloned()
            .unwrap_or_default(),
    }
}

impl Cli {
    /// `vault exec PROFILE -- env`, which must succeed; returns the child's environment.
    pub async fn exec_env(&self, profile: &str) -> std::collections::BTreeMap<String, String> {
        let out = self.run(&["exec", profile, "--", "env"]).await;
        out.assert_success(&format!("vault exec {profile} -- env"));
        parse_env(&out.stdout)
    }

    /// `vault exec PROFILE -- aws sts get-caller-identity` (pointed at moto); returns the `Arn`.
    pub async fn exec_caller_identity(&self, profile: &str) -> String {
        let moto = self.moto_url.clone();
        let out = self
            .run(&[
                "exec",
                profile,
                "--",
                "aws",
                "sts",
                "get-caller-identity",
                "--endpoint-url",
                &moto,
                "--output",
                "json",
            ])
            .await;
        out.assert_success(&format!(
            "vault exec {profile} -- aws sts get-caller-identity"
        ));
        arn_of(&out.stdout)
    }
}
