//! The validated configuration: what the rest of the server reads.

use std::{net::SocketAddr, time::Duration};

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::clients::Registry;

use super::{
    ci::{CiIssuer, CiRule},
    cleanup::CleanupConfig,
    console::ConsoleConfig,
    database::{DatabaseConfig, Timeouts},
    http::HttpConfig,
    identities::Identity,
    limits::LimitsConfig,
    login::LoginRules,
};

/// Request log format.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

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
    /// `[limits]`: rate limits per client address and per principal; see [`LimitsConfig`].
    pub limits: LimitsConfig,
    /// Peers whose `Forwarded` / `X-Forwarded-For` headers name the client (load balancers).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub http: HttpConfig,
    /// `[database]`: the pool's size and timeouts.
    pub database: DatabaseConfig,
    /// `[timeouts]`: whole-request bounds.
    pub timeouts: Timeouts,
    /// `[cleanup]`: how often expired short-lived rows are removed.
    pub cleanup: CleanupConfig,
    /// `vault-cli` and the `[[clients]]`: the OAuth clients that may log people in.
    pub clients: Registry,
    /// `[console]`: where console sign-in URLs are exchanged.
    pub console: ConsoleConfig,
}

impl Config {
    /// The owned identity whose active key signs STS calls, if any.
    pub fn sts_identity(&self) -> Option<&Identity> {
        match &self.aws.identity {
            Some(name) => self.identities.iter().find(|i| &i.name == name),
            None => self.identities.first(),
        }
    }

    /// The profile of this name, if configured.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
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
    /// Display claim, membership freshness and login lifetime; see [`super::login`].
    pub login: LoginRules,
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
    /// `[aws] min_session`: the shortest session issued (900 s unless an emulator is configured).
    pub min_session: Duration,
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
