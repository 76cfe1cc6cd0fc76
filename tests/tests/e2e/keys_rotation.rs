//! The server rotates its own IAM key against moto with signature checking on: a full rotation
//! leaves exactly the new key in IAM and the old one refused, and a refusal by IAM leaves the old
//! key working, audited and retried.

use std::time::{Duration, Instant};
use vault_e2e::owned_keys::iam::{broker_policy, caller_identity, AccessKey};
use vault_e2e::owned_keys::{mask, KeyBed, IDENTITY};

/// Audit actions of one rotation, in order, with the key each names.
const STEPS: [&str; 5] = [
    "key_created",
    "key_verified",
    "key_activated",
    "key_deactivated",
    "key_rotated",
];

#[tokio::test]
async fn a_full_rotation_replaces_the_key_in_iam_and_the_old_key_is_refused_afterwards() {
    let bed = KeyBed::builder().grace("1s", "1s").start().await;
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    let alice = bed.token(&server, "alice").await;
    let old = bed.original_key.clone();

    // Before: the imported key is the one in use, and moto accepts it.
    let before = bed.key_status(&server, &admin).await;
    assert_eq!(before.len(), 1, "{before:#?}");
    assert_eq!(before[0].identity, IDENTITY);
    let shown = before[0]
        .active_key
        .as_deref()
        .unwrap_or_else(|| panic!("no active key shown: {before:#?}"));
    assert_eq!(shown, mask(&old.id));
    assert!(
        !shown.contains(&old.id),
        "the key id is not masked: {before:#?}"
    );
    bed.assert_issuance_works(&server, &alice).await;
    caller_identity(bed.moto_url(), &old)
        .await
        .expect("precondition: moto accepts the imported key");

    // Admins only: a developer can neither see nor rotate the keys.
    let oauth = vault_e2e::OAuthClient::new(&server.url);
    let denied = oauth
        .post_json(&alice, "/v1/admin/rotate", &serde_json::json!({}))
        .await;
    assert_eq!(denied.status(), 403, "a developer may rotate the keys");
    assert_eq!(oauth.get(&alice, "/v1/admin/keys").await.status(), 403);
    assert!(
        bed.rotations().await.is_empty(),
        "a developer opened a rotation"
    );

    let started = Instant::now();
    let id = bed.request_rotation(&server, &admin).await;
    let done = bed.wait_finished(id, Duration::from_secs(60)).await;
    let took = started.elapsed();
    eprintln!("MEASURE full rotation (deactivate_after=1s, delete_after=1s, key_check_interval=1s): {took:?}");

    assert_eq!(done.step, "done", "{done:#?}");
    assert_eq!(done.reason, "manual");
    assert_eq!(done.old_key_id.as_deref(), Some(old.id.as_str()));
    let new_id = done
        .new_key_id
        .clone()
        .expect("the rotation names its new key");
    assert_ne!(new_id, old.id);

    // IAM holds exactly the new key, active; STS refuses the old key and accepts the new one.
    let listed = bed.iam().broker_keys().await;
    assert_eq!(listed.len(), 1, "IAM holds {listed:?}");
    assert_eq!(listed[0].id, new_id);
    assert!(listed[0].active, "{listed:?}");
    let refused = caller_identity(bed.moto_url(), &old).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("InvalidClientTokenId")),
        "STS still accepts the old key: {refused:?}"
    );
    let new = bed.stored_key(&new_id).await;
    let arn = caller_identity(bed.moto_url(), &new)
        .await
        .expect("STS accepts the new key");
    assert!(arn.ends_with(":user/team-vault-broker"), "{arn}");

    // The database agrees: one active key (the new one), the old one deleted.
    let keys = bed.keys().await;
    let state = |id: &str| {
        keys.iter()
            .find(|k| k.access_key_id == id)
            .map(|k| k.state.clone())
    };
    assert_eq!(state(&new_id).as_deref(), Some("active"), "{keys:#?}");
    assert_eq!(state(&old.id).as_deref(), Some("deleted"), "{keys:#?}");
    assert_eq!(bed.active_key_ids().await, vec![new_id.clone()]);

    // The admin API shows the new key, masked, and the rotation done without error.
    let after = bed.key_status(&server, &admin).await;
    assert_eq!(
        after[0].active_key.as_deref(),
        Some(mask(&new_id).as_str()),
        "{after:#?}"
    );
    assert_eq!(
        after[0].last_rotation_step.as_deref(),
        Some("done"),
        "{after:#?}"
    );
    assert!(after[0].last_rotation_finished.is_some(), "{after:#?}");
    assert_eq!(after[0].last_error, None, "{after:#?}");
    assert!(
        after[0].key_age_seconds.is_some_and(|a| a < 60),
        "{after:#?}"
    );

    // Issuance goes on, signed with the new key (moto would refuse the deleted old one).
    for _ in 0..3 {
        bed.assert_issuance_works(&server, &alice).await;
    }

    // The audit trail: the request by the admin, then every step naming its keys.
    let requested = bed.audit_rows_for("key_rotate_requested").await;
    assert_eq!(requested.len(), 1, "{requested:#?}");
    assert_eq!(
        requested[0]["principal"], "admin@example.com",
        "{:#}",
        requested[0]
    );
    assert_eq!(requested[0]["details"]["rotation"], id.to_string());
    for action in STEPS {
        let rows = bed.audit_rows_for(action).await;
        assert_eq!(rows.len(), 1, "{action}: {rows:#?}");
        let d = &rows[0]["details"];
        assert_eq!(rows[0]["outcome"], "success", "{:#}", rows[0]);
        assert_eq!(d["identity"], IDENTITY, "{action}: {d:#}");
        assert_eq!(d["rotation"], id.to_string(), "{action}: {d:#}");
        assert_eq!(d["old_key"], old.id.as_str(), "{action}: {d:#}");
        let named = if action == "key_deactivated" {
            &old.id
        } else {
            &new_id
        };
        assert_eq!(d["key"], named.as_str(), "{action}: {d:#}");
    }
    let seqs: Vec<i64> =
        futures_util::future::join_all(STEPS.iter().map(|a| bed.audit_rows_for(a)))
            .await
            .iter()
            .map(|rows| rows[0]["seq"].as_i64().expect("an audit row has a seq"))
            .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "steps audited out of order: {seqs:?}"
    );
    let audit = bed.audit_text().await;
    let log = server.log_text();
    for (what, secret) in [("old", &old.secret), ("new", &new.secret)] {
        assert!(
            !audit.contains(secret.as_str()),
            "the {what} secret is in the audit trail"
        );
        assert!(
            !log.contains(secret.as_str()),
            "the {what} secret is in the server log"
        );
    }
}

