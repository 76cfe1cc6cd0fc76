//! `vault login [--device] [--no-browser]`.

use anyhow::Context;
use clap::Parser;
use vault_api::WhoAmI;

use crate::auth::{self, browser, ci, device, Tokens};
use crate::config::ServerUrl;
use crate::error::UserError;
use crate::http::Http;
use crate::store::Store;

/// Log in to the team-vault server through your company's single sign-on.
#[derive(Debug, Parser)]
pub struct Cmd {
    /// Log in by confirming a code on another device (for machines without a browser)
    #[arg(long)]
    device: bool,
    /// Print the login URL instead of opening a browser
    #[arg(long)]
    no_browser: bool,
}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        if !self.device {
            refuse_browser_in_ci(ci::in_ci(&ci::process_env))?;
        }
        let http = Http::new(&server)?;
        let meta = auth::discover(&http).await?;
        let answer = if self.device {
            device::login(&http, &meta).await?
        } else {
            browser::login(&http, &meta, !self.no_browser).await?
        };
        let tokens = Tokens::from_response(
            server.as_str(),
            &meta.token_endpoint,
            &meta.revocation_endpoint,
            answer,
            crate::clock::now_unix(),
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

/// In CI (`CI=true`) the browser login is refused at once: nobody would ever come back from the
/// browser, and the job would hang until the login times out.
fn refuse_browser_in_ci(in_ci: bool) -> anyhow::Result<()> {
    if !in_ci {
        return Ok(());
    }
    Err(UserError::new(
        "running in CI (CI=true): `vault login` would wait for a browser that nobody opens",
    )
    .hint("CI jobs need no login: `vault exec`, `export` and `credential-process` use the job's OIDC token; to log a person in here anyway, use `vault login --device`")
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_login_is_refused_in_ci() {
        assert!(refuse_browser_in_ci(false).is_ok());
        let err = refuse_browser_in_ci(true).unwrap_err();
        assert!(
            err.to_string().starts_with("running in CI (CI=true)"),
            "{err}"
        );
        assert!(crate::error::hint(&err, &[]).is_some_and(|h| h.contains("--device")));
    }
}
