//! `vault login [--device] [--no-browser]`.

use anyhow::Context;
use clap::Parser;
use vault_api::WhoAmI;

use crate::auth::{self, browser, device, Tokens};
use crate::config::ServerUrl;
use crate::http::Http;
use crate::store::Store;

/// Log in to the team-vault server through your company's single sign-on.
#[derive(Debug, Parser)]
pub struct Cmd {
    /// Log in by confirming a code on another device (for machines without a browser)
    #[arg(long)]
    device: bool,
    /// Print the login URL instead of opening a browser (implied when CI=true)
    #[arg(long)]
    no_browser: bool,
}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let http = Http::new(&server)?;
        let meta = auth::discover(&http).await?;
        let answer = if self.device {
            device::login(&http, &meta).await?
        } else {
            browser::login(&http, &meta, !self.no_browser && !crate::in_ci()).await?
        };
        let tokens = Tokens::from_response(
            server.as_str(),
            &meta.token_endpoint,
            &meta.revocation_endpoint,
            answer,
            crate::clock::now(),
        );
        let access = tokens.access_token.clone();
        let previous = auth::load(&store).await.ok().flatten();
        auth::save_login(&store, tokens).await?;
        if let Some(old) = previous {
            // The replaced login would otherwise stay valid on the server until it expires;
            // failing to end it does not make the new login any less good.
            let _ = auth::revoke(&http, &old).await;
        }
        let who: WhoAmI = http
            .get("v1/whoami", Some(&access))
            .await
            .context("checking the new login")?;
        eprintln!("Logged in as {}", who.display);
        Ok(())
    }
}
