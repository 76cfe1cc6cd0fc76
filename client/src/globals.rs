//! The flag every command accepts (`--server`) and what it resolves to.

use crate::config::{self, ServerUrl};
use crate::store::Store;

/// Flags every command accepts (the CI token flags belong to the commands that hand out
/// credentials: see `credentials::ProfileArgs`).
#[derive(Debug, clap::Args)]
pub struct Globals {
    /// Base URL of the team-vault server (default: `server_url` in config.toml)
    #[arg(long, global = true, env = "VAULT_SERVER_URL", value_name = "URL")]
    pub server: Option<String>,
}

impl Globals {
    /// The server to talk to, from `--server`, `VAULT_SERVER_URL` or the config file.
    pub fn server_url(&self) -> anyhow::Result<ServerUrl> {
        config::server_url(self.server.as_deref())
    }

    /// The server to talk to and its local store.
    pub fn open(&self) -> anyhow::Result<(ServerUrl, Store)> {
        let server = self.server_url()?;
        let store = Store::open(&server)?;
        Ok((server, store))
    }
}
