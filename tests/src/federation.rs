//! The stand-in for the AWS federation endpoint (`deploy/local/federation_standin.py`): what it
//! received, and moto's own record of a session, to compare with it.

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::TestApp;

/// A console sign-in URL taken apart: its address before the query, and its query pairs.
#[derive(Debug)]
pub struct SignInUrl {
    pub endpoint: String,
    pub query: HashMap<String, String>,
}

impl SignInUrl {
    /// Parses a URL the CLI printed or handed to the browser; panics when it is not one.
    pub fn parse(text: &str) -> SignInUrl {
        let url = url::Url::parse(text.trim()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let query = url.query_pairs().into_owned().collect();
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        SignInUrl {
            endpoint: endpoint.to_string(),
            query,
        }
    }

    /// One query parameter (panics when missing).
    pub fn get(&self, name: &str) -> &str {
        self.query
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {self:?}"))
    }
}

/// SHA-256 of `text`, in hex (how the stand-in records a session's key and token).
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl TestApp {
    /// Everything the test bed's stand-in received, oldest first.
    pub async fn federation_received(&self) -> Vec<Value> {
        let base = self.env.federation_url.trim_end_matches("/federation");
        self.http
            .get(format!("{base}/received"))
            .send()
            .await
            .expect("the federation stand-in answers")
            .json()
            .await
            .expect("the stand-in's records are JSON")
    }

    /// The stand-in's `getSigninToken` records for the session with this access key id.
    pub async fn signin_token_requests(&self, access_key_id: &str) -> Vec<Value> {
        self.federation_received()
            .await
            .into_iter()
            .filter(|r| r["action"] == "getSigninToken" && r["session_id"] == access_key_id)
            .collect()
    }

    /// Whether the stand-in ever saw a session of one of this test's roles.
    pub async fn federation_saw_this_account(&self) -> bool {
        let account = format!("::{}:", self.account_id);
        self.federation_received().await.iter().any(|r| {
            r["caller_arn"]
                .as_str()
                .unwrap_or_default()
                .contains(&account)
        })
    }

    /// moto's record of the assumed-role session with this access key id (its `secret_access_key`,
    /// `session_token`, `arn`, ...), from moto's state dump.
    pub async fn moto_session(&self, access_key_id: &str) -> Value {
        let state: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.moto_url))
            .send()
            .await
            .expect("moto answers")
            .json()
            .await
            .expect("moto's state is JSON");
        state["sts"]["AssumedRole"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["access_key_id"] == access_key_id)
            .cloned()
            .unwrap_or_else(|| panic!("moto knows no assumed-role session {access_key_id}"))
    }
}
