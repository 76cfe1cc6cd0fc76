//! The configuration file as written (serde), and its validation into [`super::Config`].

use std::{collections::HashSet, net::SocketAddr};

use serde::Deserialize;

use super::{
    ci::{validate_issuers, RawCiIssuer},
    cleanup::RawCleanup,
    clients::{self, RawClient},
    console::RawConsole,
    database::{RawDatabase, RawTimeouts},
    http::RawHttp,
    identities::{self, RawIdentity},
    limits::{validate_proxies, RawLimits},
    login, min_session,
    model::{AuditConfig, AwsConfig, Config, LogFormat, OidcConfig, Profile},
    problems::{ConfigError, Problems},
    profile::RawProfile,
    secret,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default = "default_listen")]
    listen: String,
    public_url: Option<String>,
    database_url: Option<String>,
    database_url_file: Option<String>,
    migration_database_url: Option<String>,
    migration_database_url_file: Option<String>,
    #[serde(default)]
    log_format: LogFormat,
    #[serde(default)]
    admin_groups: Vec<String>,
    #[serde(default = "default_access_ttl")]
    access_token_ttl: String,
    #[serde(default = "default_refresh_ttl")]
    refresh_token_ttl: String,
    #[serde(default = "default_session_cache_ttl")]
    session_cache_ttl: String,
    #[serde(default = "default_device_interval")]
    device_poll_interval: String,
    oidc: RawOidc,
    aws: RawAws,
    #[serde(default)]
    profiles: Vec<RawProfile>,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    ci_issuers: Vec<RawCiIssuer>,
    #[serde(default)]
    identities: Vec<RawIdentity>,
    #[serde(default = "default_key_check")]
    key_check_interval: String,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    cleanup: RawCleanup,
    #[serde(default)]
    timeouts: RawTimeouts,
    #[serde(default)]
    clients: Vec<RawClient>,
    #[serde(default)]
    console: RawConsole,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    retention: Option<String>,
    prune_interval: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    client_secret_file: Option<String>,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
    #[serde(default = "default_groups_claim")]
    groups_claim: String,
    display_claim: Option<String>,
    membership_ttl: Option<String>,
    login_max_age: Option<String>,
    #[serde(default)]
    allow_insecure_http: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAws {
    region: String,
    endpoint_url: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    secret_access_key_file: Option<String>,
    identity: Option<String>,
    min_session: Option<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_access_ttl() -> String {
    "15m".into()
}
fn default_refresh_ttl() -> String {
    "30d".into()
}
fn default_session_cache_ttl() -> String {
    "1s".into()
}
fn default_key_check() -> String {
    "10s".into()
}
fn default_device_interval() -> String {
    "5s".into()
}
fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile", "groups"]
        .map(String::from)
        .to_vec()
}
fn default_groups_claim() -> String {
    "groups".into()
}
impl RawConfig {
    pub(super) fn validate(self) -> Result<Config, ConfigError> {
        let mut p = Problems::default();
        let listen = p.take(self.listen.parse::<SocketAddr>().map_err(|e| {
            format!(
                "listen: `{}` is not an address such as 127.0.0.1:8080 ({e})",
                self.listen
            )
        }));
        let public_url = self
            .public_url
            .as_deref()
            .and_then(|u| p.url("public_url", u));
        let database_url = p.take(secret::resolve(
            "database_url",
            self.database_url,
            self.database_url_file,
            "VAULT_DATABASE_URL",
        ));
        let migration_database_url = if self.migration_database_url.is_some()
            || self.migration_database_url_file.is_some()
            || std::env::var_os("VAULT_MIGRATION_DATABASE_URL").is_some()
        {
            p.take(secret::resolve(
                "migration_database_url",
                self.migration_database_url,
                self.migration_database_url_file,
                "VAULT_MIGRATION_DATABASE_URL",
            ))
        } else {
            None
        };
        let retention = self
            .audit
            .retention
            .as_deref()
            .and_then(|r| p.duration("audit.retention", r));
        let prune_interval = p.duration(
            "audit.prune_interval",
            self.audit.prune_interval.as_deref().unwrap_or("1h"),
        );
        let access_token_ttl = p.duration("access_token_ttl", &self.access_token_ttl);
        let refresh_token_ttl = p.duration("refresh_token_ttl", &self.refresh_token_ttl);
        let session_cache_ttl = p.duration("session_cache_ttl", &self.session_cache_ttl);
        let device_poll_interval = p.duration("device_poll_interval", &self.device_poll_interval);
        let oidc = self.oidc.validate(&mut p);
        let aws = self.aws.validate(&mut p);
        let default_region = aws.as_ref().map(|a| a.region.clone()).unwrap_or_default();
        let min_session = aws.as_ref().map_or(min_session::STS_MIN, |a| a.min_session);
        let ci_issuers = validate_issuers(self.ci_issuers, &mut p);
        let identities = identities::validate(self.identities, &mut p);
        let key_check_interval = p.duration("key_check_interval", &self.key_check_interval);
        let (limits, trusted_proxies) = (
            self.limits.validate(&mut p),
            validate_proxies(self.trusted_proxies, &mut p),
        );
        let http = self.http.validate(&mut p);
        let database = self.database.validate(&mut p);
        let timeouts = self.timeouts.validate(&mut p);
        let cleanup = self.cleanup.validate(&mut p);
        let clients = clients::validate(self.clients, &mut p);
        let console = self.console.validate(&mut p);
        if let Some(name) = aws.as_ref().and_then(|a| a.identity.as_ref()) {
            if !identities.iter().any(|i| &i.name == name) {
                p.push(format!(
                    "aws.identity: no [[identities]] entry is named `{name}`"
                ));
            }
        }
        let ci_names: Vec<String> = ci_issuers.iter().map(|i| i.name.clone()).collect();
        let mut names = HashSet::new();
        let profiles: Vec<Profile> = self
            .profiles
            .into_iter()
            .enumerate()
            .filter_map(|(i, raw)| {
                let key = format!("profiles[{i}]");
                if !names.insert(raw.name.clone()) {
                    p.push(format!(
                        "{key}.name: profile `{}` is defined twice",
                        raw.name
                    ));
                }
                raw.validate(&key, &default_region, min_session, &ci_names, &mut p)
            })
            .collect();
        if let Some(error) = p.into_error() {
            return Err(error);
        }
        Ok(Config {
            listen: listen.expect("checked"),
            public_url,
            database_url: database_url.expect("checked"),
            log_format: self.log_format,
            admin_groups: self.admin_groups,
            access_token_ttl: access_token_ttl.expect("checked"),
            refresh_token_ttl: refresh_token_ttl.expect("checked"),
            session_cache_ttl: session_cache_ttl.expect("checked"),
            device_poll_interval: device_poll_interval.expect("checked"),
            oidc: oidc.expect("checked"),
            aws: aws.expect("checked"),
            profiles,
            ci_issuers,
            identities,
            key_check_interval: key_check_interval.expect("checked"),
            http,
            migration_database_url,
            limits,
            trusted_proxies,
            database,
            timeouts,
            cleanup,
            clients,
            console,
            audit: AuditConfig {
                retention,
                prune_interval: prune_interval.expect("checked"),
            },
        })
    }
}

