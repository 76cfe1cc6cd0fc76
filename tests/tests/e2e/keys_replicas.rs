//! Two replicas on one database: exactly one holds the rotation lock and rotates; killed in the
//! middle of a rotation, the other takes the lock over and finishes that same rotation.

use std::time::Duration;
use vault_e2e::owned_keys::gate::{end_sessions, rotation_lock_holders};
use vault_e2e::owned_keys::iam::caller_identity;
use vault_e2e::owned_keys::KeyBed;
use vault_e2e::poll;

const LEADS: &str = "this replica now runs key rotation";

#[tokio::test]
async fn of_two_replicas_exactly_one_rotates_and_the_other_finishes_its_rotation_when_it_dies() {
    let bed = KeyBed::builder()
        .grace("1s", "1s")
        .through_proxy()
        .log_statements()
        .start()
        .await;
    let proxy = bed.proxy.as_ref().expect("the bed has a proxy");
    let a = bed.serve("replica-a").await;
    let b = bed.serve("replica-b").await;
    let holder = poll::until(
        "a replica to take the rotation lock",
        Duration::from_secs(30),
        || async {
            let holders = rotation_lock_holders(&bed.database).await;
            (!holders.is_empty()).then_some(holders)
        },
    )
    .await;
    assert_eq!(holder.len(), 1, "{holder:?}");
    let (mut leader, follower) = if holder[0] == a.name { (a, b) } else { (b, a) };
    // Several key checks later (the follower has tried for the lock three more times, and been
    // refused), still exactly one holder, and only it ever said it leads.
    follower
        .wait_lock_tries(follower.lock_tries(), 3, Duration::from_secs(30))
        .await;
    let holders = rotation_lock_holders(&bed.database).await;
    assert_eq!(
        holders, holder,
        "the rotation lock changed hands or is held twice"
    );
    assert_eq!(
        holders[0], leader.name,
        "the lock holder is neither replica: {holders:?}"
    );
    assert_eq!(leader.log_count(LEADS), 1, "{}", leader.log_text());
    assert_eq!(follower.log_count(LEADS), 0, "{}", follower.log_text());

    // The request goes to the follower; the leader runs it, and is killed in the middle: the new
    // key active everywhere, the old one not yet deactivated (its UpdateAccessKey held back).
    let admin = bed.token(&follower, "admin").await;
    let alice = bed.token(&follower, "alice").await;
    proxy.hold("UpdateAccessKey");
    let id = bed.request_rotation(&follower, &admin).await;
    proxy.wait_until_held(Duration::from_secs(60)).await;
    let mid = bed.rotation(id).await;
    assert_eq!(mid.step, "activated", "{mid:#?}");
    let new_id = mid
        .new_key_id
        .clone()
        .expect("the new key is known once activated");
    assert_eq!(follower.log_count(LEADS), 0, "the follower rotated too");

    leader.kill9().await;
    end_sessions(&bed.database, &leader.name).await;
    assert_eq!(proxy.release(false), 1, "one UpdateAccessKey was held");
    let listed = bed.iam().broker_keys().await;
    assert_eq!(
        listed.len(),
        2,
        "mid-rotation IAM holds both keys: {listed:?}"
    );
    assert!(listed.iter().all(|k| k.active), "{listed:?}");

    // The follower takes over and finishes the same rotation: no second one is started.
    poll::until(
        "the follower to take the rotation lock",
        Duration::from_secs(30),
        || async {
            (rotation_lock_holders(&bed.database).await == vec![follower.name.clone()])
                .then_some(())
        },
    )
    .await;
    let done = bed.wait_finished(id, Duration::from_secs(60)).await;
    assert_eq!(done.step, "done", "{done:#?}");
    assert_eq!(done.new_key_id.as_deref(), Some(new_id.as_str()));
    assert_eq!(
        bed.rotations().await.len(),
        1,
        "{:#?}",
        bed.rotations().await
    );
    assert_eq!(follower.log_count(LEADS), 1, "{}", follower.log_text());
    for action in ["key_deactivated", "key_rotated"] {
        let rows = bed.audit_rows_for(action).await;
        assert_eq!(rows.len(), 1, "{action}: {rows:#?}");
        assert_eq!(rows[0]["details"]["rotation"], id.to_string(), "{action}");
    }

    let listed = bed.iam().broker_keys().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, new_id);
    assert!(caller_identity(bed.moto_url(), &bed.original_key)
        .await
        .is_err());
    assert_eq!(bed.active_key_ids().await, vec![new_id]);
    bed.assert_issuance_works(&follower, &alice).await;

    // The dead leader comes back as a follower: it tries for the lock, is refused, and tries
    // again; the lock stays where it is.
    let tries = leader.lock_tries();
    leader.restart().await;
    leader
        .wait_lock_tries(tries, 2, Duration::from_secs(30))
        .await;
    assert_eq!(
        rotation_lock_holders(&bed.database).await,
        vec![follower.name.clone()]
    );
    assert_eq!(
        leader.log_count(LEADS),
        1,
        "the restarted replica took the lock too"
    );
    bed.assert_issuance_works(&leader, &bed.token(&leader, "alice").await)
        .await;
}
