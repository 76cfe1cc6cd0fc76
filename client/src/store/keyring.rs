//! The OS keyring backend: macOS Keychain, Windows Credential Manager, or the freedesktop Secret
//! Service (over zbus, no libdbus).

use anyhow::Context;
use keyring::{Entry, Error};

use super::secret_store::SecretStore;
use crate::config::ServerUrl;
use crate::error::UserError;

/// The keyring service name every entry is filed under.
const SERVICE: &str = "team-vault";

/// Entries named `<server URL> <key>` under the `team-vault` service.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    server: String,
}

impl KeyringStore {
    /// A store for `server`'s entries.
    pub fn new(server: &ServerUrl) -> Self {
        Self {
            server: server.as_str().to_owned(),
        }
    }

    /// Whether `auto` should pick the keyring: never in CI (it may prompt); on macOS and Windows
    /// always; elsewhere only with a session bus whose Secret Service answers.
    pub fn usable() -> bool {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            return false;
        }
        if cfg!(any(target_os = "macos", target_os = "windows")) {
            return true;
        }
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty()) {
            return false;
        }
        // A lookup of an entry that never exists: no unlock prompt, but it proves the service is up.
        Entry::new(SERVICE, "probe")
            .and_then(|e| e.get_password())
            .map_or_else(|e| matches!(e, Error::NoEntry), |_| true)
    }

    fn entry(&self, key: &str) -> anyhow::Result<Entry> {
        Entry::new(SERVICE, &format!("{} {key}", self.server)).map_err(failure)
    }
}

/// Keyring errors carry a hint to fall back to files.
fn failure(err: Error) -> anyhow::Error {
    UserError::wrap("the OS keyring failed", err)
        .hint("set VAULT_KEYRING=file to keep tokens in private files instead")
        .into()
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        match self.entry(key)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(failure(e)).with_context(|| format!("reading {key}")),
        }
    }

    fn put(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.entry(key)?
            .set_password(value)
            .map_err(failure)
            .with_context(|| format!("saving {key}"))
    }

    fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(failure(e)).with_context(|| format!("removing {key}")),
        }
    }
}
