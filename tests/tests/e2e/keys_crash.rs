//! Crash injection: the real server is killed with SIGKILL at every point of a rotation, stopped
//! there deterministically by a Postgres gate, and restarted. Every run converges to exactly one
//! active key, IAM never holds more than two keys, and issuance works afterwards.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vault_e2e::owned_keys::gate::{end_sessions, Gate, Point, RotationLockHeld};
use vault_e2e::owned_keys::iam::{caller_identity, MotoIam};
use vault_e2e::owned_keys::server::ServerProcess;
use vault_e2e::owned_keys::KeyBed;

/// Samples `ListAccessKeys` in the background and remembers the most keys IAM ever held.
struct IamWatch {
    most: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
}

impl IamWatch {
    fn start(moto_url: String, inspector: vault_e2e::owned_keys::iam::AccessKey) -> IamWatch {
        let most = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (most.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let iam = MotoIam::new(&moto_url, &inspector).await;
            let mut samples = 0;
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(iam.broker_keys().await.len(), Ordering::Relaxed);
                samples += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        });
        IamWatch { most, stop, task }
    }

    async fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.task.await.expect("the IAM watch panicked");
        (self.most.load(Ordering::Relaxed), samples)
    }
}

/// After a kill: IAM holds at most two keys, and the key the database calls active is one of
/// them, active in IAM too (the server is never left without a working key).
async fn assert_iam_bounded(bed: &KeyBed, when: &str) {
    let listed = bed.iam().broker_keys().await;
    assert!(
        listed.len() <= 2,
        "IAM holds {} keys {when}: {listed:?}",
        listed.len()
    );
    let active = bed.active_key_ids().await;
    assert_eq!(active.len(), 1, "{when}: active keys {active:?}");
    assert!(
        listed.iter().any(|k| k.id == active[0] && k.active),
        "{when}: the active key {} is not active in IAM: {listed:?}",
        active[0]
    );
}

/// Restarts the killed server and checks the rotation converged: done, exactly one active key
/// (the new one), IAM holding just it, the old key refused, issuance working.
async fn restart_and_converge(
    bed: &KeyBed,
    server: &mut ServerProcess,
    id: uuid::Uuid,
    alice: &str,
    when: &str,
) {
    server.restart().await;
    let r = bed.wait_finished(id, Duration::from_secs(90)).await;
    assert_eq!(r.step, "done", "{when}: {r:#?}");
    let new = r
        .new_key_id
        .clone()
        .expect("a finished rotation names its new key");
    let old = r.old_key_id.clone().expect("a rotation names its old key");
    assert_eq!(bed.active_key_ids().await, vec![new.clone()], "{when}");
    let listed = bed.iam().broker_keys().await;
    assert_eq!(listed.len(), 1, "{when}: IAM holds {listed:?}");
    assert_eq!(listed[0].id, new, "{when}");
    assert!(listed[0].active, "{when}: {listed:?}");
    let old_key = vault_e2e::owned_keys::iam::AccessKey {
        id: old,
        secret: "unknown".into(),
    };
    // The old key is gone from IAM altogether (not merely a bad signature).
    let refused = caller_identity(bed.moto_url(), &old_key).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("InvalidClientTokenId")),
        "{when}: {refused:?}"
    );
    bed.assert_issuance_works(server, alice).await;
}

/// Where a run kills the server.
#[derive(Debug, Clone, Copy)]
enum Crash {
    /// Stopped by a Postgres gate (see [`Point`]).
    Db(Point),
    /// Right before this AWS call leaves the server (held at the proxy, then dropped unsent):
    /// the step before it is committed and nothing after it has happened.
    BeforeAws(&'static str),
}

impl std::fmt::Display for Crash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Crash::Db(point) => write!(f, "{point}"),
            Crash::BeforeAws(action) => write!(f, "right before the {action} call"),
        }
    }
}

/// Every point of a rotation, in order (the state before `start` is run separately).
const CRASHES: [Crash; 15] = [
    Crash::BeforeAws("ListAccessKeys"),
    Crash::Db(Point::Advance("created")),
    Crash::Db(Point::Audit("key_created")),
    Crash::BeforeAws("GetCallerIdentity"),
    Crash::Db(Point::Advance("verified")),
    Crash::Db(Point::Audit("key_verified")),
    Crash::Db(Point::Advance("activated")),
    Crash::Db(Point::Audit("key_activated")),
    Crash::BeforeAws("UpdateAccessKey"),
    Crash::Db(Point::Advance("deactivated")),
    Crash::Db(Point::Audit("key_deactivated")),
    Crash::BeforeAws("DeleteAccessKey"),
    Crash::Db(Point::Advance("done")),
    Crash::Db(Point::Audit("key_rotated")),
    Crash::BeforeAws("AssumeRole"),
];

/// The audit actions every rotation must leave, once each.
const STEP_EVENTS: [&str; 5] = [
    "key_created",
    "key_verified",
    "key_activated",
    "key_deactivated",
    "key_rotated",
];

