//! Server configuration: the TOML file, secrets from env or `*_file`, and validation that names
//! each problem by its key path (`profiles[1].max_duration: ...`).

mod ci;
mod identities;
mod problems;
mod raw;
mod secret;

use std::{net::SocketAddr, path::Path, time::Duration};

use secrecy::SecretString;
use url::Url;

pub use ci::{CiIssuer, CiRule};
pub use identities::Identity;
pub use raw::LogFormat;

/// Validated configuration of one server process.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The URL clients and the IdP reach us at; `None` means `http://<bound address>`.
    pub public_url: Option<Url>,
    pub database_url: SecretString,
    /// A role allowed to change the schema; migrations run with it. Default: `database_url`.
    pub migration_database_url: Option<SecretString>,
    pub log_format: LogFormat,
    pub admin_groups: Vec<String>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long a replica may answer "this login session is live" from memory; revocations
    /// reach every replica at once through LISTEN/NOTIFY, this bounds a missed one. 0: no cache.
    pub session_cache_ttl: Duration,
    /// How often a device-flow client may poll `/oauth/token`.
    pub device_poll_interval: Duration,
    pub oidc: OidcConfig,
    pub aws: AwsConfig,
    pub profiles: Vec<Profile>,
    pub audit: AuditConfig,
    pub ci_issuers: Vec<CiIssuer>,
    /// IAM users whose keys the server owns; empty means ambient or static credentials.
    pub identities: Vec<Identity>,
    /// How often the rotating replica checks key ages and due rotation steps.
    pub key_check_interval: Duration,
}

impl Config {
    /// The owned identity whose active key signs STS calls, if any.
    pub fn sts_identity(&self) -> Option<&Identity> {
        match &self.aws.identity {
            Some(name) => self.identities.iter().find(|i| &i.name == name),
            None => self.identities.first(),
        }
    }
}

/// The audit trail's retention.
#[derive(Debug, Clone, Default)]
pub struct AuditConfig {
    /// Events older than this are pruned, leaving a checkpoint; `None` keeps everything.
    pub retention: Option<Duration>,
    pub prune_interval: Duration,
}

/// The upstream OpenID provider we log people in through.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    pub groups_claim: String,
}

/// How the server reaches AWS with its own authority.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub region: String,
    pub endpoint_url: Option<Url>,
    /// Static credentials (development and tests); `None` uses the default provider chain.
    pub static_credentials: Option<(String, SecretString)>,
    /// The owned identity whose active key signs STS calls (default: the first identity).
    pub identity: Option<String>,
}

/// A role people may be allowed to assume, named as `vault exec <name>` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub role_arn: String,
    pub region: String,
    pub default_duration: Duration,
    pub max_duration: Duration,
    pub allow_groups: Vec<String>,
    /// CI jobs that may assume this profile (any rule matching is enough).
    pub allow_ci: Vec<CiRule>,
    /// Reuse a still-fresh session for the same CI job identity (bursts of matrix jobs).
    pub reuse_ci_sessions: bool,
}

/// Every problem found in a configuration, each prefixed with its key path.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .problems.join("\n  "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![problem.into()],
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::one(format!("{}: cannot read: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    /// Parses and validates configuration text; `*_file` keys and `VAULT_*` env secrets are resolved.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: raw::RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::one(e.to_string()))?;
        raw.validate()
    }

    /// The profile of this name, if configured.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }
}

/// Parses `"1h"`, `"15m"`, `"30d"`, `"900s"` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); use e.g. \"15m\", \"1h\", \"30d\""))
}

#[cfg(test)]
mod tests;
