//! `vault admin …`: the server's own IAM keys and people's logins (`/v1/admin/*`, admins only).
//! The key table lives in `keys`, starting a rotation in `rotate`, the live logins in `sessions`,
//! disabling and enabling a principal in `access`, ending its access in `revoke`, the AWS
//! kill switch in force in `revocations`;
//! the errors they all explain alike live here.

pub mod access;
pub mod keys;
pub mod revocations;
pub mod revoke;
pub mod rotate;
pub mod sessions;

use clap::{Parser, Subcommand};

use crate::auth::Authenticator;
use crate::config::ServerUrl;
use crate::error::UserError;
use crate::http::{ApiError, Http};
use crate::store::Store;

/// Look after the IAM keys the server itself signs with (admins only).
#[derive(Debug, Parser)]
pub struct Cmd {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Show each identity's active key, its age, the last rotation and when the next is due
    Keys(keys::Cmd),
    /// Rotate now: one identity's key (--identity), or every identity's
    Rotate(rotate::Cmd),
    /// Show the live logins: who, since when, last refresh, from where, and their session ids
    Sessions(sessions::Cmd),
    /// Disable a principal: no login, refresh or credentials, whatever its IdP groups say, until enabled
    Disable(access::Cmd),
    /// Enable a disabled principal again
    Enable(access::Cmd),
    /// End a principal's access at once: every login on every replica, and its AWS sessions already issued
    Revoke(revoke::Cmd),
    /// Show the AWS sessions denied on each served role, and when each denial expires
    Revocations(revocations::Cmd),
}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let http = Http::new(&server)?;
        let auth = Authenticator::new(&http, &store);
        let result = match self.action {
            Action::Keys(cmd) => cmd.run(&auth).await,
            Action::Rotate(cmd) => cmd.run(&auth).await,
            Action::Sessions(cmd) => cmd.run(&auth).await,
            Action::Disable(cmd) => cmd.run(&auth, true).await,
            Action::Enable(cmd) => cmd.run(&auth, false).await,
            Action::Revoke(cmd) => cmd.run(&auth).await,
            Action::Revocations(cmd) => cmd.run(&auth).await,
        };
        result.map_err(|err| explain(err, &server))
    }
}

/// Says why an admin request was refused in terms of what to do about it.
fn explain(err: anyhow::Error, server: &ServerUrl) -> anyhow::Error {
    match err.downcast_ref::<ApiError>() {
        Some(ApiError::Forbidden { message }) => UserError::new(message.clone())
            .hint("admin commands need membership in one of the server's admin groups (`admin_groups` in its config); `vault whoami` shows your groups")
            .into(),
        Some(ApiError::Status { status: 404, code: Some(code), message }) if code == "no_owned_keys" => {
            UserError::new(message.clone()).into()
        }
        Some(ApiError::Status { status: 404, code: Some(code), message }) if code == "unknown_identity" => {
            UserError::new(message.clone())
                .hint("`vault admin keys` lists the server's identities")
                .into()
        }
        Some(ApiError::Status { status: 404, code: Some(code), message }) if code == "unknown_principal" => {
            UserError::new(message.clone())
                .hint("`vault admin sessions` lists the principals with live logins")
                .into()
        }
        Some(ApiError::Status { status: 404, .. }) => {
            UserError::new(format!("the server at {server} has no admin keys API"))
                .hint("`vault admin` needs a team-vault server with the admin keys API; ask for the server to be upgraded")
                .into()
        }
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ServerUrl {
        ServerUrl::parse("https://vault.example.com").unwrap()
    }

    fn not_found(code: Option<&str>, message: &str) -> anyhow::Error {
        ApiError::Status {
            status: 404,
            code: code.map(String::from),
            message: message.into(),
        }
        .into()
    }

    #[test]
    fn keys_and_rotate_are_the_subcommands() {
        assert!(matches!(
            Cmd::try_parse_from(["admin", "keys", "--json"])
                .unwrap()
                .action,
            Action::Keys(_)
        ));
        assert!(matches!(
            Cmd::try_parse_from(["admin", "rotate", "--identity", "broker"])
                .unwrap()
                .action,
            Action::Rotate(_)
        ));
        assert!(Cmd::try_parse_from(["admin"]).is_err());
    }

    #[test]
    fn a_refusal_reads_as_the_servers_message_with_a_hint_about_admin_groups() {
        let err: anyhow::Error = ApiError::Forbidden {
            message: "only members of the admin groups [ops] may see the server's keys".into(),
        }
        .into();
        let err = explain(err, &server());
        assert_eq!(
            err.to_string(),
            "only members of the admin groups [ops] may see the server's keys"
        );
        let hint = crate::error::hint(&err, &[]).unwrap();
        assert!(hint.contains("admin groups"), "{hint}");
    }

    #[test]
    fn a_server_without_owned_keys_says_so_in_its_own_words() {
        let message = "this server owns no IAM keys (no [[identities]] configured); it uses ambient credentials";
        let err = explain(not_found(Some("no_owned_keys"), message), &server());
        assert_eq!(err.to_string(), message);
        assert_eq!(crate::error::hint(&err, &[]), None);
    }

    #[test]
    fn an_unknown_identity_points_at_the_list_of_identities() {
        let err = explain(
            not_found(Some("unknown_identity"), "no identity named `nope`"),
            &server(),
        );
        assert_eq!(err.to_string(), "no identity named `nope`");
        assert!(crate::error::hint(&err, &[])
            .unwrap()
            .contains("vault admin keys"));
    }

    #[test]
    fn a_server_without_the_admin_api_is_named_as_such() {
        let err = explain(not_found(None, "Not Found"), &server());
        assert_eq!(
            err.to_string(),
            "the server at https://vault.example.com has no admin keys API"
        );
    }
}
