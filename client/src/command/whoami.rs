//! `vault whoami`: who the server thinks you are.

use clap::Parser;
use vault_api::WhoAmI;

use crate::auth::Authenticator;
use crate::config::ServerUrl;
use crate::http::Http;
use crate::store::Store;

/// Show who you are logged in as, your groups and your login session.
#[derive(Debug, Parser)]
pub struct Cmd {}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let http = Http::new(&server)?;
        let who: WhoAmI = Authenticator::new(&http, &store).get("v1/whoami").await?;
        let groups = if who.groups.is_empty() {
            "(none)".to_owned()
        } else {
            who.groups.join(", ")
        };
        let admin = if who.is_admin { "yes" } else { "no" };
        crate::output::print_out(&format!(
            "{}\n  kind:    {}\n  groups:  {groups}\n  admin:   {admin}\n  server:  {server}\n  session: {}\n",
            who.display, who.kind, who.session_id
        ))
    }
}
