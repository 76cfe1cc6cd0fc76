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

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;
use vault_api::{TokenResponse, CLI_CLIENT_ID, GRANT_TOKEN_EXCHANGE};

use crate::error::UserError;
use crate::http::{ApiError, Http};

/// GitHub Actions: the URL to ask for the job's OIDC token.
pub const GITHUB_URL_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// GitHub Actions: the bearer token for that request.
pub const GITHUB_TOKEN_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// The variable holding a ready-made ID token (GitLab `id_tokens:`), unless `--ci-token-env` names another.
pub const DEFAULT_TOKEN_VAR: &str = "VAULT_ID_TOKEN";
/// The audience asked for when neither `--ci-audience` nor `VAULT_CI_AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "team-vault";
/// RFC 8693 `subject_token_type` of a JWT.
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
/// A token file larger than this is not a token.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;
/// Attempts at GitHub's token endpoint (transport errors, 429 and 5xx are retried).
const GITHUB_ATTEMPTS: u32 = 3;

/// The hint shown when a CI job has no identity token.
pub const NO_TOKEN_HINT: &str = "GitHub Actions: add `permissions: id-token: write`; GitLab: define an id_token named VAULT_ID_TOKEN; or pass --ci-token-file/--ci-token-env";

/// Reads one environment variable; a parameter so detection can be tested with a map.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment (a variable that is not valid UTF-8 counts as absent).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The flags choosing a CI job's token (accepted before or after the subcommand).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "CI jobs (exec, export, credential-process)")]
pub struct CiFlags {
    /// Read the job's OIDC token from FILE instead of detecting GitHub Actions or VAULT_ID_TOKEN
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "ci_token_env"
    )]
    pub ci_token_file: Option<PathBuf>,
    /// Read the job's OIDC token from the variable VAR (instead of VAULT_ID_TOKEN or GitHub Actions)
    #[arg(long, global = true, value_name = "VAR")]
    pub ci_token_env: Option<String>,
    /// The audience to ask GitHub Actions for [default: team-vault]
    #[arg(long, global = true, env = "VAULT_CI_AUDIENCE", value_name = "AUD")]
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

/// A secret string whose `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
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
                token: Secret(token),
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
            request_token: Secret(request_token),
        }));
    }
    Ok(
        non_empty(env, DEFAULT_TOKEN_VAR).map(|token| CiSource::Env {
            var: DEFAULT_TOKEN_VAR.to_owned(),
            token: Secret(token),
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
    Ok(Secret(token.to_owned()))
}

/// GitHub's token request URL with `audience=<aud>` added: after `&` when the URL already has a
/// query (it has `api-version=…`), after `?` otherwise; an `audience` already there is replaced.
pub fn github_request_url(base: &str, audience: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(base.trim()).map_err(|e| {
        UserError::new(format!("{GITHUB_URL_VAR} is not a valid URL: {e}"))
            .hint("it is set by GitHub Actions; do not set it yourself")
    })?;
    if url.scheme() != "https" && !(url.scheme() == "http" && crate::config::is_loopback(&url)) {
        return Err(UserError::new(format!(
            "refusing to send the GitHub Actions request token to {} over {}",
            url.host_str().unwrap_or("(no host)"),
            url.scheme()
        ))
        .hint(format!(
            "{GITHUB_URL_VAR} must be an https:// URL (plain http only for 127.0.0.1 or localhost)"
        ))
        .into());
    }
    if url.query_pairs().any(|(k, _)| k == "audience") {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "audience")
            .collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    url.query_pairs_mut().append_pair("audience", audience);
    Ok(url)
}

/// The host (and port) of a URL, the only part of it errors show.
fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "(no host)".to_owned(),
    }
}

/// GitHub's answer to the token request.
#[derive(Deserialize)]
struct GitHubIdToken {
    value: Option<String>,
}

