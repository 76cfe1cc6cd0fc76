//! `vault audit`: from a CloudTrail access key to the person in one command and back, and
//! `vault audit verify` as an admin's tamper check.

use vault_api::audit::AuditEventView;
use vault_e2e::audit_api::parse_ndjson;
use vault_e2e::TestApp;

fn json_lines(stdout: &str) -> Vec<AuditEventView> {
    parse_ndjson(stdout)
}

#[tokio::test]
async fn an_admin_finds_the_person_behind_an_access_key_and_back_in_one_command_each() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let bob = oauth.login("bob").await.access_token;
    let key = oauth.credentials(&alice, "dev").await.access_key_id;
    let other = oauth.credentials(&bob, "dev").await.access_key_id;
    let admin = app.cli();
    admin.login_browser("admin").await;

    // CloudTrail shows an access key: who was it?
    let out = admin.run(&["audit", "--access-key", &key, "--json"]).await;
    out.assert_success("vault audit --access-key --json");
    let events = json_lines(&out.stdout);
    assert_eq!(events.len(), 1, "{out}");
    let issue = &events[0];
    assert_eq!(
        issue.principal.as_deref(),
        Some("alice@example.com"),
        "{issue:#?}"
    );
    assert_eq!(issue.action, "credentials_issue");
    assert_eq!(issue.profile.as_deref(), Some("dev"));
    assert_eq!(
        issue.role_arn.as_deref(),
        Some(app.role_arn("dev").as_str())
    );
    let session_name = issue.session_name.clone().expect("a session name");

    // And back: which keys did alice get?
    let out = admin
        .run(&[
            "audit",
            "--principal",
            "alice@example.com",
            "--action",
            "credentials_issue",
        ])
        .await;
    out.assert_success("vault audit --principal --action");
    assert!(
        out.stdout.contains(&key),
        "alice's key is not listed:\n{out}"
    );
    assert!(out.stdout.contains("alice@example.com"), "{out}");
    assert!(
        !out.stdout.contains(&other),
        "bob's key is listed for alice:\n{out}"
    );
    for column in ["TIME", "PRINCIPAL", "ACTION", "PROFILE", "OUTCOME"] {
        assert!(out.stdout.contains(column), "no {column} column:\n{out}");
    }

    // CloudTrail's session name leads to the same person.
    let out = admin
        .run(&[
            "audit",
            "--session-name",
            &session_name,
            "--action",
            "credentials_issue",
            "--json",
        ])
        .await;
    out.assert_success("vault audit --session-name --json");
    let keys: Vec<Option<String>> = json_lines(&out.stdout)
        .into_iter()
        .map(|e| e.access_key_id)
        .collect();
    assert_eq!(keys, [Some(key.clone())], "{out}");

    // The export holds the same issue event.
    let out = admin.run(&["audit", "export", "--since", "1h"]).await;
    out.assert_success("vault audit export");
    let exported = json_lines(&out.stdout);
    assert!(
        exported.iter().any(|e| e == issue),
        "the export lacks the issue:\n{out}"
    );
    assert!(
        exported.windows(2).all(|w| w[0].chain_seq < w[1].chain_seq),
        "not oldest first"
    );

    // A non-admin is refused with a hint, and gets no events.
    let alice_cli = app.cli();
    alice_cli.login_browser("alice").await;
    let out = alice_cli
        .run(&["audit", "--access-key", &key, "--json"])
        .await;
    out.assert_failure("vault audit as a non-admin");
    assert!(out.stderr.contains("admin groups"), "{out}");
    assert!(!out.stdout.contains(&key), "{out}");
}

/// A server where alice was issued two sessions (returns the first one's key), and the CLI of
/// a logged-in admin.
async fn two_issues_and_an_admin() -> (TestApp, String, vault_e2e::Cli) {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let key = oauth.credentials(&alice, "dev").await.access_key_id;
    oauth.credentials(&alice, "dev").await;
    let admin = app.cli();
    admin.login_browser("admin").await;
    (app, key, admin)
}

