//! Where tokens and cached credentials live: the OS keyring when there is one, else private files.
//!
//! Everything is kept per server URL, so logins to two servers never mix. Values are JSON text.

mod file;
mod keyring;
mod secret_store;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};

pub use file::{create_private_dir, create_private_file, FileStore};
pub use keyring::KeyringStore;
pub use secret_store::SecretStore;

use crate::config::ServerUrl;
use crate::error::UserError;

/// Where a server's secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    File,
    Keyring,
}

/// The non-secret file (in the server's directory) remembering which backend holds the login, so
/// `auto` keeps finding it and a warm run skips probing the keyring.
const BACKEND_KEY: &str = "backend";

/// The store of one server plus its private directory (which also holds the refresh lock).
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn SecretStore>,
    backend: Backend,
    dir: PathBuf,
}

impl Store {
    /// Opens the store for `server`. `VAULT_KEYRING=file|keyring` forces a backend; `auto` (the
    /// default) uses the one this server's login was saved in, else the keyring when usable.
    pub fn open(server: &ServerUrl) -> anyhow::Result<Self> {
        let dir = server_dir(server)?;
        let choice = std::env::var("VAULT_KEYRING").unwrap_or_default();
        let backend = match choice.trim() {
            "file" => Backend::File,
            "keyring" => Backend::Keyring,
            "" | "auto" => match remembered_backend(&dir) {
                Some(backend) => backend,
                None if KeyringStore::usable() => Backend::Keyring,
                None => Backend::File,
            },
            other => {
                return Err(
                    UserError::new(format!("VAULT_KEYRING={other} is not understood"))
                        .hint("use VAULT_KEYRING=file, keyring or auto")
                        .into(),
                )
            }
        };
        let inner: Arc<dyn SecretStore> = match backend {
            Backend::File => Arc::new(FileStore::new(dir.clone())),
            Backend::Keyring => Arc::new(KeyringStore::new(server)),
        };
        Ok(Self {
            inner,
            backend,
            dir,
        })
    }

    /// A store keeping everything in files under `dir`.
    pub fn in_files(dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(FileStore::new(dir.clone())),
            backend: Backend::File,
            dir,
        }
    }

    /// Records the backend in use, for later runs in `auto` mode.
    pub fn remember_backend(&self) -> anyhow::Result<()> {
        let name = match self.backend {
            Backend::File => "file",
            Backend::Keyring => "keyring",
        };
        self.local().put(BACKEND_KEY, &format!("\"{name}\""))
    }

    /// This server's non-secret files (the remembered backend, the profile names last listed),
    /// kept in its directory whatever backend holds its secrets.
    pub fn local(&self) -> FileStore {
        FileStore::new(self.dir.clone())
    }

    /// This server's private state directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The raw text under `key`.
    pub fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.inner.get(key)
    }

    /// Reads and decodes `key`.
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> anyhow::Result<Option<T>> {
        match self.inner.get(key)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("stored {key} is unreadable")),
        }
    }

    /// Encodes and writes `key`.
    pub fn put_json<T: Serialize>(&self, key: &str, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string(value).context("encoding")?;
        self.inner.put(key, &text)
    }

    /// Removes `key`.
    pub fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.inner.delete(key)
    }

    /// Runs a store operation off the async runtime: the Secret Service backend drives its own
    /// runtime and panics when called from inside one.
    pub async fn blocking<T, F>(&self, op: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> anyhow::Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || op(&store))
            .await
            .context("store task failed")?
    }
}

/// The non-secret files of `server` (see [`Store::local`]), without opening its store.
pub fn local_files(server: &ServerUrl) -> anyhow::Result<FileStore> {
    Ok(FileStore::new(server_dir(server)?))
}

fn remembered_backend(dir: &std::path::Path) -> Option<Backend> {
    let text = FileStore::new(dir.to_owned()).get(BACKEND_KEY).ok()??;
    match serde_json::from_str::<String>(&text).ok()?.as_str() {
        "file" => Some(Backend::File),
        "keyring" => Some(Backend::Keyring),
        _ => None,
    }
}

/// `<state dir>/team-vault/servers/<host>_<port>-<hash>`: readable, and unique per server URL.
fn server_dir(server: &ServerUrl) -> anyhow::Result<PathBuf> {
    let base = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .ok_or_else(|| {
            UserError::new("cannot find a directory for local state")
                .hint("set HOME (or XDG_STATE_HOME)")
        })?;
    Ok(base.join("team-vault").join("servers").join(slug(server)))
}

fn slug(server: &ServerUrl) -> String {
    let url = server.url();
    let host: String = url
        .host_str()
        .unwrap_or("server")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let port = url.port().map(|p| format!("_{p}")).unwrap_or_default();
    let digest = Sha256::digest(server.as_str().as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}{port}-{short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_keeps_using_the_backend_the_login_was_saved_in() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(remembered_backend(tmp.path()), None);
        Store::in_files(tmp.path().into())
            .remember_backend()
            .unwrap();
        assert_eq!(remembered_backend(tmp.path()), Some(Backend::File));
    }

    #[test]
    fn each_server_gets_its_own_readable_directory_name() {
        let a = slug(&ServerUrl::parse("http://127.0.0.1:8080").unwrap());
        let b = slug(&ServerUrl::parse("http://127.0.0.1:8080/other").unwrap());
        assert!(a.starts_with("127.0.0.1_8080-"), "{a}");
        assert_ne!(a, b);
        let ipv6 = slug(&ServerUrl::parse("http://[::1]:9000").unwrap());
        assert!(!ipv6.contains(':') && !ipv6.contains('/'), "{ipv6}");
    }
}
