//! The AWS kill switch (issue 12) against moto with signature checking on: the server writes
//! one `team-vault-revocations` policy per served role through its own IAM identity. moto does
//! not evaluate `aws:SourceIdentity` or `aws:TokenIssueTime`, so the deny is checked through the
//! policy's content. The first test revokes through the admin route; the others record
//! revocations with the server's own SQL (`vault_server::db::revocations`), as
//! `Revocations::record` does, to set times and people freely.

use std::time::Duration;

use serde_json::{json, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;
use vault_e2e::owned_keys::{iam::broker_policy, KeyBed};
use vault_server::db::revocations::{self, Revocation};

const POLICY: &str = "team-vault-revocations";
/// The default profiles' roles.
const ROLES: [&str; 3] = ["team-dev", "team-ops", "team-admin"];

/// A principal of the test's own, revoked at `at` (what the revoke route records).
async fn revoke(bed: &KeyBed, source_identity: &str, at: OffsetDateTime) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO principals (id, kind, issuer, subject, display, created_at, last_seen_at)
         VALUES ($1, 'user', 'e2e', $2, $2, now(), now())",
    )
    .bind(id)
    .bind(source_identity)
    .execute(bed.db())
    .await
    .expect("inserting a principal");
    let row = Revocation {
        principal_id: id,
        source_identity: source_identity.into(),
        revoked_at: at,
        reason: "left the company".into(),
        revoked_by: "admin".into(),
    };
    revocations::upsert(bed.db(), &row).await.expect("upsert");
    let arns: Vec<String> = ROLES
        .iter()
        .map(|r| format!("arn:aws:iam::123456789012:role/{r}"))
        .collect();
    revocations::mark_pending(bed.db(), &arns, OffsetDateTime::now_utc())
        .await
        .expect("mark_pending");
    id
}

/// The statement the policy must hold for one person.
fn deny(id: Uuid, source_identity: &str, at: OffsetDateTime) -> Value {
    // Rounded up to whole seconds, as IAM's condition compares them.
    let whole = at.replace_nanosecond(0).unwrap();
    let at = if whole == at {
        whole
    } else {
        whole + time::Duration::SECOND
    };
    json!({
        "Sid": format!("TeamVaultRevoked{}", id.simple()),
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceIdentity": source_identity},
            "DateLessThan": {"aws:TokenIssueTime": at.format(&Rfc3339).unwrap()},
        },
    })
}

/// Waits (bounded) until every served role's policy has exactly `statements`.
async fn until_every_role_holds(bed: &KeyBed, statements: &[Value]) {
    let want = json!({"Version": "2012-10-17", "Statement": statements});
    for role in ROLES {
        vault_e2e::poll::until(
            &format!("{role}'s {POLICY} to hold {want}"),
            Duration::from_secs(30),
            || async {
                let doc = bed.iam().role_policy(role, POLICY).await?;
                let doc: Value = serde_json::from_str(&doc).expect("a JSON policy");
                (doc == want).then_some(())
            },
        )
        .await;
    }
}

