//! A moto server of a test's own, for tests that change how AWS behaves (e.g. enforce auth).

use crate::env::TestEnv;
use crate::process::{Running, Stream};
use std::time::Duration;
use tokio::process::Command;

/// A private moto; killed when dropped.
pub struct OwnMoto {
    pub url: String,
    _process: Running,
}

impl OwnMoto {
    /// Starts `moto_server` on a free port with extra environment (e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT=0` to check every signature) and waits until it answers.
    pub async fn start(env: &[(&str, &str)]) -> OwnMoto {
        let mut cmd = Command::new(&TestEnv::get().moto_server);
        cmd.args(["-H", "127.0.0.1", "-p", "0"])
            .envs(env.iter().copied());
        let mut process = Running::spawn(cmd, "moto_server").expect("starting moto_server");
        let banner = process
            .wait_for_line(Duration::from_secs(30), |_: Stream, l| {
                l.contains("Running on http://127.0.0.1:")
            })
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let port: String = banner
            .split("http://127.0.0.1:")
            .nth(1)
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let url = format!("http://127.0.0.1:{port}");
        let http = crate::app::http_client();
        crate::poll::until("moto to answer", Duration::from_secs(30), || async {
            let resp = http.get(format!("{url}/moto-api/")).send().await.ok()?;
            resp.status().is_success().then_some(())
        })
        .await;
        OwnMoto {
            url,
            _process: process,
        }
    }
}
