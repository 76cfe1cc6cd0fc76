//! `vault admin revoke PRINCIPAL [--reason TEXT]`: ends every login of a principal on every
//! replica, drops its reusable CI sessions, and has the server deny its AWS sessions already issued.

use anyhow::Context;
use vault_api::admin::{RevokeRequest, RevokeResponse};

use crate::auth::Authenticator;
use crate::table::cell;

/// End a principal's access at once: every login on every replica, and its AWS sessions already issued.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Its display name: a person's email, a CI job's subject (`vault admin sessions` lists them)
    principal: String,
    /// Why, for the audit trail
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Also disable it, so it cannot log in again until `vault admin enable` (someone who left)
    #[arg(long)]
    disable: bool,
}

impl Cmd {
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        let body = RevokeRequest {
            principal: self.principal,
            reason: self.reason,
            disable: self.disable,
        };
        let answer: RevokeResponse = auth
            .post_json("v1/admin/revoke", &body)
            .await
            .with_context(|| format!("revoking {}", body.principal))?;
        crate::output::print_out(&said(&answer))
    }
}

/// `revoked alice@example.com: 2 login(s) ended`, then what the kill switch will deny where, and
/// plainly, any role whose policy cannot hold it.
fn said(answer: &RevokeResponse) -> String {
    let mut text = format!(
        "revoked {}: {} login(s) ended{}\n",
        cell(&answer.principal, 128),
        answer.logins_ended,
        if answer.disabled {
            "; disabled until `vault admin enable`"
        } else {
            ""
        }
    );
    if answer.source_identities.is_empty() {
        text.push_str(
            "AWS sessions already issued are not denied (a CI identity's jobs each carry their own \
             source identity); they end at their expiry. Run `vault admin disable` to refuse new ones.\n",
        );
        return text;
    }
    let who: Vec<String> = answer
        .source_identities
        .iter()
        .map(|s| cell(s, 64))
        .collect();
    text.push_str(&format!(
        "AWS sessions with source identity {} issued before {} will be denied on {} role(s); \
         `vault admin revocations` shows when each policy is in place.\n",
        who.join(", "),
        cell(&answer.revoked_at, 40),
        answer.roles.len()
    ));
    for refusal in &answer.too_large {
        text.push_str(&format!(
            "error: {}: {}\n",
            cell(&refusal.role, 128),
            cell(&refusal.message, 200)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use vault_api::admin::RoleRefusal;

    use super::*;

    fn answer() -> RevokeResponse {
        RevokeResponse {
            principal: "alice@example.com".into(),
            logins_ended: 2,
            disabled: false,
            revoked_at: "2026-12-02T10:00:00Z".into(),
            source_identities: vec!["alice".into()],
            roles: vec![
                "arn:aws:iam::1:role/a".into(),
                "arn:aws:iam::1:role/b".into(),
            ],
            too_large: Vec::new(),
        }
    }

    #[test]
    fn the_answer_names_the_principal_the_logins_ended_and_what_aws_will_deny() {
        assert_eq!(
            said(&answer()),
            "revoked alice@example.com: 2 login(s) ended\n\
             AWS sessions with source identity alice issued before 2026-12-02T10:00:00Z will be \
             denied on 2 role(s); `vault admin revocations` shows when each policy is in place.\n"
        );
    }

    #[test]
    fn a_role_whose_policy_cannot_hold_the_revocation_is_said_plainly() {
        let mut a = answer();
        a.too_large = vec![RoleRefusal {
            role: "arn:aws:iam::1:role/a".into(),
            message: "over IAM's 10240-character limit".into(),
        }];
        assert!(
            said(&a).ends_with("error: arn:aws:iam::1:role/a: over IAM's 10240-character limit\n")
        );
    }

    #[test]
    fn a_revoke_that_also_disabled_says_so_on_its_first_line() {
        let mut a = answer();
        a.disabled = true;
        assert!(said(&a).starts_with(
            "revoked alice@example.com: 2 login(s) ended; disabled until `vault admin enable`\n"
        ));
    }

    #[test]
    fn a_ci_identity_is_told_its_issued_sessions_run_to_expiry() {
        let mut a = answer();
        a.source_identities.clear();
        a.roles.clear();
        assert!(said(&a).contains("end at their expiry"), "{}", said(&a));
    }
}
