//! `vault admin disable PRINCIPAL` and `vault admin enable PRINCIPAL`: turn a principal's access
//! off (no login, refresh or credentials, whatever its IdP groups say) and on again.

use anyhow::Context;
use vault_api::admin::{PrincipalRequest, PrincipalStateResponse};

use crate::auth::Authenticator;
use crate::table::cell;

/// The principal to disable or enable.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Its display name: a person's email, a CI job's subject (`vault admin sessions` lists them)
    principal: String,
}

impl Cmd {
    /// Disables the principal (`disable`) or enables it again.
    pub async fn run(self, auth: &Authenticator<'_>, disable: bool) -> anyhow::Result<()> {
        let path = if disable {
            "v1/admin/principals/disable"
        } else {
            "v1/admin/principals/enable"
        };
        let body = PrincipalRequest {
            principal: self.principal,
        };
        let answer: PrincipalStateResponse =
            auth.post_json(path, &body).await.with_context(|| {
                format!(
                    "{} {}",
                    if disable { "disabling" } else { "enabling" },
                    body.principal
                )
            })?;
        crate::output::print_out(&said(&answer))
    }
}

/// What the change means, in one line.
fn said(answer: &PrincipalStateResponse) -> String {
    let who = cell(&answer.principal, 128);
    if answer.disabled {
        format!(
            "{who} is disabled: no login, refresh or credentials until `vault admin enable` ({} live login(s) kept but refused)\n",
            answer.live_sessions
        )
    } else {
        format!("{who} is enabled again\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabling_says_what_stops_and_how_to_undo_it() {
        let answer = PrincipalStateResponse {
            principal: "alice@example.com".into(),
            disabled: true,
            live_sessions: 2,
        };
        let text = said(&answer);
        assert!(text.starts_with("alice@example.com is disabled"), "{text}");
        assert!(text.contains("vault admin enable"), "{text}");
        assert!(text.contains("2 live login(s)"), "{text}");
    }
}
