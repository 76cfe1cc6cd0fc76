//! A dev OpenID provider of a test's own (`tests/idp/server.js`), which the test can stop and
//! start again on the same port, for the IdP being down while a person logs in.

use crate::env::TestEnv;
use crate::process::{Running, Stream};
use std::time::Duration;
use tokio::process::Command;

/// How long the provider may take to print its `ISSUER=` line.
const START_LIMIT: Duration = Duration::from_secs(30);

/// A private dev IdP (client `team-vault` / `dev-secret`); killed when dropped.
pub struct OwnIdp {
    /// `http://127.0.0.1:PORT`, as the server is configured with it.
    pub issuer: String,
    port: u16,
    process: Option<Running>,
}

impl OwnIdp {
    /// Starts it on a free port and waits until its discovery document answers.
    pub async fn start() -> OwnIdp {
        let (process, issuer) = spawn(0).await;
        let port = issuer
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in the dev IdP's issuer {issuer}"));
        OwnIdp {
            issuer,
            port,
            process: Some(process),
        }
    }

    /// Kills it and waits (bounded) until its port refuses connections.
    pub async fn stop(&mut self) {
        drop(self.process.take());
        let addr = format!("127.0.0.1:{}", self.port);
        crate::poll::until(
            "the stopped dev IdP's port to refuse connections",
            Duration::from_secs(10),
            || async {
                tokio::net::TcpStream::connect(&addr)
                    .await
                    .is_err()
                    .then_some(())
            },
        )
        .await;
    }

    /// Starts it again on the same port, so the same issuer answers.
    pub async fn restart(&mut self) {
        assert!(self.process.is_none(), "the dev IdP is still running");
        let (process, issuer) = spawn(self.port).await;
        assert_eq!(issuer, self.issuer, "the restarted IdP has another issuer");
        self.process = Some(process);
    }
}

async fn spawn(port: u16) -> (Running, String) {
    let env = TestEnv::get();
    let mut cmd = Command::new("node");
    cmd.arg(env.idp_dir.join("server.js"))
        .args(["--port", &port.to_string()])
        .args(["--client-id", "team-vault", "--client-secret", "dev-secret"]);
    let mut process = Running::spawn(cmd, "the dev IdP").expect("starting the dev IdP");
    let line = process
        .wait_for_line(START_LIMIT, |s, l| {
            s == Stream::Stdout && l.starts_with("ISSUER=")
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let issuer = line.trim().trim_start_matches("ISSUER=").to_owned();
    let http = crate::app::http_client();
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    crate::poll::until("the dev IdP's discovery document", START_LIMIT, || async {
        let resp = http.get(&discovery).send().await.ok()?;
        resp.status().is_success().then_some(())
    })
    .await;
    (process, issuer)
}
