//! `vault admin rotate [--identity NAME]`: asks the server to rotate now; its rotating replica
//! carries the rotation out step by step.

use anyhow::Context;
use serde_json::{json, Value};
use vault_api::admin::RotateResponse;

use crate::auth::Authenticator;
use crate::table::cell;

/// Start a rotation now for one identity's key, or every identity's; `vault admin keys` follows it.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// The identity whose key to rotate (default: every identity)
    #[arg(long, value_name = "NAME")]
    identity: Option<String>,
}

impl Cmd {
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        let answer: RotateResponse = auth
            .post_json("v1/admin/rotate", &body(self.identity.as_deref()))
            .await
            .context("starting a rotation")?;
        if answer.identities.is_empty() {
            eprintln!("No rotation was started: the server lists no identities.");
            return Ok(());
        }
        crate::output::print_out(&started(&answer))?;
        eprintln!("hint: `vault admin keys` shows its progress");
        Ok(())
    }
}

/// `{"identity": NAME}`, or `{}` for every identity.
fn body(identity: Option<&str>) -> Value {
    match identity {
        Some(name) => json!({ "identity": name }),
        None => json!({}),
    }
}

/// `rotation started for: broker, ci`.
fn started(answer: &RotateResponse) -> String {
    let names: Vec<String> = answer.identities.iter().map(|n| cell(n, 64)).collect();
    format!("rotation started for: {}\n", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ci::Secret;
    use crate::http::Http;

    #[test]
    fn the_body_names_the_identity_or_is_empty_for_all() {
        assert_eq!(body(Some("broker")).to_string(), r#"{"identity":"broker"}"#);
        assert_eq!(body(None).to_string(), "{}");
    }

    #[test]
    fn the_started_identities_are_listed_on_one_line() {
        let one = RotateResponse {
            identities: vec!["broker".into()],
        };
        assert_eq!(started(&one), "rotation started for: broker\n");
        let two = RotateResponse {
            identities: vec!["broker".into(), "ci".into()],
        };
        assert_eq!(started(&two), "rotation started for: broker, ci\n");
    }

    #[tokio::test]
    async fn rotate_posts_the_body_with_the_bearer_token() {
        let (base, server) =
            crate::test_server::one_shot("200 OK", r#"{"identities":["broker"]}"#).await;
        let url = crate::config::ServerUrl::parse(&base).unwrap();
        let http = Http::new(&url).unwrap();
        let auth = Authenticator::ci(&http, Secret::new("tok"));
        let answer: RotateResponse = auth
            .post_json("v1/admin/rotate", &body(Some("broker")))
            .await
            .unwrap();
        assert_eq!(answer.identities, ["broker"]);
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /v1/admin/rotate "), "{request}");
        assert!(request.to_lowercase().contains("authorization: bearer tok"));
        assert!(request.ends_with(r#"{"identity":"broker"}"#), "{request}");
    }
}