#[tokio::test]
async fn a_policy_denying_create_access_key_keeps_the_old_key_and_the_failure_is_audited_and_retried(
) {
    let bed = KeyBed::builder()
        .deny(&["iam:CreateAccessKey"])
        .start()
        .await;
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    let alice = bed.token(&server, "alice").await;
    let old: AccessKey = bed.original_key.clone();

    let id = bed.request_rotation(&server, &admin).await;
    // Retried with backoff: the second failure comes about 2 s after the first.
    let failing = vault_e2e::poll::until(
        "the refused rotation to be retried",
        Duration::from_secs(30),
        || async {
            let r = bed.rotation(id).await;
            (r.attempts >= 2).then_some(r)
        },
    )
    .await;
    assert_eq!(failing.step, "start", "{failing:#?}");
    assert!(failing.finished_at.is_none(), "{failing:#?}");
    let error = failing
        .last_error
        .clone()
        .unwrap_or_else(|| panic!("a failed attempt records its error: {failing:#?}"));
    assert!(error.contains("AccessDenied"), "last_error: {error:?}");
    assert!(failing.next_attempt_at > failing.updated_at, "{failing:#?}");

    // The old key stays the active one, in IAM and in the database; issuance goes on.
    assert_eq!(bed.active_key_ids().await, vec![old.id.clone()]);
    let listed = bed.iam().broker_keys().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, old.id);
    assert!(listed[0].active);
    bed.assert_issuance_works(&server, &alice).await;

    // Audited: one failure event per attempt, with AWS's reason.
    let failures = vault_e2e::poll::until(
        "two key_rotation_failure events",
        Duration::from_secs(10),
        || async {
            let rows = bed.audit_rows_for("key_rotation_failure").await;
            (rows.len() >= 2).then_some(rows)
        },
    )
    .await;
    for (i, f) in failures.iter().enumerate() {
        assert_eq!(f["outcome"], "failure", "{f:#}");
        assert!(
            f["reason"]
                .as_str()
                .is_some_and(|r| r.contains("AccessDenied")),
            "{f:#}"
        );
        assert_eq!(f["details"]["identity"], IDENTITY, "{f:#}");
        assert_eq!(f["details"]["step"], "start", "{f:#}");
        assert_eq!(f["details"]["attempt"], i + 1, "{f:#}");
    }
    assert!(bed.audit_rows_for("key_created").await.is_empty());

    // The admin API shows the error and the attempts.
    let status = bed.key_status(&server, &admin).await;
    assert_eq!(
        status[0].active_key.as_deref(),
        Some(mask(&old.id).as_str()),
        "{status:#?}"
    );
    assert_eq!(
        status[0].last_rotation_step.as_deref(),
        Some("start"),
        "{status:#?}"
    );
    assert!(status[0].attempts >= 2, "{status:#?}");
    assert!(
        status[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("AccessDenied")),
        "{status:#?}"
    );

    // Once IAM allows it again, the same rotation completes on a later retry.
    bed.iam().set_broker_policy(&broker_policy(&[])).await;
    let done = bed.wait_finished(id, Duration::from_secs(60)).await;
    assert_eq!(done.step, "done", "{done:#?}");
    let listed = bed.iam().broker_keys().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(Some(&listed[0].id), done.new_key_id.as_ref());
    bed.assert_issuance_works(&server, &alice).await;
}

