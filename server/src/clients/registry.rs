//! The clients this server knows: `vault-cli`, always, and those the configuration registers.

use std::{collections::HashMap, sync::Arc};

use vault_api::CLI_CLIENT_ID;

use super::model::{Client, ClientKind, Grant, RedirectRule};

/// Registered clients by id; cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry(Arc<HashMap<String, Client>>);

impl Registry {
    /// The built-in `vault-cli` plus `registered` (validated: unique ids, none is `vault-cli`).
    pub fn new(registered: Vec<Client>) -> Self {
        let mut clients: HashMap<String, Client> =
            registered.into_iter().map(|c| (c.id.clone(), c)).collect();
        clients.insert(CLI_CLIENT_ID.to_owned(), cli());
        Registry(Arc::new(clients))
    }

    pub fn get(&self, id: &str) -> Option<&Client> {
        self.0.get(id)
    }

    /// How many clients the configuration registered (besides `vault-cli`).
    pub fn registered(&self) -> usize {
        self.0.len() - 1
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(Vec::new())
    }
}

/// The `vault` CLI: public, loopback redirects, every grant.
fn cli() -> Client {
    Client {
        id: CLI_CLIENT_ID.to_owned(),
        name: "vault CLI".to_owned(),
        kind: ClientKind::Public,
        secret: None,
        redirect: RedirectRule::Loopback,
        grants: Grant::ALL.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_is_always_registered_as_a_public_loopback_client_with_every_grant() {
        let registry = Registry::default();
        let cli = registry.get(CLI_CLIENT_ID).expect("built in");
        assert_eq!(cli.kind, ClientKind::Public);
        assert!(cli.allows_redirect("http://127.0.0.1:4242/callback"));
        assert!(Grant::ALL.iter().all(|g| cli.allows(*g)));
        assert!(registry.get("mairu").is_none());
        assert_eq!(registry.registered(), 0);
    }
}