#[tokio::test]
async fn revoking_alice_through_the_admin_route_denies_her_issued_sessions_on_every_served_role() {
    let bed = KeyBed::builder().start().await;
    let server = bed.serve("replica-a").await;
    let client = vault_e2e::oauth::OAuthClient::new(&server.url);
    let admin = bed.token(&server, "admin").await;
    let alice = bed.token(&server, "alice").await;
    client.credentials(&alice, "dev").await;
    let issued = bed.audit_rows_for("credentials_issue").await;
    let source_identity = issued[0]["source_identity"]
        .as_str()
        .expect("the issued session's source identity")
        .to_owned();

    let resp = client
        .post_json(
            &admin,
            "/v1/admin/revoke",
            &json!({"principal": "alice@example.com", "reason": "laptop stolen"}),
        )
        .await;
    let status = resp.status();
    let body: Value = resp.json().await.expect("a JSON answer");
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["source_identities"],
        json!([source_identity]),
        "{body:#}"
    );
    assert_eq!(body["roles"].as_array().map(Vec::len), Some(ROLES.len()));
    assert_eq!(body["too_large"], json!([]));
    let at = OffsetDateTime::parse(body["revoked_at"].as_str().unwrap(), &Rfc3339).unwrap();
    let alice_id: Uuid = issued[0]["principal_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("alice's principal id");
    until_every_role_holds(&bed, &[deny(alice_id, &source_identity, at)]).await;

    let revoke = bed.audit_rows_for("principal_revoke").await;
    assert_eq!(revoke.len(), 1, "{revoke:#?}");
    assert_eq!(
        revoke[0]["details"]["source_identities"],
        json!([source_identity])
    );
    assert_eq!(revoke[0]["reason"], "laptop stolen");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT reason, revoked_by FROM revocations WHERE principal_id = $1")
            .bind(alice_id)
            .fetch_all(bed.db())
            .await
            .expect("reading revocations");
    assert_eq!(
        rows,
        [("laptop stolen".to_owned(), "admin@example.com".to_owned())]
    );

    // The CLI's view of the same: one applied row per role, with her source identity.
    let cli = vault_e2e::Cli::new(&server.url);
    cli.login_browser("admin").await;
    let out = vault_e2e::poll::until(
        "vault admin revocations to show every role applied",
        Duration::from_secs(30),
        || async {
            let out = cli.run(&["admin", "revocations"]).await;
            out.assert_success("vault admin revocations");
            (out.stdout.matches("applied").count() == ROLES.len()).then_some(out)
        },
    )
    .await;
    for role in ROLES {
        let line = out.stdout.lines().find(|l| l.starts_with(role));
        let line = line.unwrap_or_else(|| panic!("a row for {role}:\n{out}"));
        assert!(line.contains(&source_identity), "{line}");
        assert!(line.contains("admin@example.com"), "{line}");
    }
}

#[tokio::test]
async fn a_revoked_person_is_denied_on_every_served_role_by_source_identity_and_time() {
    let bed = KeyBed::builder().start().await;
    let _server = bed.serve("replica-a").await;
    let at = OffsetDateTime::now_utc();
    let alice = revoke(&bed, "alice", at).await;
    until_every_role_holds(&bed, &[deny(alice, "alice", at)]).await;
    let applied = bed.audit_rows_for("revocation_apply").await;
    assert_eq!(applied.len(), ROLES.len(), "{applied:#?}");
    assert!(
        applied.iter().all(|r| r["outcome"] == "success"),
        "{applied:#?}"
    );
}

#[tokio::test]
async fn a_second_revocation_is_merged_into_the_same_policy_on_every_role() {
    let bed = KeyBed::builder().start().await;
    let _server = bed.serve("replica-a").await;
    let first = OffsetDateTime::now_utc();
    let alice = revoke(&bed, "alice", first).await;
    until_every_role_holds(&bed, &[deny(alice, "alice", first)]).await;
    let second = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let bob = revoke(&bed, "bob", second).await;
    let mut both = [deny(alice, "alice", first), deny(bob, "bob", second)];
    both.sort_by_key(|s| s["Sid"].as_str().unwrap_or_default().to_owned());
    until_every_role_holds(&bed, &both).await;
}

#[tokio::test]
async fn a_statement_whose_window_has_passed_is_pruned_and_the_empty_policy_deleted() {
    let bed = KeyBed::builder().start().await;
    let _server = bed.serve("replica-a").await;
    // The profiles' sessions last at most 1 h: a revocation 1 h minus 15 s ago expires in 15 s
    // (long enough for the first put, which the worker's 5 s poll may delay).
    let at = OffsetDateTime::now_utc() - time::Duration::seconds(3600 - 15);
    let alice = revoke(&bed, "alice", at).await;
    until_every_role_holds(&bed, &[deny(alice, "alice", at)]).await;
    for role in ROLES {
        vault_e2e::poll::until(
            &format!("{role}'s {POLICY} to be deleted"),
            Duration::from_secs(30),
            || async {
                bed.iam()
                    .role_policy(role, POLICY)
                    .await
                    .is_none()
                    .then_some(())
            },
        )
        .await;
    }
    let deletes = bed.audit_rows_for("revocation_apply").await;
    assert!(
        deletes
            .iter()
            .filter(|r| r["details"]["action"] == "delete")
            .count()
            >= ROLES.len(),
        "{deletes:#?}"
    );
}