#[tokio::test]
async fn a_key_older_than_max_key_age_is_rotated_on_schedule_without_anyone_asking() {
    let bed = KeyBed::builder()
        .max_key_age("3s")
        .grace("0s", "0s")
        .start()
        .await;
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    let alice = bed.token(&server, "alice").await;

    let status = bed.key_status(&server, &admin).await;
    assert!(status[0].rotation_enabled, "{status:#?}");
    let due = status[0].next_due.clone().expect("a next due time");
    let due = time::OffsetDateTime::parse(&due, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("next_due {due}: {e}"));
    let age = status[0]
        .key_age_seconds
        .unwrap_or_else(|| panic!("the active key's age is missing: {status:#?}"));
    assert!(age < 3, "{status:#?}");

    // Two scheduled rotations, one after the other, each once the key in use is 3 s old.
    let rotations = vault_e2e::poll::until(
        "two scheduled rotations",
        Duration::from_secs(60),
        || async {
            let done: Vec<_> = bed
                .rotations()
                .await
                .into_iter()
                .filter(|r| r.step == "done")
                .collect();
            (done.len() >= 2).then_some(done)
        },
    )
    .await;
    for r in &rotations {
        assert_eq!(r.reason, "schedule", "{r:#?}");
    }
    assert_eq!(
        rotations[0].old_key_id.as_deref(),
        Some(bed.original_key.id.as_str())
    );
    let first_new = rotations[0]
        .new_key_id
        .as_deref()
        .unwrap_or_else(|| panic!("a finished rotation names its new key: {rotations:#?}"));
    assert_eq!(
        rotations[1].old_key_id.as_deref(),
        Some(first_new),
        "{rotations:#?}"
    );
    let first = rotations[0].started_at;
    assert!(
        first >= due - Duration::from_secs(1),
        "rotated at {first}, before it was due at {due}"
    );
    let gap = rotations[1].started_at - rotations[0].finished_at.expect("finished");
    assert!(
        gap >= Duration::from_secs(2),
        "the next rotation came {gap} after the last, before the new key was 3 s old"
    );
    assert!(bed.audit_rows_for("key_rotate_requested").await.is_empty());
    let listed = bed.iam().broker_keys().await;
    assert!((1..=2).contains(&listed.len()), "IAM holds {listed:?}");
    bed.assert_issuance_works(&server, &alice).await;
}

#[tokio::test]
async fn a_rotation_request_whose_audit_event_cannot_be_committed_opens_no_rotation() {
    let bed = KeyBed::builder().grace("0s", "0s").start().await;
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    // The trail refuses exactly this request's event (as a full disk or a lost connection
    // would, at exactly the wrong moment).
    vault_e2e::faults::refuse_audit_events(bed.db(), "key_rotate_requested").await;

    let oauth = vault_e2e::OAuthClient::new(&server.url);
    let refused = oauth
        .post_json(&admin, "/v1/admin/rotate", &serde_json::json!({}))
        .await;
    let status = refused.status();
    let body = refused.text().await.unwrap_or_default();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("message"), "{body}");
    assert!(
        bed.rotations().await.is_empty(),
        "a rotation opened without its audit event"
    );

    vault_e2e::faults::accept_audit_events(bed.db(), "key_rotate_requested").await;
    let id = bed.request_rotation(&server, &admin).await;
    let requested = bed.audit_rows_for("key_rotate_requested").await;
    assert_eq!(requested.len(), 1, "{requested:#?}");
    assert_eq!(requested[0]["details"]["rotation"], id.to_string());
}
