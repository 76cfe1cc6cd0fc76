//! `vault admin revocations [--json]`: the kill switch in force, per served role: how far its
//! policy has come, and each person it denies with the time the statement expires.

use anyhow::Context;
use vault_api::revocations::RoleRevocations;

use crate::auth::Authenticator;
use crate::table::{self, cell, cell_or_dash, display_time};

const HEADER: [&str; 7] = [
    "ROLE",
    "STEP",
    "SOURCE IDENTITY",
    "DENIES BEFORE",
    "EXPIRES",
    "BY",
    "LAST ERROR",
];
/// Longest cells shown in the table; `--json` has everything.
const MAX_NAME: usize = 64;
const MAX_ERROR: usize = 60;

/// Show what the kill switch denies on each served role, and when each statement expires.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Print the server's list as JSON instead of a table
    #[arg(long)]
    json: bool,
}

impl Cmd {
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<()> {
        let roles: Vec<RoleRevocations> = auth
            .get("v1/admin/revocations")
            .await
            .context("reading the revocations in force")?;
        crate::output::print_listing(&roles, self.json, "The server serves no roles.", render)
    }
}

/// One row per statement in force (a role with none has one row of dashes), under a header.
fn render(roles: &[RoleRevocations]) -> String {
    let mut rows = vec![table::header(&HEADER)];
    for role in roles {
        let step = match role.attempts {
            0 => cell(&role.step, 16),
            n => format!("{} (failed {n}x)", cell(&role.step, 16)),
        };
        let error = cell_or_dash(role.last_error.as_deref(), MAX_ERROR);
        let name = cell(short_role(&role.role_arn), MAX_NAME);
        if role.statements.is_empty() {
            rows.push(vec![
                name,
                step,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                error,
            ]);
            continue;
        }
        for s in &role.statements {
            rows.push(vec![
                name.clone(),
                step.clone(),
                cell(&s.source_identity, MAX_NAME),
                display_time(&s.revoked_at),
                display_time(&s.expires_at),
                cell(&s.revoked_by, MAX_NAME),
                error.clone(),
            ]);
        }
    }
    table::render(&rows)
}

/// `team-dev` for `arn:aws:iam::123456789012:role/team-dev` (the whole ARN if it has no `role/`).
fn short_role(arn: &str) -> &str {
    arn.split_once(":role/").map_or(arn, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use vault_api::revocations::RevokedStatement;

    use super::*;

    fn role(name: &str, statements: Vec<RevokedStatement>) -> RoleRevocations {
        RoleRevocations {
            role_arn: format!("arn:aws:iam::123456789012:role/{name}"),
            step: "applied".into(),
            attempts: 0,
            last_error: None,
            applied_at: Some("2026-12-02T10:00:05Z".into()),
            statements,
        }
    }

    fn alice() -> RevokedStatement {
        RevokedStatement {
            principal_id: "7f3c".into(),
            source_identity: "alice".into(),
            revoked_at: "2026-12-02T10:00:00.123Z".into(),
            expires_at: "2026-12-02T11:00:00.123Z".into(),
            reason: "left".into(),
            revoked_by: "admin@example.com".into(),
        }
    }

    #[test]
    fn each_statement_is_a_row_with_its_role_times_and_who_revoked() {
        let text = render(&[role("team-dev", vec![alice()])]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("ROLE"), "{text}");
        for want in [
            "team-dev",
            "applied",
            "alice",
            "2026-12-02T10:00:00Z",
            "2026-12-02T11:00:00Z",
            "admin@example.com",
        ] {
            assert!(lines[1].contains(want), "{want} in {text}");
        }
    }

    #[test]
    fn a_role_with_nothing_in_force_and_a_failing_step_shows_the_failures() {
        let mut r = role("team-ops", Vec::new());
        r.step = "merged".into();
        r.attempts = 3;
        r.last_error = Some("AccessDenied: not allowed".into());
        let text = render(&[r]);
        assert!(text.contains("merged (failed 3x)"), "{text}");
        assert!(text.contains("AccessDenied: not allowed"), "{text}");
    }
}