#[tokio::test]
async fn a_server_killed_at_every_point_of_a_rotation_converges_to_one_active_key_after_restart() {
    let bed = KeyBed::builder()
        .grace("1s", "1s")
        .through_proxy()
        .log_statements()
        .start()
        .await;
    let proxy = bed.proxy.as_ref().expect("the bed has a proxy");
    let mut server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    let alice = bed.token(&server, "alice").await;
    bed.assert_issuance_works(&server, &alice).await;
    let watch = IamWatch::start(bed.moto_url().to_owned(), bed.aws.inspector_key.clone());
    let mut runs = 0;

    // Killed right after `start` is recorded, before the rotating replica sees it: the test
    // holds the rotation lock, so the replica records the request but cannot rotate.
    {
        let when = "killed at step start";
        server.kill9().await;
        end_sessions(&bed.database, &server.name).await;
        let lock = RotationLockHeld::take(&bed.database).await;
        server.restart().await;
        let id = bed.request_rotation(&server, &admin).await;
        // The request wakes the replica's rotation loop: it has had its chance to rotate once it
        // has tried for the lock twice since (each try refused).
        server
            .wait_lock_tries(server.lock_tries(), 2, Duration::from_secs(30))
            .await;
        let r = bed.rotation(id).await;
        assert_eq!(
            (r.step.as_str(), r.attempts),
            ("start", 0),
            "{when}: {r:#?}"
        );
        server.kill9().await;
        end_sessions(&bed.database, &server.name).await;
        lock.release().await;
        assert_iam_bounded(&bed, when).await;
        restart_and_converge(&bed, &mut server, id, &alice, when).await;
        runs += 1;
    }

    for crash in CRASHES {
        let when = format!("killed {crash}");
        let old = bed.active_key_ids().await;
        assert_eq!(old.len(), 1, "before a run: {old:?}");
        let id = match crash {
            Crash::Db(point) => {
                let mut gate = Gate::close(&bed.database, point).await;
                let id = bed.request_rotation(&server, &admin).await;
                gate.wait_until_reached(&server.name, Duration::from_secs(60))
                    .await;
                server.kill9().await;
                end_sessions(&bed.database, &server.name).await;
                gate.open().await;
                id
            }
            Crash::BeforeAws("AssumeRole") => {
                // Not a rotation step: an issuance in flight when the server dies mid-rotation.
                proxy.hold("AssumeRole");
                let id = bed.request_rotation(&server, &admin).await;
                let issuing = tokio::spawn(
                    vault_e2e::app::http_client()
                        .post(format!("{}/v1/credentials", server.url))
                        .bearer_auth(&alice)
                        .json(&serde_json::json!({"profile": "dev"}))
                        .send(),
                );
                proxy.wait_until_held(Duration::from_secs(30)).await;
                server.kill9().await;
                end_sessions(&bed.database, &server.name).await;
                proxy.release(false);
                let _ = issuing.await;
                id
            }
            Crash::BeforeAws(action) => {
                proxy.hold(action);
                let id = bed.request_rotation(&server, &admin).await;
                proxy.wait_until_held(Duration::from_secs(60)).await;
                server.kill9().await;
                end_sessions(&bed.database, &server.name).await;
                assert_eq!(proxy.release(false), 1, "{when}: one held call");
                id
            }
        };
        assert_iam_bounded(&bed, &when).await;
        let at_kill = bed.rotation(id).await;
        eprintln!("{when}: rotation at step {} after the kill", at_kill.step);
        restart_and_converge(&bed, &mut server, id, &alice, &when).await;
        runs += 1;
    }

    let (most, samples) = watch.finish().await;
    assert!(samples > 20, "the IAM watch took only {samples} samples");
    assert!(most <= 2, "IAM held {most} keys at some moment");
    assert_eq!(
        most, 2,
        "precondition: the rotations really overlapped two keys"
    );
    let rotations = bed.rotations().await;
    assert_eq!(rotations.len(), runs, "{rotations:#?}");
    assert!(rotations.iter().all(|r| r.step == "done"), "{rotations:#?}");
    // Whatever a kill cut short, the key in use ends up the last one created.
    let last = rotations
        .last()
        .and_then(|r| r.new_key_id.clone())
        .unwrap_or_else(|| panic!("the last rotation names its new key: {rotations:#?}"));
    assert_eq!(bed.active_key_ids().await, vec![last]);

    // Every step of every rotation is in the audit trail exactly once, kills or not.
    let mut missing = Vec::new();
    for action in STEP_EVENTS {
        let rows = bed.audit_rows_for(action).await;
        for r in &rotations {
            let n = rows
                .iter()
                .filter(|row| row["details"]["rotation"] == r.id.to_string())
                .count();
            if n != 1 {
                missing.push(format!("{action} x{n} for rotation {} ({})", r.id, r.step));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "rotation steps not audited exactly once after the kills:\n{}",
        missing.join("\n")
    );
}
