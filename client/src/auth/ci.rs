//! CI jobs prove who they are with their CI platform's OIDC token: no `vault login`, nothing stored.
//!
//! Where the job's token comes from, first match wins:
//! 1. `--ci-token-file FILE` or `--ci-token-env VAR` (explicit);
//! 2. GitHub Actions: `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (set when
//!    the job has `permissions: id-token: write`), asked for the `--ci-audience`;
//! 3. `VAULT_ID_TOKEN` (GitLab's `id_tokens:`, or any CI that puts a JWT in the environment).
//!
//! Only then does a stored human login count. The token is exchanged at `POST /oauth/token`
//! (RFC 8693) for a short broker access token, which lives in this process's memory only.
//!
//! Neither the CI token nor GitHub's request token is ever printed: errors name variables, files
//! and hosts, never values.

mod github;
mod secret;

pub use github::{fetch_github_token, github_request_url, GITHUB_TOKEN_VAR, GITHUB_URL_VAR};
pub use secret::Secret;

use std::io::Read;
use std::path::{Path, PathBuf};

use vault_api::{TokenResponse, CLI_CLIENT_ID, GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_JWT};

use crate::error::UserError;
use crate::http::{ApiError, Http};

/// The variable holding a ready-made ID token (GitLab `id_tokens:`), unless `--ci-token-env` names another.
pub const DEFAULT_TOKEN_VAR: &str = "VAULT_ID_TOKEN";
/// The audience asked for when neither `--ci-audience` nor `VAULT_CI_AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "team-vault";
/// A token file larger than this is not a token.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// The hint shown when a CI job has no identity token.
pub const NO_TOKEN_HINT: &str = "GitHub Actions: add `permissions: id-token: write`; GitLab: define an id_token named VAULT_ID_TOKEN; or pass --ci-token-file/--ci-token-env";

/// Reads one environment variable; a parameter so detection can be tested with a map.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment (a variable that is not valid UTF-8 counts as absent).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The flags choosing a CI job's token, taken by the commands that hand out credentials.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "CI jobs")]
pub struct CiFlags {
    /// Read the job's OIDC token from FILE instead of detecting GitHub Actions or VAULT_ID_TOKEN
    #[arg(long, value_name = "FILE", conflicts_with = "ci_token_env")]
    pub ci_token_file: Option<PathBuf>,
    /// Read the job's OIDC token from the variable VAR (instead of VAULT_ID_TOKEN or GitHub Actions)
    #[arg(long, value_name = "VAR")]
    pub ci_token_env: Option<String>,
    /// The audience to ask GitHub Actions for [default: team-vault]
    #[arg(long, env = "VAULT_CI_AUDIENCE", value_name = "AUD")]
    pub ci_audience: Option<String>,
}

impl CiFlags {
    /// The audience to ask GitHub for: `--ci-audience`, `VAULT_CI_AUDIENCE`, else `team-vault`.
    pub fn audience(&self) -> &str {
        self.ci_audience
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or(DEFAULT_AUDIENCE)
    }
}

/// Where this job's OIDC token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiSource {
    /// `--ci-token-file`: read when needed.
    File(PathBuf),
    /// A variable holding the token: `--ci-token-env VAR` or `VAULT_ID_TOKEN`.
    Env { var: String, token: Secret },
    /// GitHub Actions: a token minted on request for our audience.
    GitHub {
        request_url: String,
        request_token: Secret,
    },
}

impl CiSource {
    /// Where the token came from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("the token file {}", path.display()),
            Self::Env { var, .. } => format!("the token in {var}"),
            Self::GitHub { .. } => "GitHub Actions' ID token".to_owned(),
        }
    }
}