#[tokio::test]
async fn a_put_role_policy_refusal_is_audited_and_retried_until_it_succeeds() {
    let bed = KeyBed::builder().deny(&["iam:PutRolePolicy"]).start().await;
    let _server = bed.serve("replica-a").await;
    let at = OffsetDateTime::now_utc();
    let alice = revoke(&bed, "alice", at).await;
    let failures = vault_e2e::poll::until(
        "two revocation_apply failures",
        Duration::from_secs(30),
        || async {
            let rows: Vec<_> = bed
                .audit_rows_for("revocation_apply")
                .await
                .into_iter()
                .filter(|r| r["outcome"] == "failure")
                .collect();
            (rows.len() >= 2).then_some(rows)
        },
    )
    .await;
    for f in &failures {
        let reason = f["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("AccessDenied"), "{f:#}");
        assert_eq!(f["details"]["step"], "merged", "{f:#}");
    }
    assert!(bed.iam().role_policy(ROLES[0], POLICY).await.is_none());
    bed.iam().set_broker_policy(&broker_policy(&[])).await;
    until_every_role_holds(&bed, &[deny(alice, "alice", at)]).await;
}

/// The steps of the served roles' rows, by role ARN order.
async fn role_steps(bed: &KeyBed) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT step, attempts FROM revocation_roles ORDER BY role_arn")
        .fetch_all(bed.db())
        .await
        .expect("reading revocation_roles")
}

#[tokio::test]
async fn a_replica_killed_between_merge_and_put_leaves_the_step_for_the_next_replica_to_finish() {
    let bed = KeyBed::builder().deny(&["iam:PutRolePolicy"]).start().await;
    let mut first = bed.serve("replica-a").await;
    let at = OffsetDateTime::now_utc();
    let alice = revoke(&bed, "alice", at).await;
    // Every role merged (its document stored) and its put refused at least once.
    vault_e2e::poll::until(
        "every role to be merged with a failed put",
        Duration::from_secs(30),
        || async {
            let steps = role_steps(&bed).await;
            (steps.len() == ROLES.len() && steps.iter().all(|(s, a)| s == "merged" && *a >= 1))
                .then_some(())
        },
    )
    .await;
    first.kill9().await;
    for role in ROLES {
        assert!(
            bed.iam().role_policy(role, POLICY).await.is_none(),
            "{role}"
        );
    }
    bed.iam().set_broker_policy(&broker_policy(&[])).await;
    let _second = bed.serve("replica-b").await;
    until_every_role_holds(&bed, &[deny(alice, "alice", at)]).await;
    vault_e2e::poll::until(
        "every role to be applied",
        Duration::from_secs(30),
        || async {
            let steps = role_steps(&bed).await;
            steps.iter().all(|(s, _)| s == "applied").then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn the_admin_list_shows_each_role_applied_with_the_statement_and_its_expiry_and_refuses_others(
) {
    let bed = KeyBed::builder().start().await;
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    let alice_token = bed.token(&server, "alice").await;
    let at = OffsetDateTime::now_utc();
    let alice = revoke(&bed, "alice", at).await;
    until_every_role_holds(&bed, &[deny(alice, "alice", at)]).await;
    let client = vault_e2e::oauth::OAuthClient::new(&server.url);
    let list: Vec<vault_api::revocations::RoleRevocations> = vault_e2e::poll::until(
        "every role listed as applied",
        Duration::from_secs(30),
        || async {
            let resp = client.get(&admin, "/v1/admin/revocations").await;
            assert_eq!(resp.status(), 200);
            let list: Vec<vault_api::revocations::RoleRevocations> =
                resp.json().await.expect("a JSON list");
            list.iter().all(|r| r.step == "applied").then_some(list)
        },
    )
    .await;
    assert_eq!(list.len(), ROLES.len(), "{list:#?}");
    // Postgres keeps microseconds.
    let micros = at
        .replace_nanosecond(at.nanosecond() / 1000 * 1000)
        .unwrap();
    let expires = (micros + time::Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    for role in &list {
        assert_eq!(role.statements.len(), 1, "{role:#?}");
        let s = &role.statements[0];
        assert_eq!(s.principal_id, alice.to_string());
        assert_eq!(s.source_identity, "alice");
        assert_eq!(s.reason, "left the company");
        assert_eq!(s.expires_at, expires, "{role:#?}");
    }
    let refused = client.get(&alice_token, "/v1/admin/revocations").await;
    assert_eq!(refused.status(), 403);
}
