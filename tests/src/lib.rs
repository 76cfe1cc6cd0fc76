//! End-to-end harness for team-vault: an in-process server per test with its own Postgres
//! database, the real `vault` binary in an isolated home, the dev IdP driven by `autologin.js`,
//! moto for AWS and the real AWS CLI reading the credentials.

pub mod app;
pub mod audit;
pub mod audit_api;
pub mod audit_seed;
pub mod audit_table;
pub mod aws;
pub mod bench;
pub mod browser;
pub mod ci_issuer;
pub mod cli;
pub mod clients;
pub mod config;
pub mod database;
pub mod db_roles;
pub mod endpoints;
pub mod env;
pub mod faults;
pub mod federation;
pub mod idp;
pub mod idp_admin;
pub mod jwt;
pub mod login;
pub mod logs;
pub mod moto;
pub mod oauth;
pub mod own_postgres;
pub mod owned_keys;
pub mod pg_activity;
pub mod poll;
pub mod process;

pub use app::{TestApp, TestAppBuilder};
pub use cli::Cli;
pub use config::ProfileSpec;
pub use oauth::{OAuthClient, Tokens};
pub use process::Output;

impl TestApp {
    /// A fresh developer machine pointed at this server.
    pub fn cli(&self) -> Cli {
        let mut cli = Cli::new(&self.url);
        cli.moto_url = self.moto_url.clone();
        cli
    }

    /// An OAuth client for this server.
    pub fn oauth(&self) -> OAuthClient {
        OAuthClient::new(&self.url)
    }
}