/// A variable's value, trimmed; empty counts as absent.
fn non_empty(env: Env<'_>, name: &str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether we run in CI: `CI` set to anything but empty, `false` or `0`.
pub fn in_ci(env: Env<'_>) -> bool {
    env("CI").is_some_and(|v| {
        let v = v.trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("false") && v != "0"
    })
}

/// The job's token source, in order of precedence (see the module docs); `None` when there is
/// none, so a stored login is used. An explicit `--ci-token-env` naming an unset variable is an
/// error, not a reason to look elsewhere.
pub fn detect(flags: &CiFlags, env: Env<'_>) -> anyhow::Result<Option<CiSource>> {
    if let Some(path) = &flags.ci_token_file {
        return Ok(Some(CiSource::File(path.clone())));
    }
    if let Some(var) = &flags.ci_token_env {
        let var = var.trim();
        if var.is_empty() {
            return Err(
                UserError::new("--ci-token-env needs the name of a variable")
                    .hint("e.g. --ci-token-env VAULT_ID_TOKEN")
                    .into(),
            );
        }
        return match non_empty(env, var) {
            Some(token) => Ok(Some(CiSource::Env {
                var: var.to_owned(),
                token: Secret::new(token),
            })),
            None => Err(UserError::new(format!(
                "--ci-token-env {var}: the variable {var} is not set or empty"
            ))
            .hint(format!(
                "GitLab: define an id_token named {var} in the job's `id_tokens:`, with the audience the team-vault server expects"
            ))
            .into()),
        };
    }
    if let (Some(request_url), Some(request_token)) = (
        non_empty(env, GITHUB_URL_VAR),
        non_empty(env, GITHUB_TOKEN_VAR),
    ) {
        return Ok(Some(CiSource::GitHub {
            request_url,
            request_token: Secret::new(request_token),
        }));
    }
    Ok(
        non_empty(env, DEFAULT_TOKEN_VAR).map(|token| CiSource::Env {
            var: DEFAULT_TOKEN_VAR.to_owned(),
            token: Secret::new(token),
        }),
    )
}

/// The error for a CI job (`CI` set) with neither a CI token nor a stored login: one line naming
/// what was looked for (and what was found half-set), never a prompt.
pub fn no_token_error(env: Env<'_>) -> anyhow::Error {
    let ci = env("CI").unwrap_or_default();
    let mut notes = Vec::new();
    let (url, token) = (
        non_empty(env, GITHUB_URL_VAR).is_some(),
        non_empty(env, GITHUB_TOKEN_VAR).is_some(),
    );
    if url != token {
        let (set, unset) = if url {
            (GITHUB_URL_VAR, GITHUB_TOKEN_VAR)
        } else {
            (GITHUB_TOKEN_VAR, GITHUB_URL_VAR)
        };
        notes.push(format!("{set} is set but {unset} is not"));
    }
    if env(DEFAULT_TOKEN_VAR).is_some() && non_empty(env, DEFAULT_TOKEN_VAR).is_none() {
        notes.push(format!("{DEFAULT_TOKEN_VAR} is empty"));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    };
    UserError::new(format!(
        "running in CI (CI={ci}) but no CI identity token found (looked for {GITHUB_URL_VAR} + {GITHUB_TOKEN_VAR}, then {DEFAULT_TOKEN_VAR}{notes}) and no stored login"
    ))
    .hint(NO_TOKEN_HINT)
    .into()
}

/// Reads a token file: surrounding whitespace is dropped; an empty or oversized file is refused.
pub fn read_token_file(path: &Path) -> anyhow::Result<Secret> {
    let cannot = |e: std::io::Error| {
        UserError::wrap(
            format!("cannot read the CI token file {}", path.display()),
            e,
        )
        .hint("check the path given to --ci-token-file")
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(UserError::new(format!(
            "the CI token file {} is larger than 64 KiB; it does not hold a token",
            path.display()
        ))
        .into());
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        UserError::new(format!(
            "the CI token file {} is not text; it does not hold a token",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(
            UserError::new(format!("the CI token file {} is empty", path.display()))
                .hint("write the job's OIDC token (a JWT) to the file before running vault")
                .into(),
        );
    }
    Ok(Secret::new(token))
}

/// The job's OIDC token from `source`.
pub async fn identity_token(source: &CiSource, flags: &CiFlags) -> anyhow::Result<Secret> {
    match source {
        CiSource::File(path) => read_token_file(path),
        CiSource::Env { token, .. } => Ok(token.clone()),
        CiSource::GitHub {
            request_url,
            request_token,
        } => fetch_github_token(request_url, request_token, flags.audience()).await,
    }
}

/// Exchanges the job's token at the server (RFC 8693) for a broker access token.
pub async fn exchange(http: &Http, jwt: &Secret) -> Result<TokenResponse, ApiError> {
    let form = [
        ("grant_type", GRANT_TOKEN_EXCHANGE),
        ("subject_token", jwt.expose()),
        ("subject_token_type", TOKEN_TYPE_JWT),
        ("client_id", CLI_CLIENT_ID),
    ];
    http.post_form(&http.server().join("oauth/token"), &form)
        .await
}

/// The broker access token for this job: its OIDC token, exchanged. Kept in memory only.
pub async fn access_token(
    http: &Http,
    source: &CiSource,
    flags: &CiFlags,
) -> anyhow::Result<Secret> {
    let jwt = identity_token(source, flags).await?;
    let answer = exchange(http, &jwt)
        .await
        .map_err(|e| exchange_error(e, source, flags.audience()))?;
    Ok(Secret::new(answer.access_token))
}

/// Explains a refused exchange: the server's own reason, and what to check for this token source.
pub fn exchange_error(err: ApiError, source: &CiSource, audience: &str) -> anyhow::Error {
    enum Kind {
        Refused,
        Denied,
        Unavailable,
        Unsupported,
    }
    let (kind, reason) = match &err {
        ApiError::OAuth {
            status,
            error,
            description,
        } => {
            let reason = description
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .map_or_else(|| error.clone(), |d| format!("{d} ({error})"));
            let kind = match (*status, error.as_str()) {
                (503, _) | (_, "temporarily_unavailable") => Kind::Unavailable,
                (_, "unsupported_grant_type") => Kind::Unsupported,
                (403, _) | (_, "access_denied") => Kind::Denied,
                (401, _) | (_, "invalid_grant") => Kind::Refused,
                _ => {
                    return UserError::wrap("exchanging the CI token at the team-vault server", err)
                        .into()
                }
            };
            (kind, reason)
        }
        ApiError::Unauthorized { message } => (Kind::Refused, message.clone()),
        ApiError::Forbidden { message } => (Kind::Denied, message.clone()),
        ApiError::Unavailable { message } => (Kind::Unavailable, message.clone()),
        _ => {
            return anyhow::Error::new(err)
                .context("exchanging the CI token at the team-vault server")
        }
    };
    let error = match kind {
        Kind::Refused => {
            let hint = match source {
                CiSource::GitHub { .. } => format!(
                    "the server checks the token's issuer, audience (asked for `{audience}`; set --ci-audience or VAULT_CI_AUDIENCE), signature and expiry against its ci_issuers"
                ),
                _ => "a CI token is accepted once and must carry an issuer and audience the server's ci_issuers list; run all of a job's AWS commands under one `vault exec`".to_owned(),
            };
            UserError::new(format!(
                "the team-vault server refused {}: {reason}",
                source.describe()
            ))
            .hint(hint)
        }
        Kind::Denied => UserError::new(format!(
            "the team-vault server does not let this CI job in: {reason}"
        ))
        .hint("a profile's allow_ci rules must match the job's claims (repository, ref, event, …); ask your team-vault admin"),
        Kind::Unavailable => UserError::new(format!(
            "the team-vault server cannot verify CI tokens right now: {reason}"
        ))
        .hint("retry the job later; if it persists, ask your team-vault admin (the server may not reach the CI issuer's keys)"),
        Kind::Unsupported => UserError::new(format!(
            "the team-vault server does not accept CI tokens: {reason}"
        ))
        .hint("the server predates CI token exchange; upgrade it, or log in with `vault login --device`"),
    };
    error.into()
}

#[cfg(test)]
mod tests;
