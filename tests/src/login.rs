//! Logging the CLI in through the dev IdP, with `autologin.js` playing the browser.

use crate::cli::Cli;
use crate::env::TestEnv;
use crate::process::{self, Output, Running, Stream};
use anyhow::{bail, Context, Result};
use std::time::Duration;
use tokio::process::Command;

/// Bound on a whole login (CLI start, IdP round trips, token exchange).
pub const LOGIN_LIMIT: Duration = Duration::from_secs(90);

/// Runs `node autologin.js --user USER [extra…] URL`; fails unless it exits 0.
pub async fn autologin(user: &str, url: &str, extra: &[&str]) -> Result<Output> {
    let env = TestEnv::get();
    let mut cmd = Command::new("node");
    cmd.arg(env.autologin_script())
        .args(["--user", user])
        .args(extra)
        .arg(url);
    let out = process::run(cmd, "autologin.js", LOGIN_LIMIT).await?;
    if !out.status.success() {
        bail!("autologin.js --user {user} {url} failed:\n{out}");
    }
    Ok(out)
}

fn looks_like_url(line: &str) -> bool {
    let l = line.trim();
    (l.starts_with("http://") || l.starts_with("https://")) && !l.contains(' ')
}

impl Cli {
    /// `vault login --no-browser`: reads the URL after `Open this URL to log in:`, lets
    /// autologin.js log `user` in, and waits (bounded) for vault to exit 0.
    pub async fn login_browser(&self, user: &str) -> Output {
        self.try_login_browser(user)
            .await
            .unwrap_or_else(|e| panic!("browser login as {user}: {e:#}"))
    }

    async fn try_login_browser(&self, user: &str) -> Result<Output> {
        let mut vault = Running::spawn(self.command(&["login", "--no-browser"]), "vault login")?;
        vault
            .wait_for_line(LOGIN_LIMIT, |s, l| {
                s == Stream::Stderr && l.trim() == "Open this URL to log in:"
            })
            .await?;
        let url = vault
            .wait_for_line(LOGIN_LIMIT, |s, l| {
                s == Stream::Stderr && !l.trim().is_empty()
            })
            .await?;
        let url = url.trim().to_owned();
        if !looks_like_url(&url) {
            bail!("the line after `Open this URL to log in:` is not a URL alone: {url:?}");
        }
        let browser = autologin(user, &url, &[]).await;
        let out = vault.finish(LOGIN_LIMIT).await?;
        let browser = browser.with_context(|| format!("vault login meanwhile:\n{out}"))?;
        if !out.status.success() {
            bail!(
                "vault login failed after the browser finished ({}):\n{out}",
                browser.stdout
            );
        }
        Ok(out)
    }

    /// `vault login --device`: reads the `/device?user_code=` URL, approves it through
    /// autologin.js as `user`, and waits (bounded) for vault to exit 0.
    pub async fn login_device(&self, user: &str) -> Output {
        self.try_login_device(user)
            .await
            .unwrap_or_else(|e| panic!("device login as {user}: {e:#}"))
    }

    async fn try_login_device(&self, user: &str) -> Result<Output> {
        let mut vault =
            Running::spawn(self.command(&["login", "--device"]), "vault login --device")?;
        let url = vault
            .wait_for_line(LOGIN_LIMIT, |_, l| {
                looks_like_url(l) && l.contains("user_code=")
            })
            .await?;
        let browser = autologin(user, url.trim(), &[]).await;
        let out = vault.finish(LOGIN_LIMIT).await?;
        let browser = browser.with_context(|| format!("vault login --device meanwhile:\n{out}"))?;
        if !browser.stdout.contains("APPROVED") {
            bail!("autologin.js did not approve the device code:\n{browser}");
        }
        if !out.status.success() {
            bail!("vault login --device failed after approval:\n{out}");
        }
        Ok(out)
    }
}
