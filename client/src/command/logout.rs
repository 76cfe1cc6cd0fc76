//! `vault logout`: revoke the login on the server, then forget it locally in any case.

use clap::Parser;

use crate::auth;
use crate::config::ServerUrl;
use crate::error::one_line;
use crate::http::Http;
use crate::store::Store;

/// Log out: revoke the login on the server and remove local tokens and cached sessions.
#[derive(Debug, Parser)]
pub struct Cmd {}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let Some(tokens) = auth::load(&store).await.ok().flatten() else {
            auth::forget_login(&store).await?;
            eprintln!("Not logged in to {server}; removed any cached sessions.");
            return Ok(());
        };
        let revoked = auth::revoke(&Http::new(&server)?, &tokens).await;
        auth::forget_login(&store).await?;
        match revoked {
            Ok(()) => eprintln!("Logged out of {server}."),
            Err(e) => {
                eprintln!("Logged out locally: removed tokens and cached sessions.");
                eprintln!(
                    "warning: could not revoke the login on the server ({}); it stays valid there until it expires",
                    one_line(&e)
                );
            }
        }
        Ok(())
    }
}