impl RawOidc {
    fn validate(self, p: &mut Problems) -> Option<OidcConfig> {
        let issuer = p.url("oidc.issuer", &self.issuer);
        let secret = p.take(secret::resolve(
            "oidc.client_secret",
            self.client_secret,
            self.client_secret_file,
            "VAULT_OIDC_CLIENT_SECRET",
        ));
        if !self.scopes.iter().any(|s| s == "openid") {
            p.push("oidc.scopes: must include \"openid\"".into());
        }
        if self.client_id.is_empty() {
            p.push("oidc.client_id: must not be empty".into());
        }
        let login = login::validate(
            login::RawLoginRules {
                issuer: issuer.as_ref(),
                display_claim: self.display_claim,
                membership_ttl: self.membership_ttl.as_deref(),
                login_max_age: self.login_max_age.as_deref(),
                allow_insecure_http: self.allow_insecure_http,
            },
            p,
        );
        Some(OidcConfig {
            issuer: issuer?,
            client_id: self.client_id,
            client_secret: secret?,
            scopes: self.scopes,
            groups_claim: self.groups_claim,
            login: login?,
        })
    }
}

impl RawAws {
    fn validate(self, p: &mut Problems) -> Option<AwsConfig> {
        let endpoint_url = self
            .endpoint_url
            .as_deref()
            .map(|u| p.url("aws.endpoint_url", u));
        let static_credentials = match self.access_key_id {
            None => None,
            Some(id) => p
                .take(secret::resolve(
                    "aws.secret_access_key",
                    self.secret_access_key,
                    self.secret_access_key_file,
                    "VAULT_AWS_SECRET_ACCESS_KEY",
                ))
                .map(|s| (id, s)),
        };
        if self.region.is_empty() {
            p.push("aws.region: must not be empty".into());
        }
        let has_endpoint_url = self.endpoint_url.is_some();
        let min_session = min_session::validate(self.min_session.as_deref(), has_endpoint_url, p)?;
        Some(AwsConfig {
            min_session,
            identity: self.identity,
            region: self.region,
            endpoint_url: endpoint_url.flatten(),
            static_credentials,
        })
    }
}