#[tokio::test]
async fn vault_audit_verify_prints_ok_and_after_tampering_exits_1_naming_the_broken_event() {
    let (app, key, admin) = two_issues_and_an_admin().await;

    let out = admin.run(&["audit", "verify"]).await;
    out.assert_success("vault audit verify");
    assert!(out.stdout.starts_with("chain OK: "), "{out}");
    assert!(out.stdout.contains("(seq 1.."), "{out}");

    let (seq, id): (i64, String) =
        sqlx::query_as("SELECT chain_seq, id::text FROM audit_events WHERE access_key_id = $1")
            .bind(&key)
            .fetch_one(&app.db)
            .await
            .unwrap();
    app.tamper(&format!(
        "UPDATE audit_events SET access_key_id = 'ASIAOTHEROTHER000000' WHERE chain_seq = {seq}"
    ))
    .await;

    let out = admin.run(&["audit", "verify"]).await;
    assert_eq!(out.code(), Some(1), "{out}");
    let line = out.stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with(&format!("chain BROKEN at event {seq} ({id}): ")),
        "{out}"
    );
    assert!(line.contains("changed"), "{out}");
    // The range before the edit is still intact.
    let out = admin
        .run(&["audit", "verify", "--to-seq", &(seq - 1).to_string()])
        .await;
    out.assert_success("vault audit verify --to-seq");
    assert!(out.stdout.starts_with("chain OK: "), "{out}");
}

/// The `anchor SEQ:HASH` line `vault audit verify` printed.
fn anchor_line(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("anchor "))
        .unwrap_or_else(|| panic!("no anchor line in:\n{stdout}"))
        .to_owned()
}

/// After tampering with the chain consistently: plain `vault audit verify` passes, and the same
/// with `--anchor` reports the chain intact but exits 1. Returns the latter's output.
async fn anchor_refused(admin: &vault_e2e::Cli, anchor: &str, what: &str) -> vault_e2e::Output {
    let out = admin.run(&["audit", "verify"]).await;
    out.assert_success(&format!("vault audit verify of {what}"));
    let out = admin.run(&["audit", "verify", "--anchor", anchor]).await;
    assert_eq!(out.code(), Some(1), "{what}: {out}");
    assert!(out.stdout.starts_with("chain OK: "), "{what}: {out}");
    out
}

#[tokio::test]
async fn a_history_rewritten_with_every_hash_recomputed_passes_verify_but_fails_its_anchor() {
    let (app, key, admin) = two_issues_and_an_admin().await;

    // The admin records the anchor somewhere the database owner cannot reach.
    let out = admin.run(&["audit", "verify"]).await;
    out.assert_success("vault audit verify");
    let anchor = anchor_line(&out.stdout);
    let (anchor_seq, _) = anchor.split_once(':').unwrap();
    let out = admin.run(&["audit", "verify", "--anchor", &anchor]).await;
    out.assert_success("vault audit verify --anchor, untouched");
    assert!(
        out.stdout.contains(&format!("anchor {anchor_seq} OK")),
        "{out}"
    );

    // Someone with the owner's rights edits alice's issue and recomputes every hash after it.
    let seq: i64 =
        sqlx::query_scalar("SELECT chain_seq FROM audit_events WHERE access_key_id = $1")
            .bind(&key)
            .fetch_one(&app.db)
            .await
            .unwrap();
    app.tamper(&format!(
        "UPDATE audit_events SET principal = 'bob@example.com' WHERE chain_seq = {seq}"
    ))
    .await;
    app.rechain_from(seq).await;
    let out = anchor_refused(&admin, &anchor, "a consistently rewritten chain").await;
    assert!(
        out.stdout.contains(&format!(
            "anchor {anchor_seq} MISMATCH: the event at {anchor_seq} now hashes to"
        )),
        "{out}"
    );
    assert!(out.stderr.contains("hint: "), "{out}");

    // Rewinding the chain to before the anchor (deleting the newest events, head moved back)
    // is just as consistent, and just as visible. (Each verify appends one event after it has
    // checked: two of them land before the anchor is looked up, so the rewind goes back to two
    // events before the anchor, whatever number of events the logins above wrote.)
    let anchor_at: i64 = anchor_seq.parse().unwrap();
    let rewind = anchor_at - 2;
    assert!(rewind >= seq, "precondition: {anchor_at} > {seq} + 1");
    app.tamper(&format!(
        "DELETE FROM audit_events WHERE chain_seq >= {rewind}"
    ))
    .await;
    app.rechain_from(rewind).await;
    let out = anchor_refused(&admin, &anchor, "a rewound chain").await;
    assert!(
        out.stdout.contains(&format!("anchor {anchor_seq} MISSING")),
        "{out}"
    );
}
