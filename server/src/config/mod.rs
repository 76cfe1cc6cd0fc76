//! Server configuration: the TOML file, secrets from env or `*_file`, and validation that names
//! each problem by its key path (`profiles[1].max_duration: ...`).

mod ci;
mod cleanup;
mod clients;
mod console;
mod database;
mod http;
mod identities;
mod limits;
mod login;
mod min_session;
mod model;
mod names;
mod problems;
mod profile;
mod rate;
mod raw;
mod secret;
mod user_codes;

use std::path::Path;

pub use ci::{CiIssuer, CiRule};
pub use cleanup::CleanupConfig;
pub use console::ConsoleConfig;
pub use database::{DatabaseConfig, Timeouts};
pub use http::HttpConfig;
pub use identities::Identity;
pub use limits::{LimitsConfig, Rate};
pub use login::{issuer_allowed, LoginRules};
pub use min_session::STS_MIN;
pub use model::{AuditConfig, AwsConfig, Config, LogFormat, OidcConfig, Profile};
pub use names::{is_profile_name, PROFILE_NAME_MAX};
pub use problems::{parse_duration, ConfigError};
pub use user_codes::UserCodeLimits;

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
}

#[cfg(test)]
mod tests;
