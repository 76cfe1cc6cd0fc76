//! Which team-vault server to talk to: `--server`, `VAULT_SERVER_URL`, or `server_url` in the config file.

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;
use url::Url;

use crate::error::UserError;

/// A validated server base URL, normalised without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(Url);

impl ServerUrl {
    /// Parses and checks a server URL: http(s), no query or fragment, https unless loopback.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let bad = |why: &str| {
            UserError::new(format!("invalid server URL `{text}`: {why}"))
                .hint("use the server's base URL, e.g. https://vault.example.com")
        };
        let mut url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("the scheme must be https (or http for a local server)").into());
        }
        if url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
            return Err(bad("it must not carry a query or fragment").into());
        }
        if url.scheme() == "http" && !is_loopback(&url) {
            return Err(UserError::new(format!(
                "refusing to send credentials to `{text}` over plain http"
            ))
            .hint("use an https:// URL; plain http is only allowed for 127.0.0.1, [::1] and localhost")
            .into());
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        Ok(Self(url))
    }

    /// The URL as text, without a trailing slash: also the key under which state is stored.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// An endpoint below the server's base path, e.g. `join("v1/profiles")`.
    pub fn join(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{}", path.trim_start_matches('/')));
        url
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the URL's host is 127.0.0.0/8, ::1 or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The optional `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    server_url: Option<String>,
    #[serde(default)]
    exec_mode: ExecMode,
}

/// What `vault exec` does without `--env-vars`, `--ecs-server` or `--ec2-server`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecMode {
    /// Credentials in the environment.
    #[default]
    Env,
    /// A container credential endpoint.
    Ecs,
    /// An IMDSv2 endpoint.
    Ec2,
}

/// The config file, if there is one.
fn read_config_file() -> anyhow::Result<(Option<PathBuf>, Option<ConfigFile>)> {
    let path = config_path();
    let Some(found) = &path else {
        return Ok((None, None));
    };
    match std::fs::read_to_string(found) {
        Ok(text) => {
            let file: ConfigFile =
                toml::from_str(&text).with_context(|| format!("reading {}", found.display()))?;
            Ok((path, Some(file)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((path, None)),
        Err(e) => Err(e).with_context(|| format!("reading {}", found.display())),
    }
}

/// `exec_mode` in the config file (env without one).
pub fn exec_mode() -> anyhow::Result<ExecMode> {
    Ok(read_config_file()?
        .1
        .map(|f| f.exec_mode)
        .unwrap_or_default())
}

/// `$XDG_CONFIG_HOME/team-vault/config.toml` (or the platform's config directory).
pub fn config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("team-vault").join("config.toml"))
}

/// Resolves the server URL; `flag` is `--server`, which clap already fills from `VAULT_SERVER_URL`.
pub fn server_url(flag: Option<&str>) -> anyhow::Result<ServerUrl> {
    if let Some(url) = flag.filter(|s| !s.trim().is_empty()) {
        return ServerUrl::parse(url);
    }
    let (path, file) = read_config_file()?;
    if let (Some(path), Some(url)) = (&path, file.and_then(|f| f.server_url)) {
        return ServerUrl::parse(&url).with_context(|| format!("server_url in {}", path.display()));
    }
    let place = path.map_or_else(
        || "the config file".to_owned(),
        |p| format!("server_url in {}", p.display()),
    );
    Err(UserError::new("no team-vault server configured")
        .hint(format!(
            "set VAULT_SERVER_URL (e.g. export VAULT_SERVER_URL=https://vault.example.com), pass --server, or set {place}"
        ))
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_loses_its_trailing_slash() {
        let url = ServerUrl::parse("https://vault.example.com/").unwrap();
        assert_eq!(url.as_str(), "https://vault.example.com");
        assert_eq!(
            url.join("/v1/profiles").as_str(),
            "https://vault.example.com/v1/profiles"
        );
    }

    #[test]
    fn a_server_under_a_path_keeps_it_when_joining() {
        let url = ServerUrl::parse("https://example.com/vault/").unwrap();
        assert_eq!(
            url.join("oauth/token").as_str(),
            "https://example.com/vault/oauth/token"
        );
    }

    #[test]
    fn plain_http_is_allowed_only_for_loopback_hosts() {
        assert!(ServerUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(ServerUrl::parse("http://[::1]:8080").is_ok());
        assert!(ServerUrl::parse("http://localhost:8080").is_ok());
        assert!(ServerUrl::parse("http://vault.example.com").is_err());
    }

    #[test]
    fn exec_mode_reads_env_ecs_or_ec2_and_defaults_to_env() {
        let read = |text: &str| toml::from_str::<ConfigFile>(text).map(|f| f.exec_mode);
        assert_eq!(read("").unwrap(), ExecMode::Env);
        assert_eq!(read("exec_mode = \"ecs\"").unwrap(), ExecMode::Ecs);
        assert_eq!(read("exec_mode = \"ec2\"").unwrap(), ExecMode::Ec2);
        assert_eq!(read("exec_mode = \"env\"").unwrap(), ExecMode::Env);
        assert!(read("exec_mode = \"docker\"").is_err());
    }

    #[test]
    fn a_url_with_a_query_or_another_scheme_is_refused() {
        assert!(ServerUrl::parse("https://v.example.com/?x=1").is_err());
        assert!(ServerUrl::parse("ftp://v.example.com").is_err());
        assert!(ServerUrl::parse("not a url").is_err());
    }
}
