use std::{collections::BTreeMap, time::Duration};

use serde_json::Value;
use time::macros::datetime;
use uuid::Uuid;

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

fn alice() -> (String, Revoked) {
    (
        sid_of(Uuid::from_u128(1)),
        Revoked {
            source_identity: "alice".into(),
            revoked_at: datetime!(2026-12-02 10:00:00.25 UTC),
        },
    )
}

fn bob() -> (String, Revoked) {
    (
        sid_of(Uuid::from_u128(2)),
        Revoked {
            source_identity: "bob-1a2b3c".into(),
            revoked_at: datetime!(2026-12-02 11:00:00 UTC),
        },
    )
}

fn put(d: Desired) -> Value {
    match d {
        Desired::Put(text) => serde_json::from_str(&text).unwrap(),
        Desired::Absent => panic!("expected a document"),
    }
}

#[test]
fn one_revocation_denies_everything_for_that_identity_before_its_time() {
    let now = datetime!(2026-12-02 10:00:01 UTC);
    let doc = put(merge(None, &BTreeMap::from([alice()]), HOUR, now).unwrap());
    assert_eq!(
        doc,
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "TeamVaultRevoked00000000000000000000000000000001",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": { "aws:SourceIdentity": "alice" },
                    "DateLessThan": { "aws:TokenIssueTime": "2026-12-02T10:00:01Z" },
                },
            }],
        })
    );
}

#[test]
fn a_second_person_is_merged_into_the_same_document() {
    let now = datetime!(2026-12-02 11:00:00 UTC);
    let first = merge(None, &BTreeMap::from([alice()]), HOUR, now).unwrap();
    let Desired::Put(first) = first else { panic!() };
    let doc = put(merge(Some(&first), &BTreeMap::from([bob()]), HOUR, now).unwrap());
    let ids: Vec<_> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Condition"]["StringEquals"]["aws:SourceIdentity"].clone())
        .collect();
    assert_eq!(ids, ["alice", "bob-1a2b3c"]);
}

#[test]
fn a_second_revocation_of_the_same_person_moves_the_time_later_never_earlier() {
    let now = datetime!(2026-12-02 10:30:00 UTC);
    let (sid, mut r) = alice();
    let Desired::Put(first) =
        merge(None, &BTreeMap::from([(sid.clone(), r.clone())]), HOUR, now).unwrap()
    else {
        panic!()
    };
    r.revoked_at = datetime!(2026-12-02 10:20:00 UTC);
    let later = put(merge(
        Some(&first),
        &BTreeMap::from([(sid.clone(), r.clone())]),
        HOUR,
        now,
    )
    .unwrap());
    assert_eq!(later["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(
        later["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        "2026-12-02T10:20:00Z"
    );
    r.revoked_at = datetime!(2026-12-02 10:05:00 UTC);
    let Desired::Put(text) = merge(
        Some(&later.to_string()),
        &BTreeMap::from([(sid, r)]),
        HOUR,
        now,
    )
    .unwrap() else {
        panic!()
    };
    assert!(text.contains("2026-12-02T10:20:00Z"), "{text}");
}

#[test]
fn writing_the_same_revocations_again_gives_the_same_document() {
    let now = datetime!(2026-12-02 11:00:00 UTC);
    let wanted = BTreeMap::from([alice(), bob()]);
    let Desired::Put(once) = merge(None, &wanted, HOUR, now).unwrap() else {
        panic!()
    };
    let Desired::Put(twice) = merge(Some(&once), &wanted, HOUR, now).unwrap() else {
        panic!()
    };
    assert_eq!(once, twice);
}

#[test]
fn a_statement_goes_once_its_window_has_passed_and_an_empty_policy_is_absent() {
    let wanted = BTreeMap::from([alice(), bob()]);
    let Desired::Put(both) =
        merge(None, &wanted, HOUR, datetime!(2026-12-02 11:00:00 UTC)).unwrap()
    else {
        panic!()
    };
    // Alice's window (10:00:00.25 + 1 h) has passed; Bob's has not.
    let doc = put(merge(
        Some(&both),
        &BTreeMap::new(),
        HOUR,
        datetime!(2026-12-02 11:30:00 UTC),
    )
    .unwrap());
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(
        doc["Statement"][0]["Condition"]["StringEquals"]["aws:SourceIdentity"],
        "bob-1a2b3c"
    );
    let gone = merge(
        Some(&doc.to_string()),
        &wanted,
        HOUR,
        datetime!(2026-12-02 12:00:00 UTC),
    )
    .unwrap();
    assert_eq!(gone, Desired::Absent);
}

#[test]
fn statements_someone_else_added_are_kept() {
    let theirs = r#"{"Version":"2012-10-17","Statement":{"Sid":"Other","Effect":"Deny","Action":"s3:*","Resource":"*"}}"#;
    let doc = put(merge(
        Some(theirs),
        &BTreeMap::from([alice()]),
        HOUR,
        datetime!(2026-12-02 10:00:01 UTC),
    )
    .unwrap());
    let sids: Vec<_> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].clone())
        .collect();
    assert_eq!(sids[0], "Other");
    assert_eq!(sids.len(), 2);
}

#[test]
fn a_document_over_the_inline_limit_is_refused_plainly() {
    let wanted: BTreeMap<_, _> = (0..200u128)
        .map(|i| {
            (
                sid_of(Uuid::from_u128(i)),
                Revoked {
                    source_identity: format!("person-{i:04}"),
                    revoked_at: datetime!(2026-12-02 10:00:00 UTC),
                },
            )
        })
        .collect();
    let err = merge(None, &wanted, HOUR, datetime!(2026-12-02 10:00:01 UTC)).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::TooLarge {
                statements: 200,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("over IAM's limit of 10240"),
        "{err}"
    );
}

#[test]
fn a_document_that_is_not_json_is_an_error_not_a_silent_overwrite() {
    let err = merge(
        Some("{not json"),
        &BTreeMap::from([alice()]),
        HOUR,
        datetime!(2026-12-02 10:00:01 UTC),
    )
    .unwrap_err();
    assert!(matches!(err, PolicyError::Unreadable(_)), "{err}");
}

#[test]
fn the_condition_time_rounds_up_to_whole_seconds_in_utc() {
    assert_eq!(
        condition_time(datetime!(2026-12-02 10:00:00 UTC)),
        "2026-12-02T10:00:00Z"
    );
    assert_eq!(
        condition_time(datetime!(2026-12-02 10:00:00.001 UTC)),
        "2026-12-02T10:00:01Z"
    );
    assert_eq!(
        condition_time(datetime!(2026-12-02 11:00:00.5 +01:00)),
        "2026-12-02T10:00:01Z"
    );
}

#[test]
fn statements_of_reads_back_each_person_and_time() {
    let Desired::Put(text) = merge(
        None,
        &BTreeMap::from([alice(), bob()]),
        HOUR,
        datetime!(2026-12-02 11:00:00 UTC),
    )
    .unwrap() else {
        panic!()
    };
    let read = statements_of(&text);
    assert_eq!(read.len(), 2);
    assert_eq!(read[&sid_of(Uuid::from_u128(2))], bob().1);
}

#[test]
fn the_window_is_the_longest_session_of_the_role_or_twelve_hours() {
    assert_eq!(window_of(&[HOUR, 4 * HOUR]), 4 * HOUR);
    assert_eq!(window_of(&[]), LONGEST_SESSION);
}
