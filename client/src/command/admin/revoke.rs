//! `vault admin revoke PRINCIPAL [--reason TEXT]`: ends every login of a principal on every
//! replica and drops its reusable CI sessions.

use anyhow::Context;
use vault_api::admin::{RevokeRequest, RevokeResponse};

use crate::auth::Authenticator;
use crate::table::cell;

/// End every login of a principal at once, on every replica.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Its display name: a person's email, a CI job's subject (`vault admin sessions` lists them)
    principal: String,
    /// Why, for the audit trail
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

impl Cmd {
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        let body = RevokeRequest {
            principal: self.principal,
            reason: self.reason,
        };
        let answer: RevokeResponse = auth
            .post_json("v1/admin/revoke", &body)
            .await
            .with_context(|| format!("revoking {}", body.principal))?;
        crate::output::print_out(&said(&answer))
    }
}

/// `revoked alice@example.com: 2 login(s) ended`.
fn said(answer: &RevokeResponse) -> String {
    format!(
        "revoked {}: {} login(s) ended\n",
        cell(&answer.principal, 128),
        answer.logins_ended
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_names_the_principal_and_how_many_logins_ended() {
        let answer = RevokeResponse {
            principal: "alice@example.com".into(),
            logins_ended: 2,
        };
        assert_eq!(
            said(&answer),
            "revoked alice@example.com: 2 login(s) ended\n"
        );
    }
}