/// Asks GitHub Actions for the job's OIDC token for `audience`.
pub async fn fetch_github_token(
    request_url: &str,
    request_token: &Secret,
    audience: &str,
) -> anyhow::Result<Secret> {
    let url = github_request_url(request_url, audience)?;
    let host = host_of(&url);
    let client = reqwest::Client::builder()
        // The request token is attached: never follow a redirect with it.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vault/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()?;
    let failed = |what: String| {
        UserError::new(format!(
            "could not get the job's OIDC token from GitHub Actions ({host}): {what}"
        ))
        .hint("the job needs `permissions: id-token: write`; retry the job if GitHub was having trouble")
    };
    // `without_url`: the URL is GitHub's and not secret, but errors name only the host.
    let unreachable = |e: reqwest::Error| failed(crate::error::one_line(&e.without_url().into()));
    let mut attempt = 1;
    let resp = loop {
        let sent = client
            .get(url.clone())
            .header(
                reqwest::header::AUTHORIZATION,
                format!("bearer {}", request_token.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        let retry = match &sent {
            Ok(resp) => {
                let status = resp.status();
                status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            Err(_) => true,
        };
        if !retry || attempt >= GITHUB_ATTEMPTS {
            break sent.map_err(unreachable)?;
        }
        tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
        attempt += 1;
    };
    let status = resp.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")).into());
    }
    let body = resp.bytes().await.map_err(unreachable)?;
    let answer: GitHubIdToken = serde_json::from_slice(&body)
        .map_err(|_| failed("the answer is not the expected JSON".to_owned()))?;
    match answer.value.map(|v| v.trim().to_owned()) {
        Some(token) if !token.is_empty() => Ok(Secret(token)),
        _ => Err(failed("the answer holds no token".to_owned()).into()),
    }
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
    Ok(Secret(answer.access_token))
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
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn flags(file: Option<&str>, var: Option<&str>) -> CiFlags {
        CiFlags {
            ci_token_file: file.map(PathBuf::from),
            ci_token_env: var.map(str::to_owned),
            ci_audience: None,
        }
    }

    const GITHUB: &[(&str, &str)] = &[
        (
            GITHUB_URL_VAR,
            "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0",
        ),
        (GITHUB_TOKEN_VAR, "req-token"),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        more: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        base.iter().chain(more).copied().collect()
    }

    fn github() -> CiSource {
        CiSource::GitHub {
            request_url: GITHUB[0].1.to_owned(),
            request_token: Secret::new("req-token"),
        }
    }

    #[test]
    fn nothing_set_means_no_ci_source() {
        let env = env_of(&[("CI", "true"), ("PATH", "/bin")]);
        assert_eq!(detect(&CiFlags::default(), &env).unwrap(), None);
    }

    #[test]
    fn github_actions_is_detected_from_both_variables() {
        let env = env_of(GITHUB);
        assert_eq!(detect(&CiFlags::default(), &env).unwrap(), Some(github()));
    }

    #[test]
    fn github_actions_comes_before_vault_id_token() {
        let env = env_of(&with(GITHUB, &[(DEFAULT_TOKEN_VAR, "gitlab-jwt")]));
        assert_eq!(detect(&CiFlags::default(), &env).unwrap(), Some(github()));
    }

    #[test]
    fn vault_id_token_is_used_trimmed_and_an_empty_one_is_absent() {
        let env = env_of(&[(DEFAULT_TOKEN_VAR, " gitlab-jwt\n")]);
        assert_eq!(
            detect(&CiFlags::default(), &env).unwrap(),
            Some(CiSource::Env {
                var: DEFAULT_TOKEN_VAR.into(),
                token: Secret::new("gitlab-jwt")
            })
        );
        let empty = env_of(&[(DEFAULT_TOKEN_VAR, "  ")]);
        assert_eq!(detect(&CiFlags::default(), &empty).unwrap(), None);
    }

    #[test]
    fn half_of_github_actions_is_not_a_source() {
        let env = env_of(&[GITHUB[0], (DEFAULT_TOKEN_VAR, "gitlab-jwt")]);
        assert!(matches!(
            detect(&CiFlags::default(), &env).unwrap(),
            Some(CiSource::Env { .. })
        ));
        let env = env_of(&[GITHUB[1]]);
        assert_eq!(detect(&CiFlags::default(), &env).unwrap(), None);
    }

    #[test]
    fn an_explicit_variable_beats_github_actions() {
        let env = env_of(&with(
            GITHUB,
            &[("MY_JWT", "mine"), (DEFAULT_TOKEN_VAR, "x")],
        ));
        assert_eq!(
            detect(&flags(None, Some("MY_JWT")), &env).unwrap(),
            Some(CiSource::Env {
                var: "MY_JWT".into(),
                token: Secret::new("mine")
            })
        );
    }

    #[test]
    fn an_explicit_variable_that_is_unset_is_an_error_naming_it() {
        let env = env_of(GITHUB);
        let err = detect(&flags(None, Some("MY_JWT")), &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--ci-token-env MY_JWT: the variable MY_JWT is not set or empty"
        );
    }

    #[test]
    fn an_explicit_file_beats_everything() {
        let env = env_of(&with(GITHUB, &[(DEFAULT_TOKEN_VAR, "x")]));
        assert_eq!(
            detect(&flags(Some("/run/jwt"), None), &env).unwrap(),
            Some(CiSource::File("/run/jwt".into()))
        );
    }

    #[test]
    fn ci_is_on_unless_empty_false_or_zero() {
        for (value, on) in [
            ("true", true),
            ("1", true),
            ("yes", true),
            ("false", false),
            ("FALSE", false),
            ("0", false),
            ("", false),
        ] {
            assert_eq!(in_ci(&env_of(&[("CI", value)])), on, "CI={value}");
        }
        assert!(!in_ci(&env_of(&[])));
    }

    #[test]
    fn ci_without_a_token_says_what_it_looked_for() {
        let err = no_token_error(&env_of(&[("CI", "true")]));
        assert_eq!(
            crate::error::one_line(&err),
            "running in CI (CI=true) but no CI identity token found (looked for \
             ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN, then VAULT_ID_TOKEN) \
             and no stored login"
        );
        assert_eq!(
            crate::error::hint(&err),
            Some(
                "GitHub Actions: add `permissions: id-token: write`; GitLab: define an id_token \
                 named VAULT_ID_TOKEN; or pass --ci-token-file/--ci-token-env"
            )
        );
    }

    #[test]
    fn ci_without_a_token_names_half_set_variables() {
        let err = no_token_error(&env_of(&[
            ("CI", "true"),
            GITHUB[0],
            (DEFAULT_TOKEN_VAR, ""),
        ]));
        let text = err.to_string();
        assert!(
            text.contains(
                "; ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not; VAULT_ID_TOKEN is empty)"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_audience_is_appended_to_an_existing_query() {
        let url = github_request_url(GITHUB[0].1, "team-vault").unwrap();
        assert_eq!(
            url.as_str(),
            "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0&audience=team-vault"
        );
    }

    #[test]
    fn the_audience_starts_a_query_when_there_is_none_and_is_encoded() {
        let url =
            github_request_url("https://example.com/idtoken", "https://vault.example.com").unwrap();
        assert_eq!(
            url.as_str(),
            "https://example.com/idtoken?audience=https%3A%2F%2Fvault.example.com"
        );
        let url = github_request_url("https://example.com/idtoken?", "aud").unwrap();
        assert_eq!(url.as_str(), "https://example.com/idtoken?audience=aud");
    }

    #[test]
    fn an_audience_already_in_the_url_is_replaced() {
        let url = github_request_url(
            "https://example.com/t?audience=other&api-version=2.0",
            "mine",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://example.com/t?api-version=2.0&audience=mine"
        );
    }

    #[test]
    fn the_request_token_goes_only_to_https_or_loopback() {
        assert!(github_request_url("http://127.0.0.1:9/t", "a").is_ok());
        let err = github_request_url("http://github.example.com/t", "a").unwrap_err();
        assert!(
            err.to_string().contains("github.example.com over http"),
            "{err}"
        );
        assert!(github_request_url("not a url", "a").is_err());
    }

    #[test]
    fn the_audience_defaults_to_team_vault() {
        let mut f = CiFlags::default();
        assert_eq!(f.audience(), "team-vault");
        f.ci_audience = Some(" ".into());
        assert_eq!(f.audience(), "team-vault");
        f.ci_audience = Some("sts.example".into());
        assert_eq!(f.audience(), "sts.example");
    }

    #[test]
    fn a_token_file_is_read_trimmed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("jwt");
        std::fs::write(&path, "  eyJhbGciOi.x.y \n").unwrap();
        assert_eq!(
            read_token_file(&path).unwrap(),
            Secret::new("eyJhbGciOi.x.y")
        );
    }

    #[test]
    fn an_empty_missing_or_huge_token_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().join("empty");
        std::fs::write(&empty, " \n\n").unwrap();
        let err = read_token_file(&empty).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the CI token file {} is empty", empty.display())
        );
        let missing = tmp.path().join("missing");
        let err = read_token_file(&missing).unwrap_err();
        assert!(crate::error::one_line(&err).starts_with(&format!(
            "cannot read the CI token file {}: ",
            missing.display()
        )));
        let huge = tmp.path().join("huge");
        std::fs::write(&huge, vec![b'a'; 70 * 1024]).unwrap();
        assert!(read_token_file(&huge)
            .unwrap_err()
            .to_string()
            .contains("larger than 64 KiB"));
    }

    #[test]
    fn no_debug_output_shows_a_token() {
        let shown = format!(
            "{:?} {:?}",
            github(),
            CiSource::Env {
                var: "V".into(),
                token: Secret::new("jwt-value")
            }
        );
        assert!(
            !shown.contains("req-token") && !shown.contains("jwt-value"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn the_github_token_is_fetched_with_the_request_token_and_audience() {
        let (base, server) =
            crate::test_server::one_shot("200 OK", r#"{"count":1,"value":"eyJ.gh.token"}"#).await;
        let request_url = format!("{base}/idtoken?api-version=2.0");
        let token = fetch_github_token(&request_url, &Secret::new("req-token"), "team-vault")
            .await
            .unwrap();
        assert_eq!(token, Secret::new("eyJ.gh.token"));
        let request = server.await.unwrap();
        assert!(
            request.starts_with("GET /idtoken?api-version=2.0&audience=team-vault HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_lowercase()
                .contains("\r\nauthorization: bearer req-token\r\n"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn a_refused_github_token_request_names_the_host_and_status_not_the_token() {
        let (base, server) = crate::test_server::one_shot("403 Forbidden", "").await;
        let request_url = format!("{base}/idtoken?api-version=2.0");
        let err = fetch_github_token(&request_url, &Secret::new("req-token"), "team-vault")
            .await
            .unwrap_err();
        server.await.unwrap();
        let host = base.trim_start_matches("http://");
        assert_eq!(
            err.to_string(),
            format!("could not get the job's OIDC token from GitHub Actions ({host}): HTTP 403 Forbidden")
        );
        assert!(!crate::error::one_line(&err).contains("req-token"));
        assert!(!crate::error::one_line(&err).contains("idtoken"));
    }

    #[tokio::test]
    async fn the_exchange_posts_the_token_exchange_form() {
        let (base, server) = crate::test_server::one_shot(
            "200 OK",
            r#"{"access_token":"eyJ.broker","token_type":"Bearer","expires_in":300}"#,
        )
        .await;
        let http = Http::new(&crate::config::ServerUrl::parse(&base).unwrap()).unwrap();
        let answer = exchange(&http, &Secret::new("eyJ.ci.jwt")).await.unwrap();
        assert_eq!(answer.access_token, "eyJ.broker");
        assert_eq!(answer.refresh_token, None);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /oauth/token HTTP/1.1\r\n"),
            "{request}"
        );
        let body = request.split("\r\n\r\n").nth(1).unwrap();
        let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            form["grant_type"],
            "urn:ietf:params:oauth:grant-type:token-exchange"
        );
        assert_eq!(form["subject_token"], "eyJ.ci.jwt");
        assert_eq!(
            form["subject_token_type"],
            "urn:ietf:params:oauth:token-type:jwt"
        );
        assert_eq!(form["client_id"], "vault-cli");
    }

    fn oauth(status: u16, error: &str, description: Option<&str>) -> ApiError {
        ApiError::OAuth {
            status,
            error: error.into(),
            description: description.map(Into::into),
        }
    }

    #[test]
    fn a_refused_exchange_shows_the_servers_reason() {
        let err = exchange_error(
            oauth(401, "invalid_grant", Some("token expired")),
            &github(),
            "team-vault",
        );
        assert_eq!(
            crate::error::one_line(&err),
            "the team-vault server refused GitHub Actions' ID token: token expired (invalid_grant)"
        );
        assert!(crate::error::hint(&err).is_some_and(|h| h.contains("`team-vault`")));
        let denied = exchange_error(
            oauth(
                403,
                "access_denied",
                Some("no profile allows acme/app on refs/heads/dev"),
            ),
            &github(),
            "team-vault",
        );
        assert_eq!(
            denied.to_string(),
            "the team-vault server does not let this CI job in: no profile allows acme/app on refs/heads/dev (access_denied)"
        );
    }

    #[test]
    fn an_unavailable_verifier_reads_as_such() {
        let source = CiSource::File("/jwt".into());
        let err = exchange_error(
            oauth(
                503,
                "temporarily_unavailable",
                Some("cannot fetch the issuer's keys"),
            ),
            &source,
            "team-vault",
        );
        assert_eq!(
            err.to_string(),
            "the team-vault server cannot verify CI tokens right now: cannot fetch the issuer's keys (temporarily_unavailable)"
        );
        let plain = exchange_error(
            ApiError::Unavailable {
                message: "Service Unavailable".into(),
            },
            &source,
            "team-vault",
        );
        assert_eq!(
            plain.to_string(),
            "the team-vault server cannot verify CI tokens right now: Service Unavailable"
        );
    }

    #[test]
    fn a_refused_ci_token_never_suggests_vault_login() {
        let err = exchange_error(
            ApiError::Unauthorized {
                message: "bad token".into(),
            },
            &CiSource::File("/jwt".into()),
            "team-vault",
        );
        assert_eq!(
            err.to_string(),
            "the team-vault server refused the token file /jwt: bad token"
        );
        assert!(!crate::error::hint(&err).unwrap().contains("vault login"));
    }
}
